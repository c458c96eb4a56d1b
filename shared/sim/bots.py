"""Bot personalities: a parameter set for the driver models plus habits toward the rulebook.

A personality is what makes a road feel populated by people: steady drivers keep the agreed
conventions, hurried ones weave with short gaps, distracted ones react late and tap the brake
(the noise that starts waves), locals follow a convention of their own (mismatched mental
models). Each bot's parameters are drawn with the world's seeded RNG so runs are repeatable.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from shared.sim.driver import DriverParams

PERSONALITIES = ("steady", "hurried", "distracted", "local")

# Per personality: base parameters, the relative spread of desired speed, and conformity (the
# chance that a bot of this kind follows the agreed rulebook at all).
_BASE: dict[str, dict[str, float | bool]] = {
    "steady": dict(
        v0=120 / 3.6,
        T=1.5,
        s0=2.0,
        a=1.0,
        b=1.5,
        p=0.5,
        b_safe=3.0,
        a_th=0.2,
        bias=0.4,
        signal_prob=1.0,
        signal_lead=2.2,
        yields=True,
        react_ticks=1,
        tap_rate=0.0,
        compliance=1.0,
        cooldown=5.0,
    ),
    "hurried": dict(
        v0=145 / 3.6,
        T=0.9,
        s0=1.5,
        a=1.6,
        b=2.5,
        p=0.0,
        b_safe=5.0,
        a_th=0.05,
        bias=0.1,
        signal_prob=0.35,
        signal_lead=0.3,
        yields=False,
        react_ticks=1,
        tap_rate=0.0,
        compliance=1.15,
        cooldown=2.0,
    ),
    "distracted": dict(
        v0=110 / 3.6,
        T=1.5,
        s0=2.0,
        a=1.0,
        b=1.5,
        p=0.2,
        b_safe=3.0,
        a_th=0.3,
        bias=0.3,
        signal_prob=0.5,
        signal_lead=0.8,
        yields=False,
        react_ticks=8,
        tap_rate=1 / 25,
        tap_decel=3.5,
        compliance=1.05,
        cooldown=6.0,
    ),
    "local": dict(
        v0=115 / 3.6,
        T=1.4,
        s0=2.0,
        a=1.0,
        b=1.5,
        p=0.3,
        b_safe=3.0,
        a_th=0.2,
        bias=0.4,
        signal_prob=0.9,
        signal_lead=1.2,
        yields=True,
        react_ticks=1,
        tap_rate=0.0,
        compliance=1.0,
        cooldown=5.0,
    ),
}
_SPREAD = {"steady": 0.05, "hurried": 0.05, "distracted": 0.08, "local": 0.05}
CONFORMITY = {"steady": 1.0, "hurried": 0.25, "distracted": 0.7, "local": 1.0}

# A truck: long, slower, gentle, keeps to the cruising lane.
TRUCK = dict(v0=90 / 3.6, T=1.8, a=0.6, b=1.5, p=0.5, bias=0.8, cooldown=8.0)
TRUCK_LENGTH = 12.0
CAR_LENGTH = 5.0

# Keys a scenario's [drivers] table may override for every bot.
OVERRIDABLE = ("v0", "T", "s0", "a", "b", "p", "b_safe", "a_th", "bias", "tap_rate", "tap_decel")


def make_params(
    personality: str,
    rng: random.Random,
    *,
    truck: bool = False,
    overrides: Mapping[str, float] | None = None,
) -> DriverParams:
    """Draw one bot's parameters: the personality's set, a little individual spread, overrides."""
    if personality not in _BASE:
        raise ValueError(f"unknown personality {personality!r}; expected one of {PERSONALITIES}")
    values: dict[str, float | bool] = dict(_BASE[personality])
    if truck:
        values.update(TRUCK)
    if overrides:
        values.update(overrides)
    # individual spread of desired speed, unless the scenario fixes it for everyone (like the
    # Sugiyama drivers, all asked to cruise at the same speed); the draw is made either way so
    # that a scenario's overrides never shift the rest of a bot's random stream
    spread = 0.0 if overrides and "v0" in overrides else _SPREAD[personality]
    values["v0"] = float(values["v0"]) * (1.0 + spread * (2.0 * rng.random() - 1.0))
    params = DriverParams(**values)  # type: ignore[arg-type]
    params.conforms = rng.random() < CONFORMITY[personality]
    if personality == "local":
        params.home_passing = "left"
    return params


def choose_personality(mix: Mapping[str, float], rng: random.Random) -> str:
    """Pick a personality with the mix's weights (the mix need not sum to one)."""
    total = sum(max(0.0, w) for w in mix.values())
    if total <= 0.0:
        return "steady"
    pick = rng.random() * total
    acc = 0.0
    last = "steady"
    for name in PERSONALITIES:
        w = max(0.0, mix.get(name, 0.0))
        if w <= 0.0:
            continue
        acc += w
        last = name
        if pick < acc:
            return name
    return last


def parse_mix(text: str) -> dict[str, float]:
    """Parse `steady:0.7,hurried:0.1` into a checked mix (ValueError with a clear sentence)."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, weight = part.partition(":")
        name = name.strip()
        if not sep:
            raise ValueError(f"expected personality:weight, got {part!r}")
        if name not in PERSONALITIES:
            raise ValueError(f"unknown personality {name!r}; expected one of {list(PERSONALITIES)}")
        try:
            value = float(weight)
        except ValueError:
            raise ValueError(f"weight of {name} must be a number, got {weight.strip()!r}") from None
        if not value >= 0.0 or value == float("inf"):
            raise ValueError(f"weight of {name} must be a finite number ≥ 0, got {value}")
        mix[name] = value
    if not mix or sum(mix.values()) <= 0:
        raise ValueError("a mix needs at least one personality with a weight above 0")
    return mix
