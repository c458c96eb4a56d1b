"""Drivers: player controls, signals, yielding, AEB, crashes, road features and personalities."""

from __future__ import annotations

import statistics
from collections import Counter

import pytest

from shared.sim.events import Event
from shared.sim.scenario import load_scenario, parse_scenario
from shared.sim.world import DT, World


def _world(lanes: int = 2, length: float = 1000, cars: int = 0, **extra: object) -> World:
    raw: dict = {"road": {"length": length, "lanes": lanes}, "traffic": {"cars": cars}}
    raw.update(extra)
    return World(parse_scenario(raw), seed=1)


def _place(world: World, car_id: int, lane: int, x: float, v: float) -> None:
    """Test set-up only: put a car somewhere (not logged, so never used with replays)."""
    car = world.cars[car_id]
    car.lane, car.lane_index, car.lc_target, car.x, car.v = float(lane), lane, lane, x, v
    world._rebuild()


def _run(world: World, ticks: int, controls: dict | None = None) -> list[Event]:
    events: list[Event] = []
    for i in range(ticks):
        events += world.step(controls if i == 0 else None)
    return events


def _value(event: Event) -> float:
    """The figure a lane change or a merge always carries (seconds signalled, metres left)."""
    assert event.value is not None, event
    return event.value


def _car(event: Event) -> int:
    """The car of an event about a car."""
    assert event.car is not None, event
    return event.car


def test_target_speed_steps_and_brake_pulses() -> None:
    world = _world(cars=0)
    p = world.add_player_car()
    car = world.cars[p]
    start = car.target_speed
    _run(world, 1, {p: [("faster", None), ("faster", None), ("slower", None)]})
    assert car.target_speed == pytest.approx(start + 10 / 3.6)
    _run(world, 1, {p: [("slower", None)] * 40})
    assert car.target_speed == 0.0
    _run(world, 1, {p: [("faster", None)] * 40})
    assert car.target_speed == pytest.approx(car.v_max)
    decels = []
    for i in range(20):
        world.step({p: [("brake", None), ("brake", None)]} if i == 0 else None)
        decels.append(car.a)
    assert decels[:12] == [-6.0] * 12  # two presses: two pulses of 0.3 s
    assert all(a > -6.0 for a in decels[12:])


def test_gap_and_assist_settings_are_validated_and_logged() -> None:
    world = _world()
    p = world.add_player_car()
    car = world.cars[p]
    _run(world, 1, {p: [("gap", 3), ("gap", 9), ("gap", True), ("assist", "maybe")]})
    assert car.gap_setting == 3 and pytest.approx(2.2) == car.T and car.assist
    _run(world, 1, {p: [("gap", 1), ("assist", "off"), ("teleport", 1)]})
    assert car.gap_setting == 1 and pytest.approx(1.0) == car.T and not car.assist
    logged = [entry for entry in world.log if entry[1] == "controls"]
    assert logged == [
        (0, "controls", [[p, "gap", 3]]),
        (1, "controls", [[p, "gap", 1], [p, "assist", "off"]]),
    ]


def test_controls_for_bots_and_unknown_cars_are_ignored() -> None:
    world = _world(cars=3)
    before = world.cars[0].target_speed
    _run(world, 1, {0: [("slower", None)], 99: [("brake", None)]})
    assert world.cars[0].target_speed == before
    assert not [e for e in world.log if e[1] == "controls"]


def test_signalled_lane_change_takes_two_seconds_and_occupies_both_lanes() -> None:
    world = _world(lanes=2, cars=0)
    p = world.add_player_car()
    q = world.add_player_car()
    _place(world, p, 0, 100.0, 25.0)
    _place(world, q, 1, 60.0, 25.0)
    events = _run(world, 50, {p: [("signal_left", None)]})
    assert world.cars[p].signal == -1
    events = _run(world, 20, {p: [("left", None)]})
    change = [e for e in events if e.kind == "lane_change"]
    assert len(change) == 1 and change[0].value == pytest.approx(2.5)
    assert change[0].lane == 0 and change[0].target == 1
    car = world.cars[p]
    assert 0.0 < car.lane < 1.0
    gap, leader = world.leader_of(q)
    assert leader == p  # the car behind in the target lane already sees it
    _run(world, 21)
    assert car.lane == 1.0 and car.lane_index == 1 and car.signal == 0
    events = _run(world, 1, {p: [("right", None)]})
    assert [e.value for e in events if e.kind == "lane_change"] == [0.0]  # unsignalled


def test_player_cannot_leave_the_road_or_enter_a_closed_lane() -> None:
    world = _world(lanes=2, closures=[{"lane": 1, "start": 200, "end": 600}])
    p = world.add_player_car()
    _place(world, p, 0, 300.0, 10.0)
    events = _run(world, 1, {p: [("left", None), ("right", None)]})
    assert not [e for e in events if e.kind == "lane_change"]
    assert world.cars[p].lane == 0.0


def test_manual_driving_into_a_slow_car_gives_aeb_near_miss_and_a_crash_that_clears() -> None:
    world = _world(lanes=1, cars=0)
    p = world.add_player_car()
    q = world.add_player_car()
    _place(world, p, 0, 100.0, 33.0)
    _place(world, q, 0, 200.0, 3.0)
    world.cars[q].target_speed = 3.0
    events = _run(world, 200, {p: [("assist", "off")] + [("faster", None)] * 3})
    kinds = [e.kind for e in events]
    assert "near_miss" in kinds and "hard_brake" in kinds
    crash = [e for e in events if e.kind == "crash"]
    assert len(crash) == 1 and {crash[0].car, crash[0].other} == {p, q}
    assert world.cars[p].crashed and world.cars[q].crashed
    assert world.cars[p].v == 0.0 and world.cars[q].v == 0.0
    t_crash = crash[0].tick
    events = _run(world, round(15 / DT))
    cleared = [e for e in events if e.kind == "incident_clear"]
    assert {e.car for e in cleared} == {p, q}
    assert all(e.tick == t_crash + round(15 / DT) for e in cleared)
    assert not [e for e in events if e.kind == "crash"]  # the wreck does not crash again


def test_assisted_following_does_not_crash() -> None:
    world = _world(lanes=1, cars=0)
    p = world.add_player_car()
    q = world.add_player_car()
    _place(world, p, 0, 100.0, 33.0)
    _place(world, q, 0, 200.0, 3.0)
    world.cars[q].target_speed = 3.0
    events = _run(world, 400, {p: [("faster", None)] * 3})
    assert not {"crash", "near_miss"} & {e.kind for e in events}
    gap, leader = world.leader_of(p)
    assert leader == q and gap > 2.0


def test_yield_opens_a_gap_for_a_signalling_neighbour() -> None:
    def run(yielding: bool) -> float:
        world = _world(lanes=2, cars=0)
        a = world.add_player_car()  # signals from lane 0 into lane 1
        b = world.add_player_car()  # in lane 1, a little behind
        _place(world, a, 0, 110.0, 25.0)
        _place(world, b, 1, 100.0, 25.0)
        world.cars[a].target_speed = world.cars[b].target_speed = 25.0
        presses = {a: [("signal_left", None)]}
        if yielding:
            presses[b] = [("yield", None)]
        _run(world, 80, presses)
        gap = (world.cars[a].x - world.cars[b].x) % world.length - world.cars[a].length
        return gap

    assert run(True) > run(False) + 5.0


def test_polite_bot_yields_to_a_signalling_player() -> None:
    world = _world(lanes=2, cars=0)
    bot = world.add_bots(1, "steady")[0]
    p = world.add_player_car()
    _place(world, bot, 1, 100.0, 30.0)
    _place(world, p, 0, 115.0, 30.0)
    world.cars[p].target_speed = 30.0
    _run(world, 30, {p: [("signal_left", None)]})
    assert world.cars[bot].yield_to == p


def test_takeover_and_handback() -> None:
    world = _world(lanes=2, cars=5)
    p = world.add_player_car()
    world.set_controller(p, "bot", "hurried")
    events = _run(world, 2, {p: [("slower", None)]})
    car = world.cars[p]
    assert car.controller == "bot" and car.personality == "hurried"
    assert [e.kind for e in events if e.car == p][:1] == ["takeover"]
    world.set_controller(p, "player")
    events = _run(world, 1)
    assert "handback" in [e.kind for e in events if e.car == p]
    assert car.controller == "player"
    with pytest.raises(ValueError):
        world.set_controller(p, "bot", "pirate")


def test_steady_bots_signal_for_two_seconds_when_the_rules_require() -> None:
    world = World(load_scenario("open-road"), seed=3, rulebook={"signal": "required"})
    steady = {c.id for c in world.cars.values() if c.personality == "steady"}
    hurried = {c.id for c in world.cars.values() if c.personality == "hurried"}
    events = _run(world, round(90 / DT))
    changes = [e for e in events if e.kind == "lane_change"]
    steady_values = [_value(e) for e in changes if e.car in steady]
    assert steady_values and min(steady_values) >= 2.0
    hurried_values = [
        _value(e)
        for e in changes
        if e.car in hurried and world.cars[_car(e)].params.conforms is False
    ]
    if hurried_values:
        assert min(hurried_values) < 2.0


def test_hurried_drivers_weave_more_and_follow_closer_than_steady() -> None:
    world = World(load_scenario("open-road"), seed=2, mix={"steady": 0.5, "hurried": 0.5})
    kinds = {c.id: c.personality for c in world.cars.values()}
    events = _run(world, round(90 / DT))
    changes = Counter(kinds[_car(e)] for e in events if e.kind == "lane_change")
    count = Counter(kinds.values())
    assert changes["hurried"] / count["hurried"] > changes["steady"] / count["steady"]
    hurried_T = statistics.mean(c.T for c in world.cars.values() if c.personality == "hurried")
    steady_T = statistics.mean(c.T for c in world.cars.values() if c.personality == "steady")
    assert hurried_T < steady_T


def test_distracted_drivers_tap_the_brake() -> None:
    world = _world(lanes=1, length=2000, cars=10, traffic={"cars": 10, "mix": {"distracted": 1}})
    taps = 0
    for _ in range(round(120 / DT)):
        world.step()
        taps += sum(1 for c in world.cars.values() if c.tap_until > world.tick)
    assert taps > 0


def test_trucks_are_long() -> None:
    world = _world(lanes=2, cars=10, traffic={"cars": 10, "trucks": 1.0})
    assert all(c.length == 12.0 and c.truck for c in world.cars.values())


def test_injected_incident_blocks_its_lane_then_clears() -> None:
    world = World(load_scenario("open-road").with_overrides(length=1500, cars=30), seed=1)
    world.inject_incident(1, 700.0, 20)
    assert world.road()["incidents"] == [{"lane": 1, "x": 700.0, "until": 20.0}]
    passed = []
    events: list[Event] = []
    for _ in range(round(19 / DT)):
        before = {c.id: (c.x, c.lane) for c in world.cars.values()}
        events += world.step()
        for c in world.cars.values():
            x0, lane0 = before[c.id]
            if abs(c.lane - 1) < 0.5 and abs(lane0 - 1) < 0.5 and x0 < 700.0 <= c.x:
                passed.append(c.id)
    assert events[0].kind == "incident_start" and events[0].lane == 1
    assert not passed
    events = _run(world, round(2 / DT))
    assert "incident_clear" in [e.kind for e in events]
    assert world.road()["incidents"] == []


def test_on_ramp_cars_merge_before_the_ramp_ends() -> None:
    world = World(load_scenario("on-ramp"), seed=1)
    ramp = world.scenario.ramps[0]
    merges = []
    for _ in range(round(120 / DT)):
        merges += [e for e in world.step() if e.kind == "merge"]
        for c in world.cars.values():
            if c.lane < 0.5:
                assert world.geo.span(ramp.start - 200, ramp.end, c.x), c
    assert len(merges) >= 5
    assert all(
        e.lane == 0 and e.target == 1 and 0 <= _value(e) <= ramp.end - ramp.start for e in merges
    )


def test_fog_and_speed_zones_slow_bots_down() -> None:
    world = _world(
        lanes=1,
        length=3000,
        traffic={"cars": 8, "mix": {"steady": 1}},
        fog=[{"start": 0, "end": 1000, "sight": 50}],
        speed_zones=[{"start": 1500, "end": 2500, "limit_kmh": 60}],
    )
    fog, zone, clear = [], [], []
    for tick in range(round(150 / DT)):
        world.step()
        if tick < round(20 / DT):  # cars start where they were placed, at their own speed
            continue
        for c in world.cars.values():
            if 100 < c.x < 1000:
                fog.append(c.v)
            elif 1700 < c.x < 2500:
                zone.append(c.v)
            elif c.x > 2700:
                clear.append(c.v)
    assert max(zone) <= 60 / 3.6 + 0.5
    assert statistics.mean(fog) < 0.8 * statistics.mean(clear)


def test_hazard_habit_under_the_rulebook() -> None:
    world = World(
        load_scenario("rush-hour").with_overrides(length=1000, cars=100),
        seed=1,
        rulebook={"hazards": "yes"},
    )
    seen = False
    for _ in range(round(150 / DT)):
        world.step()
        seen = seen or any(c.hazard for c in world.cars.values())
    assert seen


def test_rulebook_speed_limit_and_two_second_rule_bind_conforming_bots() -> None:
    scenario = load_scenario("open-road").with_overrides(length=2000, cars=30)
    book = {"speed_limit": "80", "following": "two_second"}
    world = World(scenario, seed=5, rulebook=book, mix={"steady": 0.5, "hurried": 0.5})
    _run(world, round(40 / DT))
    steady = [c for c in world.cars.values() if c.personality == "steady" and not c.truck]
    rebels = [
        c for c in world.cars.values() if c.personality == "hurried" and not c.params.conforms
    ]
    assert steady and rebels
    assert all(c.v <= 80 / 3.6 + 0.05 and c.T >= 2.0 for c in steady)
    assert max(c.v0 for c in rebels) > 100 / 3.6
    world.set_rulebook({"speed_limit": "none"})
    assert min(c.v0 for c in steady) > 100 / 3.6  # bots adapt to a new rulebook at once


def test_a_cars_accel_is_driver_idm_to_the_bit() -> None:
    """Car.accel keeps what depends only on the parameters; the physics must stay idm's, bit
    for bit, for every kind of driver, speed and gap (free road, jams, overlaps, stopped)."""
    import random

    from shared.sim.driver import FREE, idm

    world = World(load_scenario("rush-hour"), seed=2, bots=60)
    world.add_player_car()
    world.set_rulebook({"following": "two_second", "speed_limit": "80"})
    rng = random.Random(3)
    for car in world.cars.values():
        p = car.params
        for _ in range(200):
            car.v = rng.choice([0.0, rng.uniform(0, 50), car.v0_now, car.v0_now * 1.3])
            car.v0_now = rng.choice([car.v0, 0.0, rng.uniform(5, 40)])
            gap = rng.choice([FREE, 0.0, -3.0, 0.05, rng.uniform(0, 300)])
            vl = rng.choice([0.0, car.v, rng.uniform(0, 50)])
            expected = idm(car.v, car.v0_now, car.T, p.s0, p.a, p.b, gap, vl)
            assert repr(car.accel(gap, vl)) == repr(expected)
