"""The 20 Hz heartbeat of a server: one fixed-rate scheduler for every room.

Deadlines are computed from the start time (start + n·dt), never by adding a sleep to the
last wake-up, so the rate does not drift however long each tick takes. After a hiccup (a
slow tick, a garbage collection, a busy machine) the ticker runs the missed ticks back to
back until it is on time again; past `max_catchup` ticks behind it gives up on the backlog
and counts the dropped ticks instead of spiralling. Every tick records how late it started
and how long it took, which is what the load benchmark reports.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from shared.sim.tuning import DT  # the simulation's fixed step, 20 Hz


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


@dataclass
class TickStats:
    """What the ticker measured: counts since start, recent durations and lateness."""

    ticks: int = 0
    late: int = 0  # ticks that started more than `late_after` after their deadline
    dropped: int = 0  # ticks given up on after a long stall
    max_lateness: float = 0.0
    durations: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))
    lateness: deque[float] = field(default_factory=lambda: deque(maxlen=20_000))

    def reset(self) -> None:
        """Forget everything measured so far (a benchmark's warm-up)."""
        self.ticks = self.late = self.dropped = 0
        self.max_lateness = 0.0
        self.durations.clear()
        self.lateness.clear()

    def summary(self) -> dict[str, float]:
        durations = list(self.durations)
        return {
            "ticks": self.ticks,
            "late": self.late,
            "dropped": self.dropped,
            "p50_ms": percentile(durations, 50) * 1000,
            "p99_ms": percentile(durations, 99) * 1000,
            "max_ms": max(durations, default=0.0) * 1000,
            "max_late_ms": self.max_lateness * 1000,
        }


class Ticker:
    """Calls `step()` every `dt` seconds of `clock`, catching up after delays.

    `clock` and `sleep` are injectable so the scheduling itself is tested with a fake clock;
    rooms are tested by stepping them directly, without any ticker at all.
    """

    def __init__(
        self,
        step: Callable[[], object],
        *,
        dt: float = DT,
        max_catchup: int = 10,
        late_after: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        """`late_after`: lateness that counts a tick as late (default one `dt`; a ticker
        that steps a fraction of the rooms every dt/k still calls late what misses a whole
        room period)."""
        self._step = step
        self.dt = dt
        self.max_catchup = max_catchup
        self.late_after = dt if late_after is None else late_after
        self.clock = clock
        self._sleep = sleep
        self._running = False
        self.stats = TickStats()
        self.deadline = 0.0  # the deadline of the step being run (rooms measure from it)

    def stop(self) -> None:
        self._running = False

    async def run(self, max_ticks: int | None = None) -> None:
        """Tick until stop() (or `max_ticks` ticks, for tests)."""
        self._running = True
        start = self.clock()
        n = 0  # index of the next tick: its deadline is start + n*dt
        done = 0
        while self._running and (max_ticks is None or done < max_ticks):
            deadline = start + n * self.dt
            now = self.clock()
            if now < deadline:
                await self._sleep(deadline - now)
                continue
            behind = int((now - deadline) / self.dt)
            if behind > self.max_catchup:
                # a long stall: drop the backlog rather than run a burst of stale ticks
                self.stats.dropped += behind
                n += behind
                deadline = start + n * self.dt
            lateness = now - deadline
            self.stats.lateness.append(lateness)
            if lateness > self.stats.max_lateness:
                self.stats.max_lateness = lateness
            if lateness > self.late_after:
                self.stats.late += 1
            self.deadline = deadline
            began = self.clock()
            self._step()
            self.stats.durations.append(self.clock() - began)
            self.stats.ticks += 1
            n += 1
            done += 1
            if lateness > 0:
                # let connection handlers run between catch-up ticks
                await self._sleep(0)
