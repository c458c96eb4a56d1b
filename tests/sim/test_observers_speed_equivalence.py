"""The observers' fast paths give the plain definitions' numbers, bit for bit.

RoundMetrics, the Recorder and the AdherenceTracker run for every car of every room at 20 Hz,
so their hot loops inline the definitions and skip work where the answer is known (a desired
speed below every limit, one limit along the whole road, leaders kept in the cars' records).
These tests hold them to the plain definitions: the free-flow speed from the per-10 m bins,
the delay summed car by car, the leaders and the "passing" test as a straightforward scan.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from server.adherence import AdherenceTracker
from server.adherence_model import (
    BLOCK_AFTER_M,
    BLOCK_BEFORE_M,
    PASS_AHEAD_MIN_M,
    PASS_AHEAD_S,
    PASS_BEHIND_M,
    PASS_DV,
)
from server.metrics import ZONE_BIN_M, FreeFlow, RoundMetrics, _bin_edges
from server.recorder import Recorder
from shared.conventions import make_rulebook
from shared.sim.scenario import load_scenario
from shared.sim.tuning import DT
from shared.sim.world import World

# --- the free-flow speed -----------------------------------------------------------------


def plain_speed(free: FreeFlow, v0: float, x: float) -> float:
    """The free-flow speed as first defined: the bin of x, its limit, the lower of the two."""
    k = int(x / ZONE_BIN_M)
    limit = free.bin_limit[k] if 0 <= k < len(free.bin_limit) else math.inf
    return v0 if v0 < limit else limit


def near(value: float, steps: int = 40) -> list[float]:
    """`value` and the floats just below and above it."""
    out = [value]
    lo = hi = value
    for _ in range(steps):
        lo, hi = math.nextafter(lo, -math.inf), math.nextafter(hi, math.inf)
        out += [lo, hi]
    return out


@pytest.mark.parametrize("bins", [1, 3, 23, 200, 250, 301, 12345])
def test_bin_edges_are_the_bins_test_without_the_division(bins: int) -> None:
    lo, hi = _bin_edges(bins)
    rng = random.Random(bins)
    xs = near(-ZONE_BIN_M) + near(0.0) + near(-0.0) + near(bins * ZONE_BIN_M)
    xs += near((bins - 1) * ZONE_BIN_M) + near(lo) + near(hi)
    xs += [rng.uniform(-30.0, bins * ZONE_BIN_M + 30.0) for _ in range(2000)]
    for x in xs:
        assert (lo < x < hi) == (0 <= int(x / ZONE_BIN_M) < bins), x


ROADS = [
    {"length": 2000.0},
    {"length": 2500.0, "speed_zones": [{"start": 600.0, "end": 1100.0, "limit": 100 / 3.6}]},
    {"length": 233.0, "speed_zones": [{"start": 200.0, "end": 30.0, "limit": 50 / 3.6}]},
    {"length": 1995.0},
]


@pytest.mark.parametrize("road", ROADS)
@pytest.mark.parametrize("limit", ["none", "80", "100", "120"])
def test_free_flow_speed_is_the_bin_lookup(road: dict[str, Any], limit: str) -> None:
    free = FreeFlow(road, make_rulebook({"speed_limit": limit}))
    length = float(road["length"])
    rng = random.Random(7)
    speeds = [60 / 3.6, 80 / 3.6, 100 / 3.6, 120 / 3.6, 130 / 3.6, 160 / 3.6, math.inf]
    speeds += [rng.uniform(5.0, 50.0) for _ in range(30)]
    xs = near(0.0, 5) + near(length, 5) + [rng.uniform(0.0, length) for _ in range(300)]
    xs += [k * ZONE_BIN_M for k in range(len(free.bin_limit) + 1)]
    for v0 in speeds:
        for x in xs:
            expected = plain_speed(free, v0, x)
            assert free.capped(v0, x) == expected, (v0, x)
            free.desired[1] = v0
            assert free.speed(1, x) == expected


# --- a round, observed --------------------------------------------------------------------

ALL_RULES = {
    "passing": "right",
    "signal": "required",
    "following": "two_second",
    "hazards": "yes",
    "speed_limit": "100",
}


def plain_leaders(tracker: AdherenceTracker, cars: dict[int, Any]) -> dict[int, tuple[float, Any]]:
    """Gap and car ahead of every car: its lanes sorted by x, the next car round the ring or
    a closure start or blocked spot before it (the tracker's first definition)."""
    grouped: dict[int, list[Any]] = {}
    for car in cars.values():
        low = math.floor(car.lane)
        grouped.setdefault(low, []).append(car)
        if car.lane != low:
            grouped.setdefault(low + 1, []).append(car)
    out: dict[int, tuple[float, Any]] = {}
    length = tracker.length
    for lane, members in grouped.items():
        members.sort(key=lambda c: c.x)
        if len(members) < 2:
            continue
        stops = [float(c["start"]) for c in tracker.road.get("closures", ()) if c["lane"] == lane]
        stops += [b.x for b in tracker.blocks if b.lane == lane]
        for i, car in enumerate(members):
            ahead = members[(i + 1) % len(members)]
            distance = (ahead.x - car.x) % length
            gap, leader = distance - getattr(ahead, "length", 5.0), ahead
            for stop in stops:
                d = (stop - car.x) % length
                if d < distance and d < gap:
                    gap, leader = d, None
            best = out.get(car.id)
            if best is None or gap < best[0]:
                out[car.id] = (gap, leader)
    return out


def plain_lane_open(tracker: AdherenceTracker, lane: int, x: float) -> bool:
    length = tracker.length
    for c in tracker.road.get("closures", ()):
        if int(c["lane"]) == lane:
            start, end = float(c["start"]), float(c["end"])
            warn = 500.0 if c.get("warn") is None else max(0.0, float(c["warn"]))
            if (start - x) % length <= warn or (x - start) % length <= (end - start) % length:
                return False
    if any(int(r["lane"]) == lane for r in tracker.road.get("ramps", ())):
        return False
    for b in tracker.blocks:
        if b.lane == lane and (
            (b.x - x) % length <= BLOCK_BEFORE_M or (x - b.x) % length <= BLOCK_AFTER_M
        ):
            return False
    return True


def plain_hogging(tracker: AdherenceTracker, car: Any, cars: dict[int, Any]) -> bool:
    """In a passing lane with nobody to pass: no slower car in an open lane on the cruising
    side from 15 m behind to the look-ahead, none beside it within 15 m (a plain scan)."""
    lane = car.lane_index
    if tracker.passing == "right":
        side, beside = range(lane - 1, -1, -1), lane - 1
    else:
        side, beside = range(lane + 1, tracker.lanes), lane + 1
    open_side = [k for k in side if plain_lane_open(tracker, k, car.x)]
    if not open_side:
        return False
    length = tracker.length
    ahead = max(PASS_AHEAD_MIN_M, PASS_AHEAD_S * car.v)
    for k in open_side:
        for other in cars.values():
            low = math.floor(other.lane)
            if k not in (low, low + 1 if other.lane != low else low):
                continue
            lo, hi = car.x - PASS_BEHIND_M, car.x + ahead
            inside = any(
                lo + shift <= other.x <= hi + shift
                for shift in [0.0]
                + ([length] if lo < 0 else [])
                + ([-length] if hi >= length else [])
            )
            if not inside:
                continue
            if other.v < car.v - PASS_DV:
                return False  # passing a slower car
            dx = (other.x - car.x) % length
            dx = dx - length if dx > length / 2 else dx
            if k == beside and abs(dx) <= PASS_BEHIND_M:
                return False  # a car beside it blocks the move back
    return True  # nobody to pass


@dataclass
class Reference:
    """Per-car delay and per-tick totals by the plain definition."""

    free: FreeFlow
    cum: dict[int, float] = field(default_factory=dict)
    ticks: list[float] = field(default_factory=list)

    def add(self, cars: dict[int, Any]) -> None:
        total = 0.0
        for car in cars.values():
            fv = plain_speed(self.free, self.free.desired_of(car), car.x)
            if car.v < fv:
                lost = (1.0 - car.v / fv) * DT
                total += lost
                self.cum[car.id] = self.cum.get(car.id, 0.0) + lost
        self.ticks.append(total)


@pytest.mark.parametrize(
    ("scenario", "bots", "rules"),
    [
        ("lane-closure", 40, {**ALL_RULES, "merge": "zipper"}),
        ("incident", 40, {"passing": "left", "following": "two_second", "hazards": "yes"}),
        ("on-ramp", 30, {**ALL_RULES, "passing": "left", "speed_limit": "120"}),
        ("rush-hour", 20, {}),
        ("on-ramp", 50, {"passing": "right", "speed_limit": "80"}),
        ("lane-closure", 50, {"passing": "left", "following": "two_second"}),
    ],
)
def test_observers_give_the_plain_definitions_numbers(
    scenario: str, bots: int, rules: dict[str, str]
) -> None:
    rulebook = make_rulebook(rules)
    world = World(load_scenario(scenario), seed=3, rulebook=rulebook, bots=bots)
    players = [world.add_player_car() for _ in range(3)]
    metrics, recorder = RoundMetrics(world), Recorder(checkpoint_ticks=0)
    tracker = AdherenceTracker(rulebook, world.road())
    reference = Reference(FreeFlow(world.road(), rulebook))
    counterfactual_free = FreeFlow(world.road(), rulebook)
    counterfactual_cum: dict[int, float] = {}
    rng = random.Random(5)
    hogging_checked = 0
    for tick in range(700):
        controls = {
            car: [(rng.choice(["faster", "slower", "left", "right", "brake"]),)]
            for car in players
            if rng.random() < 0.05
        }
        if tick == 200:
            world.inject_incident(1, world.length * 0.4, 15.0)
        events: list[Any] = world.step(controls)
        metrics.observe(world, events)
        recorder.observe(world, events)
        tracker.observe(world, events)
        reference.add(world.cars)
        rec = recorder.recording()
        assert rec.delay_ticks[-1] == reference.ticks[-1]
        total = counterfactual_free.tick_delay(world.cars.values(), counterfactual_cum)
        assert total == reference.ticks[-1]
        for car_id, cum in reference.cum.items():
            assert metrics.drivers[car_id].delay == cum
        if rec.frames and rec.frames[-1] == world.tick:  # a sample: each car's delay so far
            for car_id in world.cars:
                assert rec.tracks[car_id].cum[-1] == reference.cum.get(car_id, 0.0)
        if tracker.rules()["following"] or tracker.rules()["hazards"]:
            for car_id, (gap, leader) in plain_leaders(tracker, world.cars).items():
                record = tracker.records[car_id]
                assert (record.lead_gap, record.leader) == (gap, leader)
        if tracker.passing != "free" and tick % 7 == 0:
            for car in world.cars.values():
                settled = abs(car.lane - car.lane_index) < 0.05
                if settled and not car.crashed and car.v >= 50 / 3.6:
                    expected = plain_hogging(tracker, car, world.cars)
                    assert tracker._hogging(car, car.lane_index, tracker._lanes(world.cars)) == (
                        expected
                    )
                    hogging_checked += 1
    assert counterfactual_cum == reference.cum
    assert hogging_checked or tracker.passing == "free"


# --- the recorder: a car that leaves and comes back -------------------------------------


@dataclass
class FakeCar:
    id: int
    x: float
    v: float
    a: float = 0.0
    lane: float = 0.0
    lane_index: int = 0
    controller: str = "bot"
    personality: str = "steady"
    distance: float = 0.0


@dataclass
class FakeWorld:
    tick: int = 0
    length: float = 1000.0
    lanes: int = 1
    cars: dict[int, FakeCar] = field(default_factory=dict)
    rulebook: dict[str, str] = field(default_factory=dict)

    def road(self) -> dict[str, Any]:
        return {"length": self.length, "lanes": self.lanes, "gantry": 0.0}


def test_recorder_pads_the_frames_a_car_missed() -> None:
    world = FakeWorld()
    world.cars = {1: FakeCar(1, 10.0, 20.0), 2: FakeCar(2, 500.0, 5.0)}
    recorder = Recorder(checkpoint_ticks=0)
    away = None
    for tick in range(1, 41):
        world.tick = tick
        if tick == 12:
            away = world.cars.pop(2)
        if tick == 27 and away is not None:
            world.cars[2] = away
        for car in world.cars.values():
            car.x = (car.x + car.v * DT) % world.length
            car.a = -float(tick % 7)
        recorder.observe(world, [])
    rec = recorder.recording()
    track = rec.tracks[2]
    assert track.start == 0 and len(track.x) == len(rec.frames) == 8
    missing = [f for f in range(len(rec.frames)) if track.x[f] < 0]
    assert missing == [2, 3, 4]  # frames at ticks 15, 20, 25
    for f in missing:
        assert (track.v[f], track.lane[f], track.amin[f]) == (0.0, -1, 0.0)
        assert track.cum[f] == track.cum[1]
    # braking is the minimum since the previous sample, and only while on the road
    assert track.amin[5] == min(-float(t % 7) for t in range(27, 31))
    assert rec.tracks[1].amin[1] == min(-float(t % 7) for t in range(6, 11))
