"""Scripted solo drivers for the damper tests: a good damper and a close follower.

Each is a function of the live world and the tick that returns the player's control intents
for that tick, the same intents the drive screen sends (docs/protocol.md, `control`).
"""

from __future__ import annotations

from typing import Any

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
