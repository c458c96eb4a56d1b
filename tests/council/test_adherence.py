"""Adherence counters on scripted drivers, measured with a small scripted world.

The world here is a stand-in with exactly the attributes the tracker reads (docs/architecture.md
"The simulation"), so each rule can be checked in isolation with cars placed by hand;
tests/council/test_adherence_world.py runs the same rules on the real simulation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from server.adherence import AdherenceTracker
from server.adherence_model import KEEP_GRACE_S, Violation
from shared.conventions import make_rulebook
from shared.sim.events import Event
from shared.sim.tuning import DT

KMH = 1 / 3.6


@dataclass
class FakeCar:
    id: int
    lane_index: int
    x: float
    v: float
    signal: int = 0
    hazard: bool = False
    crashed: bool = False
    length: float = 5.0

    @property
    def lane(self) -> float:
        return float(self.lane_index)


@dataclass
class FakeWorld:
    """Cars at constant speed round a ring; leader_of as the architecture defines it."""

    length: float = 2000.0
    lanes: int = 2
    tick: int = 0
    cars: dict[int, FakeCar] = field(default_factory=dict)

    def add(self, car: FakeCar) -> FakeCar:
        self.cars[car.id] = car
        return car

    def leader_of(self, car_id: int) -> tuple[float, int | None]:
        me = self.cars[car_id]
        best: tuple[float, int | None] = (float("inf"), None)
        for other in self.cars.values():
            if other.id == car_id or other.lane_index != me.lane_index:
                continue
            gap = (other.x - me.x) % self.length - other.length
            if gap < best[0]:
                best = (gap, other.id)
        return best

    def road(self, **features: Any) -> dict[str, Any]:
        road: dict[str, Any] = {"length": self.length, "lanes": self.lanes, "gantry": 0.0}
        road.update({"closures": [], "ramps": [], "incidents": [], "speed_zones": [], "fog": []})
        road.update(features)
        return road

    def step(self) -> None:
        self.tick += 1
        for car in self.cars.values():
            car.x = (car.x + car.v * DT) % self.length


def run(
    tracker: AdherenceTracker, world: FakeWorld, seconds: float, events: list[Event] | None = None
) -> list[Violation]:
    out: list[Violation] = []
    for i in range(round(seconds / DT)):
        world.step()
        out += tracker.observe(world, events if (events and i == 0) else [])
    return out


def lane_change(car: int, seconds_signalled: float, tick: int = 1) -> Event:
    return Event(tick, "lane_change", car, 100.0, 0, value=seconds_signalled, target=1)


# --- signalling ---------------------------------------------------------------------------


def test_three_second_signal_counts_and_half_a_second_does_not() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 0, 0.0, 20.0))
    world.add(FakeCar(2, 0, 1000.0, 20.0))
    tracker = AdherenceTracker(make_rulebook({"signal": "required"}), world.road())
    violations = run(tracker, world, 1.0, [lane_change(1, 3.0), lane_change(2, 0.5)])
    result = tracker.result()
    assert (result[1]["lane_changes"], result[1]["signalled"]) == (1, 1)
    assert (result[2]["lane_changes"], result[2]["signalled"]) == (1, 0)
    assert [(v.car, v.kind) for v in violations] == [(2, "signal")]
    assert violations[0].render("Ben") == "Ben signalled only 0.5 s before changing lanes"
    assert result[1]["score"] == 100 and result[2]["score"] < 100


def test_unsignalled_change_text_and_optional_rule() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 0, 0.0, 20.0))
    required = AdherenceTracker(make_rulebook({"signal": "required"}), world.road())
    optional = AdherenceTracker(make_rulebook({"signal": "optional"}), world.road())
    events = [lane_change(1, 0.0)]
    assert [v.render("Ana") for v in required.observe(world, events)] == [
        "Ana changed lanes without signalling"
    ]
    assert optional.observe(world, events) == []
    assert optional.result()[1]["lane_changes"] == 1
    assert optional.result()[1]["score"] == 100  # no rule broken when signals are optional


def test_signal_exactly_two_seconds_in_ticks_counts() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 0, 0.0, 20.0))
    tracker = AdherenceTracker(make_rulebook({"signal": "required"}), world.road())
    assert tracker.observe(world, [lane_change(1, 39 * DT + DT)]) == []  # 40 ticks = 2.0 s
    assert tracker.result()[1]["signalled"] == 1


def test_render_keeps_names_as_plain_text() -> None:
    violation = Violation(1, "signal", "{name} changed lanes without signalling")
    assert violation.render("[b]{x}[/b]") == "[b]{x}[/b] changed lanes without signalling"


# --- keep right ---------------------------------------------------------------------------


def test_cruising_in_the_passing_lane_with_nobody_to_pass_counts_against_keep_right() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 1, 0.0, 30.0))  # left lane, alone on the road
    tracker = AdherenceTracker(make_rulebook({"passing": "right"}), world.road())
    violations = run(tracker, world, 20.0)
    result = tracker.result()[1]
    assert result["passing_lane_s"] == 20.0 - KEEP_GRACE_S  # the grace is time to move back
    assert result["observed_s"] == 20.0
    assert [v.kind for v in violations] == ["passing", "passing"]  # after the grace, 10 s later
    assert violations[0].render("Cy") == "Cy is cruising in the passing lane with nobody to pass"
    assert result["score"] == round(100 * KEEP_GRACE_S / 20.0, 1)


def test_passing_a_slower_car_or_keeping_right_is_fine() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 1, 0.0, 30.0))  # passing car 2, which it never reaches
    world.add(FakeCar(2, 0, 120.0, 25.0))
    world.add(FakeCar(3, 0, 1000.0, 30.0))  # in the right lane
    tracker = AdherenceTracker(make_rulebook({"passing": "right"}), world.road())
    assert run(tracker, world, 10.0) == []
    assert all(r["passing_lane_s"] == 0 for r in tracker.result().values())


def test_keep_left_mirrors_and_free_does_not_count() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 0, 0.0, 30.0))  # the rightmost lane is the passing lane under keep left
    world.add(FakeCar(2, 1, 1000.0, 30.0))
    left = AdherenceTracker(make_rulebook({"passing": "left"}), world.road())
    free = AdherenceTracker(make_rulebook({"passing": "free"}), world.road())
    for _ in range(round(10 / DT)):
        world.step()
        left.observe(world, [])
        free.observe(world, [])
    assert left.result()[1]["passing_lane_s"] == 10.0 - KEEP_GRACE_S
    assert left.result()[2]["passing_lane_s"] == 0
    assert free.result()[1]["passing_lane_s"] == 0 and free.result()[1]["score"] == 100


def test_left_lane_is_fine_where_the_right_lane_is_closed_or_congested() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 1, 900.0, 30.0))  # inside the closure's warning zone of lane 0
    world.add(FakeCar(2, 1, 100.0, 10.0))  # congested: 36 km/h
    closure = {"lane": 0, "start": 1500.0, "end": 1800.0, "warn": 600.0}
    tracker = AdherenceTracker(make_rulebook({"passing": "right"}), world.road(closures=[closure]))
    run(tracker, world, 10.0)
    assert tracker.result()[1]["passing_lane_s"] == 0
    assert tracker.result()[2]["passing_lane_s"] == 0


# --- merging at a closure -----------------------------------------------------------------

CLOSURE = {"lane": 0, "start": 1500.0, "end": 1800.0, "warn": 500.0}


def merge(car: int, metres_left: float, other: int | None = None) -> Event:
    return Event(1, "merge", car, 1500.0 - metres_left, 0, other=other, value=metres_left, target=1)


def test_zipper_merge_at_the_end_complies_with_zipper_and_breaks_early_merge() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 1, 1470.0, 8.0))
    zipper = AdherenceTracker(make_rulebook({"merge": "zipper"}), world.road(closures=[CLOSURE]))
    early = AdherenceTracker(make_rulebook({"merge": "early"}), world.road(closures=[CLOSURE]))
    assert zipper.observe(world, [merge(1, 30.0)]) == []
    late = early.observe(world, [merge(1, 30.0)])
    assert [v.render("Di") for v in late] == [
        "Di stayed in the closing lane until 30 m before the end"
    ]
    assert zipper.result()[1]["merges_in_place"] == 1
    assert early.result()[1]["merges_in_place"] == 0
    assert zipper.result()[1]["score"] == 100 and early.result()[1]["score"] == 0


def test_early_merge_at_the_first_signs_complies_with_early_and_breaks_zipper() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 1, 1020.0, 25.0))
    zipper = AdherenceTracker(make_rulebook({"merge": "zipper"}), world.road(closures=[CLOSURE]))
    early = AdherenceTracker(make_rulebook({"merge": "early"}), world.road(closures=[CLOSURE]))
    assert early.observe(world, [merge(1, 480.0)]) == []
    assert [v.render("Ed") for v in zipper.observe(world, [merge(1, 480.0)])] == [
        "Ed merged 480 m before the end instead of zipping"
    ]


def test_early_merge_counts_where_the_car_left_the_lane_not_where_it_signalled() -> None:
    """Under early merge, signalling from the first signs and riding to the end is late."""
    for signal_from in (1010.0, 1300.0):  # 490 m and 200 m before the end
        world = FakeWorld()
        car = world.add(FakeCar(1, 0, signal_from, 5.0))
        early = AdherenceTracker(make_rulebook({"merge": "early"}), world.road(closures=[CLOSURE]))
        early.observe(world, [])
        car.signal = 1
        run(early, world, 2.0)
        car.x = 1480.0
        out = early.observe(world, [merge(1, 20.0)])
        assert early.result()[1]["merges_in_place"] == 0
        assert len(out) == 1


def test_zipper_alternation_two_cars_in_front_of_the_same_car_is_out_of_turn() -> None:
    world = FakeWorld()
    tracker = AdherenceTracker(make_rulebook({"merge": "zipper"}), world.road(closures=[CLOSURE]))
    assert tracker.observe(world, [merge(1, 20.0, other=9)]) == []
    out = tracker.observe(world, [merge(2, 20.0, other=9)])  # car 9 let two in
    assert [v.render("Flo") for v in out] == ["Flo merged out of turn"]
    assert tracker.observe(world, [merge(3, 20.0, other=8)]) == []
    result = tracker.result()
    assert [result[c]["merges_in_turn"] for c in (1, 2, 3)] == [1, 0, 1]


def test_a_ramp_merge_is_not_judged_by_the_closure_rule() -> None:
    world = FakeWorld()
    ramp = {"lane": 0, "start": 300.0, "end": 600.0}
    tracker = AdherenceTracker(make_rulebook({"merge": "zipper"}), world.road(ramps=[ramp]))
    assert tracker.observe(world, [merge(1, 250.0)]) == []
    assert tracker.result() == {}  # not even a record: nothing to judge


# --- speed, gap, hazards ------------------------------------------------------------------


def test_speeding_against_the_rulebook_and_a_zone() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 0, 0.0, 120 * KMH))
    world.add(FakeCar(2, 0, 1000.0, 100 * KMH))
    tracker = AdherenceTracker(make_rulebook({"speed_limit": "100"}), world.road())
    out = run(tracker, world, 4.0)
    assert [v.render("Gus") for v in out] == ["Gus is speeding: 120 km/h where the limit is 100"]
    assert tracker.result()[1]["speeding_s"] == 4.0
    assert tracker.result()[2]["speeding_s"] == 0
    # no rulebook limit, but a 60 km/h zone covering the whole ring
    world2 = FakeWorld()
    world2.add(FakeCar(1, 0, 0.0, 80 * KMH))
    zone = {"start": 0.0, "end": 1999.0, "limit": 60 * KMH}
    zoned = AdherenceTracker(make_rulebook(), world2.road(speed_zones=[zone]))
    run(zoned, world2, 2.0)
    assert zoned.result()[1]["speeding_s"] > 1.5


def test_two_second_rule_counts_close_following_after_a_grace() -> None:
    world = FakeWorld()
    world.add(FakeCar(1, 0, 0.0, 25.0))
    world.add(FakeCar(2, 0, 30.0, 25.0))  # gap 25 m = 1 s at 25 m/s
    world.add(FakeCar(3, 0, 500.0, 25.0))  # 2.6 s behind car 4
    world.add(FakeCar(4, 0, 570.0, 25.0))
    tracker = AdherenceTracker(make_rulebook({"following": "two_second"}), world.road())
    out = run(tracker, world, 10.0)
    result = tracker.result()
    assert [v.render("Hal") for v in out] == ["Hal is following too close (1.0 s gap)"]
    assert out[0].car == 1
    assert result[1]["close_s"] == 5.0 and result[1]["following_s"] == 10.0
    assert result[3]["close_s"] == 0 and result[3]["following_s"] == 10.0
    assert result[1]["score"] == 50.0


def test_hazards_at_the_tail_of_a_queue() -> None:
    for hazard in (True, False):
        world = FakeWorld()
        queue = world.add(FakeCar(1, 0, 300.0, 0.0))
        tail = world.add(FakeCar(2, 0, 200.0, 25.0))
        tracker = AdherenceTracker(make_rulebook({"hazards": "yes"}), world.road())
        out: list[Violation] = []
        for _ in range(round(12 / DT)):
            # brake at 3 m/s² towards the standing queue; hazards on while slowing (or never)
            tail.v = max(0.0, tail.v - 3.0 * DT)
            tail.hazard = hazard and tail.v < 20
            world.step()
            queue.x = 300.0
            out += tracker.observe(world, [])
        result = tracker.result()[2]
        assert result["queue_tails"] == 1
        assert result["hazards_used"] == (1 if hazard else 0)
        assert [v.kind for v in out] == ([] if hazard else ["hazards"])


# --- robustness ---------------------------------------------------------------------------


@given(
    st.lists(
        st.tuples(
            st.integers(0, 3),  # lane
            st.floats(0, 1999.9),  # x
            st.floats(0, 45),  # v
            st.booleans(),  # hazard
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(
        st.tuples(
            st.sampled_from(["lane_change", "merge", "incident_start", "incident_clear", "crash"]),
            st.integers(0, 15),
            st.one_of(st.none(), st.floats(0, 600)),
        ),
        max_size=8,
    ),
    st.fixed_dictionaries(
        {
            "passing": st.sampled_from(["right", "left", "free"]),
            "following": st.sampled_from(["two_second", "none"]),
            "hazards": st.sampled_from(["yes", "no"]),
            "merge": st.sampled_from(["zipper", "early"]),
            "speed_limit": st.sampled_from(["80", "none"]),
            "signal": st.sampled_from(["required", "optional"]),
        }
    ),
)
def test_any_traffic_keeps_scores_in_range(
    cars: list[tuple[int, float, float, bool]],
    events: list[tuple[str, int, float | None]],
    rules: dict[str, str],
) -> None:
    world = FakeWorld(lanes=4)
    for i, (lane, x, v, hazard) in enumerate(cars):
        world.add(FakeCar(i, lane, x, v, hazard=hazard))
    road = world.road(
        closures=[CLOSURE],
        ramps=[{"lane": 0, "start": 10.0, "end": 300.0}],
        incidents=[{"lane": 1, "x": 700.0, "until": 2.0}],
        speed_zones=[{"start": 1900.0, "end": 100.0, "limit": 15.0}],
    )
    tracker = AdherenceTracker(make_rulebook(rules), road)
    evs = [
        Event(1, kind, car, 1000.0, 0, other=car + 1, value=value) for kind, car, value in events
    ]
    for tick in range(60):
        world.step()
        for violation in tracker.observe(world, evs if tick == 0 else []):
            assert "{name}" in violation.text
    for record in tracker.result().values():
        assert 0 <= record["score"] <= 100
    team = tracker.team()
    assert team is None or 0 <= team <= 100


def test_the_same_car_letting_someone_in_minutes_later_is_not_out_of_turn() -> None:
    world = FakeWorld()
    tracker = AdherenceTracker(make_rulebook({"merge": "zipper"}), world.road(closures=[CLOSURE]))
    tracker.observe(world, [merge(1, 20.0, other=9)])
    run(tracker, world, 60.0)  # car 9 comes round again a minute later
    assert tracker.observe(world, [merge(2, 20.0, other=9)]) == []
    assert tracker.result()[2]["merges_in_turn"] == 1
