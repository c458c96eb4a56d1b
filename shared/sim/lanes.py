"""Lane changing: MOBIL choices, mandatory merges, signals, yielding and falling in behind.

A bot reconsiders its lane every half second (staggered by id, every tenth of a second while
it must leave an ending lane). It signals first if its habits and the rulebook say so, and
moves only when the gap is calm for everyone; polite drivers open gaps for a neighbour who
signals into their lane. Players' moves start at once: they are the ones deciding.
"""

from __future__ import annotations

from bisect import bisect_right

from shared.sim.car import Car
from shared.sim.driver import FREE, MAX_BRAKE
from shared.sim.events import Event
from shared.sim.state import WorldState
from shared.sim.tuning import (
    DT,
    EARLY_AHEAD,
    LATE_DISTANCE,
    YIELD_TICKS,
    ZIPPER_AHEAD,
    ZIPPER_DISTANCE,
    kinematic_ok,
)


class LaneChanging(WorldState):
    def _can_enter(self, lane: int, x: float, back: float, ahead: float) -> bool:
        if self._plain:
            return 0 <= lane < self.lanes
        return self.geo.can_enter(lane, x, back, ahead)

    def _neighbours(self, k: int, x: float) -> tuple[Car | None, Car | None]:
        """The cars just ahead of and just behind position x in lane k."""
        lst = self._lanes[k]
        n = len(lst)
        if n == 0:
            return None, None
        xs = self._xs[k]
        i = bisect_right(self._lane_xs(k) if xs is None else xs, x)
        return lst[i % n], lst[i - 1]

    def _obstacle_ahead(self, k: int, x: float) -> tuple[float, float, str]:
        best = (FREE, 0.0, "")
        for ox, zone, kind in self._obs[k]:
            d = (ox - x) % self.length
            if d < best[0] and d <= self.length - 30.0:
                best = (d, zone, kind)
        return best

    def _decide(self, car: Car, events: list[Event]) -> None:
        """A bot's lane choice (MOBIL, mandatory merges), signalling, yielding and hazards."""
        tick = self.tick
        p = car.params
        k = car.lane_index
        L = self.length
        if p.yields and car.yield_to is None:
            self._find_yield(car)
        if car.hazard_habit:
            if not car.hazard and car.v < 8.0 and car.a < -1.0:
                car.hazard = True
            elif car.hazard and car.v > 14.0:
                car.hazard = False

        # must this car leave its lane?
        mandatory = False
        d_end, zone, kind = self._obstacle_ahead(k, car.x) if self._obs[k] else (FREE, 0.0, "")
        ramp = self._ramp_of[k]
        if ramp is not None:
            if not self.geo.span(ramp.start, ramp.end, car.x):
                return  # on the slip road, behind the barrier
            mandatory = True
        elif d_end < zone:
            if kind == "closure":
                reach = {"early": zone, "zipper": ZIPPER_DISTANCE}.get(
                    car.merge_style, LATE_DISTANCE
                )
                mandatory = d_end < reach
            else:
                mandatory = True
        if not mandatory and tick - car.last_lc < p.cooldown / DT:
            self._drop_intent(car)
            return

        # MOBIL for a move each way. An acceleration is made only once a move gets far enough
        # to need it, and this car's present one and its old follower's only once for both
        # ways, by the same operations as ever: each is a pure function of cars that nothing
        # changes while this car chooses.
        x = car.x
        v = car.v
        a_now: float | None = None
        old_follower: tuple[float, float] | None = None  # its (a now, a once this car left)
        best_dir = 0
        best_gain = -FREE
        for direction in (1, -1):
            target = k + direction
            if mandatory:
                ahead_need = 30.0
            elif car.merge_style == "early":
                ahead_need = EARLY_AHEAD  # never into a lane whose end is signed
            else:
                ahead_need = ZIPPER_AHEAD  # zipper: use the ending lane until near its end
            if self._plain:
                if not 0 <= target < self.lanes:
                    continue
            elif not self.geo.can_enter(target, x, car.length, ahead_need):
                continue
            nl, nf = self._neighbours(target, x)
            gap_f = FREE
            vl = 0.0
            if nl is not None:
                gap_f = (nl.x - x) % L - nl.length
                vl = nl.v
            od, _z, _kind = self._obstacle_ahead(target, x) if self._obs[target] else (FREE, 0, "")
            if od < gap_f:
                gap_f, vl = od, 0.0
            if gap_f < 1.0 or not kinematic_ok(v, vl, gap_f):
                continue
            a_new = car.accel(gap_f, vl)
            # safety for the new follower
            a_nf_now = a_nf_new = 0.0
            if nf is not None:
                gap_b = (x - nf.x) % L - car.length
                if gap_b < 1.0 or not kinematic_ok(nf.v, v, gap_b):
                    continue
                b_safe = p.b_safe
                if mandatory:
                    urgency = 1.0 - min(1.0, d_end / max(zone, 1.0))
                    b_safe = min(MAX_BRAKE, p.b_safe + 4.0 * urgency)
                    if car.stuck_since >= 0 and tick - car.stuck_since > 60:
                        b_safe = MAX_BRAKE
                if a_new < -b_safe:
                    continue
                a_nf_new = nf.accel(gap_b, v)
                if a_nf_new < -b_safe:
                    continue
                if not mandatory:  # only politeness weighs what the follower has now
                    a_nf_now = nf.accel(nf.gap, nf.lv)
            if mandatory:
                gain = a_new + (0.5 if direction == 1 else 0.0)  # prefer leaving toward the road
            else:
                if a_now is None:
                    a_now = car.accel(car.gap, car.lv)
                if old_follower is None:
                    old_follower = self._old_follower_gain(k, car)
                a_of_now, a_of_new = old_follower
                bias = 0.0
                if car.passing == "right":
                    bias = p.bias if direction == -1 else -p.bias
                elif car.passing == "left":
                    bias = p.bias if direction == 1 else -p.bias
                gain = (
                    a_new
                    - a_now
                    + bias
                    - p.p * ((a_nf_now - a_nf_new) + (a_of_now - a_of_new))
                    - p.a_th
                )
                if gain <= 0.0:
                    continue
            if gain > best_gain:
                best_gain, best_dir = gain, direction

        if mandatory:
            if car.v < 1.0 and car.stuck_since < 0:
                car.stuck_since = tick
        else:
            car.stuck_since = -1
        want = best_dir
        car.merge_behind = None
        if want == 0 and mandatory:
            if car.intent == 0:
                # keep announcing the merge while waiting for a gap
                for direction in (1, -1):
                    if self._can_enter(k + direction, car.x, car.length, 30.0):
                        car.intent = direction
                        car.intent_signal = car.rng.random() < car.sig_prob
                        car.signal_since = tick
                        car.signal = -direction if car.intent_signal else 0
                        break
            if car.intent:
                # match the speed of the lane to join: slot in behind the car alongside
                nl, _nf = self._neighbours(k + car.intent, car.x)
                if nl is not None and (nl.x - car.x) % L - nl.length < 60.0:
                    car.merge_behind = nl.id
            return
        if want == 0:
            if not mandatory:
                self._drop_intent(car)
            return
        if car.intent != want:
            car.intent = want
            car.intent_signal = car.rng.random() < car.sig_prob
            car.signal_since = tick
            car.signal = -want if car.intent_signal else 0
        if car.intent_signal and (tick - car.signal_since) * DT < car.sig_lead:
            return
        self._start_change(
            car, want, events, (d_end, kind) if (mandatory or d_end < zone) else None
        )

    def _drop_intent(self, car: Car) -> None:
        car.merge_behind = None
        if car.intent:
            car.intent = 0
            if car.intent_signal:
                car.signal = 0
            car.intent_signal = False

    def _old_follower_gain(self, k: int, car: Car) -> tuple[float, float]:
        """The IDM acceleration of the car behind in lane k now, and once `car` left the lane
        (its gap grows by the car and the car's gap); (0, 0) if it does not follow `car`."""
        of = self._follower_in(k, car)
        if of is None or of is car or of.lead is not car:
            return 0.0, 0.0
        a_of_now = of.accel(of.gap, of.lv)
        return a_of_now, of.accel(of.gap + car.length + car.gap, car.lv)

    def _follower_in(self, k: int, car: Car) -> Car | None:
        lst = self._lanes[k]
        n = len(lst)
        if n < 2:
            return None
        xs = self._lane_xs(k)
        i = bisect_right(xs, car.x) - 1
        for j in (i, i - 1, i + 1):
            if lst[j % n] is car:
                return lst[(j - 1) % n]
        for j, other in enumerate(lst):
            if other is car:
                return lst[j - 1]
        return None

    def _start_change(
        self, car: Car, direction: int, events: list[Event], ending: tuple[float, str] | None
    ) -> None:
        tick = self.tick
        k = car.lane_index
        signalled = (tick - car.signal_since) * DT if car.signal == -direction else 0.0
        target = k + direction
        events.append(
            Event(tick, "lane_change", car.id, car.x, k, value=round(signalled, 2), target=target)
        )
        if ending is None and self._obs[k]:
            d, zone, kind = self._obstacle_ahead(k, car.x)
            if d < zone and kind in ("closure", "ramp"):
                ending = (d, kind)
        if ending is not None and ending[1] in ("closure", "ramp"):
            _nl, nf = self._neighbours(target, car.x)
            events.append(
                Event(
                    tick,
                    "merge",
                    car.id,
                    car.x,
                    k,
                    other=None if nf is None or nf is car else nf.id,
                    value=round(ending[0], 1),
                    target=target,
                )
            )
        car.lc_dir = direction
        car.lc_target = target
        car.last_lc = tick
        car.intent = 0
        car.merge_behind = None
        car.stuck_since = -1

    def _find_yield(self, car: Car) -> None:
        """Look for a neighbour just ahead signalling into this car's lane, to open a gap for."""
        k = car.lane_index
        L = self.length
        for side in (1, -1):
            j = k + side
            if not 0 <= j < self.lanes or not self._lanes[j]:
                continue
            lst = self._lanes[j]
            n = len(lst)
            xs = self._xs[j]
            i = bisect_right(self._lane_xs(j) if xs is None else xs, car.x)
            for step in range(min(3, n)):
                other = lst[(i + step) % n]
                ahead = (other.x - car.x) % L
                if ahead > 80.0:
                    break
                if other.lc_dir == 0 and other.signal == side and other.lane_index == j:
                    car.yield_to = other.id
                    car.yield_until = max(car.yield_until, self.tick + YIELD_TICKS)
                    return

    def _apply_merge_behind(self, car: Car) -> None:
        """A driver who must leave an ending lane slows to the speed of the lane it joins."""
        other = self.cars.get(car.merge_behind) if car.merge_behind is not None else None
        if other is None or car.intent == 0 or other.lane_index != car.lane_index + car.intent:
            car.merge_behind = None
            return
        g = (other.x - car.x) % self.length - other.length
        # only a car it can fall in behind calmly; one much slower and close it lets go by
        if 0.0 < g < 100.0 and kinematic_ok(car.v, other.v, g) and car.tighter(g, other.v):
            car.gap = g
            car.lv = other.v
            car.lead = other

    def _apply_yield(self, car: Car) -> None:
        other = self.cars.get(car.yield_to) if car.yield_to is not None else None
        if (
            other is None
            or self.tick >= car.yield_until
            or other.lc_dir != 0
            or other.signal == 0
            or other.lane_index - other.signal != car.lane_index
        ):
            car.yield_to = None
            return
        g = (other.x - car.x) % self.length - other.length
        # yielding is opening a gap calmly, never an emergency stop for someone far slower
        if g > 0.0 and kinematic_ok(car.v, other.v, g) and car.tighter(g, other.v):
            car.gap = g
            car.lv = other.v
            car.lead = other
