"""A traced wave's chain: the Root, who follows whom, each follower's braking in turn, the delay.

server/waves.py finds where waves start (the detection: hard brakes, cut-ins, crashes, incidents,
taps); from each start the chain is followed down the lane here, one car behind another while
each brakes within the reaction window, and the delay the reached cars suffered is summed. The
helpers that read one car's braking from the recording serve both: a start is judged by the
same measures its chain is followed with. Only the recording is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.metrics import FreeFlow
from server.recorder import Recording
from shared.sim.tuning import DT

RESPONSE_BRAKE = 1.0  # m/s²: a follower "brakes in turn" beyond this (coasting is gentler)
RESPONSE_WINDOW_S = 5.0  # a follower that reacts later than this is not counted as reached
PEAK_WINDOW_S = 3.0  # a response's strength: its strongest braking within this time
INHERIT_WINDOW_S = 3.0  # a leader braking this shortly before makes a brake inherited
MAX_GAP_M = 120.0  # a car further behind than this is not following
DELAY_WINDOW_S = 45.0  # delay after the root that is attributed to the reached cars


@dataclass
class Root:
    """One traced wave root; `frames[i]`/`xs[i]` are where chain[i] began braking."""

    car: int
    kind: str  # "brake" | "cut_in" | "crash" | "incident" (wave roots) | "tap" (see trace_taps)
    tick: int
    x: float
    lane: int
    chain: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    xs: list[float] = field(default_factory=list)
    decel: list[float] = field(default_factory=list)
    delay_vs: float = 0.0
    counterfactual: dict[str, Any] | None = None
    cause: str = ""  # an incident's origin: "host", "scenario" or "shock" (see incident_cause)

    @property
    def reached(self) -> int:
        return len(self.chain) - 1

    def amplification(self) -> float | None:
        """Mean ratio of each follower's braking to its leader's (cut-ins, crashes and incidents
        start at the first car behind: a crash's stop, or a blocked lane, is not a braking)."""
        start = 1 if self.kind in ("cut_in", "crash", "incident") else 0
        ratios = [
            self.decel[i + 1] / self.decel[i]
            for i in range(start, len(self.decel) - 1)
            if self.decel[i] > 0.1
        ]
        return sum(ratios) / len(ratios) if ratios else None


class Lanes:
    """Who follows whom at a frame: each lane's cars sorted by position, built on demand."""

    def __init__(self, rec: Recording) -> None:
        self.rec = rec
        self._cache: dict[int, dict[int, list[tuple[float, int]]]] = {}

    def at(self, frame: int) -> dict[int, list[tuple[float, int]]]:
        lanes = self._cache.get(frame)
        if lanes is None:
            lanes = {}
            for car, track in self.rec.tracks.items():
                i = track.at(frame)
                if i is None or track.x[i] < 0:
                    continue
                lanes.setdefault(track.lane[i], []).append((track.x[i], car))
            for row in lanes.values():
                row.sort()
            self._cache[frame] = lanes
        return lanes

    def neighbour(
        self, frame: int, lane: int, x: float, behind: bool, skip: int
    ) -> tuple[int, float] | None:
        """The nearest car behind (or ahead of) position x in `lane`, and the distance to it."""
        row = self.at(frame).get(lane)
        if not row:
            return None
        length = self.rec.length
        best: tuple[int, float] | None = None
        for ox, car in row:
            if car == skip:
                continue
            d = (x - ox) % length if behind else (ox - x) % length
            if d <= 0 or d > MAX_GAP_M:
                continue
            if best is None or d < best[1]:
                best = (car, d)
        return best


def car_sample(rec: Recording, car: int, frame: int) -> tuple[float, float, int, float] | None:
    """(x, v, lane, amin) of a car at a frame, or None."""
    track = rec.tracks.get(car)
    if track is None:
        return None
    i = track.at(frame)
    if i is None or track.x[i] < 0:
        return None
    return track.x[i], track.v[i], track.lane[i], track.amin[i]


def braking_response(
    rec: Recording, car: int, frame: int, threshold: float
) -> tuple[int, float] | None:
    """First frame from `frame` on, within the reaction window, where the car brakes beyond
    `threshold`, and the strongest braking of that response."""
    per_s = 1.0 / (rec.sample_ticks * DT)
    track = rec.tracks.get(car)
    if track is None:
        return None
    last = min(len(rec.frames) - 1, frame + int(RESPONSE_WINDOW_S * per_s))
    for f in range(frame, last + 1):
        i = track.at(f)
        if i is None or track.x[i] < 0:
            continue
        if track.amin[i] < -threshold:
            end = min(track.start + len(track.x) - 1, f + int(PEAK_WINDOW_S * per_s))
            peak = min(track.amin[j - track.start] for j in range(f, end + 1))
            return f, -peak
    return None


def braking_before(rec: Recording, car: int, frame: int) -> bool:
    """Was this car braking (beyond the response threshold) shortly before `frame`?"""
    per_s = 1.0 / (rec.sample_ticks * DT)
    track = rec.tracks.get(car)
    if track is None:
        return False
    for f in range(max(track.start, frame - int(INHERIT_WINDOW_S * per_s)), frame + 1):
        i = track.at(f)
        if i is not None and track.amin[i] < -RESPONSE_BRAKE:
            return True
    return False


def peak_after(rec: Recording, car: int, frame: int) -> float:
    """A car's strongest braking (m/s², positive) in the PEAK_WINDOW_S from `frame`."""
    track = rec.tracks[car]
    per_s = 1.0 / (rec.sample_ticks * DT)
    end = min(track.start + len(track.amin) - 1, frame + int(PEAK_WINDOW_S * per_s))
    return max(0.0, -min(track.amin[j - track.start] for j in range(frame, end + 1)))


def peak_before(rec: Recording, car: int, frame: int) -> float:
    """A car's strongest braking (m/s², positive) in the PEAK_WINDOW_S up to `frame`."""
    track = rec.tracks.get(car)
    if track is None:
        return 0.0
    per_s = 1.0 / (rec.sample_ticks * DT)
    lo = max(track.start, frame - int(PEAK_WINDOW_S * per_s))
    hi = min(track.start + len(track.amin) - 1, frame)
    values = [track.amin[f - track.start] for f in range(lo, hi + 1)]
    return max(0.0, -min(values)) if values else 0.0


def follow(rec: Recording, lanes: Lanes, root: Root) -> None:
    """Extend the chain down the lane while each next follower brakes in turn."""
    limit = len(rec.tracks)
    while len(root.chain) <= limit:
        car, frame = root.chain[-1], root.frames[-1]
        sample = car_sample(rec, car, frame)
        if sample is None:
            return
        x, _, lane, _ = sample
        behind = lanes.neighbour(frame, lane, x, behind=True, skip=car)
        if behind is None or behind[0] in root.chain:
            return
        response = braking_response(rec, behind[0], frame, RESPONSE_BRAKE)
        if response is None:
            return
        f, decel = response
        follower = car_sample(rec, behind[0], f)
        root.chain.append(behind[0])
        root.frames.append(f)
        root.xs.append(follower[0] if follower else x)
        root.decel.append(decel)


def chain_delay(rec: Recording, free: FreeFlow, root: Root) -> float:
    """Vehicle-seconds the reached cars lost from their response to the end of the window."""
    dt = rec.sample_ticks * DT
    end = min(len(rec.frames), root.frames[0] + int(DELAY_WINDOW_S / dt) + 1)
    total = 0.0
    for car, start in zip(root.chain[1:], root.frames[1:], strict=True):
        track = rec.tracks[car]
        for f in range(start, end):
            i = track.at(f)
            if i is None or track.x[i] < 0:
                continue
            fv = free.speed(car, track.x[i])
            if track.v[i] < fv:
                total += (1.0 - track.v[i] / fv) * dt
    return total
