"""Scripted solo drivers for the damper tests, a good damper and a close follower, and a solo
room that plays a round with one of them.

Each driver is a function of the live world and the tick that returns the player's control
intents for that tick, the same intents the drive screen sends (docs/protocol.md, `control`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from server.room import Room
from server.store import Store
from shared.messages import parse_client_message
from tests.support.room import FakeConn

SETTLE_TICK = 100  # the damper sets up 5 s into the round, once the ring is moving


def damper_controls(world: Any, car: int, tick: int) -> list[list[Any]]:
    """Target speed near the ring's mean (10 km/h steps), the wide gap, never a brake."""
    if tick != SETTLE_TICK:
        return []
    me = world.cars[car]
    mean_kmh = sum(c.v for c in world.cars.values()) / len(world.cars) * 3.6
    target = me.target_speed * 3.6
    controls: list[list[Any]] = [["gap", 3]]
    while target - 10 >= mean_kmh - 5 and target > 10:
        controls.append(["slower", None])
        target -= 10
    return controls


def follower_controls(world: Any, car: int, tick: int) -> list[list[Any]]:
    """The close gap, and a brake press whenever the car ahead brakes."""
    if tick == 1:
        return [["gap", 1]]
    me = world.cars[car]
    lead = me.lead
    if lead is not None and lead.a < -0.8 and me.brake_until <= world.tick:
        return [["brake", None]]
    return []


# words that speak to a group: a solo debrief and coach must not use them
GROUP_WORDS = ("agreed", "council", "as a group", "the group", "each other")


def solo_round(
    tmp_path: Path,
    policy: Callable[[Any, int, int], list[list[Any]]],
    scenario: str = "damper-ring",
    seed: int = 2,
    seconds: float = 180.0,
    store: Store | None = None,
) -> tuple[Room, FakeConn, Store]:
    """Ana alone in room SOLO1, driven by `policy` for `seconds`; the history in `store`."""
    store = store or Store(tmp_path / "history.db")
    room = Room("SOLO1", clock=time.monotonic, scenario=scenario, seed=seed, store=store)
    conn = FakeConn()
    me = room.join("Ana", "host", conn, wants_car=True)
    room.handle(me, parse_client_message({"type": "host", "command": "start"}))
    room.seconds = seconds
    car = me.car
    assert car is not None
    while room.phase == "driving":
        world = room.world
        for action, value in policy(world, car, world.tick):
            msg: dict[str, Any] = {"type": "control", "action": action}
            if value is not None:
                msg["value"] = value
            room.handle(me, parse_client_message(msg))
        room.step()
    return room, conn, store
