"""Joining: where a new car enters the road, and whose seat a player takes when none is safe.

A player joining mid-round, or a bot the host adds, must not make anyone brake hard: this
module finds the gap (shared/sim/world.py's World inherits it as a mixin, like
shared/sim/motion.py and shared/sim/lanes.py) so that the world's set-up, step and logged
mutations stay in their own modules. Only the world's state is read, so a join replays
exactly.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from shared.sim.bots import CAR_LENGTH
from shared.sim.car import PLAYER_GAPS, Car
from shared.sim.driver import DriverParams, idm
from shared.sim.state import WorldState
from shared.sim.tuning import (
    JOIN_COMFORT,
    JOIN_DECEL,
    KINEMATIC_BRAKE,
    MERGE_TTC,
    PLAYER_MAX_SPEED,
    PLAYER_PARAMS,
)

if TYPE_CHECKING:
    import random

    from shared.sim.scenario import Scenario


def _safe_gap(
    driver: tuple[float, float, float, float, float, float], v: float, vl: float
) -> float:
    """The shortest gap at which a driver (s0, T, 1/(2√(ab)), a, b, desired speed) going v
    behind a leader going vl brakes no harder than JOIN_DECEL by the IDM, and can calmly stop
    closing on it (tuning.kinematic_ok, with half a metre to spare)."""
    s0, T, inv, a, b, v0 = driver
    ss = s0 + v * T + v * (v - vl) * inv
    if ss < s0:
        ss = s0
    if v0 > 0.0:
        r = v / v0
        r *= r
        free = max(1.0 - r * r, -b / a)
    else:
        free = -b / a
    need = ss / math.sqrt(max(free + JOIN_DECEL / a, 0.05))
    dv = v - vl
    if dv > 0.0:
        need = max(need, MERGE_TTC * dv + 0.5, 1.0 + dv * dv / (2.0 * KINEMATIC_BRAKE))
    return need


class Joining(WorldState):
    """Adding a player's car: a safe gap (_join_spot) or a bot's seat (_bot_seat)."""

    if TYPE_CHECKING:
        # provided by shared/sim/world.py (World), shared/sim/motion.py and
        # shared/sim/mutations.py
        scenario: Scenario
        log: list[tuple[int, str, list[Any]]]
        _next_id: int
        _reach: float
        _main_lanes: list[int]

        def _car_rng(self, car_id: int) -> random.Random: ...
        def _apply_rules(self, car: Car) -> None: ...
        def _rebuild(self) -> None: ...
        def _set_controller(
            self, car: Car, controller: str, personality: str, announce: bool = True
        ) -> None: ...

    # ------------------------------------------------------------------ mutations (logged)

    def add_player_car(self) -> int:
        """A player-controlled car: a new one where a gap is safe to join at the traffic's
        speed (see _join_spot), else a bot's car taken over (see _bot_seat)."""
        self.log.append((self.tick, "add_player", []))
        return self._add_player()

    def _add_player(self) -> int:
        typical = self.scenario.drivers.get("v0", 120 / 3.6)
        target = max(10 / 3.6, round(typical * 0.9 * 3.6 / 10) * 10 / 3.6)
        spot = self._join_spot(target)
        if spot is None or spot[3] < 0.0:
            seat = self._bot_seat(target)
            if seat is not None:
                # no safe gap anywhere: the player takes a bot's seat rather than squeeze in
                car, setting = seat
                car.player_owned = True
                car.target_speed = target
                car.gap_setting, car.assist = setting, True
                car.personality = "steady"
                car.yield_to = None
                car.yield_until = 0
                self._set_controller(car, "player", "steady", announce=False)
                return car.id
        if spot is None:  # no road at all to join (every lane closed): the old fallback
            lane, x, v = self._main_lanes[0], self.geo.gantry, 0.0
        else:
            lane, x, v, _slack = spot
        car_id = self._next_id
        self._next_id += 1
        rng = self._car_rng(car_id)
        base = DriverParams(**PLAYER_PARAMS)  # type: ignore[arg-type]
        base.v0 = PLAYER_MAX_SPEED
        car = Car(car_id, lane, x, v, base, "steady", rng, length=CAR_LENGTH)
        self._reach = max(self._reach, car.length + 1e-6 + 1e-9 * self.length)
        car.controller = "player"
        car.player_owned = True
        car.target_speed = target
        car.v_max = PLAYER_MAX_SPEED
        car.v = min(v, car.target_speed)
        self._apply_rules(car)
        self.cars[car_id] = car
        self._order.append(car)
        self._rebuild()
        return car_id

    def _join_spot(
        self, target: float, length: float = CAR_LENGTH
    ) -> tuple[int, float, float, float] | None:
        """Where a new car of `length` can join — a player's, or a bot the host adds — as
        (lane, x, speed, slack), or None without road. The test uses the assisted player's
        driving model, which keeps a longer gap than most bots.

        Every gap between two cars of a drivable lane is a candidate. The car starts at its
        leader's speed (capped at its target; the leader's leader's when the leader must
        slow for it), or failing that at a speed between its leader's and its follower's, and
        only where both gaps it leaves are at least what
        `_safe_gap` asks: its follower brakes no harder than JOIN_DECEL for it, and it no
        harder for its leader (or the next end of its lane). `slack` is the metres to spare;
        a negative slack means no lane has a safe gap (the best of the unsafe spots is
        returned, for when no bot's seat can be taken either). The rightmost lane with a
        comfortable gap wins: a player joins the road from the right, like a car coming off
        a slip road. Only the world's state is read, so the choice replays exactly.
        """
        p = PLAYER_PARAMS
        me = (p["s0"], PLAYER_GAPS[2], 0.5 / math.sqrt(p["a"] * p["b"]), p["a"], p["b"], target)
        L = self.length
        best: tuple[float, int, float, float] | None = None
        for lane in self._main_lanes:
            if best is not None and best[0] >= JOIN_COMFORT:
                break
            cars = self._lanes[lane]
            obs = self._obs[lane]
            n = len(cars)
            if n == 0:
                # an empty lane: anywhere on the road, clear of the end of the lane
                if best is None or best[0] < L:
                    for i in range(64):
                        x = (self.geo.gantry + 7.0 + i * L / 64) % L
                        if self._body_on_road(lane, x, length) and self._clear_ahead(
                            obs, x, target, me
                        ):
                            best = (L, lane, x, target)
                            break
                continue
            for i, behind in enumerate(cars):
                ahead = cars[(i + 1) % n]
                # the rear of the car ahead, in metres past the front of the one behind
                space = L - behind.length if n == 1 else (ahead.x - behind.x) % L - ahead.length
                if space < length:
                    continue
                follower = self._join_needs(behind)
                vl = ahead.v
                if n > 2:
                    # a leader closing in on its own leader is about to slow to its speed
                    nxt = cars[(i + 2) % n]
                    g2 = (nxt.x - ahead.x) % L - nxt.length
                    if nxt.v < vl and g2 < _safe_gap(self._join_needs(ahead), vl, nxt.v):
                        vl = nxt.v
                speeds = [min(vl, target)]
                if behind.v != vl:
                    speeds += [min(vl + (behind.v - vl) * k / 4.0, target) for k in (1, 2, 3, 4)]
                chosen: tuple[float, float, float] | None = None  # slack, x, v
                for v in speeds:
                    lo = length + _safe_gap(follower, behind.v, v)
                    hi = space - _safe_gap(me, v, vl)
                    for ox, zone, _kind in obs:
                        # an end of the lane ahead: stay out of its warning zone
                        d = (ox - behind.x) % L - max(zone, _safe_gap(me, v, 0.0))
                        if d < hi:
                            hi = d
                    slack = hi - lo
                    x = (behind.x + lo + max(0.0, slack) / 2.0) % L
                    if not self._body_on_road(lane, x, length):
                        continue
                    if chosen is None or slack > chosen[0]:
                        chosen = (slack, x, v)
                    if slack >= 0.0:
                        break  # the first speed that fits: the leader's when it can be
                if chosen is not None and (best is None or chosen[0] > best[0]):
                    best = (chosen[0], lane, chosen[1], chosen[2])
        if best is None:
            return None
        slack, lane, x, v = best
        return lane, x, v, slack

    def _join_needs(self, car: Car) -> tuple[float, float, float, float, float, float]:
        """A driver's numbers for `_safe_gap`: s0, T, 1/(2√(ab)), a, b, desired speed."""
        return (car.s0, car.T, car.inv_2sqrt_ab, car.pa, car.params.b, car.v0_now)

    def _body_on_road(self, lane: int, x: float, length: float) -> bool:
        return self.geo.exists(lane, x) and self.geo.exists(lane, x - length)

    def _clear_ahead(
        self,
        obs: list[tuple[float, float, str]],
        x: float,
        v: float,
        me: tuple[float, float, float, float, float, float],
    ) -> bool:
        """Whether every end of the lane ahead of x is beyond its warning zone and a safe gap
        (a joining car is not put where it must leave its lane or stop)."""
        return all(
            (ox - x) % self.length >= max(zone, _safe_gap(me, v, 0.0)) for ox, zone, _ in obs
        )

    def _bot_seat(self, target: float) -> tuple[Car, int] | None:
        """The bot car a new player drives when no lane has a safe gap, and its gap setting.

        The player's car follows with the player's model, which keeps longer gaps than most
        bots: the seat is the one where that model brakes least for the car's present leader,
        at the default gap setting if it brakes no harder than JOIN_DECEL there, else at the
        shortest. A car in a lane that ends ahead (or on a slip road) is taken only if no
        other is left.
        """
        p = PLAYER_PARAMS
        a, b, s0 = p["a"], p["b"], p["s0"]
        L = self.length
        best: tuple[tuple[bool, bool, float, int], Car, int] | None = None
        for k, lst in enumerate(self._lanes):
            n = len(lst)
            main = k in self._main_lanes
            for i, car in enumerate(lst):
                if car.player_owned or car.crashed or car.truck or car.lane != car.lane_index:
                    continue
                gap, vl = math.inf, 0.0
                if n > 1:
                    ahead = lst[(i + 1) % n]
                    gap, vl = (ahead.x - car.x) % L - ahead.length, ahead.v
                clear = True
                for ox, zone, _kind in self._obs[k]:
                    d = (ox - car.x) % L
                    if d < zone:
                        clear = False
                    if d < gap:
                        gap, vl = d, 0.0
                setting = 2
                acc = idm(car.v, target, PLAYER_GAPS[2], s0, a, b, gap, vl)
                if acc < -JOIN_DECEL:
                    setting = 1
                    acc = idm(car.v, target, PLAYER_GAPS[1], s0, a, b, gap, vl)
                key = (main and clear, setting == 2, acc, -car.id)
                if best is None or key > best[0]:
                    best = (key, car, setting)
        return None if best is None else (best[1], best[2])
