"""Hypothesis: invariants of the world over random roads, seeds, controls and life cycles.

Whatever the scenario and whatever players press: speeds stay in [0, the car's top speed],
positions on the ring, cars are neither lost nor duplicated, bodies overlap only in a recorded
crash, nobody changes into a closed lane or off the road, and the log replays exactly.
"""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from shared.conventions import CATALOGUE
from shared.sim.events import Event
from shared.sim.scenario import Scenario, parse_scenario
from shared.sim.world import World

ACTIONS = st.one_of(
    st.tuples(
        st.sampled_from(
            ["faster", "slower", "brake", "left", "right", "signal_left", "signal_right"]
            + ["hazard", "yield"]
        ),
        st.none(),
    ),
    st.tuples(st.just("gap"), st.sampled_from([1, 2, 3, 0, 7, "x"])),
    st.tuples(st.just("assist"), st.sampled_from(["on", "off", "maybe", 3])),
    st.tuples(st.sampled_from(["warp", "", "left;drop"]), st.none()),
)
RULEBOOKS = st.fixed_dictionaries(
    {c.key: st.sampled_from([o.key for o in c.options]) for c in CATALOGUE}
)


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    lanes = draw(st.integers(1, 4))
    length = float(draw(st.integers(200, 1500)))
    raw: dict[str, Any] = {
        "road": {"length": length, "lanes": lanes, "gantry": draw(st.floats(0, length - 1))},
        "traffic": {
            "cars": draw(st.integers(0, int(length / 9) * lanes // 2)),
            "trucks": draw(st.sampled_from([0.0, 0.2])),
            "mix": draw(
                st.dictionaries(
                    st.sampled_from(["steady", "hurried", "distracted", "local"]),
                    st.floats(0.1, 1.0),
                    min_size=1,
                )
            ),
        },
    }
    if lanes >= 2 and draw(st.booleans()):
        start = draw(st.floats(0, length - 1))
        raw["closures"] = [
            {
                "lane": draw(st.integers(0, lanes - 1)),
                "start": start,
                "end": (start + draw(st.floats(20, length / 2))) % length,
                "warn": draw(st.sampled_from([100.0, 300.0])),
            }
        ]
    elif lanes >= 2 and draw(st.booleans()):
        start = draw(st.floats(0, length - 100))
        raw["ramps"] = [{"start": start, "end": start + 60, "share": 0.5}]
        raw["traffic"]["cars"] = min(raw["traffic"]["cars"], int(length / 9) * (lanes - 1) // 2)
    if draw(st.booleans()):
        raw["speed_zones"] = [{"start": 0.0, "end": length / 2, "limit_kmh": 60}]
    if draw(st.booleans()):
        raw["fog"] = [{"start": length / 3, "end": length * 0.9, "sight": 60}]
    if draw(st.booleans()):
        raw["incidents"] = [
            {
                "at": draw(st.floats(0, 5)),
                "lane": draw(st.integers(0, lanes - 1)),
                "x": draw(st.floats(0, length - 1)),
                "seconds": 4,
            }
        ]
    return parse_scenario(raw, source="hypothesis")


class Checker:
    """Checks one world after every tick, remembering which overlaps a crash explains."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.crashed_pairs: set[frozenset[int]] = set()

    def check(self, events: list[Event]) -> None:
        world = self.world
        for e in events:
            if e.kind == "crash":
                assert e.car is not None and e.other is not None
                self.crashed_pairs.add(frozenset((e.car, e.other)))
            if e.kind == "lane_change":
                assert e.target is not None
                assert 0 <= e.target < world.lanes
                assert world.geo.exists(e.target, e.x), f"moved into a closed lane: {e}"
                assert world.geo.ramp_lane(e.target) is None, f"moved onto the ramp: {e}"
                assert e.value is not None and e.value >= 0
        by_lane: dict[int, list] = {}
        for car in world.cars.values():
            assert 0.0 <= car.v <= car.v_max + 1e-9, car
            assert 0.0 <= car.x < world.length, car
            assert 0.0 <= car.lane <= world.lanes - 1, car
            assert car.lane_index == int(car.lane + 0.5)
            lo = int(car.lane)
            by_lane.setdefault(lo, []).append(car)
            if car.lane != lo:
                by_lane.setdefault(lo + 1, []).append(car)
        for cars in by_lane.values():
            cars.sort(key=lambda c: c.x)
            n = len(cars)
            for i in range(n if n > 1 else 0):
                behind, ahead = cars[i - 1], cars[i]
                if behind is ahead:
                    continue
                gap = (ahead.x - behind.x) % world.length
                if gap < ahead.length:
                    pair = frozenset((behind.id, ahead.id))
                    assert pair in self.crashed_pairs, f"overlap without a crash: {behind} {ahead}"


@settings(max_examples=30, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    scenario=scenarios(),
    seed=st.integers(0, 2**31 - 1),
    players=st.integers(0, 3),
    presses=st.lists(st.tuples(st.integers(0, 299), st.integers(0, 2), ACTIONS), max_size=60),
    rulebook=RULEBOOKS,
)
def test_invariants_hold_for_any_road_and_any_presses(
    scenario: Scenario, seed: int, players: int, presses: list, rulebook: dict[str, str]
) -> None:
    world = World(scenario, seed=seed, rulebook=rulebook)
    ids = [world.add_player_car() for _ in range(players)]
    count = len(world.cars)
    plan: dict[int, dict[int, list]] = {}
    for tick, who, action in presses:
        if ids:
            plan.setdefault(tick, {}).setdefault(ids[who % len(ids)], []).append(action)
    checker = Checker(world)
    for tick in range(300):
        events = world.step(plan.get(tick))
        checker.check(events)
        assert len(world.cars) == count
    again = World.replay(scenario, seed, rulebook, None, None, world.log, until_tick=world.tick)
    assert again.state() == world.state()


class WorldLifeCycle(RuleBasedStateMachine):
    """A round's life: players join and leave the wheel, bots come and go, incidents happen."""

    def __init__(self) -> None:
        super().__init__()
        self.scenario = parse_scenario(
            {
                "road": {"length": 600, "lanes": 3},
                "traffic": {"cars": 20, "mix": {"steady": 1, "hurried": 1, "distracted": 1}},
            }
        )
        self.world = World(self.scenario, seed=4)
        self.checker = Checker(self.world)
        self.players: list[int] = []
        self.expected = len(self.world.cars)
        self.branch: World | None = None

    @rule()
    def add_player(self) -> None:
        before = set(self.world.cars)
        car = self.world.add_player_car()
        assert car not in self.players
        self.players.append(car)
        self.expected += car not in before  # on a full road the player takes a bot's seat

    @rule(n=st.integers(0, 5), personality=st.sampled_from([None, "steady", "hurried"]))
    def add_bots(self, n: int, personality: str | None) -> None:
        added = self.world.add_bots(n, personality)
        assert len(added) <= n and len(set(added)) == len(added)
        self.expected += len(added)

    @rule(n=st.integers(0, 5))
    def remove_bots(self, n: int) -> None:
        removed = self.world.remove_bots(n)
        assert not set(removed) & set(self.players)
        self.expected -= len(removed)

    @precondition(lambda self: bool(self.players))
    @rule(i=st.integers(0, 10), controller=st.sampled_from(["bot", "player"]))
    def switch(self, i: int, controller: str) -> None:
        car = self.players[i % len(self.players)]
        self.world.set_controller(car, controller, "steady")
        assert self.world.cars[car].controller == controller

    @rule(lane=st.integers(-1, 4), x=st.floats(-10, 2000), seconds=st.floats(0, 10))
    def incident(self, lane: int, x: float, seconds: float) -> None:
        self.world.inject_incident(lane, x, seconds)

    @rule(rulebook=RULEBOOKS)
    def rulebook(self, rulebook: dict[str, str]) -> None:
        self.world.set_rulebook(rulebook)

    @rule(ticks=st.integers(1, 40), presses=st.lists(st.tuples(st.integers(0, 10), ACTIONS)))
    def drive(self, ticks: int, presses: list) -> None:
        for t in range(ticks):
            controls: dict[int, list] = {}
            if t == 0 and self.players:
                for i, action in presses:
                    controls.setdefault(self.players[i % len(self.players)], []).append(action)
            self.checker.check(self.world.step(controls))

    @rule()
    def fork(self) -> None:
        self.branch = copy.deepcopy(self.world)

    @invariant()
    def cars_conserved(self) -> None:
        assert len(self.world.cars) == self.expected
        assert list(self.world.cars) == sorted(self.world.cars)

    def teardown(self) -> None:
        world = self.world
        world.step()  # a replay ends after a step: close the changes made since the last one
        again = World.replay(self.scenario, 4, None, None, None, world.log, until_tick=world.tick)
        assert again.state() == world.state()
        if self.branch is not None:
            self.branch.run_log(world.log, until_tick=world.tick)
            assert self.branch.state() == world.state()


WorldLifeCycle.TestCase.settings = settings(max_examples=25, stateful_step_count=20, deadline=None)
TestWorldLifeCycle = WorldLifeCycle.TestCase
