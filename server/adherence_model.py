"""What the adherence tracker is made of: its thresholds, records and the state its parts share.

server/adherence.py's AdherenceTracker is assembled from mixins so that each file keeps one job
(the way shared/sim/world.py is; docs/architecture.md, "Observers of a round"): the per-lane
view of the road in server/adherence_lanes.py, each convention's count and report in
server/adherence_checks.py. This module holds what they all read: the definitions' numbers
(the module docstring of server/adherence.py says what they mean), a car's record, the
violation the event feed shows, and TrackerState, which declares the tracker's attributes for
the type checker and does the work every part needs (a report, distances round the ring).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any, Protocol

from shared.sim.tuning import DT

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
BY_X = attrgetter("x")


class CarLike(Protocol):
    """What the tracker reads of a car (shared.sim.car.Car, or a test's stand-in)."""

    id: int
    lane: float
    lane_index: int
    x: float
    v: float
    length: float  # read as 5 m when a car has none
    signal: int
    hazard: bool
    crashed: bool


class EventLike(Protocol):
    """What the tracker reads of an event (shared.sim.events.Event); read-only, as the
    simulation's events are frozen."""

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
class Record:
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
    leader: CarLike | None = None


@dataclass
class Block:
    """A blocked spot of a lane (an incident), until a tick or, with None, until cleared."""

    lane: int
    x: float
    until_tick: int | None


class TrackerState:
    """The attributes the tracker's parts work on (set by AdherenceTracker.__init__ and
    _prepare), and the helpers they share."""

    rulebook: dict[str, str]
    road: Mapping[str, Any]
    length: float
    lanes: int
    limit: float | None
    passing: str
    records: dict[int, Record]
    blocks: list[Block]
    _last_merge: dict[tuple[int, float], tuple[int | None, int]]
    _tick: int
    _pass: int
    _rules: dict[str, bool]
    _zones: list[tuple[float, float, float]]
    _closures: dict[int, list[tuple[float, float, float]]]
    _ramp_lanes: frozenset[int]
    _special_lanes: frozenset[int]
    _sides: dict[int, tuple[range, int, bool]]

    def _report(self, car: int, kind: str, text: str, out: list[Violation]) -> None:
        record = self.records.setdefault(car, Record())
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
