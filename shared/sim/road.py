"""Road geometry: a ring of lanes with closures, on-ramps, incidents, speed zones and fog.

The road answers the questions drivers ask of it — does this lane exist here, what blocks it
ahead, what is the limit, how far can I see — and describes itself for drawing. It holds no
cars; incidents are its only changing part.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypedDict

INCIDENT_LENGTH = 20.0  # metres of lane an incident blocks
INCIDENT_WARN = 250.0  # metres before an incident at which drivers start to leave the lane
RAMP_FEEDER = 200.0  # metres of slip road before the acceleration lane opens to the main road


@dataclass(frozen=True, slots=True)
class Closure:
    """Lane `lane` is closed from `start` to `end` (metres); signs from `warn` metres before."""

    lane: int
    start: float
    end: float
    warn: float = 500.0


@dataclass(frozen=True, slots=True)
class Ramp:
    """An acceleration lane (`lane`, always the rightmost) open to the main road on [start, end].

    The slip road runs RAMP_FEEDER metres before `start`; `share` of the cars passing its
    beginning in the rightmost main lane take it (the ring's way of producing ramp traffic).
    """

    lane: int
    start: float
    end: float
    share: float = 0.2


@dataclass(frozen=True, slots=True)
class Zone:
    """A stretch [start, end) with a speed limit (m/s) or a sight distance (m)."""

    start: float
    end: float
    value: float


@dataclass(slots=True)
class Incident:
    """A lane blocked from x for INCIDENT_LENGTH metres until tick `until`."""

    lane: int
    x: float
    until: int


@dataclass(frozen=True, slots=True)
class Obstacle:
    """Where a lane stops being drivable: drivers must leave the lane within `zone` metres before."""

    x: float
    zone: float
    kind: str  # "closure", "ramp", "incident"


class ClosureDescription(TypedDict):
    lane: int
    start: float
    end: float
    warn: float


class RampDescription(TypedDict):
    lane: int
    start: float
    end: float


class IncidentDescription(TypedDict):
    lane: int
    x: float
    until: float  # seconds


class SpeedZoneDescription(TypedDict):
    start: float
    end: float
    limit: float


class FogDescription(TypedDict):
    start: float
    end: float
    sight: float


class RoadDescription(TypedDict):
    """The msgpack-able road of `Road.describe` (the `ring` of a `room` message)."""

    length: float
    lanes: int
    gantry: float
    closures: list[ClosureDescription]
    ramps: list[RampDescription]
    incidents: list[IncidentDescription]
    speed_zones: list[SpeedZoneDescription]
    fog: list[FogDescription]


@dataclass(slots=True)
class Road:
    length: float
    lanes: int
    gantry: float = 0.0
    closures: list[Closure] = field(default_factory=list)
    ramps: list[Ramp] = field(default_factory=list)
    speed_zones: list[Zone] = field(default_factory=list)
    fog: list[Zone] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)

    def span(self, start: float, end: float, x: float) -> bool:
        """Whether x lies in [start, end) going forward round the ring (spans may wrap)."""
        L = self.length
        return (x - start) % L < (end - start) % L

    def ramp_lane(self, lane: int) -> Ramp | None:
        for ramp in self.ramps:
            if ramp.lane == lane:
                return ramp
        return None

    def exists(self, lane: int, x: float) -> bool:
        """Whether `lane` is road at x: in range, not closed, not blocked, on a ramp's extent."""
        if lane < 0 or lane >= self.lanes:
            return False
        for c in self.closures:
            if c.lane == lane and self.span(c.start, c.end, x):
                return False
        for inc in self.incidents:
            if inc.lane == lane and self.span(inc.x, inc.x + INCIDENT_LENGTH, x):
                return False
        ramp = self.ramp_lane(lane)
        return ramp is None or self.span(ramp.start - RAMP_FEEDER, ramp.end, x)

    def obstacles(self, lane: int) -> list[Obstacle]:
        """The points where `lane` ends or is blocked, for drivers to stop before and leave early."""
        out = [Obstacle(c.start, c.warn, "closure") for c in self.closures if c.lane == lane]
        out += [Obstacle(r.end, r.end - r.start, "ramp") for r in self.ramps if r.lane == lane]
        out += [Obstacle(i.x, INCIDENT_WARN, "incident") for i in self.incidents if i.lane == lane]
        return out

    def next_obstacle(self, lane: int, x: float) -> tuple[float, Obstacle | None]:
        """Distance from x to the nearest obstacle ahead in `lane` (FREE-like inf if none)."""
        best = float("inf")
        which = None
        L = self.length
        for ob in self.obstacles(lane):
            d = (ob.x - x) % L
            if d < best:
                best, which = d, ob
        return best, which

    def can_enter(self, lane: int, x: float, back: float, ahead: float) -> bool:
        """Whether a car may move into `lane` here: the lane exists from `back` metres behind to
        `ahead` metres ahead of x, and it is not a ramp (nobody drives onto an on-ramp)."""
        if lane < 0 or lane >= self.lanes or self.ramp_lane(lane) is not None:
            return False
        if not self.exists(lane, x) or not self.exists(lane, x - back):
            return False
        d, _ = self.next_obstacle(lane, x)
        return d > ahead

    def limit_at(self, x: float) -> float | None:
        """The posted speed limit at x (m/s), None where there is none."""
        best: float | None = None
        for z in self.speed_zones:
            if self.span(z.start, z.end, x) and (best is None or z.value < best):
                best = z.value
        return best

    def sight_at(self, x: float) -> float | None:
        """How far drivers see at x (m) in fog, None in clear weather."""
        best: float | None = None
        for z in self.fog:
            if self.span(z.start, z.end, x) and (best is None or z.value < best):
                best = z.value
        return best

    def describe(self, dt: float) -> RoadDescription:
        """The msgpack-able description of docs/architecture.md, for drawing the road."""
        return {
            "length": self.length,
            "lanes": self.lanes,
            "gantry": self.gantry,
            "closures": [
                {"lane": c.lane, "start": c.start, "end": c.end, "warn": c.warn}
                for c in self.closures
            ],
            "ramps": [{"lane": r.lane, "start": r.start, "end": r.end} for r in self.ramps],
            "incidents": [
                {"lane": i.lane, "x": i.x, "until": round(i.until * dt, 2)} for i in self.incidents
            ],
            "speed_zones": [
                {"start": z.start, "end": z.end, "limit": z.value} for z in self.speed_zones
            ],
            "fog": [{"start": z.start, "end": z.end, "sight": z.value} for z in self.fog],
        }
