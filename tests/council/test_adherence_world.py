"""Adherence on the real simulation: a player car scripted through controls, tick by tick."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from server.adherence import DT, AdherenceTracker
from server.adherence_model import KEEP_GRACE_S, Violation
from shared.conventions import make_rulebook

sim_world = pytest.importorskip("shared.sim.world")
sim_scenario = pytest.importorskip("shared.sim.scenario")


class Script:
    """One player car driven by controls, with trackers observing every tick."""

    def __init__(self, scenario: str, trackers: dict[str, dict[str, str]]) -> None:
        self.world = sim_world.World(sim_scenario.load_scenario(scenario), seed=3, bots=0)
        self.car_id = self.world.add_player_car()
        road = self.world.road()
        self.trackers = {
            name: AdherenceTracker(make_rulebook(book), road) for name, book in trackers.items()
        }
        self.violations: dict[str, list[Violation]] = {name: [] for name in trackers}
        self.events: list[Any] = []

    @property
    def car(self) -> Any:
        return self.world.cars[self.car_id]

    def tick(self, *actions: str) -> None:
        controls = {self.car_id: [(a, None) for a in actions]} if actions else None
        events = self.world.step(controls)
        self.events += events
        for name, tracker in self.trackers.items():
            self.violations[name] += tracker.observe(self.world, events)

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / DT)):
            self.tick()

    def until(self, condition: Callable[[], bool], limit_s: float = 400.0) -> None:
        for _ in range(round(limit_s / DT)):
            if condition():
                return
            self.tick()
        raise AssertionError("the scripted driver never got there")

    def signal(self, side: int) -> None:
        """Turn the signal to `side` (-1 left, +1 right, 0 off) with the toggle controls."""
        if self.car.signal == side:
            return
        if side == 0:
            self.tick("signal_left" if self.car.signal == -1 else "signal_right")
        else:
            self.tick("signal_left" if side == -1 else "signal_right")
        assert self.car.signal == side

    def change_lane(self, direction: str, signal_s: float) -> None:
        """Signal for `signal_s` seconds (0: none), then move and wait until settled."""
        lane = self.car.lane_index
        self.signal(0)
        if signal_s > 0:
            self.signal(-1 if direction == "left" else 1)
            self.run(signal_s - DT)  # the signal control itself took one tick
        self.tick(direction)
        self.until(lambda: self.car.lane == self.car.lane_index != lane, limit_s=10)


def test_three_second_signal_counts_and_half_a_second_does_not() -> None:
    s = Script("open-road", {"required": {"signal": "required"}, "optional": {}})
    s.run(1.0)
    s.change_lane("left", 3.0)
    s.run(5.0)
    s.change_lane("right", 0.5)
    s.run(5.0)
    s.change_lane("left", 0.0)
    changes = [e.value for e in s.events if e.kind == "lane_change"]
    assert changes == [pytest.approx(3.0), pytest.approx(0.5), 0.0]
    mine = s.trackers["required"].result()[s.car_id]
    assert (mine["lane_changes"], mine["signalled"]) == (3, 1)
    texts = [v.render("Ben") for v in s.violations["required"]]
    assert texts == [
        "Ben signalled only 0.5 s before changing lanes",
        "Ben changed lanes without signalling",
    ]
    assert s.violations["optional"] == []
    assert s.trackers["optional"].result()[s.car_id]["score"] == 100


def test_cruising_in_the_passing_lane_with_nobody_to_pass_counts_against_keep_right() -> None:
    s = Script("open-road", {"right": {"passing": "right"}, "free": {"passing": "free"}})
    assert s.car.lane_index == 0
    s.change_lane("left", 2.5)
    start = s.trackers["right"].result()[s.car_id]["passing_lane_s"]
    s.run(30.0)
    right = s.trackers["right"].result()[s.car_id]
    assert right["passing_lane_s"] - start == pytest.approx(30.0 - KEEP_GRACE_S, abs=0.2)
    assert right["score"] < 50
    assert [v.kind for v in s.violations["right"]][:1] == ["passing"]
    assert s.trackers["free"].result()[s.car_id]["passing_lane_s"] == 0
    # back in the right lane: no more time counted
    s.change_lane("right", 2.5)
    before = s.trackers["right"].result()[s.car_id]["passing_lane_s"]
    s.run(10.0)
    assert s.trackers["right"].result()[s.car_id]["passing_lane_s"] == before


def _closure(s: Script) -> dict[str, Any]:
    (closure,) = s.world.road()["closures"]
    return closure


def _left_to_end(s: Script, closure: dict[str, Any]) -> float:
    return (closure["start"] - s.car.x) % s.world.length


def test_zipper_merge_at_the_end_complies_with_zipper_and_breaks_early_merge() -> None:
    s = Script("lane-closure", {"zipper": {"merge": "zipper"}, "early": {"merge": "early"}})
    closure = _closure(s)
    closed = closure["lane"]
    for _ in range(4):
        s.tick("slower")  # about 50 km/h: room to manoeuvre
    # get into the closing lane well past the roadworks, then come round to them
    s.until(lambda: 50 < (s.car.x - closure["end"]) % s.world.length < 200)
    while s.car.lane_index < closed:
        s.change_lane("left", 2.5)
    s.until(lambda: _left_to_end(s, closure) < 200)
    s.signal(1)
    s.until(lambda: _left_to_end(s, closure) < 60)
    s.tick("right")
    s.run(4.0)
    merges = [e for e in s.events if e.kind == "merge" and e.car == s.car_id]
    assert len(merges) == 1 and merges[0].value <= 60
    zipper = s.trackers["zipper"].result()[s.car_id]
    early = s.trackers["early"].result()[s.car_id]
    assert (zipper["merges"], zipper["merges_in_place"]) == (1, 1)
    assert (early["merges"], early["merges_in_place"]) == (1, 0)
    assert [v.kind for v in s.violations["zipper"]] == []
    assert [v.kind for v in s.violations["early"]] == ["merge"]
    assert s.violations["early"][0].render("Di").startswith("Di stayed in the closing lane")


def test_early_merge_at_the_signs_complies_with_early_and_breaks_zipper() -> None:
    s = Script("lane-closure", {"zipper": {"merge": "zipper"}, "early": {"merge": "early"}})
    closure = _closure(s)
    for _ in range(4):
        s.tick("slower")
    s.until(lambda: 50 < (s.car.x - closure["end"]) % s.world.length < 200)
    while s.car.lane_index < closure["lane"]:
        s.change_lane("left", 2.5)
    s.until(lambda: _left_to_end(s, closure) < closure["warn"] - 20)
    s.change_lane("right", 2.5)
    assert s.trackers["early"].result()[s.car_id]["merges_in_place"] == 1
    assert [v.kind for v in s.violations["zipper"]] == ["merge"]
    assert s.violations["early"] == []


def test_a_bot_filled_road_runs_clean_and_scores_in_range() -> None:
    world = sim_world.World(sim_scenario.load_scenario("lane-closure"), seed=5)
    book = make_rulebook(
        {
            "passing": "right",
            "signal": "required",
            "following": "two_second",
            "merge": "zipper",
            "speed_limit": "100",
            "hazards": "yes",
        }
    )
    world.set_rulebook(book)
    tracker = AdherenceTracker(book, world.road())
    for _ in range(round(15 / DT)):
        for v in tracker.observe(world, world.step()):
            assert v.car in world.cars and "{name}" in v.text
    result = tracker.result()
    assert set(result) == set(world.cars)
    assert all(0 <= r["score"] <= 100 for r in result.values())
    assert sum(r["lane_changes"] for r in result.values()) > 0
    assert tracker.team() is not None


def test_steady_bots_keep_the_rulebook_better_than_hurried_ones() -> None:
    """The measure agrees with the personalities (shared/sim/bots.py): steady drivers keep the agreed
    conventions, hurried ones weave without signalling and follow close."""
    book = make_rulebook({"passing": "right", "signal": "required", "following": "two_second"})
    world = sim_world.World(sim_scenario.load_scenario("open-road"), seed=4, rulebook=book)
    tracker = AdherenceTracker(book, world.road())
    for _ in range(round(40 / DT)):
        tracker.observe(world, world.step())
    result = tracker.result()

    def mean(personality: str) -> float:
        scores = [
            result[c.id]["score"] for c in world.cars.values() if c.personality == personality
        ]
        assert scores
        return sum(scores) / len(scores)

    assert mean("steady") >= 90
    assert mean("steady") > mean("hurried") + 15
