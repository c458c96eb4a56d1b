"""Snapshots exactly as the server packs them, for the remote-bot tests: one car alone in the
right lane and slower than any cruise speed, so a bot's brain only ever says "faster"."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from server.snapshots import SnapshotEncoder
from shared import protocol as p
from shared.tickview import TickView

YOU: dict[str, Any] = {"car": 1, "lane": 0, "x": 500.0, "v": 20.0, "target_kmh": 80, "gap_s": None}
ME = p.pack_car(1, 0.0, 500.0, 20.0, 0)


def server_frame(tick: int, you: dict[str, Any] | None = YOU, **extra: Any) -> bytes:
    """A snapshot exactly as the server packs it (server.snapshots.SnapshotEncoder)."""
    world = SimpleNamespace(tick=tick, t=tick * 0.05, length=2000.0, cars={})
    encoder = SnapshotEncoder(world, TickView(world, ring=[100] * p.RING_SEGMENTS))
    return encoder.encode([ME], [], you, extra or None)
