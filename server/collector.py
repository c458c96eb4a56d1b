"""Keeping Python's cyclic garbage collector from stalling every room on a server.

A server holds long-lived worlds, recordings and logs: at 80 rooms, millions of tracked
containers. A full (generation 2) collection walks them all, and measured in the load
benchmark one took about 100 ms: every room of the process misses its tick while it runs,
which alone put the tick p99 over its 20 ms goal (benchmarks/server_load.py, issue notes).

So what has survived for a while is moved out of the collector's sight (`gc.freeze`: the
permanent generation, never walked) every `freeze_every` seconds, and collections only walk
what is new. The cost is that cyclic garbage frozen before it was found stays until the
next `gc.unfreeze()`; refcounting frees everything else as usual. A closed room is the
moment its world and recording become garbage, so the policy unfreezes and collects in full
after rooms close (at most once per `full_gap` seconds: one long tick then, not one per
room), and in any case every `full_every` seconds so nothing is held forever.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

FREEZE_EVERY_S = 1.0  # how often survivors are moved out of the collector's sight
FULL_GAP_S = 60.0  # at least this long between two full collections after rooms close
FULL_EVERY_S = 900.0  # a full collection at least this often, rooms closing or not


class GcModule(Protocol):
    """What the policy uses of the `gc` module (a fake in tests)."""

    def freeze(self) -> None: ...
    def unfreeze(self) -> None: ...
    def collect(self, generation: int = 2) -> int: ...


class Collector:
    """The freeze / full-collection schedule of one server process (see the module doc)."""

    def __init__(
        self,
        *,
        freeze_every: float = FREEZE_EVERY_S,
        full_gap: float = FULL_GAP_S,
        full_every: float = FULL_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
        collector: GcModule = gc,
    ) -> None:
        self.freeze_every = freeze_every
        self.full_gap = full_gap
        self.full_every = full_every
        self.clock = clock
        self.gc = collector
        self.last_full = clock()
        self.rooms_closed = 0  # rooms closed since the last full collection
        self.freezes = 0
        self.full_runs = 0
        self.freed = 0  # objects the full collections found unreachable

    def room_closed(self) -> None:
        """A room's world became garbage: collect in full soon (see `due`)."""
        self.rooms_closed += 1

    def due(self, now: float) -> bool:
        """Whether a full collection is due now."""
        since = now - self.last_full
        return since >= self.full_every or (self.rooms_closed > 0 and since >= self.full_gap)

    def step(self) -> None:
        """One round of the schedule: a full collection when due, then freeze survivors."""
        now = self.clock()
        if self.due(now):
            self.gc.unfreeze()
            found = self.gc.collect()
            self.freed += found
            self.full_runs += 1
            self.last_full = now
            log.debug("full collection after %d closed rooms: %d objects", self.rooms_closed, found)
            self.rooms_closed = 0
        self.gc.freeze()
        self.freezes += 1

    async def run(self) -> None:
        """Step every `freeze_every` seconds until cancelled (the server's own task)."""
        while True:
            await asyncio.sleep(self.freeze_every)
            self.step()
