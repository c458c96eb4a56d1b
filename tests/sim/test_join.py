"""A player joining the road: placed only where it is safe, or given a bot's seat.

A new player's car must not start in a crash: it joins where its follower can calmly make room
for it and it can follow its leader without braking hard, at its leader's speed when the gap is
short; when no lane has such a gap (the dense ring, rush hour) it takes over a bot's car. The
placement reads only the world's state, so a replay of the log puts the car in the same spot.
"""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from shared.sim.car import Car
from shared.sim.driver import idm
from shared.sim.events import Event
from shared.sim.scenario import load_scenario
from shared.sim.tuning import HARD_BRAKE, JOIN_DECEL, kinematic_ok
from shared.sim.world import World

SCENARIOS = ("ring", "rush-hour", "open-road", "lane-closure", "on-ramp", "incident")
AFTER = 200  # ticks simulated after the join: 10 s


def _neighbours(world: World, car: Car) -> tuple[Car, float, Car, float]:
    """The car ahead and its gap, the car behind and its gap, in the joining car's lane."""
    lst = sorted(world._lanes[car.lane_index], key=lambda c: c.x)
    i = lst.index(car)
    ahead, behind = lst[(i + 1) % len(lst)], lst[i - 1]
    front = (ahead.x - car.x) % world.length - ahead.length
    back = (car.x - behind.x) % world.length - car.length
    return ahead, front, behind, back


def _accel(car: Car, gap: float, vl: float) -> float:
    """The IDM acceleration of a car's driver behind a leader at `gap` going `vl`."""
    p = car.params
    return idm(
        car.v, car.v0_now if car.controller == "bot" else car.v0, car.T, p.s0, p.a, p.b, gap, vl
    )


def _check_join(world: World, car_id: int, seat: bool) -> None:
    """The state right after add_player_car: a usable car, never a crash in the making."""
    car = world.cars[car_id]
    assert car.controller == "player" and car.player_owned and car.assist
    assert not car.crashed and 0.0 <= car.v <= car.target_speed + 1e-9
    assert car.lane == car.lane_index and car.lane_index in world._main_lanes
    ahead, front, behind, back = _neighbours(world, car)
    if ahead is car:
        return  # alone in its lane
    if seat:
        # the bot's car keeps its place and speed; the player's model brakes, but not hard
        assert _accel(car, front, ahead.v) > -HARD_BRAKE
        return
    assert front > 0.0 and back > 0.0
    assert kinematic_ok(car.v, ahead.v, front), (car, ahead, front)
    assert kinematic_ok(behind.v, car.v, back), (behind, car, back)
    assert _accel(car, front, ahead.v) >= -JOIN_DECEL - 1e-9
    assert _accel(behind, back, car.v) >= -JOIN_DECEL - 1e-9


def _join_and_drive(
    name: str, seed: int, join_tick: int, replay: bool = False
) -> tuple[int, list[Event]]:
    scenario = load_scenario(name)
    world = World(scenario, seed=seed)
    for _ in range(join_tick):
        world.step()
    before = set(world.cars)
    car_id = world.add_player_car()
    _check_join(world, car_id, seat=car_id in before)
    events: list[Event] = []
    for i in range(AFTER):  # the player presses nothing: assist drives
        events += world.step()
        if replay and i == 9:  # the join is in the log: a replay puts the car in the same spot
            again = World.replay(scenario, seed, None, None, None, world.log, until_tick=world.tick)
            assert again.state() == world.state()
    return car_id, events


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(SCENARIOS),
    seed=st.integers(0, 10_000),
    join_tick=st.sampled_from([0, 60, 200]),
)
@example(name="on-ramp", seed=0, join_tick=0)  # was put 19 m ahead of a car 20 m/s faster
@example(name="rush-hour", seed=0, join_tick=0)  # was put 8 m ahead of a car 7 m/s faster
@example(name="ring", seed=9, join_tick=600)  # was put, nearly stopped, in a moving gap
def test_a_joining_player_is_not_placed_into_a_crash(name: str, seed: int, join_tick: int) -> None:
    car_id, events = _join_and_drive(name, seed, join_tick, replay=True)
    mine = [e for e in events if car_id in (e.car, e.other)]
    assert not [e for e in mine if e.kind == "crash"], mine
    # nobody had to brake in an emergency behind it (its follower kept a calm distance)
    assert not [e for e in mine if e.kind == "near_miss" and e.other == car_id], mine


def test_joining_the_ring_once_its_jam_has_formed() -> None:
    """The 230 m ring stop-and-go: later joins find slow and fast gaps side by side."""
    for seed in range(12):
        for join_tick in (600, 1200):
            car_id, events = _join_and_drive("ring", seed, join_tick)
            mine = [e for e in events if car_id in (e.car, e.other)]
            assert not [e for e in mine if e.kind in ("crash", "near_miss")], (seed, mine)


def test_add_player_car_on_a_full_road_returns_a_usable_car() -> None:
    ring = load_scenario("ring")
    for bots in (None, 500):  # the scenario's 22 cars, and as many as the road holds
        world = World(ring, seed=3, bots=bots)
        cars = len(world.cars)
        ids = [world.add_player_car(), world.add_player_car()]
        assert len(set(ids)) == 2 and len(world.cars) == cars  # bots' seats, no squeezing in
        for car_id in ids:
            car = world.cars[car_id]
            if bots is None:
                _check_join(world, car_id, seat=True)
            else:  # bumper to bumper: the player's model keeps a longer gap, so it must brake
                assert car.controller == "player" and car.assist and not car.crashed
            assert car.personality == "steady" and car.intent == 0 and car.merge_behind is None
        p, q = ids
        start = world.cars[p].target_speed
        events = world.step({p: [("slower", None)], q: [("gap", 3), ("brake", None)]})
        assert world.cars[p].target_speed < start
        assert world.cars[q].gap_setting == 3 and world.cars[q].braking
        assert world.log[-1][1] == "controls"
        for _ in range(AFTER):
            events += world.step()
        assert not [e for e in events if e.kind == "crash" and {e.car, e.other} & set(ids)]
        assert all(world.cars[i].distance > 0.0 for i in ids)
        again = World.replay(ring, 3, None, bots, None, world.log, until_tick=world.tick)
        assert again.state() == world.state()


def test_joining_is_deterministic_and_prefers_the_right_lane() -> None:
    scenario = load_scenario("open-road")
    a, b = World(scenario, seed=11), World(scenario, seed=11)
    assert a.add_player_car() == b.add_player_car()
    assert a.state() == b.state()
    player = a.cars[max(a.cars)]
    assert player.lane_index == 0  # light traffic: the rightmost lane has room


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SCENARIOS), seed=st.integers(0, 10_000), at=st.sampled_from([0, 600]))
@example(name="rush-hour", seed=2, at=600)  # a truck was put where only a car fitted: a crash
def test_bots_the_host_adds_join_where_it_is_safe(name: str, seed: int, at: int) -> None:
    """The host's "+5 bots" (and a program's traffic shock) mid-round: denser traffic, but
    no crash and no emergency of the new bots' making; each new car is on the road with room."""
    world = World(load_scenario(name), seed=seed)
    for _ in range(at):
        world.step({})
    added = world.add_bots(5)
    assert len(added) == len(set(added)) <= 5
    for car_id in added:
        car = world.cars[car_id]
        assert car.controller == "bot" and not car.crashed and car.v >= 0.0
        ahead, front, behind, back = _neighbours(world, car)
        if ahead is not car:
            assert front > 0.0 and back > 0.0, (car, ahead, front, behind, back)
    events: list[Event] = []
    for _ in range(AFTER):
        events.extend(world.step({}))
    theirs = [e for e in events if e.car in added or e.other in added]
    assert not [e for e in theirs if e.kind == "crash"], theirs
    # in the first 2 s nobody behind a new car brakes in an emergency for it
    early = [e for e in theirs if e.kind == "near_miss" and e.tick < at + 40 and e.other in added]
    assert not early, early


def test_open_road_takes_all_the_bots_asked_for() -> None:
    world = World(load_scenario("open-road"), seed=3)
    for _ in range(100):
        world.step({})
    before = len(world.cars)
    assert len(world.add_bots(5)) == 5 and len(world.cars) == before + 5
