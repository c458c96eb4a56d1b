"""The numbers that define how the simulation drives, in one place.

Time step, lane-change duration, emergency braking, crash handling, player controls, merge
behaviour at closures and the safety margins of lane changes: every module of the world reads
them from here, so tuning the road's feel never means hunting through the physics.
"""

from __future__ import annotations

import random

DT = 0.05  # seconds per tick (20 Hz)
LC_SECONDS = 2.0  # lateral movement time of a lane change
LC_STEP = DT / LC_SECONDS
DECIDE_TICKS = 10  # each bot reconsiders its lane every 0.5 s, staggered by id
MANDATORY_TICKS = 2  # ... and every 0.1 s while it must leave an ending lane
AEB_TTC = 1.0  # s: automatic emergency braking below this time-to-collision
HARD_BRAKE = 4.0  # m/s²: a "hard brake" event from this deceleration
CRASH_SECONDS = 15.0  # a crash blocks its lane this long, then the wreck is cleared
PULSE_TICKS = 6  # a player's brake press lasts 0.3 s
PULSE_DECEL = 6.0  # m/s² of a brake press
YIELD_TICKS = 120  # a yield lasts up to 6 s
ZIPPER_DISTANCE = 100.0  # zipper mergers stay in their lane until this close to the end
ZIPPER_AHEAD = 260.0  # ... and may still move into it while its end is this far ahead
EARLY_AHEAD = 600.0  # early mergers never move into a lane that ends within this distance
LATE_DISTANCE = 70.0  # drivers who ignore the rules merge even later
PLAYER_MAX_SPEED = 160 / 3.6  # m/s: the top of a player's target speed
PLAYER_PARAMS = dict(T=1.5, s0=2.0, a=1.5, b=2.0)  # a player's car under assisted driving
KINEMATIC_BRAKE = 5.0  # m/s²: a move is unsafe if anyone would need more than this not to hit
MERGE_TTC = 2.0  # s: ... or if it leaves anyone less time than this to close the gap
JOIN_DECEL = 1.0  # m/s²: a joining player's car may ask this much braking of itself or its follower
JOIN_COMFORT = (
    40.0  # m to spare: a gap this roomy in a lane further right wins over lanes to its left
)


def kinematic_ok(v_back: float, v_front: float, gap: float) -> bool:
    """Whether a follower at v_back can calmly stop closing on a leader at v_front in the gap.

    Used for every voluntary closing of a gap (lane changes, yielding, falling in behind a car
    in the lane to merge into): the move must leave time to react, above the emergency
    braking's trigger, and room to stop at a firm but not emergency deceleration.
    """
    dv = v_back - v_front
    room = gap - 0.5
    if room <= 0.0:
        return False
    return dv <= 0.0 or (gap > MERGE_TTC * dv and dv * dv <= 2.0 * KINEMATIC_BRAKE * room)


def exp_ticks(rng: random.Random, rate: float) -> int:
    """Ticks until the next event of a Poisson process with `rate` per second (at least one)."""
    return 1 + int(rng.expovariate(rate) / DT)
