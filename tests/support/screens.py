"""Fixed messages for the client's screen tests: a council in session, a round's debrief
payload (docs/debrief.md) and a long chat line, with the harness app of the debrief screen.

Names are the harness's hostile ones (tests/support/harness.py): markup and an escape, which
the screens must show literally.
"""

from __future__ import annotations

from typing import Any

from textual.app import App

from client.screens.debrief import DebriefScreen
from server.council import Council
from tests.support.harness import ESC_NAME, EVIL_NAME, Harness, room_msg, seated

TIMES, CELLS, T_BIN, X_BIN, LENGTH = 60, 40, 4.0, 50.0, 2000.0


def wave_diagram() -> list[list[int]]:
    """A free ring with one jam wave born at 1:20 near 1.5 km, drifting back ~15 km/h."""
    grid = []
    for i in range(TIMES):
        row = []
        for j in range(CELLS):
            kmh = 95
            if i >= 20:
                head = (30 - (i - 20) / 3) % CELLS
                if 0 <= (head - j) % CELLS < 3:
                    kmh = 6
            row.append(kmh)
        grid.append(row)
    grid[0][0] = -1  # an empty bin
    return grid


def debrief_msg(**over: Any) -> dict[str, Any]:
    """A fixed debrief payload in the format of docs/debrief.md."""
    msg: dict[str, Any] = {
        "type": "debrief",
        "version": 1,
        "round": 2,
        "scenario": "rush-hour",
        "seed": 7,
        "rulebook": {
            "passing": "right",
            "signal": "required",
            "following": "two_second",
            "merge": "zipper",
            "speed_limit": "100",
            "hazards": "yes",
        },
        "duration_s": 240.0,
        "ticks": 4800,
        "road": {"length": LENGTH, "lanes": 3, "gantry": 0.0},
        "team": {
            "cars": 30,
            "players": 2,
            "flow_vph": 1650.0,
            "mean_kmh": 71.5,
            "delay_vs": 980.0,
            "crashes": 0,
            "near_misses": 3,
            "hard_brakes": 11,
            "adherence": 82,
        },
        "drivers": [
            {
                "car": 11,
                "name": EVIL_NAME,
                "kind": "player",
                "personality": None,
                "distance_m": 4800.0,
                "mean_kmh": 72.0,
                "delay_s": 31.0,
                "crashes": 0,
                "crashes_caused": 0,
                "near_misses": 1,
                "hard_brakes": 4,
                "lane_changes": 6,
                "unsignalled_changes": 2,
                "accel_rms": 1.31,
                "penalty_m": 0,
                "score": 4800,
                "adherence": 64,
            },
            {
                "car": 12,
                "name": ESC_NAME,
                "kind": "player",
                "personality": None,
                "distance_m": 4500.0,
                "mean_kmh": 68.0,
                "delay_s": 40.0,
                "crashes": 0,
                "crashes_caused": 0,
                "near_misses": 0,
                "hard_brakes": 1,
                "lane_changes": 2,
                "unsignalled_changes": 0,
                "accel_rms": 0.52,
                "penalty_m": 0,
                "score": 4500,
                "adherence": 95,
            },
            {
                "car": 13,
                "name": None,
                "kind": "bot",
                "personality": "steady",
                "distance_m": 4600.0,
                "mean_kmh": 70.0,
                "delay_s": 35.0,
                "crashes": 0,
                "crashes_caused": 0,
                "near_misses": 0,
                "hard_brakes": 0,
                "lane_changes": 1,
                "unsignalled_changes": 0,
                "accel_rms": 0.40,
                "penalty_m": 0,
                "score": 4600,
                "adherence": 100,
            },
        ],
        "diagram": {
            "t_bin_s": T_BIN,
            "x_bin_m": X_BIN,
            "times": TIMES,
            "cells": CELLS,
            "vmax_kmh": 130,
            "kmh": wave_diagram(),
        },
        "paths": [
            {
                "car": 11,
                "name": EVIL_NAME,
                "x": [-1] + [(i * 97 + 300) % 2000 for i in range(1, TIMES)],
            },
        ],
        "series": {
            "t_bin_s": 5.0,
            "t": [i * 5.0 for i in range(48)],
            "mean_kmh": [95 - (30 if 16 <= i <= 30 else 0) for i in range(48)],
            "flow_vph": [1800 - (400 if 16 <= i <= 30 else 0) for i in range(48)],
            "stopped": [3 if 16 <= i <= 30 else 0 for i in range(48)],
            "hard_brakes": [2 if i in (16, 17, 25) else 0 for i in range(48)],
        },
        "roots": [
            {
                "car": 11,
                "name": EVIL_NAME,
                "kind": "brake",
                "t": 82.0,
                "x": 1525.0,
                "lane": 1,
                "reached": 6,
                "chain": [11, 9, 31, 4, 17, 22, 5],
                "decel": [4.1, 3.2, 3.9, 4.4, 5.0, 5.2, 6.0],
                "amplification": 1.12,
                "delay_vs": 55.2,
                "span_m": 180.0,
                "span_s": 11.5,
                "counterfactual": {
                    "from_t": 80.0,
                    "to_t": 125.0,
                    "factual_vs": 612.0,
                    "counterfactual_vs": 571.0,
                    "cost_vs": 41.0,
                },
                "text": f"{EVIL_NAME}'s brake at 1:22 cost the road 41 vehicle-seconds",
            },
            {
                "car": 12,
                "name": ESC_NAME,
                "kind": "cut_in",
                "t": 150.0,
                "x": 400.0,
                "lane": 0,
                "reached": 2,
                "chain": [12, 3, 8],
                "decel": [3.0, 3.5, 3.6],
                "amplification": 1.09,
                "delay_vs": 12.0,
                "span_m": 40.0,
                "span_s": 4.0,
                "counterfactual": None,
                "text": f"{ESC_NAME}'s cut-in at 2:30 made 2 cars brake",
            },
        ],
        "cards": [
            {
                "id": "reinforcing_loop",
                "discipline": "systems thinking",
                "title": "Braking amplifies backwards",
                "pattern": f"{EVIL_NAME} braked at 4.1 m/s² at 1:22; six cars back, a driver "
                "braked at 6.0 m/s².",
                "where": {"t0": 82.0, "t1": 94.0, "x0": 1345.0, "x1": 1525.0},
                "idea": "A reinforcing loop: each driver brakes a little harder than the one "
                "ahead, so the wave grows as it travels.",
                "question": "What would have to change for the seventh car not to stop?",
                "figures": {"ratio": 1.12},
            },
            {
                "id": "faster_is_slower",
                "discipline": "personal mastery",
                "title": "Faster is slower",
                "pattern": "The two weaving drivers averaged 66 km/h; the steady ones 71 km/h.",
                "where": None,
                "idea": "Pushing harder on a tightly coupled system often makes it slower.",
                "question": "Who gained from the lane changes?",
                "figures": {"weavers_kmh": 66, "steady_kmh": 71},
            },
        ],
        "rounds": [
            {
                "round": 1,
                "scenario": "rush-hour",
                "rulebook": {},
                "flow_vph": 1480.0,
                "mean_kmh": 58.0,
                "delay_vs": 1500.0,
                "delay_per_car_s": 50.0,
                "crashes": 1,
                "near_misses": 8,
                "hard_brakes": 25,
                "unsignalled_changes": 14,
                "adherence": None,
            },
            {
                "round": 2,
                "scenario": "rush-hour",
                "rulebook": {"passing": "right", "merge": "zipper"},
                "flow_vph": 1650.0,
                "mean_kmh": 71.5,
                "delay_vs": 980.0,
                "delay_per_car_s": 32.7,
                "crashes": 0,
                "near_misses": 3,
                "hard_brakes": 11,
                "unsignalled_changes": 2,
                "adherence": 82,
            },
        ],
    }
    msg.update(over)
    return msg


def debrief_app(
    role: str = "player", car: int | None = 11, payload: dict[str, Any] | None = None
) -> Harness:
    """The debrief of `payload` (default `debrief_msg()`) as member 1 (the host) or 2 (a
    player), holding `car` in the roster (None: not driving)."""
    me = 1 if role == "host" else 2
    room = seated(room_msg(phase="debrief"), me, car)
    return Harness(role=role, player=me, car=car, messages=(room, payload or debrief_msg()))


def council_state() -> dict[str, Any]:
    """A real council's state: players 2 and 3 tie on passing, 1 and 2 agree on zipper."""
    council = Council(members=[1, 2, 3], host=1, seconds=125)
    council.propose(2, "passing", "right")
    council.propose(3, "passing", "left")
    council.vote(1, "merge", "zipper")
    council.vote(2, "merge", "zipper")
    return council.state()


def council_room(**over: Any) -> dict[str, Any]:
    return room_msg(phase="council", council=council_state(), **over)


LONG_CHAT = (
    "I think keeping a gap wide enough to brake in is what stops the waves, so let us all "
    "vote for the two-second rule this time"
)


def debrief_ready(app: App[Any]) -> bool:
    """The debrief screen is up and has taken in its payload.

    The app shows the screen when the `room` says the phase is debrief and the payload
    follows in its own message: a test that read the screen as soon as it appeared would
    race the second message.
    """
    screen = app.screen
    return isinstance(screen, DebriefScreen) and bool(screen.payload)
