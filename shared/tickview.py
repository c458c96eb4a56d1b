"""Snapshot rows of a world's tick: every car packed once, and the ring summary.

Pure functions of a `shared.sim.world.World`: the server slices them into per-client
snapshots (server/snapshots.py) and the client's replay samples a rebuilt round with them
(client/screens/replay.py), so both draw the same rows. The layout is in docs/protocol.md.
It lives beside the wire format rather than in shared/sim/ because it speaks that format's
flags and ring packing, which the simulation itself must not import.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from typing import Any

from shared.protocol import (
    FLAG_AEB,
    FLAG_BRAKING,
    FLAG_CRASHED,
    FLAG_HAZARD,
    FLAG_PLAYER,
    FLAG_SIGNAL_LEFT,
    FLAG_SIGNAL_RIGHT,
    FLAG_TRUCK,
    RING_SEGMENTS,
    pack_ring,
)

VIEW_BEHIND_M = 120.0  # the drive screen shows more road ahead than behind
VIEW_AHEAD_M = 240.0
TRUCK_LENGTH_M = 8.0  # anything longer than this is drawn as a truck


def car_rows(cars: Iterable[Any]) -> list[tuple[int, int, int, int, int]]:
    """Cars as snapshot rows (see docs/protocol.md for the layout and flag bits).

    This runs for every car of every room on every tick, so it is one loop with the flags
    composed inline rather than a call per car through `car_flags`, and the quantisation is
    `shared.protocol.pack_car`'s written out (same bits and rounding; a test checks the rows
    agree). The rare flags (hazard, crashed, AEB) share one test.
    """
    rows: list[tuple[int, int, int, int, int]] = []
    append = rows.append
    for car in cars:
        flags = FLAG_BRAKING if car.braking else 0
        signal = car.signal
        if signal:
            flags |= FLAG_SIGNAL_LEFT if signal < 0 else FLAG_SIGNAL_RIGHT
        if car.hazard or car.crashed or car.aeb:
            if car.hazard:
                flags |= FLAG_HAZARD
            if car.crashed:
                flags |= FLAG_CRASHED
            if car.aeb:
                flags |= FLAG_AEB
        if car.controller == "player":
            flags |= FLAG_PLAYER
        if car.length > TRUCK_LENGTH_M:
            flags |= FLAG_TRUCK
        v = round(car.v * 100)
        append((car.id, round(car.lane * 100), round(car.x * 10), v if v > 0 else 0, flags))
    return rows


def car_row(car: Any) -> tuple[int, int, int, int, int]:
    """One car as a snapshot row."""
    return car_rows((car,))[0]


class TickView:
    """The parts of this tick's snapshots that every client shares."""

    def __init__(self, world: Any, ring: list[int] | None = None) -> None:
        """`ring`: a recent tick's packed ring summary to reuse (the minimap changes slowly)."""
        self.length = float(world.length)
        cars = sorted(world.cars.values(), key=lambda c: c.x)
        self.xs = [c.x for c in cars]
        self.rows = car_rows(cars)
        self.all_rows = sorted(self.rows)  # by id, for full views
        self.ring = ring if ring is not None else pack_ring(world.ring_summary(RING_SEGMENTS))

    def rows_near(self, x: float) -> list[tuple[int, int, int, int, int]]:
        """Cars from VIEW_BEHIND_M behind x to VIEW_AHEAD_M ahead, across the ring's seam."""
        if self.length <= VIEW_BEHIND_M + VIEW_AHEAD_M:
            return self.all_rows
        lo, hi = x - VIEW_BEHIND_M, x + VIEW_AHEAD_M
        spans = []
        if lo < 0:
            spans.append((lo + self.length, self.length))
            spans.append((0.0, hi))
        elif hi >= self.length:
            spans.append((lo, self.length))
            spans.append((0.0, hi - self.length))
        else:
            spans.append((lo, hi))
        out: list[tuple[int, int, int, int, int]] = []
        for a, b in spans:
            out.extend(self.rows[bisect_left(self.xs, a) : bisect_right(self.xs, b)])
        return out

    def near(self, x: float, other_x: float) -> bool:
        """Whether other_x lies within the view window around x."""
        d = (other_x - x) % self.length
        return d <= VIEW_AHEAD_M or self.length - d <= VIEW_BEHIND_M
