"""Fixed, fabricated server messages for the client's offline tests, snapshots and benchmark.

They follow the documented formats (shared/protocol.py pack_car rows, FLAG_* bits, a ring of
RING_SEGMENTS km/h ints, the `room` message with `ring` = world.road()) so the drive and
lobby screens can be tested deterministically, without a live server.
"""

from __future__ import annotations

import random
from typing import Any

from shared.conventions import make_rulebook
from shared.protocol import (
    FLAG_BRAKING,
    FLAG_CRASHED,
    FLAG_HAZARD,
    FLAG_PLAYER,
    FLAG_SIGNAL_LEFT,
    FLAG_SIGNAL_RIGHT,
    FLAG_TRUCK,
    RING_SEGMENTS,
    SERVER_MESSAGES,
    pack_car,
    validate,
)

LENGTH = 2000.0
YOU = 1
OTHER = 2
TRICKY_NAME = "[bold red]x[/]"

ROAD: dict[str, Any] = {
    "length": LENGTH,
    "lanes": 3,
    "gantry": 560.0,
    "closures": [{"lane": 2, "start": 600.0, "end": 900.0, "warn": 200.0}],
    "ramps": [],
    "incidents": [],
    "speed_zones": [{"start": 470.0, "end": 900.0, "limit": 100 / 3.6}],
    "fog": [],
}


def room(phase: str = "driving", name: str = "Ana", other: str = TRICKY_NAME) -> dict[str, Any]:
    msg = {
        "type": "room",
        "code": "KX7PQ",
        "phase": phase,
        "players": [
            {"id": 1, "name": name, "role": "host", "car": YOU, "connected": True},
            {"id": 2, "name": other, "role": "player", "car": OTHER, "connected": True},
            {"id": 3, "name": "Bea\x1b[31m", "role": "player", "car": None, "connected": False},
        ],
        "scenario": "open-road",
        "rulebook": make_rulebook({"passing": "right", "signal": "required"}),
        "round": 1,
        "rounds": 1,
        "locked": False,
        "clock": 240.0,
        "ring": ROAD,
    }
    return validate(msg, SERVER_MESSAGES)


def joined() -> dict[str, Any]:
    return validate(
        {
            "type": "joined",
            "code": "KX7PQ",
            "role": "host",
            "token": "t0k",
            "player": 1,
            "car": YOU,
        },
        SERVER_MESSAGES,
    )


def cars(tick: int, extra: int = 0) -> list[tuple[int, int, int, int, int]]:
    """A fixed scene around x≈500 m, moving with the tick; `extra` adds seeded bots."""
    t = tick * 0.05
    scene = [
        (YOU, 1.0, 500.0, 25.0, FLAG_PLAYER),
        (OTHER, 0.0, 530.0, 24.0, FLAG_PLAYER | FLAG_SIGNAL_LEFT),
        (3, 1.0, 540.0, 20.0, FLAG_BRAKING),
        (4, 2.0, 470.0, 30.0, 0),
        (5, 1.5, 585.0, 26.0, FLAG_SIGNAL_LEFT),
        (6, 0.0, 470.0, 22.0, FLAG_TRUCK | FLAG_SIGNAL_RIGHT),
        (7, 2.0, 595.0, 0.0, FLAG_HAZARD | FLAG_BRAKING),
        (8, 0.0, 615.0, 0.0, FLAG_CRASHED),
        (9, 2.0, 520.0, 28.0, 0),
    ]
    rows = [pack_car(cid, lane, (x + v * t) % LENGTH, v, f) for cid, lane, x, v, f in scene]
    rng = random.Random(7)
    for i in range(extra):
        lane = rng.randrange(3)
        x = 380.0 + rng.random() * 300.0
        v = 15 + rng.random() * 15
        flags = FLAG_BRAKING if rng.random() < 0.2 else 0
        rows.append(pack_car(100 + i, lane, (x + v * t) % LENGTH, v, flags))
    return rows


def ring() -> list[int]:
    return [max(0, 100 - abs(i - 40) * 6) if 30 < i < 50 else 95 for i in range(RING_SEGMENTS)]


def snapshot(tick: int = 100, extra: int = 0, events: list | None = None) -> dict[str, Any]:
    t = tick * 0.05
    msg = {
        "type": "snapshot",
        "tick": tick,
        "t": t,
        "you": {
            "car": YOU,
            "lane": 1,
            "lane_pos": 1.0,
            "x": (500.0 + 25.0 * t) % LENGTH,
            "v": 25.0,
            "kmh": 90,
            "target_kmh": 100,
            "gap_s": 1.6,
            "gap_setting": 2,
            "signal": 0,
            "hazard": False,
            "assist": True,
            "distance": 1234.0,
            "score": {"distance_m": 1234.0, "crashes_caused": 0, "penalty_m": 0, "score": 1234},
        },
        "cars": cars(tick, extra),
        "ring": ring(),
        "events": events
        if events is not None
        else [
            {"kind": "hard_brake", "text": f"{TRICKY_NAME} braked hard", "car": OTHER},
            {"kind": "wave", "text": "A braking wave is moving back towards you"},
        ],
        "team": {
            "flow_vph": 1840,
            "mean_kmh": 87.4,
            "delay_vs": 120.0,
            "crashes": 1,
            "near_misses": 2,
            "hard_brakes": 5,
            "adherence": 93,
        },
    }
    return validate(msg, SERVER_MESSAGES)
