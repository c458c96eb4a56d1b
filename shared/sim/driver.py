"""Driver models: the Intelligent Driver Model for following and MOBIL for lane choice.

Kept as small pure functions of numbers so that the world's hot loop, lane-change decisions
and tests all share one definition of the physics (docs/architecture.md, "The simulation").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_BRAKE = 9.0  # m/s², the physical limit (and what automatic emergency braking uses)
MIN_GAP = 0.1  # m, floor for the gap in the IDM's interaction term (avoids dividing by zero)
FREE = 1.0e9  # a gap that means "nothing ahead"


@dataclass(slots=True)
class DriverParams:
    """One driver's model parameters and habits; a personality draws these (shared/sim/bots.py)."""

    v0: float = 120 / 3.6  # desired speed, m/s
    T: float = 1.5  # time headway, s
    s0: float = 2.0  # jam distance, m
    a: float = 1.0  # maximum acceleration, m/s²
    b: float = 1.5  # comfortable deceleration, m/s²
    p: float = 0.3  # MOBIL politeness
    b_safe: float = 4.0  # MOBIL safety: the most braking a move may impose on the new follower
    a_th: float = 0.2  # MOBIL switching threshold, m/s²
    bias: float = 0.3  # MOBIL keep-right/left bias, m/s² (applied where the rules say)
    signal_prob: float = 1.0  # chance to signal a lane change at all
    signal_lead: float = 2.2  # seconds the signal is on before moving
    yields: bool = True  # opens a gap for a neighbour signalling into its lane
    react_ticks: int = 1  # re-plans acceleration every N ticks (reaction delay)
    tap_rate: float = 0.0  # random brake taps per second (distraction)
    tap_decel: float = 3.0  # m/s² of a tap
    compliance: float = 1.0  # fraction of a posted limit this driver aims at
    cooldown: float = 4.0  # seconds between lane changes (no ping-pong)
    conforms: bool = True  # follows the agreed rulebook at all
    home_passing: str | None = None  # a passing convention of its own (the "local" driver)


def idm(
    v: float, v0: float, T: float, s0: float, a: float, b: float, gap: float, vl: float
) -> float:
    """IDM acceleration for speed v behind a leader at `gap` metres going `vl` m/s.

    Above the desired speed the free-road term is limited to -b so that entering a lower speed
    zone slows a car firmly but comfortably. Braking is limited to the physical maximum.
    """
    if v0 > 0.0:
        r = v / v0
        r2 = r * r
        free = 1.0 - r2 * r2
        if free < -b / a:
            free = -b / a
    else:
        free = -b / a
    if gap >= FREE:
        acc = a * free
    else:
        s_star = s0 + v * T + v * (v - vl) / (2.0 * math.sqrt(a * b))
        if s_star < s0:
            s_star = s0
        s = gap if gap > MIN_GAP else MIN_GAP
        q = s_star / s
        acc = a * (free - q * q)
    return acc if acc > -MAX_BRAKE else -MAX_BRAKE


def equilibrium_gap(v: float, v0: float, T: float, s0: float) -> float:
    """The bumper-to-bumper gap at which an IDM driver holds speed v steadily."""
    r = v / v0
    denom = 1.0 - r**4
    return (s0 + v * T) / math.sqrt(denom) if denom > 1e-9 else math.inf


def equilibrium_speed(gap: float, v0: float, T: float, s0: float) -> float:
    """The steady speed an IDM driver settles to at a given gap (bisection on equilibrium_gap)."""
    if gap <= s0:
        return 0.0
    lo, hi = 0.0, v0 * (1.0 - 1e-9)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if equilibrium_gap(mid, v0, T, s0) < gap:
            lo = mid
        else:
            hi = mid
    return lo


def lane_capacity(v0: float, T: float, s0: float, length: float) -> float:
    """The IDM's equilibrium lane capacity in vehicles per hour: max over v of v/(s_e(v)+l)."""
    best = 0.0
    steps = 2000
    for i in range(1, steps):
        v = v0 * i / steps
        q = v / (equilibrium_gap(v, v0, T, s0) + length)
        best = max(best, q)
    return best * 3600.0


def mobil_gain(
    p: float,
    a_me_new: float,
    a_me_now: float,
    a_newf_new: float,
    a_newf_now: float,
    a_oldf_new: float,
    a_oldf_now: float,
    bias: float,
) -> float:
    """MOBIL's net incentive (before the threshold): own gain, plus bias, minus politeness × others' loss."""
    others_loss = (a_newf_now - a_newf_new) + (a_oldf_now - a_oldf_new)
    return a_me_new - a_me_now + bias - p * others_loss
