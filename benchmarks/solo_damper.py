"""The solo damper's cost: a damper-ring room ticked with and without its counterfactual.

The damper challenge (server/damper.py) steps a second world alongside the live one (the same
round with the player's car driven by a typical bot), so a damper room costs about two worlds
per tick. This measures the room's tick in CPU time both ways, over a whole round by default,
with a scripted damper at the wheel. Run with `.venv/bin/python benchmarks/solo_damper.py
[--seconds S] [--seed N]`; the last line is the summary.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from server.room import Room
from shared.messages import Control, HostCommand
from shared.sim.tuning import DT

TICK_BUDGET_MS = 50.0  # one tick every 50 ms at 20 Hz


class Sink:
    """A member's connection that drops what the room sends (the frames are encoded anyway)."""

    def send(self, data: bytes) -> bool:
        return True

    def close(self, code: int, reason: str) -> None:
        pass


def damper_controls(world: Any, car: int, tick: int) -> list[tuple[str, Any]]:
    """5 s in: the wide gap and a target near the ring's mean speed; never a brake."""
    if tick != 100:
        return []
    mean_kmh = sum(c.v for c in world.cars.values()) / len(world.cars) * 3.6
    target = world.cars[car].target_speed * 3.6
    controls: list[tuple[str, Any]] = [("gap", 3)]
    while target - 10 >= mean_kmh - 5 and target > 10:
        controls.append(("slower", None))
        target -= 10
    return controls


def room_tick_ms(seed: int, seconds: float, with_damper: bool) -> tuple[float, dict[str, Any]]:
    """CPU milliseconds per room tick over a round, and the damper's result (if measured)."""
    room = Room("BENCH", clock=time.monotonic, scenario="damper-ring", seed=seed)
    me = room.join("Ana", "host", Sink(), wants_car=True)
    room.handle(me, HostCommand(command="start"))
    car = me.car
    assert car is not None  # wants_car: the host drives once the round starts
    if not with_damper:
        room.observers.pop("damper", None)
    tracker = room.observers.get("damper")
    room.seconds = seconds
    ticks = 0
    spent = 0.0
    while room.phase == "driving":
        world = room.world
        for action, value in damper_controls(world, car, world.tick):
            room.handle(me, Control(action=action, value=value))
        if world.tick + 1 >= room.seconds / DT:  # the last tick ends the round: its
            room.step()  # analysis is not a tick's cost
            break
        start = time.process_time()
        room.step()
        spent += time.process_time() - start
        ticks += 1
    return spent / ticks * 1000.0, tracker.result() if tracker is not None else {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    plain, _ = room_tick_ms(args.seed, args.seconds, with_damper=False)
    damped, result = room_tick_ms(args.seed, args.seconds, with_damper=True)
    print(
        f"damper-ring room, {args.seconds:g} s, room seed {args.seed} (round seed {args.seed + 1})"
    )
    print(f"  without the counterfactual: {plain:.3f} ms CPU per tick")
    print(f"  with the counterfactual:    {damped:.3f} ms CPU per tick")
    print(f"  damper result: change {result.get('change_pct')}%, won {result.get('won')}")
    share = damped / TICK_BUDGET_MS * 100
    print(
        f"SUMMARY solo_damper: {damped:.3f} ms per tick with the counterfactual against "
        f"{plain:.3f} ms without ({damped / plain:.2f}×), {share:.1f}% of the 50 ms tick"
    )


if __name__ == "__main__":
    main()
