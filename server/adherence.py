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
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

from shared.conventions import make_rulebook, speed_limit_mps
from shared.sim.tuning import DT  # one tick: observe() is called once per tick

SIGNAL_LEAD_S = 2.0
PASS_BEHIND_M = 15.0
PASS_AHEAD_MIN_M = 60.0
PASS_AHEAD_S = 10.0
PASS_DV = 0.5
CONGESTED_V = 50 / 3.6
KEEP_GRACE_S = 8.0
KEEP_REPORT_S = 10.0
BLOCK_BEFORE_M = 200.0
BLOCK_AFTER_M = 50.0
ZIPPER_ZONE_M = 150.0
EARLY_ZONE_M = 150.0
TURN_WINDOW_S = 15.0
DEFAULT_WARN_M = 500.0
SPEED_TOLERANCE = 3 / 3.6
SPEED_REPORT_S = 3.0
GAP_RULE_S = 1.8
GAP_MIN_V = 30 / 3.6
GAP_FOLLOW_S = 4.0
GAP_GRACE_S = 5.0
QUEUE_FAST_V = 50 / 3.6
QUEUE_SLOW_V = 20 / 3.6
QUEUE_LOOKAHEAD_M = 150.0
HAZARD_GRACE_S = 3.0
REPORT_COOLDOWN_S = 5.0


def _ticks(seconds: float) -> int:
    return round(seconds / DT)


# the thresholds in ticks, worked out once (observe() compares with them for every car)
KEEP_GRACE_TICKS = _ticks(KEEP_GRACE_S)
KEEP_REPORT_TICKS = _ticks(KEEP_REPORT_S)
SPEED_REPORT_TICKS = _ticks(SPEED_REPORT_S)
GAP_GRACE_TICKS = _ticks(GAP_GRACE_S)
HAZARD_GRACE_TICKS = _ticks(HAZARD_GRACE_S)
TURN_WINDOW_TICKS = _ticks(TURN_WINDOW_S)
_BY_X = attrgetter("x")


def _until_tick(seconds: Any) -> int | None:
    """The road's `until` (seconds into the round) as a tick; None = until cleared."""
    return None if seconds is None else math.ceil(float(seconds) / DT)


class _Car(Protocol):
    id: int
    lane: float
    lane_index: int
    x: float
    v: float
    length: float  # read as 5 m when a car has none
    signal: int
    hazard: bool
    crashed: bool


class _Event(Protocol):
    """What the tracker reads of an event; read-only, as the simulation's events are frozen
    (shared/sim/events.py)."""

    @property
    def tick(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def car(self) -> int | None: ...
    @property
    def x(self) -> float: ...
    @property
    def lane(self) -> int: ...
    @property
    def other(self) -> int | None: ...
    @property
    def value(self) -> float | None: ...


@dataclass(frozen=True)
class Violation:
    """A breach of the rulebook for the event feed.

    `text` is a plain-text template with `{name}` where the driver's name goes; fill it with
    `render(name)`, which never interprets anything in the name.
    """

    car: int
    kind: str
    text: str
    tick: int = 0

    def render(self, name: str) -> str:
        return self.text.replace("{name}", name)


@dataclass(slots=True)
class _Record:
    """One car's counters (what result() reports) and its running streaks."""

    lane_changes: int = 0
    signalled: int = 0
    observed_s: float = 0.0
    passing_lane_s: float = 0.0
    moving_s: float = 0.0
    speeding_s: float = 0.0
    following_s: float = 0.0
    close_s: float = 0.0
    merges: int = 0
    merges_in_place: int = 0
    merges_in_turn: int = 0
    queue_tails: int = 0
    hazards_used: int = 0
    violations: int = 0
    # streaks and episodes
    keep_ticks: int = 0  # streaks are counted in ticks so that thresholds are exact
    speed_ticks: int = 0
    gap_ticks: int = 0
    queue_open: bool = False
    queue_warned: bool = False
    queue_grace: int = -1  # ticks since the car joined a queue's tail, -1 when not waiting
    last_report: dict[str, int] = field(default_factory=dict)
    # what is ahead of the car (see _leaders), valid when lead_pass is the tracker's pass
    lead_pass: int = -1
    lead_gap: float = math.inf
    leader: _Car | None = None


@dataclass
class _Block:
    lane: int
    x: float
    until_tick: int | None


class AdherenceTracker:
    """Counts, per car, how the rulebook in force was kept; see the module docstring."""

    def __init__(self, rulebook: Mapping[str, str] | None, road: Mapping[str, Any]) -> None:
        self.rulebook = make_rulebook(rulebook)
        self.road = road
        self.length = float(road.get("length") or 0.0) or 1.0
        self.lanes = int(road.get("lanes") or 1)
        self.limit = speed_limit_mps(self.rulebook)
        self.passing = self.rulebook["passing"]
        self.records: dict[int, _Record] = {}
        self.blocks: list[_Block] = [
            _Block(int(i["lane"]), float(i["x"]), _until_tick(i.get("until")))
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

    def observe(self, world: Any, events: Iterable[_Event]) -> list[Violation]:
        """Measure one tick; return the violations to show in the event feed.

        This runs for every car of every room at 20 Hz, so the measures that apply to every car
        (signal, speed) are inlined here and the others are called only when their convention
        is in force; a helper does the rare work (a report, a limit that varies along the road).
        """
        self._tick = int(getattr(world, "tick", self._tick + 1))
        out: list[Violation] = []
        cars: Mapping[int, _Car] = world.cars
        records = self.records
        if not cars.keys() <= records.keys():  # new cars (a C-level check, then the slow loop)
            for car_id in cars:
                if car_id not in records:
                    records[car_id] = _Record()
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

    def _event(self, event: _Event, cars: Mapping[int, _Car], out: list[Violation]) -> None:
        if event.kind == "lane_change" and event.car is not None:
            record = self.records.setdefault(event.car, _Record())
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
            self.blocks.append(_Block(event.lane, event.x, until))
        elif event.kind == "incident_clear" and event.car is None:  # not a crash site clearing
            near = [b for b in self.blocks if b.lane == event.lane]
            if near:
                self.blocks.remove(min(near, key=lambda b: self._dist(event.x, b.x)))

    # --- merging at a closure -------------------------------------------------------------

    def _closure_of(self, lane: int, x: float) -> dict[str, Any] | None:
        """The closure of `lane` whose warning zone or closed span holds x."""
        for closure in self.road.get("closures", ()):
            if int(closure["lane"]) != lane:
                continue
            start, end = float(closure["start"]), float(closure["end"])
            warn = self._warn_length(closure)
            if self._ahead(x, start) <= warn + EARLY_ZONE_M or self._within(x, start, end):
                return closure
        return None

    @staticmethod
    def _warn_length(closure: Mapping[str, Any]) -> float:
        """Metres of warning signs before the closure (the road's `warn`)."""
        warn = closure.get("warn")
        return DEFAULT_WARN_M if warn is None else max(0.0, float(warn))

    def _merge(self, event: _Event, out: list[Violation]) -> None:
        assert event.car is not None
        closure = self._closure_of(event.lane, event.x)
        if closure is None:
            return  # a ramp merge: the merge convention is about closures
        record = self.records.setdefault(event.car, _Record())
        record.merges += 1
        left = (
            float(event.value)
            if event.value is not None
            else self._ahead(event.x, float(closure["start"]))
        )
        warn = self._warn_length(closure)
        key = (event.lane, float(closure["start"]))
        previous_other, previous_tick = self._last_merge.get(key, (None, -(10**9)))
        self._last_merge[key] = (event.other, self._tick)
        in_turn = (
            event.other is None
            or event.other != previous_other
            or self._tick - previous_tick > TURN_WINDOW_TICKS
        )
        if in_turn:
            record.merges_in_turn += 1
        if self.rulebook["merge"] == "zipper":
            in_place = left <= ZIPPER_ZONE_M
            if not in_place:
                text = f"{{name}} merged {left:.0f} m before the end instead of zipping"
                self._report(event.car, "merge", text, out)
            elif not in_turn:
                self._report(event.car, "merge", "{name} merged out of turn", out)
            if in_place and in_turn:
                record.merges_in_place += 1
        else:
            # merged is when the car leaves the closing lane, never when it signals: a
            # signal at the signs and a ride to the end would otherwise score as early
            in_place = left >= warn - EARLY_ZONE_M
            if in_place:
                record.merges_in_place += 1
            else:
                text = f"{{name}} stayed in the closing lane until {left:.0f} m before the end"
                self._report(event.car, "merge", text, out)

    # --- keep right / keep left ---------------------------------------------------------

    def _lanes(self, cars: Mapping[int, _Car]) -> dict[int, tuple[list[float], list[_Car]]]:
        """Cars per lane they occupy (both lanes during a change), sorted by position."""
        grouped: dict[int, list[_Car]] = {}
        floor = math.floor
        for car in cars.values():
            lane = car.lane
            low = floor(lane)
            members = grouped.get(low)
            if members is None:
                grouped[low] = [car]
            else:
                members.append(car)
            if lane != low:
                members = grouped.get(low + 1)
                if members is None:
                    grouped[low + 1] = [car]
                else:
                    members.append(car)
        lanes = {}
        for lane, members in grouped.items():
            members.sort(key=_BY_X)
            lanes[lane] = ([c.x for c in members], members)
        return lanes

    def _leaders(self, lanes: Mapping[int, tuple[list[float], list[_Car]]]) -> None:
        """Bumper-to-bumper gap and car ahead for every car, as world.leader_of defines them,
        kept in each car's record (lead_gap, leader) with this pass's mark; a car without one
        (alone in its lane) has nothing ahead.

        Computed here from the sorted lanes (one pass, O(n log n) per tick) rather than by
        calling world.leader_of per car, which scans a whole lane each time. A lane's end or a
        blocked spot before the car ahead hides it (gap to the obstacle, no leader). A car
        changing lanes is in two: the nearer of its two gaps counts (the first lane's on a tie).
        """
        records = self.records
        length = self.length
        now = self._pass
        for lane, (xs, members) in lanes.items():
            if len(members) < 2:
                continue
            stops = self._stops(lane)
            ahead, ax = members[0], xs[0]  # the last car's car ahead is the first, round the ring
            for car, x in zip(reversed(members), reversed(xs), strict=False):  # same lengths
                distance = ax - x
                if not 0.0 < distance < length:  # round the ring (% leaves the rest as it is)
                    distance %= length
                try:
                    gap = distance - ahead.length
                except AttributeError:
                    gap = distance - 5.0
                leader: _Car | None = ahead
                if stops:
                    for stop in stops:
                        d = (stop - x) % length
                        if d < distance and d < gap:
                            gap, leader = d, None
                record = records[car.id]
                if record.lead_pass != now or gap < record.lead_gap:
                    record.lead_pass, record.lead_gap, record.leader = now, gap, leader
                ahead, ax = car, x

    def _stops(self, lane: int) -> list[float]:
        """Where `lane` ends or is blocked: closure starts and blocked spots."""
        stops = [start for start, _span, _warn in self._closures.get(lane, ())]
        if self.blocks:
            stops += [b.x for b in self.blocks if b.lane == lane]
        return stops

    def _lane_open(self, lane: int, x: float) -> bool:
        if lane in self._ramp_lanes:
            return False  # an acceleration lane is never a cruising lane
        length = self.length
        for start, span, warn in self._closures.get(lane, ()):
            if (start - x) % length <= warn or (x - start) % length <= span:
                return False  # in the warning zone (_ahead) or the closed span (_within)
        for block in self.blocks:
            if block.lane == lane and (
                (block.x - x) % length <= BLOCK_BEFORE_M or (x - block.x) % length <= BLOCK_AFTER_M
            ):
                return False
        return True

    def _hog(self, car: _Car, record: _Record, out: list[Violation]) -> None:
        """A tick in the passing lane with nobody to pass: counts after the grace, and every
        KEEP_REPORT_S of it is reported once."""
        record.keep_ticks += 1
        over = record.keep_ticks - KEEP_GRACE_TICKS
        if over > 0:
            record.passing_lane_s += DT
            if (over - 1) % KEEP_REPORT_TICKS == 0:
                self._report(
                    car.id,
                    "passing",
                    "{name} is cruising in the passing lane with nobody to pass",
                    out,
                )

    def _side(self, lane: int) -> tuple[range, int, bool]:
        """The lanes "to the right" of `lane` in the convention's sense (lower indices under
        keep right), nearest first; the one beside it; whether they are all open everywhere
        (no closure or ramp: only a blocked spot can close them). Memoised per lane."""
        known = self._sides.get(lane)
        if known is None:
            if self.passing == "right":
                side, beside = range(lane - 1, -1, -1), lane - 1
            else:
                side, beside = range(lane + 1, self.lanes), lane + 1
            known = self._sides[lane] = (side, beside, self._special_lanes.isdisjoint(side))
        return known

    def _hogging(
        self, car: _Car, lane: int, lanes: Mapping[int, tuple[list[float], list[_Car]]]
    ) -> bool:
        """Whether a car settled in its lane at speed is in a passing lane (an open lane on its
        cruising side) without passing anyone (see _passing)."""
        side, beside, plain = self._sides.get(lane) or self._side(lane)
        if not side:
            return False
        if plain and not self.blocks:  # every lane of the side is open
            return not self._passing(car, side, lanes, beside)
        x = car.x
        open_side = [k for k in side if self._lane_open(k, x)]
        return bool(open_side) and not self._passing(car, open_side, lanes, beside)

    def _passing(
        self,
        car: _Car,
        side: Iterable[int],
        lanes: Mapping[int, tuple[list[float], list[_Car]]],
        beside: int,
    ) -> bool:
        """Whether a car in a lane of `side` from PASS_BEHIND_M behind to the look-ahead is
        slower (so this car is passing it), or one beside it in lane `beside` blocks the move
        back. The lanes' positions are sorted, so bisection finds the stretch (twice where it
        wraps round the ring)."""
        x, v = car.x, car.v
        slower = v - PASS_DV
        length = self.length
        ahead = PASS_AHEAD_S * v
        lo, hi = x - PASS_BEHIND_M, x + (ahead if ahead > PASS_AHEAD_MIN_M else PASS_AHEAD_MIN_M)
        if lo < 0 or hi >= length:
            return self._passing_round(car, side, lanes, beside, lo, hi)
        half = length / 2
        for lane in side:  # the usual case: the stretch does not wrap round the ring
            entry = lanes.get(lane)
            if entry is None:
                continue
            xs, members = entry
            k, end = bisect_left(xs, lo), len(xs)
            while k < end and xs[k] <= hi:  # members[k : bisect_right(xs, hi)]
                other = members[k]
                if other.v < slower:
                    return True
                if lane == beside:
                    dx = (other.x - x) % length  # _signed(other.x - x)
                    if abs(dx - length if dx > half else dx) <= PASS_BEHIND_M:
                        return True
                k += 1
        return False

    def _passing_round(
        self,
        car: _Car,
        side: Iterable[int],
        lanes: Mapping[int, tuple[list[float], list[_Car]]],
        beside: int,
        lo: float,
        hi: float,
    ) -> bool:
        """_passing where the stretch [lo, hi] wraps round the ring's start or end."""
        x, slower = car.x, car.v - PASS_DV
        length = self.length
        shifts = [0.0]
        if lo < 0:
            shifts.append(length)
        if hi >= length:
            shifts.append(-length)
        for lane in side:
            entry = lanes.get(lane)
            if entry is None:
                continue
            xs, members = entry
            for shift in shifts:
                i, j = bisect_left(xs, lo + shift), bisect_right(xs, hi + shift)
                for other in members[i:j]:
                    if other.v < slower:
                        return True
                    if lane == beside and abs(self._signed(other.x - x)) <= PASS_BEHIND_M:
                        return True
        return False

    # --- speed, gap, hazards ------------------------------------------------------------

    def _limit_at(self, x: float) -> float | None:
        limit = self.limit
        length = self.length
        for start, span, zone_limit in self._zones:
            if (x - start) % length <= span:  # _within(x, start, end)
                limit = zone_limit if limit is None else min(limit, zone_limit)
        return limit

    def _speed(self, car: _Car, record: _Record, out: list[Violation]) -> None:
        """A moving car (its moving time counted) on a road whose limit varies along it."""
        limit = self._limit_at(car.x)
        if limit is None or car.v <= limit + SPEED_TOLERANCE:
            record.speed_ticks = 0
            return
        self._speeding(car, record, limit, out)

    def _speeding(self, car: _Car, record: _Record, limit: float, out: list[Violation]) -> None:
        """A car over `limit` this tick: count it, and report a streak once when it is 3 s long."""
        record.speeding_s += DT
        record.speed_ticks += 1
        if record.speed_ticks == SPEED_REPORT_TICKS:
            text = (
                f"{{name}} is speeding: {car.v * 3.6:.0f} km/h where the limit is {limit * 3.6:.0f}"
            )
            self._report(car.id, "speed", text, out)

    def _following(self, car: _Car, record: _Record, gap: float, out: list[Violation]) -> None:
        """The two-second rule for a car following another closely enough for it to apply
        (observe() checks that: the rule in force, a car ahead within GAP_FOLLOW_S, speed)."""
        v = car.v
        record.following_s += DT
        headway = (0.0 if gap < 0.0 else gap) / v  # max(gap, 0.0), NaN kept
        if headway >= GAP_RULE_S:
            record.gap_ticks = 0
            return
        record.gap_ticks += 1
        if record.gap_ticks > GAP_GRACE_TICKS:
            record.close_s += DT
            if record.gap_ticks == GAP_GRACE_TICKS + 1:
                text = f"{{name}} is following too close ({headway:.1f} s gap)"
                self._report(car.id, "following", text, out)

    def _hazards(
        self, car: _Car, record: _Record, gap: float, leader: _Car | None, out: list[Violation]
    ) -> None:
        """Hazard lights at a queue's tail (observe() calls this only when it is in force)."""
        if record.queue_grace >= 0:
            record.queue_warned = record.queue_warned or car.hazard
            record.queue_grace += 1
            if record.queue_grace >= HAZARD_GRACE_TICKS:
                record.queue_grace = -1
                record.queue_tails += 1
                if record.queue_warned:
                    record.hazards_used += 1
                else:
                    self._report(
                        car.id,
                        "hazards",
                        "{name} reached the tail of a queue without hazard lights",
                        out,
                    )
            return
        if not record.queue_open:  # the usual case: is an approach starting?
            if (
                car.v >= QUEUE_FAST_V
                and leader is not None
                and gap <= QUEUE_LOOKAHEAD_M
                and leader.v <= QUEUE_SLOW_V
            ):
                record.queue_open, record.queue_warned = True, car.hazard
            return
        approaching = leader is not None and gap <= QUEUE_LOOKAHEAD_M and leader.v <= QUEUE_SLOW_V
        record.queue_warned = record.queue_warned or car.hazard
        if car.v <= QUEUE_SLOW_V:
            record.queue_open = False
            record.queue_grace = 0
        elif not approaching:
            record.queue_open = False  # the queue dissolved or the car left the lane

    # --- results ------------------------------------------------------------------------

    def score(self, car_id: int) -> float:
        """A car's adherence, 0..100 (100 when it had no chance to break any rule)."""
        record = self.records.get(car_id)
        return 100.0 if record is None else self._score(record)

    def scores(self) -> dict[int, float]:
        """Every observed car's score by car id, in order: result()'s scores without the
        counters (the live team figure needs only these)."""
        return {car_id: self._score(r) for car_id, r in sorted(self.records.items())}

    def _score(self, record: _Record) -> float:
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

    # --- helpers ------------------------------------------------------------------------

    def _report(self, car: int, kind: str, text: str, out: list[Violation]) -> None:
        record = self.records.setdefault(car, _Record())
        record.violations += 1
        last = record.last_report.get(kind)
        if last is not None and self._tick - last < REPORT_COOLDOWN_S / DT:
            return
        record.last_report[kind] = self._tick
        out.append(Violation(car, kind, text, self._tick))

    def _ahead(self, x: float, target: float) -> float:
        """Metres from x forward to target around the ring."""
        return (target - x) % self.length

    def _within(self, x: float, start: float, end: float) -> bool:
        span = (end - start) % self.length
        return (x - start) % self.length <= span

    def _signed(self, dx: float) -> float:
        dx %= self.length
        return dx - self.length if dx > self.length / 2 else dx

    def _dist(self, a: float, b: float) -> float:
        return abs(self._signed(a - b))
