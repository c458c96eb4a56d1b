"""Adherence: how closely each driver keeps the rulebook in force, measured tick by tick.

An observer of a round (docs/architecture.md, "Observers of a round"): the round calls
`observe(world, events)` once per tick and gets back the violations of that tick for the event
feed; at the end `result()` gives per-car counters and a 0..100 score. It only reads the world.

What is measured, and the definitions chosen (each only when its convention is in force):

- **signal** (`signal = "required"`): every `lane_change` event is a lane change; it counts as
  signalled when its value (seconds the signal was on before the move) is at least 2 s, less
  half a tick for rounding. Otherwise: "changed lanes without signalling" (0 s) or "signalled
  only 0.5 s before changing lanes".
- **passing** (`passing = "right"`, mirrored for `"left"`): a car is *in the passing lane* when
  it is settled (not mid-change) in a lane left of the *cruising lane*, the rightmost lane open
  at its position (a lane counts as closed from its closure's first warning sign to the
  closure's end, a ramp's acceleration lane is never a cruising lane, and a lane is closed from
  200 m before to 50 m past a blocked spot). It is *passing* while a car in a lane to its right, from 15 m behind to max(60 m, 10 s) ahead, goes
  at least 0.5 m/s slower, or while a car beside it in the lane to its right (±15 m) blocks the
  move back. In congestion (below 50 km/h) lanes are not for passing and nothing is counted.
  Time in the passing lane while not passing counts after an 8 s grace (time to finish the pass,
  signal and move back: a steady bot needs about that); every 10 s of it is reported once.
  These values were tuned so that steady bots, which keep the convention, score about 97 % on
  it on the open road, while drivers with another habit do not.
- **merge** (a `merge` event out of a closed lane; ramps are not closures): under `zipper` a
  merge is in place within the last 150 m before the lane ends, and in turn unless it cut in
  front of the same car that let the previous merging car in (within 15 s); under `early` it is
  in place when the car left the closing lane within 150 m after the first warning sign (or
  before it). A merge counts where the car leaves the lane, never where it began to signal: a
  driver who signals at the signs and then rides the closing lane to its end merged late.
- **speed**: the rulebook's limit and any speed zone of the road, whichever is lower; time more
  than 3 km/h over it counts, and each speeding streak of 3 s is reported once.
- **following** (`following = "two_second"`): above 30 km/h with a car ahead within 4 s, the
  time headway (gap / speed) must be at least 1.8 s (2 s with 10 % tolerance); time below it
  counts after a 5 s grace (someone cut in), and each such streak is reported once.
- **hazards** (`hazards = "yes"`): a *queue approach* starts when a car at 50 km/h or more has a
  leader within 150 m going 20 km/h or less, and ends when the car itself is down to 20 km/h
  (it is now the queue's tail). It is warned when the hazard lights were on at some point from
  the start until 3 s after the end. An approach that dissolves (the queue drives off, the car
  changes lane) is not counted.

A car's score is 100 × the mean of its components that had an opportunity (a count of 0 lane
changes says nothing about signalling); with no opportunity at all it is 100. The team score
is the mean of car scores. Violations are rate-limited per car and kind (one per 5 s) so that
a hurried bot cannot flood the feed; the counters still count everything.

Additions to the contract: `Violation.tick`, `Violation.render(name)`, `team(cars=None)`,
`score(car)`, `scores()` and `rules()`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from server.adherence_checks import ConventionChecks
from server.adherence_lanes import LaneChecks
from server.adherence_model import (
    CONGESTED_V,
    GAP_FOLLOW_S,
    GAP_MIN_V,
    QUEUE_SLOW_V,
    SPEED_TOLERANCE,
    Block,
    CarLike,
    EventLike,
    Record,
    Violation,
)
from shared.conventions import make_rulebook, speed_limit_mps
from shared.sim.tuning import DT  # one tick: observe() is called once per tick

SIGNAL_LEAD_S = 2.0


def _until_tick(seconds: Any) -> int | None:
    """The road's `until` (seconds into the round) as a tick; None = until cleared."""
    return None if seconds is None else math.ceil(float(seconds) / DT)


class AdherenceTracker(ConventionChecks, LaneChecks):
    """Counts, per car, how the rulebook in force was kept; see the module docstring."""

    def __init__(self, rulebook: Mapping[str, str] | None, road: Mapping[str, Any]) -> None:
        self.rulebook = make_rulebook(rulebook)
        self.road = road
        self.length = float(road.get("length") or 0.0) or 1.0
        self.lanes = int(road.get("lanes") or 1)
        self.limit = speed_limit_mps(self.rulebook)
        self.passing = self.rulebook["passing"]
        self.records: dict[int, Record] = {}
        self.blocks: list[Block] = [
            Block(int(i["lane"]), float(i["x"]), _until_tick(i.get("until")))
            for i in road.get("incidents", ())
        ]
        # closure (lane, start) -> (the car the last merger went in front of, at which tick)
        self._last_merge: dict[tuple[int, float], tuple[int | None, int]] = {}
        self._tick = 0
        self._pass = 0  # observe() calls so far: marks what _leaders found in this one
        self._prepare()

    def _prepare(self) -> None:
        """Work out once what every tick needs from the rulebook and the road.

        Both are fixed for a tracker's life (a new rulebook means a new round and a new
        tracker); only the blocked spots change, and those are read from `self.blocks` live.
        The values are the same floats the per-tick definitions compute (e.g. a zone's span
        is `_within`'s), so the measures do not change, only their cost.
        """
        book = self.rulebook
        self._rules = {
            "signal": book["signal"] == "required",
            "passing": self.passing != "free",
            "merge": True,
            "speed": self.limit is not None or bool(self.road.get("speed_zones")),
            "following": book["following"] == "two_second",
            "hazards": book["hazards"] == "yes",
        }
        self._need_leaders = self._rules["following"] or self._rules["hazards"]
        self._keep = self.passing != "free" and self.lanes >= 2
        length = self.length
        # speed zones as (start, span, limit); with none the limit is the same everywhere
        self._zones = [
            (float(z["start"]), (float(z["end"]) - float(z["start"])) % length, float(z["limit"]))
            for z in self.road.get("speed_zones", ())
        ]
        # per lane: its closures as (start, span, warning metres), for _lane_open and _stops
        self._closures: dict[int, list[tuple[float, float, float]]] = {}
        for c in self.road.get("closures", ()):
            start = float(c["start"])
            span = (float(c["end"]) - start) % length
            self._closures.setdefault(int(c["lane"]), []).append(
                (start, span, self._warn_length(c))
            )
        self._ramp_lanes = frozenset(int(r["lane"]) for r in self.road.get("ramps", ()))
        # lanes that are not open everywhere even with no blocked spot
        self._special_lanes = frozenset(self._closures) | self._ramp_lanes
        self._sides: dict[int, tuple[range, int, bool]] = {}

    def rules(self) -> dict[str, bool]:
        """Which measures are in force under this rulebook (merge and speed zones always are)."""
        return dict(self._rules)

    # --- per tick -----------------------------------------------------------------------

    def observe(self, world: Any, events: Iterable[EventLike]) -> list[Violation]:
        """Measure one tick; return the violations to show in the event feed.

        This runs for every car of every room at 20 Hz, so the measures that apply to every car
        (signal, speed) are inlined here and the others are called only when their convention
        is in force; a helper does the rare work (a report, a limit that varies along the road).
        """
        self._tick = int(getattr(world, "tick", self._tick + 1))
        out: list[Violation] = []
        cars: Mapping[int, CarLike] = world.cars
        records = self.records
        if not cars.keys() <= records.keys():  # new cars (a C-level check, then the slow loop)
            for car_id in cars:
                if car_id not in records:
                    records[car_id] = Record()
        for event in events:
            self._event(event, cars, out)
        if self.blocks:
            tick = self._tick
            self.blocks = [b for b in self.blocks if b.until_tick is None or b.until_tick > tick]
        need_leaders = self._need_leaders
        keep = self._keep
        lanes = self._lanes(cars) if need_leaders or keep else {}
        self._pass += 1
        now = self._pass
        if need_leaders:
            self._leaders(lanes)
        following, hazards = self._rules["following"], self._rules["hazards"]
        zoned = bool(self._zones)
        keep_right, last_lane = self.passing == "right", self.lanes - 1
        limit = self.limit
        over = math.inf if limit is None else limit + SPEED_TOLERANCE  # speeding above this
        for car in cars.values():
            record = records[car.id]
            if car.crashed:
                continue
            v = car.v
            if v <= 0.1:  # speed: time moving, and time over the limit in force
                record.speed_ticks = 0
            else:
                record.moving_s += DT
                if zoned:
                    self._speed(car, record, out)
                elif limit is None or v <= over:
                    record.speed_ticks = 0
                else:
                    self._speeding(car, record, limit, out)
            if keep:  # keep right / left: time in the passing lane with nobody to pass
                record.observed_s += DT
                lane = car.lane_index
                if (
                    -0.05 < car.lane - lane < 0.05  # settled in its lane
                    and v >= CONGESTED_V
                    and (lane > 0 if keep_right else lane < last_lane)  # with a lane to its side
                    and self._hogging(car, lane, lanes)
                ):
                    self._hog(car, record, out)
                else:
                    record.keep_ticks = 0
            if need_leaders:
                if record.lead_pass == now:
                    gap, leader = record.lead_gap, record.leader
                else:  # alone in its lane: nothing ahead
                    gap, leader = math.inf, None
                if following:  # the two-second rule applies above GAP_MIN_V with a car ahead
                    if leader is None or v < GAP_MIN_V or gap > GAP_FOLLOW_S * v:
                        record.gap_ticks = 0
                    else:
                        self._following(car, record, gap, out)
                # hazards: nothing to do unless an approach is open or the car ahead is slow
                if hazards and (
                    record.queue_open
                    or record.queue_grace >= 0
                    or (leader is not None and leader.v <= QUEUE_SLOW_V)
                ):
                    self._hazards(car, record, gap, leader, out)
        return out

    def _event(self, event: EventLike, cars: Mapping[int, CarLike], out: list[Violation]) -> None:
        if event.kind == "lane_change" and event.car is not None:
            record = self.records.setdefault(event.car, Record())
            record.lane_changes += 1
            seconds = float(event.value or 0.0)
            if seconds >= SIGNAL_LEAD_S - DT / 2:
                record.signalled += 1
            elif self.rulebook["signal"] == "required":
                text = (
                    "{name} changed lanes without signalling"
                    if seconds <= 0
                    else f"{{name}} signalled only {seconds:.1f} s before changing lanes"
                )
                self._report(event.car, "signal", text, out)
        elif event.kind == "merge" and event.car is not None:
            self._merge(event, out)
        elif event.kind == "incident_start":
            until = None
            if event.value is not None:
                until = self._tick + math.ceil(float(event.value) / DT)
            self.blocks.append(Block(event.lane, event.x, until))
        elif event.kind == "incident_clear" and event.car is None:  # not a crash site clearing
            near = [b for b in self.blocks if b.lane == event.lane]
            if near:
                self.blocks.remove(min(near, key=lambda b: self._dist(event.x, b.x)))

    # --- results ------------------------------------------------------------------------

    def score(self, car_id: int) -> float:
        """A car's adherence, 0..100 (100 when it had no chance to break any rule)."""
        record = self.records.get(car_id)
        return 100.0 if record is None else self._score(record)

    def scores(self) -> dict[int, float]:
        """Every observed car's score by car id, in order: result()'s scores without the
        counters (the live team figure needs only these)."""
        return {car_id: self._score(r) for car_id, r in sorted(self.records.items())}

    def _score(self, record: Record) -> float:
        rules = self._rules
        parts: list[float] = []
        if rules["signal"] and record.lane_changes:
            parts.append(record.signalled / record.lane_changes)
        if rules["passing"] and record.observed_s > 0:
            parts.append(1 - record.passing_lane_s / record.observed_s)
        if record.merges:
            parts.append(record.merges_in_place / record.merges)
        if rules["speed"] and record.moving_s > 0:
            parts.append(1 - record.speeding_s / record.moving_s)
        if rules["following"] and record.following_s > 0:
            parts.append(1 - record.close_s / record.following_s)
        if rules["hazards"] and record.queue_tails:
            parts.append(record.hazards_used / record.queue_tails)
        if not parts:
            return 100.0
        return round(100 * max(0.0, min(1.0, sum(parts) / len(parts))), 1)

    def team(self, cars: Iterable[int] | None = None) -> float | None:
        """The mean adherence of the given cars (all observed cars by default), None if none."""
        chosen = list(self.records) if cars is None else [c for c in cars if c in self.records]
        if not chosen:
            return None
        return round(sum(self.score(c) for c in chosen) / len(chosen), 1)

    def result(self) -> dict[int, dict[str, Any]]:
        """Per car: the counters (seconds rounded to 0.1 s) and the 0..100 score."""
        out: dict[int, dict[str, Any]] = {}
        for car_id, r in sorted(self.records.items()):
            out[car_id] = {
                "lane_changes": r.lane_changes,
                "signalled": r.signalled,
                "passing_lane_s": round(r.passing_lane_s, 1),
                "observed_s": round(r.observed_s, 1),
                "merges": r.merges,
                "merges_in_place": r.merges_in_place,
                "merges_in_turn": r.merges_in_turn,
                "speeding_s": round(r.speeding_s, 1),
                "moving_s": round(r.moving_s, 1),
                "close_s": round(r.close_s, 1),
                "following_s": round(r.following_s, 1),
                "queue_tails": r.queue_tails,
                "hazards_used": r.hazards_used,
                "violations": r.violations,
                "score": self._score(r),
            }
        return out
