"""Motion: leaders, acceleration, the ballistic update, crashes and the counting gantry.

The hot loop of the simulation. Every car's leader (the nearest car or obstacle ahead in any
lane it occupies) is found from per-lane lists sorted by position; then each car accelerates
by the IDM or its player's intents, emergency braking overrides both, and positions advance
with the ballistic update (speed never negative). Bodies overlapping in a lane are a crash.
"""

from __future__ import annotations

import math
from operator import attrgetter

from shared.sim.car import Car
from shared.sim.driver import FREE, MAX_BRAKE, MIN_GAP
from shared.sim.events import Event, crash_cause
from shared.sim.road import RAMP_FEEDER
from shared.sim.state import WorldState
from shared.sim.tuning import (
    AEB_TTC,
    CRASH_SECONDS,
    DT,
    HARD_BRAKE,
    LC_STEP,
    PULSE_DECEL,
    exp_ticks,
)

_by_x = attrgetter("x")


def _lanes_of(lane: float) -> tuple[int, ...]:
    """The lanes whose lists hold a car at `lane`: int(lane), and the next one if between."""
    lo = int(lane)
    return (lo,) if lane == lo else (lo, lo + 1)


class Motion(WorldState):
    def _find_leaders(self) -> None:
        """Gap and leader speed for every car: the nearest car or obstacle ahead in any lane it
        occupies, hidden beyond the sight distance in fog.

        A car's first lane (the lower, for one mid-change) sets its leader outright and its
        second keeps the tighter of the two; `car.lane >= k` tells the first lane, so that no
        pass clears every car beforehand (the lanes are as `_rebuild` grouped them).
        """
        L = self.length
        for k, lst in enumerate(self._lanes):
            n = len(lst)
            if n == 0:
                continue
            first = float(k)  # a lane's number as a float: a cheaper comparison with car.lane
            if n == 1:
                car = lst[0]
                g = L - car.length
                if car.lane >= first:
                    if g < FREE:
                        car.gap = g
                        car.lv = car.v
                        car.lead = car
                    else:
                        car.gap = FREE
                        car.lv = 0.0
                        car.lead = None
                elif g < car.gap:
                    car.gap = g
                    car.lv = car.v
                    car.lead = car
                continue
            # round the lane from its last car backwards, each car's leader the one before
            ahead = lst[0]
            ax = ahead.x
            alen = ahead.length
            av = ahead.v
            for car in reversed(lst):
                cx = car.x
                g = ax - cx
                if g < 0.0:
                    g += L
                g -= alen
                if car.lane >= first or car.tighter(g, av):
                    car.gap = g
                    car.lv = av
                    car.lead = ahead
                ahead = car
                ax = cx
                alen = car.length
                av = car.v
        if self._any_obs:
            limit = L - 30.0
            for k, obs in enumerate(self._obs):
                if not obs:
                    continue
                for car in self._lanes[k]:
                    for ox, _zone, _kind in obs:
                        d = ox - car.x
                        if d < 0.0:
                            d += L
                        if d < car.gap and d <= limit:
                            car.gap = d
                            car.lv = 0.0
                            car.lead = None
        geo = self.geo
        if geo.fog or geo.speed_zones:
            for car in self._order:
                v0 = car.v0
                if geo.speed_zones and car.controller == "bot":
                    # a driver slows for a sign ahead in time to arrive at the limit
                    lim = geo.limit_at(car.x)
                    sign = geo.limit_at(car.x + car.v * car.v / (2.0 * car.params.b))
                    if sign is not None and (lim is None or sign < lim):
                        lim = sign
                    if lim is not None:
                        v0 = min(v0, lim * car.params.compliance)
                if geo.fog:
                    sight = geo.sight_at(car.x)
                    if sight is not None:
                        if car.gap > sight:
                            car.gap = FREE
                            car.lv = 0.0
                            car.lead = None
                        if car.controller == "bot":
                            v0 = min(v0, math.sqrt(2.0 * 2.0 * sight))
                car.v0_now = v0
        else:
            for car in self._order:
                car.v0_now = car.v0

    def _move(self, events: list[Event]) -> None:
        """Acceleration and the ballistic update for every car, in `_order`; lane changes move
        on by LC_STEP. The hot loop: module constants are read into locals once."""
        tick = self.tick
        L = self.length
        gantry = self.geo.gantry
        ramps = self.geo.ramps
        emit = events.append
        free_gap = FREE
        min_gap = MIN_GAP
        max_brake = MAX_BRAKE
        neg_max_brake = -MAX_BRAKE
        neg_pulse = -PULSE_DECEL
        neg_hard = -HARD_BRAKE
        aeb_ttc = AEB_TTC
        dt = DT
        moved = self._moved
        for car in self._order:
            v = car.v
            if car.crashed:
                if tick >= car.crash_until:
                    car.crashed = False
                    emit(Event(tick, "incident_clear", car.id, car.x, car.lane_index))
                else:
                    car.a = 0.0
                    car.v = 0.0
                    car.braking = False
                    continue
            p = car.params
            gap = car.gap
            lv = car.lv
            player = car.controller == "player"
            if not player and p.react_ticks > 1 and (tick + car.id) % p.react_ticks:
                acc = car.a_plan
            else:
                # the IDM, inlined (driver.idm is the reference; this is the hot loop)
                v0 = car.v0_now
                floor = car.free_floor
                if v0 > 0.0:
                    r = v / v0
                    r *= r
                    free = 1.0 - r * r
                    if free < floor:
                        free = floor
                else:
                    free = floor
                if gap >= free_gap or (player and not car.assist):
                    acc = car.pa * free
                else:
                    s0 = car.s0
                    ss = s0 + v * car.T + v * (v - lv) * car.inv_2sqrt_ab
                    if ss < s0:
                        ss = s0
                    q = ss / (gap if gap > min_gap else min_gap)
                    acc = car.pa * (free - q * q)
                if acc < neg_max_brake:
                    acc = neg_max_brake
                car.a_plan = acc
            if player:
                if car.brake_until > tick and acc > neg_pulse:
                    acc = neg_pulse
            else:
                if car.tap_next <= tick:
                    rng = car.rng
                    car.tap_until = tick + int((0.6 + 0.9 * rng.random()) / dt)
                    car.tap_next = car.tap_until + exp_ticks(rng, p.tap_rate)
                if car.tap_until > tick and acc > -p.tap_decel:
                    acc = -p.tap_decel
            dv = v - lv
            if dv > 0.0 and gap < dv * aeb_ttc:
                acc = neg_max_brake
                if not car.aeb:
                    car.aeb = True
                    lead = car.lead
                    emit(
                        Event(
                            tick,
                            "near_miss",
                            car.id,
                            car.x,
                            car.lane_index,
                            lead.id if lead is not None and lead is not car else None,
                            max_brake,
                        )
                    )
            elif car.aeb:
                car.aeb = False
            if acc <= neg_hard:
                if not car.hard:
                    car.hard = True
                    emit(Event(tick, "hard_brake", car.id, car.x, car.lane_index, value=-acc))
            elif car.hard and acc > -2.0:
                car.hard = False
            # ballistic update; speed never negative, never above the car's top speed
            nv = v + acc * dt
            if nv < 0.0:
                dx = -v * v / (2.0 * acc) if acc < 0.0 else 0.0
                nv = 0.0
            else:
                dx = (v + nv) * 0.5 * dt
                if nv > car.v_max:
                    nv = car.v_max
            car.a = acc
            car.v = nv
            car.braking = acc < -0.8
            old = car.x
            x = old + dx
            if x >= L:
                x -= L
            car.x = x
            car.distance += dx
            d = gantry - old
            if d < 0.0:
                d += L
            if 0.0 < d <= dx:
                emit(Event(tick, "gantry", car.id, gantry, car.lane_index, value=nv))
            if car.lc_dir:
                was = car.lane
                lane = was + car.lc_dir * LC_STEP
                if (lane - car.lc_target) * car.lc_dir >= -1e-9:
                    lane = float(car.lc_target)
                    car.lc_dir = 0
                    if car.controller == "bot" or car.signal:
                        car.signal = 0
                car.lane = lane
                car.lane_index = int(lane + 0.5)
                lo_was = int(was)
                lo = int(lane)
                if lo != lo_was or (lane == lo) != (was == lo_was):  # _lanes_of differs
                    moved.append((car, was))
            elif ramps and car.lane_index == 1 and car.controller == "bot":
                self._maybe_take_ramp(car, old, dx)

    def _maybe_take_ramp(self, car: Car, old: float, dx: float) -> None:
        """A share of the cars passing the slip road's start in the right lane take it."""
        ramp = self.geo.ramps[0]
        start = (ramp.start - RAMP_FEEDER) % self.length
        d = (start - old) % self.length
        if not 0.0 < d <= dx:
            return
        if car.rng.random() >= ramp.share:
            return
        if not self._room_at(ramp.lane, car.x, car.length, 3.0):
            return
        was = car.lane
        car.lane = float(ramp.lane)
        car.lane_index = ramp.lane
        car.lc_target = ramp.lane
        car.v = min(car.v, 60 / 3.6)
        car.last_lc = self.tick
        if _lanes_of(car.lane) != _lanes_of(was):
            self._moved.append((car, was))

    def _rebuild(self) -> None:
        """Per-lane lists sorted by position; a car mid-change is in both of its lanes.
        Whatever adds, removes or moves a car outside a step calls this."""
        lanes: list[list[Car]] = [[] for _ in range(self.lanes)]
        for car in self._order:
            lane = car.lane
            k = car.lane_index
            if lane == k:  # in one lane: the usual case, and cheaper to tell than by int()
                lanes[k].append(car)
                continue
            lo = int(lane)
            lanes[lo].append(car)
            if lane != lo:
                lanes[lo + 1].append(car)
        for lst in lanes:
            lst.sort(key=_by_x)
        self._lanes = lanes
        self._xs = [None] * self.lanes
        self._moved = []

    def _settle(self, events: list[Event]) -> None:
        """After the motion: the lanes' lists sorted again, then crashes.

        Each lane keeps its list from the step before: the few cars that entered or left a
        lane (`_move` notes them in `_moved`) are taken out or added at the end, and
        `_scan_lanes` re-sorts a list only if it fell out of order. Where that could differ
        from a fresh sort of `_order` (two cars on one spot), the lists are made afresh, as
        every step once did.
        """
        moved, self._moved = self._moved, []
        for car, was in moved:
            self._regroup(car, was)
        pairs = self._scan_lanes(kept=True)
        if pairs is None:
            self._rebuild()
            pairs = self._scan_lanes(kept=False)
        self._crash_pairs(pairs or [], events)

    def _regroup(self, car: Car, was: float) -> None:
        """Move a car between the lanes' lists after its lane went from `was` to car.lane: out
        of the lanes it left, onto the end of those it entered (_scan_lanes sorts it in)."""
        old = _lanes_of(was)
        new = _lanes_of(car.lane)
        for k in old:
            if k not in new:
                self._lanes[k].remove(car)
        for k in new:
            if k not in old:
                self._lanes[k].append(car)

    def _scan_lanes(self, kept: bool) -> list[tuple[Car, Car, int]] | None:
        """One pass round every lane: its cars' positions into `_xs`, and each two neighbours
        whose bodies overlap, as (behind, ahead, lane), in lane and list order.

        A lane's list is out of order only if a car crossed the ring's end or passed another:
        a fall in position past the list's first car shows it, and the lane is sorted and read
        again. A `kept` list (the step before's, not made afresh from `_order`) with two cars
        on one spot gives None: a stable sort leaves such cars in the order it found them,
        which is `_order`'s only in a fresh list, so the lanes must be rebuilt.
        """
        L = self.length
        pairs: list[tuple[Car, Car, int]] = []
        all_xs = self._xs
        for k, lst in enumerate(self._lanes):
            if len(lst) < 2:
                all_xs[k] = [c.x for c in lst]
                continue
            while True:
                xs: list[float] = []
                found: list[tuple[Car, Car, int]] = []
                first = lst[0]
                behind = lst[-1]
                bx = behind.x
                for ahead in lst:
                    ax = ahead.x
                    g = ax - bx
                    if g < 0.0:
                        if ahead is not first:
                            break  # out of order: sort, then read the lane again
                        g += L
                    if g < ahead.length:
                        if kept and g == 0.0:
                            return None
                        found.append((behind, ahead, k))
                    xs.append(ax)
                    behind = ahead
                    bx = ax
                else:
                    break
                lst.sort(key=_by_x)
            all_xs[k] = xs
            pairs += found
        return pairs

    def _crash_pairs(self, pairs: list[tuple[Car, Car, int]], events: list[Event]) -> None:
        """Two bodies overlapping in a lane is a crash: both stop, the lane is blocked a while.
        A pair that overlapped the step before is not a new crash."""
        still: set[tuple[int, int]] = set()
        known = self._overlaps
        for a, b, k in pairs:
            pair = (a.id, b.id) if a.id < b.id else (b.id, a.id)
            if pair in known or pair in still:
                still.add(pair)
            else:
                still.add(pair)
                self._crash(a, b, k, events)
        self._overlaps = still

    def _crash(self, a: Car, b: Car, lane: int, events: list[Event]) -> None:
        """Both cars stop; the event names the car that caused the crash first (see
        crash_cause) and the other as `other`."""
        tick = self.tick
        closing = abs(a.v - b.v)
        until = tick + round(CRASH_SECONDS / DT)
        for car in (a, b):
            car.crashed = True
            car.v = 0.0
            car.a = 0.0
            car.crash_until = max(car.crash_until, until)
            car.yield_to = None
            car.merge_behind = None
            car.intent = 0
        cause, other = crash_cause(a, b, lane, tick)
        events.append(
            Event(tick, "crash", cause.id, a.x, lane, other=other.id, value=round(closing, 2))
        )

    def _room_at(self, lane: int, x: float, length: float, clearance: float) -> bool:
        """Whether a car of `length` with its front at x in `lane` would have `clearance`
        metres to every other car ahead and behind (on a ring each one is both)."""
        L = self.length
        for other in self._lanes[lane]:
            d = (other.x - x) % L
            if d - other.length < clearance or L - d - length < clearance:
                return False
        return True
