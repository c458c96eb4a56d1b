"""Builders for the insight card tests: a recording, a driver's figures and the context a
detector reads (server/insights.py), each with plain defaults a test overrides."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server import insight_context
from server.recorder import Recording, Track
from server.waves import Root
from shared.conventions import default_rulebook


def make_recording(lanes: int = 3, tracks: dict[int, Track] | None = None) -> Recording:
    """A 2 km recording of 400 frames (100 s) holding the given cars' tracks."""
    rec = Recording(tick0=0, length=2000.0, lanes=lanes, road={"length": 2000.0}, rulebook=None)
    rec.frames = [5 * (i + 1) for i in range(400)]
    rec.last_tick = 2000
    rec.tracks = tracks or {}
    return rec


def make_driver(car: int, **figures: Any) -> dict[str, Any]:
    """A steady bot's figures for `car`, overridden by `figures`."""
    row: dict[str, Any] = {
        "car": car,
        "kind": "bot",
        "personality": "steady",
        "mean_kmh": 90.0,
        "lane_changes": 0,
        "unsignalled_changes": 0,
        "hard_brakes": 0,
        "accel_rms": 0.2,
        "adherence": None,
    }
    row.update(figures)
    return row


def make_context(
    drivers: list[dict[str, Any]],
    team: dict[str, Any] | None = None,
    rulebook: Mapping[str, str] | None = None,
    previous: list[dict[str, Any]] | None = None,
    roots: list[Root] | None = None,
    rec: Recording | None = None,
    names: Mapping[int, str] | None = None,
) -> insight_context.Context:
    """What a detector reads, for round `len(previous) + 1`, with the defaults of a quiet round."""
    return insight_context.Context(
        rec or make_recording(),
        roots or [],
        drivers,
        team or {},
        rulebook or default_rulebook(),
        previous or [],
        len(previous or []) + 1,
        names or {},
    )
