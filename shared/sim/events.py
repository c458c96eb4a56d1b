"""What happened during a tick, as plain records the server, metrics and debrief can read.

Events are the simulation's only output besides its state: they let observers count crashes,
near misses and lane changes without re-deriving them from trajectories.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = (
    "crash",  # car (the cause, see crash_cause) and other collided; value = closing speed (m/s)
    "near_miss",  # automatic emergency braking engaged; value = deceleration (m/s², positive)
    "hard_brake",  # braking at 4 m/s² or more began; value = deceleration (m/s², positive)
    "lane_change",  # a lateral move began; value = seconds signalled first (0 = unsignalled)
    "merge",  # a move out of an ending lane (closure, ramp); value = metres left to the end
    "incident_start",  # a lane got blocked; value = seconds it will last
    "incident_clear",  # a blocked lane (or a crash site) was cleared
    "gantry",  # a car passed the counting point
    "takeover",  # a bot took over a player's car
    "handback",  # a player took their car back
)


@dataclass(frozen=True, slots=True)
class Event:
    """One thing that happened at `tick`.

    `car` is None for events about the road (incidents). `lane` is the lane index where it
    happened (for lane changes and merges: the lane left). `other` is a second car: the car hit
    in a crash, the car a merging car went in front of. `target` is the lane a lane change or
    merge goes to.
    """

    tick: int
    kind: str
    car: int | None
    x: float
    lane: int
    other: int | None = None
    value: float | None = None
    target: int | None = None


CUT_IN_SECONDS = (
    3.0  # a car that began moving into the lane this recently cut in (tuning.LC_SECONDS + 1 s)
)


def crash_cause(behind: Any, ahead: Any, lane: int, tick: int) -> tuple[Any, Any]:
    """(cause, other) of a crash between two cars overlapping in `lane`.

    The cause is the driver whose action made the crash unavoidable: a car that moved into
    the lane within the last CUT_IN_SECONDS (it took a gap that was not there) rather than
    the car already driving in it; otherwise the car behind, which ran into the one ahead.
    When both moved in, the later mover took the other's place. Both cars are involved.
    """
    window = round(CUT_IN_SECONDS / 0.05)

    def moved_in(car: Any) -> int | None:
        recent = tick - car.last_lc <= window and car.lc_target == lane
        return car.last_lc if recent else None

    b_in, a_in = moved_in(behind), moved_in(ahead)
    if a_in is not None and (b_in is None or a_in > b_in):
        return ahead, behind
    return behind, ahead
