"""One vehicle's state: what the world moves, what observers read, and the driver's intentions.

Plain attributes with __slots__ keep the hot loop fast and deep copies cheap. The public
attributes are the ones docs/architecture.md lists; the rest are the driver's working memory.
"""

from __future__ import annotations

import math
import random

from shared.sim.driver import FREE, MAX_BRAKE, MIN_GAP, DriverParams

_NEG_MAX_BRAKE = -MAX_BRAKE

PLAYER_GAPS = {1: 1.0, 2: 1.5, 3: 2.2}  # time headway (s) of the player's gap settings


class Car:
    __slots__ = (
        # public (docs/architecture.md)
        "id",
        "lane",
        "lane_index",
        "x",
        "v",
        "a",
        "length",
        "controller",
        "personality",
        "signal",
        "hazard",
        "braking",
        "crashed",
        "target_speed",
        "gap_setting",
        "assist",
        "distance",
        "truck",
        "player_owned",
        "aeb",
        "v_max",
        # driver and rules
        "params",
        "rng",
        "v0",
        "v0_now",
        "T",
        "passing",
        "merge_style",
        "sig_prob",
        "sig_lead",
        "hazard_habit",
        "s0",
        "pa",
        "free_floor",
        "inv_2sqrt_ab",
        "idm_root",
        # manoeuvres
        "lc_dir",
        "lc_target",
        "last_lc",
        "intent",
        "intent_signal",
        "signal_since",
        "brake_until",
        "hard",
        "crash_until",
        "yield_to",
        "yield_until",
        "merge_behind",
        "tap_until",
        "tap_next",
        "a_plan",
        "stuck_since",
        # per-tick scratch (leader)
        "gap",
        "lv",
        "lead",
    )

    def __init__(
        self,
        car_id: int,
        lane: int,
        x: float,
        v: float,
        params: DriverParams,
        personality: str,
        rng: random.Random,
        *,
        length: float = 5.0,
        truck: bool = False,
    ) -> None:
        self.id = car_id
        self.lane = float(lane)
        self.lane_index = lane
        self.x = x
        self.v = v
        self.a = 0.0
        self.length = length
        self.controller = "bot"
        self.personality = personality
        self.signal = 0
        self.hazard = False
        self.braking = False
        self.crashed = False
        self.target_speed = round(params.v0 * 3.6 / 10) * 10 / 3.6
        self.gap_setting = 2
        self.assist = True
        self.distance = 0.0
        self.truck = truck
        self.player_owned = False
        self.aeb = False
        self.v_max = max(params.v0, 160 / 3.6)
        self.params = params
        self.rng = rng
        self.v0 = params.v0
        self.v0_now = params.v0
        self.T = params.T
        self.passing = "free"
        self.merge_style = "zipper"
        self.sig_prob = params.signal_prob
        self.sig_lead = params.signal_lead
        self.hazard_habit = False
        self.s0 = params.s0
        self.pa = params.a
        self.free_floor = -params.b / params.a
        self.inv_2sqrt_ab = 0.5 / (params.a * params.b) ** 0.5
        self.idm_root = 2.0 * math.sqrt(params.a * params.b)
        self.lc_dir = 0
        self.lc_target = lane
        self.last_lc = -(10**9)
        self.intent = 0
        self.intent_signal = False
        self.signal_since = 0
        self.brake_until = 0
        self.hard = False
        self.crash_until = 0
        self.yield_to: int | None = None
        self.yield_until = 0
        self.merge_behind: int | None = None
        self.tap_until = 0
        self.tap_next = 10**12
        self.a_plan = 0.0
        self.stuck_since = -1
        self.gap = FREE
        self.lv = 0.0
        self.lead: Car | None = None

    def clone(self) -> Car:
        """A deep copy for counterfactual branches, much cheaper than copy.deepcopy.

        `params` is never changed in place (a new set replaces it), so copies share it; the
        per-tick leader scratch is recomputed at the start of every step, so it is reset.
        """
        new = Car.__new__(Car)
        for name in Car.__slots__:
            setattr(new, name, getattr(self, name))
        rng = random.Random()
        rng.setstate(self.rng.getstate())
        new.rng = rng
        new.lead = None
        return new

    def accel(self, gap: float, vl: float) -> float:
        """driver.idm for this car behind a leader at `gap` going `vl`, by the same operations
        in the same order (so to the bit), with what depends only on its parameters made when
        they were set (World._apply_rules): -b/a, 2√(ab), s0 and a."""
        v = self.v
        v0 = self.v0_now
        floor = self.free_floor
        if v0 > 0.0:
            r = v / v0
            r2 = r * r
            free = 1.0 - r2 * r2
            if free < floor:
                free = floor
        else:
            free = floor
        if gap >= FREE:
            acc = self.pa * free
        else:
            s0 = self.s0
            s_star = s0 + v * self.T + v * (v - vl) / self.idm_root
            if s_star < s0:
                s_star = s0
            q = s_star / (gap if gap > MIN_GAP else MIN_GAP)
            acc = self.pa * (free - q * q)
        return acc if acc > _NEG_MAX_BRAKE else _NEG_MAX_BRAKE

    def tighter(self, gap: float, vl: float) -> bool:
        """Whether a leader at `gap` going `vl` constrains this car more than its current one
        (when a car sees two leaders: both lanes of a lane change, or a car it yields to)."""
        if self.gap >= FREE:
            return True
        return self.accel(gap, vl) < self.accel(self.gap, self.lv)

    @property
    def is_player(self) -> bool:
        return self.controller == "player"

    def __repr__(self) -> str:
        return (
            f"Car({self.id}, {self.controller}/{self.personality}, lane={self.lane:.2f}, "
            f"x={self.x:.1f}, v={self.v:.2f})"
        )
