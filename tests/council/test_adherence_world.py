"""Adherence on the real simulation: a player car scripted through controls, tick by tick."""

from __future__ import annotations

import pytest

from server.adherence import AdherenceTracker
from server.adherence_model import KEEP_GRACE_S
from shared.conventions import make_rulebook
from shared.sim.scenario import load_scenario
from shared.sim.tuning import DT
from shared.sim.world import World
from tests.support.adherence import Script, closure_of, left_to_end


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


def test_zipper_merge_at_the_end_complies_with_zipper_and_breaks_early_merge() -> None:
    s = Script("lane-closure", {"zipper": {"merge": "zipper"}, "early": {"merge": "early"}})
    closure = closure_of(s)
    closed = closure["lane"]
    for _ in range(4):
        s.tick("slower")  # about 50 km/h: room to manoeuvre
    # get into the closing lane well past the roadworks, then come round to them
    s.until(lambda: 50 < (s.car.x - closure["end"]) % s.world.length < 200)
    while s.car.lane_index < closed:
        s.change_lane("left", 2.5)
    s.until(lambda: left_to_end(s, closure) < 200)
    s.signal(1)
    s.until(lambda: left_to_end(s, closure) < 60)
    s.tick("right")
    s.run(4.0)
    merges = [e for e in s.events if e.kind == "merge" and e.car == s.car_id]
    assert len(merges) == 1
    left = merges[0].value  # metres left to the end of the closing lane
    assert left is not None and left <= 60
    zipper = s.trackers["zipper"].result()[s.car_id]
    early = s.trackers["early"].result()[s.car_id]
    assert (zipper["merges"], zipper["merges_in_place"]) == (1, 1)
    assert (early["merges"], early["merges_in_place"]) == (1, 0)
    assert [v.kind for v in s.violations["zipper"]] == []
    assert [v.kind for v in s.violations["early"]] == ["merge"]
    assert s.violations["early"][0].render("Di").startswith("Di stayed in the closing lane")


def test_early_merge_at_the_signs_complies_with_early_and_breaks_zipper() -> None:
    s = Script("lane-closure", {"zipper": {"merge": "zipper"}, "early": {"merge": "early"}})
    closure = closure_of(s)
    for _ in range(4):
        s.tick("slower")
    s.until(lambda: 50 < (s.car.x - closure["end"]) % s.world.length < 200)
    while s.car.lane_index < closure["lane"]:
        s.change_lane("left", 2.5)
    s.until(lambda: left_to_end(s, closure) < closure["warn"] - 20)
    s.change_lane("right", 2.5)
    assert s.trackers["early"].result()[s.car_id]["merges_in_place"] == 1
    assert [v.kind for v in s.violations["zipper"]] == ["merge"]
    assert s.violations["early"] == []


def test_a_bot_filled_road_runs_clean_and_scores_in_range() -> None:
    world = World(load_scenario("lane-closure"), seed=5)
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
    world = World(load_scenario("open-road"), seed=4, rulebook=book)
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
