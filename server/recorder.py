"""What the debrief needs from a round, sampled while it runs.

The debrief traces waves car to car and draws the space-time diagram, so it needs every car's
position, speed, lane and strongest braking over time — but not at 20 Hz: a sample every
quarter second (the braking in between kept as its minimum) is enough to see a driver react,
and keeps a 4-minute, 60-car round to about a megabyte in compact arrays. The recorder also
keeps the exact per-tick total delay (the counterfactuals compare against it) and, every few
seconds, a copy of the world, so that a counterfactual replay starts near its moment instead
of re-simulating the round from the start.
"""

from __future__ import annotations

import copy
import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from server.metrics import ZONE_BIN_M, FreeFlow, is_player
from shared.sim.tuning import DT

SAMPLE_TICKS = 5  # one sample every 0.25 s
CHECKPOINT_TICKS = 400  # a world copy every 20 s (a copy of 60 cars takes ~30 ms)


@dataclass
class Track:
    """One car's samples, from frame `start` on (cars can join a round late)."""

    start: int
    x: array = field(default_factory=lambda: array("f"))
    v: array = field(default_factory=lambda: array("f"))
    lane: array = field(default_factory=lambda: array("b"))
    amin: array = field(default_factory=lambda: array("f"))
    cum: array = field(default_factory=lambda: array("d"))  # the car's delay so far, vehicle-s

    def at(self, frame: int) -> int | None:
        """Index into the arrays for a frame, or None when the car was not there."""
        i = frame - self.start
        return i if 0 <= i < len(self.x) else None

    def delay_until(self, frame: int) -> float:
        """The car's cumulative delay at a frame (0 before it joined, the last value after)."""
        i = min(frame - self.start, len(self.cum) - 1)
        return self.cum[i] if i >= 0 else 0.0


@dataclass
class Recording:
    """A round as the debrief sees it. `checkpoints` live in memory only (not stored)."""

    tick0: int
    length: float
    lanes: int
    road: dict[str, Any]
    rulebook: dict[str, str] | None
    sample_ticks: int = SAMPLE_TICKS
    frames: list[int] = field(default_factory=list)  # the tick of each frame
    tracks: dict[int, Track] = field(default_factory=dict)
    kinds: dict[int, str] = field(default_factory=dict)  # "player" once ever a player's
    personalities: dict[int, str | None] = field(default_factory=dict)
    desired: dict[int, float] = field(default_factory=dict)  # free-flow desired speed, m/s
    events: list[Any] = field(default_factory=list)
    delay_ticks: array = field(default_factory=lambda: array("d"))  # vehicle-s per tick
    checkpoints: dict[int, Any] = field(default_factory=dict)  # tick -> world copy
    last_tick: int = 0

    @property
    def duration(self) -> float:
        return (self.last_tick - self.tick0) * DT

    def frame_time(self, frame: int) -> float:
        return (self.frames[frame] - self.tick0) * DT

    def frame_of_tick(self, tick: int) -> int:
        """The first frame at or after `tick` (clamped to the last frame)."""
        f = (tick - self.tick0 + self.sample_ticks - 1) // self.sample_ticks - 1
        return max(0, min(len(self.frames) - 1, f))


class _Seen:
    """What the recorder keeps of one car between samples (one object, so that the per-tick
    pass over the cars does one dictionary lookup per car)."""

    __slots__ = ("v0", "cum", "amin", "track", "put", "next_frame")

    def __init__(self, v0: float) -> None:
        self.v0 = v0  # free-flow desired speed (FreeFlow.desired_of), fixed once seen
        self.cum = 0.0  # delay so far, vehicle-s
        self.amin: float | None = None  # strongest braking since the last sample
        self.track: Track | None = None  # its track, once sampled
        # the append methods of the track's x, v, lane, amin and cum arrays, once sampled
        self.put: tuple[Callable[[Any], None], ...] = ()
        self.next_frame = -1  # the frame its next sample goes to if it stays on the road


class Recorder:
    """Observer of a round: `observe(world, events)` each tick, `recording()` at the end."""

    def __init__(self, checkpoint_ticks: int = CHECKPOINT_TICKS) -> None:
        self.checkpoint_ticks = checkpoint_ticks
        self._rec: Recording | None = None
        self._free: FreeFlow | None = None
        self._seen: dict[int, _Seen] = {}  # every car seen in the round, by id

    def _start(self, world: Any) -> Recording:
        road = world.road()
        rulebook = getattr(world, "rulebook", None)
        tick0 = int(world.tick) - 1  # observe runs after the first step
        rec = Recording(
            tick0=tick0,
            length=float(world.length),
            lanes=int(world.lanes),
            road=road,
            rulebook=dict(rulebook) if rulebook is not None else None,
        )
        self._free = FreeFlow(road, rulebook)
        return rec

    def checkpoint(self, world: Any) -> None:
        """Keep a copy of the world as it is now (also called for the round's first state)."""
        if self._rec is not None and self.checkpoint_ticks > 0:
            self._rec.checkpoints[int(world.tick)] = copy.deepcopy(world)

    def observe(self, world: Any, events: list[Any]) -> None:
        """Record one tick: the exact total delay, each car's delay and strongest braking;
        a sample of every car every SAMPLE_TICKS, a world copy every checkpoint_ticks.

        One pass over the cars with locals: this runs for every car of every room at 20 Hz.
        The delay is FreeFlow.tick_delay's definition, inlined (the same floats, in the same
        order, so the counterfactuals' figures compare with these exactly).
        """
        rec = self._rec
        if rec is None:
            rec = self._rec = self._start(world)
        free = self._free
        assert free is not None
        tick = int(world.tick)
        rec.last_tick = tick
        seen = self._seen
        kinds = rec.kinds
        floor, limits, cap = free.floor, free.bin_limit, free.cap
        bins = len(limits)
        x_lo, x_hi = free.edges
        total = 0.0
        for car in world.cars.values():
            car_id = car.id
            try:
                s = seen[car_id]
            except KeyError:
                s = seen[car_id] = _Seen(free.desired_of(car))
            v0 = s.v0
            if v0 < floor:
                fv = v0
            elif cap is not None:
                fv = cap if x_lo < car.x < x_hi else v0
            else:
                k = int(car.x / ZONE_BIN_M)
                limit = limits[k] if 0 <= k < bins else math.inf
                fv = v0 if v0 < limit else limit
            v = car.v
            if v < fv:
                lost = (1.0 - v / fv) * DT
                total += lost
                s.cum += lost
            a = car.a
            amin = s.amin
            if amin is None or a < amin:
                s.amin = a
            if car.controller == "player":
                kinds[car_id] = "player"
        rec.delay_ticks.append(total)
        if events:
            rec.events.extend(events)
        if (tick - rec.tick0) % rec.sample_ticks == 0:
            self._sample(world, rec)
        if self.checkpoint_ticks and tick % self.checkpoint_ticks == 0:
            rec.checkpoints[tick] = copy.deepcopy(world)

    def _sample(self, world: Any, rec: Recording) -> None:
        frame = len(rec.frames)
        rec.frames.append(int(world.tick))
        seen = self._seen
        cars = world.cars
        for car in cars.values():
            s = seen[car.id]  # observe() has just seen every car
            if s.next_frame != frame:
                self._track(s, car, frame, rec)
            put_x, put_v, put_lane, put_amin, put_cum = s.put
            put_x(car.x)
            put_v(car.v)
            put_lane(int(car.lane_index))
            amin = s.amin
            put_amin(car.a if amin is None else amin)
            put_cum(s.cum)
            s.amin = None
            s.next_frame = frame + 1
        if len(seen) != len(cars):  # cars that have left: their braking is forgotten too
            for s in seen.values():
                s.amin = None

    def _track(self, s: _Seen, car: Any, frame: int, rec: Recording) -> None:
        """A car's first sample (its track begins at `frame`), or its first since it came
        back (removed, then re-added): the frames it missed are padded as absent."""
        track = s.track
        if track is None:
            car_id = car.id
            track = s.track = rec.tracks[car_id] = Track(start=frame)
            rec.kinds.setdefault(car_id, "player" if is_player(car) else "bot")
            rec.personalities[car_id] = getattr(car, "personality", None)
            rec.desired[car_id] = s.v0
            s.put = (
                track.x.append,
                track.v.append,
                track.lane.append,
                track.amin.append,
                track.cum.append,
            )
            return
        while track.start + len(track.x) < frame:
            track.x.append(-1.0)
            track.v.append(0.0)
            track.lane.append(-1)
            track.amin.append(0.0)
            track.cum.append(track.cum[-1] if track.cum else 0.0)

    def recording(self) -> Recording:
        """The round so far; an empty recording (no road yet) if the round never ticked, so a
        round ended at once still gets its (empty) debrief."""
        if self._rec is None:
            return Recording(tick0=0, length=0.0, lanes=0, road={}, rulebook=None)
        return self._rec
