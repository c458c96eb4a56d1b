"""The world: a deterministic fixed-step traffic simulation on a multi-lane ring.

Everything that changes the world goes through a method that records itself in `world.log`
with the tick it happened at, and everything random is drawn from RNGs seeded by the
scenario's seed (one per car, so that changing one driver in a counterfactual does not change
what the others draw). The world is therefore a pure function of (scenario, seed, log): the
server replays it, the debrief branches it, the tests compare it bit for bit.

One step: controls → leaders → decisions (MOBIL, signals, yielding) → acceleration (IDM,
brake pulses, taps, AEB) and ballistic motion → crashes and gantry counting.
"""

from __future__ import annotations

import copy
import math
import random
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from shared.conventions import Rulebook, make_rulebook, speed_limit_mps
from shared.sim.bots import CAR_LENGTH, TRUCK_LENGTH, choose_personality, make_params
from shared.sim.car import PLAYER_GAPS, Car
from shared.sim.driver import DriverParams, equilibrium_speed, idm
from shared.sim.events import Event
from shared.sim.lanes import LaneChanging
from shared.sim.motion import Motion
from shared.sim.road import Incident, Road, RoadDescription
from shared.sim.scenario import Scenario
from shared.sim.tuning import (
    DECIDE_TICKS,
    DT,
    JOIN_COMFORT,
    JOIN_DECEL,
    KINEMATIC_BRAKE,
    MANDATORY_TICKS,
    MERGE_TTC,
    PLAYER_MAX_SPEED,
    PLAYER_PARAMS,
    PULSE_TICKS,
    YIELD_TICKS,
    exp_ticks,
)

__all__ = ["DT", "World"]


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: a log entry compares equal after a msgpack round trip."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


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


class World(Motion, LaneChanging):
    """A ring road with cars; see docs/architecture.md, "The simulation"."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int = 0,
        rulebook: Rulebook | None = None,
        bots: int | None = None,
        mix: Mapping[str, float] | None = None,
    ) -> None:
        self.scenario = scenario
        self.seed = int(seed)
        self.length = float(scenario.length)
        self.lanes = int(scenario.lanes)
        self.geo = Road(
            length=self.length,
            lanes=self.lanes,
            gantry=scenario.gantry,
            closures=list(scenario.closures),
            ramps=list(scenario.ramps),
            speed_zones=list(scenario.speed_zones),
            fog=list(scenario.fog),
        )
        self.rulebook: Rulebook = make_rulebook(
            rulebook if rulebook is not None else scenario.rulebook
        )
        self.mix: dict[str, float] = dict(mix if mix is not None else scenario.mix)
        self.tick = 0
        self.cars: dict[int, Car] = {}
        self.log: list[tuple[int, str, list[Any]]] = []
        self._rng = random.Random(self.seed)  # the world's own draws (personalities, trucks)
        self._next_id = 0
        self._order: list[Car] = []
        self._lanes: list[list[Car]] = [[] for _ in range(self.lanes)]
        self._xs: list[list[float] | None] = [None] * self.lanes
        self._moved: list[tuple[Car, float]] = []
        self._pending: list[Event] = []
        self._overlaps: set[tuple[int, int]] = set()
        self._schedule = sorted(
            (round(inc.at / DT), inc.lane, inc.x, inc.seconds) for inc in scenario.incidents
        )
        self._main_lanes = [k for k in range(self.lanes) if self.geo.ramp_lane(k) is None]
        # at least every car's length (lengths never change once a car is made), plus a margin
        # far above rounding: leader_of's bound on how far ahead a shorter gap can still be
        self._reach = 1e-6 + 1e-9 * self.length
        self._refresh_road()
        self._populate(min(scenario.cars if bots is None else max(0, int(bots)), self.capacity()))

    # ------------------------------------------------------------------ set-up

    def capacity(self) -> int:
        """How many cars the road holds at the start: one per 7.5 m of each drivable lane
        (a bot count above it is capped, so a world never starts with cars on top of cars)."""
        length = self.scenario.drivers.get("length", CAR_LENGTH)
        return int(self.length / (length + 2.5)) * len(self._main_lanes)

    @property
    def t(self) -> float:
        return self.tick * DT

    def _car_rng(self, car_id: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + car_id * 7919 + 17)

    def _new_bot(
        self,
        personality: str | None,
        lane: int,
        x: float,
        v: float | None,
        truck: bool | None = None,
    ) -> Car:
        car_id = self._next_id
        self._next_id += 1
        if personality is None:
            personality = choose_personality(self.mix, self._rng)
        if truck is None:
            truck = self._draw_truck()
        rng = self._car_rng(car_id)
        overrides = {k: v for k, v in self.scenario.drivers.items() if k != "length"}
        params = make_params(personality, rng, truck=truck, overrides=overrides)
        length = TRUCK_LENGTH if truck else self.scenario.drivers.get("length", CAR_LENGTH)
        car = Car(car_id, lane, x, 0.0, params, personality, rng, length=length, truck=truck)
        self._reach = max(self._reach, car.length + 1e-6 + 1e-9 * self.length)
        if params.tap_rate > 0:
            car.tap_next = self.tick + exp_ticks(rng, params.tap_rate)
        self._apply_rules(car)
        car.v = car.v0 * 0.9 if v is None else min(v, car.v0)
        self.cars[car_id] = car
        self._order.append(car)
        return car

    def _draw_truck(self) -> bool:
        return self.scenario.trucks > 0 and self._rng.random() < self.scenario.trucks

    def _populate(self, n: int) -> None:
        """Place n bots evenly over the drivable lanes, each at its equilibrium speed."""
        if n <= 0:
            self._rebuild()
            return
        usable = len(self._main_lanes) * self.length
        spacing = usable / n
        slots: list[tuple[float, int]] = []
        for _ in range(60):
            slots = []
            for j, lane in enumerate(self._main_lanes):
                offset = spacing * j / len(self._main_lanes)
                count = int(self.length / spacing)
                for i in range(count):
                    x = (offset + i * spacing) % self.length
                    if self.geo.exists(lane, x) and self.geo.exists(lane, x - 12.0):
                        slots.append((x, lane))
            if len(slots) >= n:
                break
            spacing *= 0.97
        slots.sort()
        chosen = [slots[(i * len(slots)) // n] for i in range(n)] if slots else []
        for x, lane in chosen:
            jitter = (self._rng.random() - 0.5) * 0.1 * max(0.0, spacing - 12.0)
            self._new_bot(None, lane, (x + jitter) % self.length, None)
        self._rebuild()
        # start near equilibrium for each car's actual gap, so waves come from the traffic
        self._find_leaders()
        for car in self._order:
            p = car.params
            car.v = min(car.v0 * 0.98, equilibrium_speed(car.gap, car.v0, car.T, p.s0))
        self._calm_start()

    def _calm_start(self) -> None:
        """Slow every car that could not stop behind its leader at its own comfortable braking.

        The equilibrium speed assumes a leader going as fast; one near the end of a closing
        lane (or queued behind it) starts slow, and the car behind would otherwise open the
        round with an emergency stop or a crash. Speeds only come down, so the passes settle.
        """
        for _ in range(64):
            self._find_leaders()
            changed = False
            for car in self._order:
                room = car.gap - car.params.s0
                cap = math.sqrt(car.lv * car.lv + 2.0 * car.params.b * room) if room > 0 else 0.0
                if car.v > cap + 1e-9:
                    car.v = cap
                    changed = True
            if not changed:
                break

    def _apply_rules(self, car: Car) -> None:
        """Set what a driver does under the rulebook, by their personality's habits."""
        rb = self.rulebook
        p = car.params
        car.s0 = p.s0
        car.pa = p.a
        car.free_floor = -p.b / p.a
        car.inv_2sqrt_ab = 1.0 / (2.0 * math.sqrt(p.a * p.b))
        car.idm_root = 2.0 * math.sqrt(p.a * p.b)
        if car.controller == "player":
            car.v0 = car.target_speed
            car.T = PLAYER_GAPS[car.gap_setting]
            car.passing = "free"
            car.merge_style = "zipper"
            return
        conforms = p.conforms
        group_passing = rb.get("passing", "free")
        if p.home_passing is not None:
            # a local keeps a convention of their own: the other side from the group's
            car.passing = "right" if group_passing == "left" else p.home_passing
        elif conforms:
            car.passing = group_passing
        else:
            car.passing = "free"
        car.T = p.T
        if conforms and rb.get("following") == "two_second":
            car.T = max(p.T, 2.0)
        car.sig_prob, car.sig_lead = p.signal_prob, p.signal_lead
        if conforms and rb.get("signal") == "required":
            car.sig_prob, car.sig_lead = 1.0, max(p.signal_lead, 2.2)
        if conforms:
            car.merge_style = rb.get("merge", "early")
        else:
            car.merge_style = "late"
        limit = speed_limit_mps(rb)
        car.v0 = p.v0 if (limit is None or not conforms) else min(p.v0, limit * p.compliance)
        car.hazard_habit = conforms and rb.get("hazards") == "yes"
        car.v_max = max(car.v0, p.v0)
        car.v0_now = car.v0

    def _refresh_road(self) -> None:
        """Cache per-lane obstacle points for the hot loop after the road changed."""
        self._obs = [
            [(ob.x, ob.zone, ob.kind) for ob in self.geo.obstacles(k)] for k in range(self.lanes)
        ]
        self._any_obs = any(self._obs)
        self._ramp_of = [self.geo.ramp_lane(k) for k in range(self.lanes)]
        self._plain = not (self.geo.closures or self.geo.ramps or self.geo.incidents)

    def __deepcopy__(self, memo: dict[int, Any]) -> World:
        """A branch of this world (for counterfactuals), sharing only what never changes.

        The scenario, the obstacle cache and the log's entries are immutable once made; cars,
        RNGs, the road's incidents and every container that steps mutate are copied.
        """
        new = World.__new__(World)
        memo[id(self)] = new
        new.__dict__.update(self.__dict__)
        new.geo = copy.deepcopy(self.geo, memo)
        new.rulebook = dict(self.rulebook)
        new.mix = dict(self.mix)
        new.log = list(self.log)
        rng = random.Random()
        rng.setstate(self._rng.getstate())
        new._rng = rng
        new.cars = {car_id: car.clone() for car_id, car in self.cars.items()}
        new._order = [new.cars[c.id] for c in self._order]
        new._lanes = [[new.cars[c.id] for c in lst] for lst in self._lanes]
        new._xs = [None] * self.lanes
        new._pending = list(self._pending)
        new._overlaps = set(self._overlaps)
        new._moved = [(new.cars[c.id], was) for c, was in self._moved]
        new._schedule = list(self._schedule)
        new._main_lanes = list(self._main_lanes)
        return new

    # ------------------------------------------------------------------ queries

    def road(self) -> RoadDescription:
        """The road for drawing (docs/architecture.md): lengths in m, speeds in m/s, times in s."""
        return self.geo.describe(DT)

    def ring_summary(self, segments: int = 64) -> list[float]:
        """Mean speed (m/s) per segment of the ring; an empty segment shows the free-flow speed."""
        segments = max(1, int(segments))
        sums = [0.0] * segments
        counts = [0] * segments
        scale = segments / self.length
        free = 0.0
        for car in self._order:
            i = int(car.x * scale)
            if i >= segments:
                i = segments - 1
            sums[i] += car.v
            counts[i] += 1
            free += car.v0
        free = free / len(self._order) if self._order else 120 / 3.6
        return [sums[i] / counts[i] if counts[i] else free for i in range(segments)]

    def leader_of(self, car_id: int) -> tuple[float, int | None]:
        """Gap (m, bumper to bumper) to what is ahead of a car, and the leading car's id.

        An end of lane or a blocked lane ahead gives its distance with None; an empty road
        gives (inf, None). Of equal gaps the first in a scan wins: lower lane first, in each
        lane its cars in list order, then its obstacles.

        The server asks this for every player every tick, so it reads the fewest cars that
        give the same numbers as a scan of every car: from the first car at or ahead of the
        car, distances only grow round the ring, and once one is more than `_reach` (the
        longest car, plus a margin far above any rounding) beyond the best gap, no car
        further on can beat or tie it.
        """
        car = self.cars[car_id]
        x = car.x
        L = self.length
        reach = self._reach
        best = math.inf
        leader: Car | None = None
        lane = car.lane
        lanes: tuple[int, ...]
        if lane == car.lane_index:  # in one lane (int() costs more than this test)
            lanes = (car.lane_index,)
        else:
            lo = int(lane)
            lanes = (lo,) if lane == lo else (lo, lo + 1)
        for k in lanes:
            cars = self._lanes[k]
            xs = self._xs[k]
            if xs is None:
                xs = self._lane_xs(k)
            limit = best + reach
            at = -1  # index of the best car if in this lane: a tie with another lane's stays
            # from the first car at or ahead of x to the list's end, then from its start round
            # the ring (+L: the same number as the % of a full scan)
            start = bisect_left(xs, x)
            j, end, shift = start, len(xs), 0.0
            while True:
                if j == end:
                    if shift:
                        break
                    j, end, shift = 0, start, L
                    continue
                d = xs[j] - x + shift
                if d > limit:
                    break
                other = cars[j]
                if other is not car:
                    gap = d - other.length
                    if gap < best or (gap == best and j < at):
                        best, leader, at = gap, other, j
                        limit = gap + reach
                j += 1
            for ox, _zone, _kind in self._obs[k]:
                d = (ox - x) % L
                if d < best and d <= L - 30.0:
                    best, leader = d, None
        return best, None if leader is None else leader.id

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

    def set_controller(self, car_id: int, controller: str, personality: str = "steady") -> None:
        """A bot takes over a car ("bot") or its player takes it back ("player")."""
        car = self.cars.get(car_id)
        if car is None or controller not in ("bot", "player") or car.controller == controller:
            return
        if controller == "bot":
            make_params(personality, car.rng)  # validates the name before anything changes
        self.log.append((self.tick, "set_controller", [car_id, controller, personality]))
        self._set_controller(car, controller, personality)

    def _set_controller(
        self, car: Car, controller: str, personality: str, announce: bool = True
    ) -> None:
        car.controller = controller
        if controller == "bot":
            # a bot of this road: the scenario's driver habits (a ring's short gaps) apply to it
            overrides = {k: v for k, v in self.scenario.drivers.items() if k != "length"}
            car.params = make_params(personality, car.rng, overrides=overrides)
            car.personality = personality
            car.brake_until = 0
            car.yield_to = None
            car.intent = 0
            if car.params.tap_rate > 0:
                car.tap_next = self.tick + exp_ticks(car.rng, car.params.tap_rate)
            kind = "takeover"
        else:
            base = DriverParams(**PLAYER_PARAMS)  # type: ignore[arg-type]
            base.v0 = PLAYER_MAX_SPEED
            car.params = base
            car.tap_until = 0
            car.tap_next = 10**12
            # a bot's pending lane change is not the player's: nothing merges on its own now
            car.intent = 0
            car.intent_signal = False
            car.merge_behind = None
            kind = "handback"
        car.signal = 0
        self._apply_rules(car)
        if controller == "player":
            car.v_max = PLAYER_MAX_SPEED
        if announce:
            self._pending.append(Event(self.tick, kind, car.id, car.x, car.lane_index))

    def add_bots(self, n: int, personality: str | None = None) -> list[int]:
        """Add up to n bots, each only where a gap is safe to join at the traffic's speed (the
        same test as a joining player's, see _join_spot), so that the facilitator's extra
        traffic makes the road denser without a hard brake of its own; returns the ids
        actually added (fewer than n when the road has no safe gap left)."""
        n = max(0, int(n))
        if personality is not None:
            make_params(personality, random.Random(0))  # validate
        self.log.append((self.tick, "add_bots", [n, personality]))
        return self._add_bots(n, personality)

    def _add_bots(self, n: int, personality: str | None) -> list[int]:
        ids = []
        typical = self.scenario.drivers.get("v0", 120 / 3.6)
        target = max(10 / 3.6, typical * 0.9)
        for _ in range(n):
            # who comes is drawn first (in _new_bot's order): a truck needs a longer gap
            kind = personality or choose_personality(self.mix, self._rng)
            truck = self._draw_truck()
            length = TRUCK_LENGTH if truck else self.scenario.drivers.get("length", CAR_LENGTH)
            spot = self._join_spot(target, length)
            if spot is None or spot[3] < 0.0:
                break
            lane, x, v, _slack = spot
            if not self._room_at(lane, x, length, 2.0):
                break
            car = self._new_bot(kind, lane, x, v, truck=truck)
            ids.append(car.id)
            self._rebuild()
        return ids

    def remove_bots(self, n: int) -> list[int]:
        """Remove up to n bot cars (never a player's car), newest first; returns their ids."""
        n = max(0, int(n))
        self.log.append((self.tick, "remove_bots", [n]))
        return self._remove_bots(n)

    def _remove_bots(self, n: int) -> list[int]:
        victims = [c.id for c in reversed(self._order) if not c.player_owned][:n]
        for car_id in victims:
            del self.cars[car_id]
        self._order = [c for c in self._order if c.id in self.cars]
        for car in self._order:
            if car.yield_to in victims:
                car.yield_to = None
        self._overlaps = {p for p in self._overlaps if p[0] in self.cars and p[1] in self.cars}
        self._rebuild()
        return victims

    def inject_incident(self, lane: int, x: float, seconds: float, source: str = "host") -> None:
        """Block a lane from x for a while (a breakdown, debris): traffic must go around.

        `source` says who caused it ("host" or "shock", a program's): the log keeps it (a
        fourth argument, left out for the host's) so the debrief names the incident's cause.
        """
        lane = int(lane)
        if not 0 <= lane < self.lanes or not seconds > 0 or not math.isfinite(float(x)):
            return
        args: list[Any] = [lane, float(x), float(seconds)]
        if source != "host":
            args.append(str(source))
        self.log.append((self.tick, "incident", args))
        self._incident(lane, float(x) % self.length, float(seconds))

    def cancel_scheduled_incident(self, tick: int, lane: int) -> bool:
        """Drop the scenario's incident due at `tick` in `lane` before it happens (the
        counterfactual of an incident replays the round without it); whether one was found."""
        for entry in self._schedule:
            if entry[0] == tick and entry[1] == lane:
                self._schedule.remove(entry)
                return True
        return False

    def _incident(self, lane: int, x: float, seconds: float) -> None:
        until = self.tick + max(1, round(seconds / DT))
        self.geo.incidents.append(Incident(lane, x, until))
        self._refresh_road()
        self._pending.append(Event(self.tick, "incident_start", None, x, lane, value=seconds))

    def set_rulebook(self, rulebook: Rulebook) -> None:
        """A new agreed rulebook: bots adapt at once, each by its personality's conformity."""
        book = make_rulebook(rulebook)
        self.log.append((self.tick, "rulebook", [dict(book)]))
        self._set_rulebook(book)

    def _set_rulebook(self, book: Rulebook) -> None:
        self.rulebook = book
        for car in self._order:
            self._apply_rules(car)

    # ------------------------------------------------------------------ replay

    @classmethod
    def replay(
        cls,
        scenario: Scenario,
        seed: int,
        rulebook: Rulebook | None,
        bots: int | None,
        mix: Mapping[str, float] | None,
        log: Sequence[Sequence[Any]],
        until_tick: int | None = None,
    ) -> World:
        """Rebuild a round from its log, up to tick `until_tick` (see run_log: the world as it
        was when step `until_tick - 1` had just finished)."""
        world = cls(scenario, seed, rulebook, bots, mix)
        world.run_log(log, until_tick)
        return world

    def run_log(
        self,
        log: Sequence[Sequence[Any]],
        until_tick: int | None = None,
        skip_cars: Iterable[int] = (),
        on_step: Callable[[World, list[Event]], None] | None = None,
    ) -> None:
        """Continue this world with a recorded log until tick `until_tick`.

        The world stops at `until_tick` before any of that tick's log entries: exactly the
        live world at the end of step `until_tick - 1`, before anything happened between the
        ticks. Default: one past the log's last entry.

        Entries before the current tick are skipped, and so are those of the current tick that
        this world has already applied (its own log at this tick matching the start of the
        given log's), so a deep-copied world can be continued with the round's full log.
        Entries about `skip_cars` (their controls and controller changes) are left out: that
        is how a counterfactual lets a steady bot drive a car instead. `on_step(world, events)`
        runs after every step, so the debrief can measure a replay as it would a live round.
        """
        skip = set(skip_cars)
        entries = [(int(e[0]), str(e[1]), e[2]) for e in log]
        if until_tick is None:
            until_tick = max((e[0] + 1 for e in entries), default=self.tick)
        i = 0
        while i < len(entries) and entries[i][0] < self.tick:
            i += 1
        own = [(op, _plain(args)) for tick, op, args in self.log if tick == self.tick]
        for op, args in own:
            if i < len(entries) and entries[i][0] == self.tick:
                if (entries[i][1], _plain(entries[i][2])) != (op, args):
                    break
                i += 1
        while self.tick < until_tick:
            controls: dict[int, list[tuple[str, Any]]] = {}
            while i < len(entries) and entries[i][0] <= self.tick:
                _, op, args = entries[i]
                i += 1
                if op == "controls":
                    for car_id, action, value in args:
                        if car_id not in skip:
                            controls.setdefault(car_id, []).append((action, value))
                else:
                    self._apply_op(op, list(args), skip)
            events = self.step(controls)
            if on_step is not None:
                on_step(self, events)

    def _apply_op(self, op: str, args: list[Any], skip: set[int]) -> None:
        if op == "add_player":
            self.add_player_car()
        elif op == "set_controller":
            if args[0] not in skip:
                self.set_controller(int(args[0]), str(args[1]), str(args[2]))
        elif op == "add_bots":
            self.add_bots(int(args[0]), args[1])
        elif op == "remove_bots":
            self.remove_bots(int(args[0]))
        elif op == "incident":
            source = str(args[3]) if len(args) > 3 else "host"
            self.inject_incident(int(args[0]), float(args[1]), float(args[2]), source)
        elif op == "rulebook":
            self.set_rulebook(dict(args[0]))
        else:
            raise ValueError(f"unknown log operation {op!r}")

    # ------------------------------------------------------------------ controls

    def _controls(self, controls: Mapping[Any, Any], events: list[Event]) -> None:
        """Apply this tick's player intents in car order, logging the ones that were valid.

        Anything malformed (a key that is not a car, an item that is not (action, value)) is
        skipped: a bad input costs its sender the press, never the world.
        """
        logged: list[list[Any]] = []
        ids = sorted(k for k in controls if isinstance(k, int) and not isinstance(k, bool))
        for car_id in ids:
            car = self.cars.get(car_id)
            items = controls[car_id]
            if car is None or car.controller != "player" or not isinstance(items, list | tuple):
                continue
            for item in items:
                if not isinstance(item, list | tuple) or not item:
                    continue
                action = item[0]
                value = item[1] if len(item) > 1 else None
                if isinstance(action, str) and self._control(car, action, value, events):
                    logged.append([car_id, action, value])
        if logged:
            self.log.append((self.tick, "controls", logged))

    def _control(self, car: Car, action: str, value: Any, events: list[Event]) -> bool:
        """Apply one player intent; returns whether it was valid (and so is logged)."""
        if action == "faster":
            car.target_speed = min(car.v_max, car.target_speed + 10 / 3.6)
        elif action == "slower":
            car.target_speed = max(0.0, car.target_speed - 10 / 3.6)
        elif action == "brake":
            car.brake_until = max(car.brake_until, self.tick) + PULSE_TICKS
        elif action in ("left", "right"):
            direction = 1 if action == "left" else -1
            if car.lc_dir == 0 and not car.crashed:
                target = car.lane_index + direction
                if self._can_enter(target, car.x, car.length, 5.0):
                    self._start_change(car, direction, events, None)
        elif action in ("signal_left", "signal_right"):
            side = -1 if action == "signal_left" else 1
            car.signal = 0 if car.signal == side else side
            car.signal_since = self.tick
        elif action == "hazard":
            car.hazard = not car.hazard
        elif action == "yield":
            car.yield_until = self.tick + YIELD_TICKS
            car.yield_to = None
        elif action == "gap":
            if value not in (1, 2, 3) or isinstance(value, bool):
                return False
            car.gap_setting = int(value)
        elif action == "assist":
            if value not in ("on", "off"):
                return False
            car.assist = value == "on"
        else:
            return False
        car.v0 = car.target_speed
        car.T = PLAYER_GAPS[car.gap_setting]
        return True

    # ------------------------------------------------------------------ the step

    def step(self, controls: Mapping[int, Sequence[Sequence[Any]]] | None = None) -> list[Event]:
        """Advance one tick of DT seconds; returns the events of this tick."""
        tick = self.tick
        events = self._pending
        self._pending = []
        if self._schedule or self.geo.incidents:
            self._road_events(events)
        if controls:
            self._controls(controls, events)

        self._find_leaders()
        self._decisions(events)
        self._move(events)
        self._settle(events)
        self.tick = tick + 1
        return events

    def _decisions(self, events: list[Event]) -> None:
        """Yields and merges narrow the leaders found; bots that are due reconsider their lane
        (see LaneChanging), players' cars look for someone to yield to. In `_order`: a car's
        choice can end a later car's yield this same tick."""
        tick = self.tick
        due_at = -tick % DECIDE_TICKS  # a car is due when (tick + car.id) % DECIDE_TICKS == 0
        for car in self._order:
            if car.yield_to is not None:
                self._apply_yield(car)
            if car.merge_behind is not None:
                self._apply_merge_behind(car)
            if car.id % DECIDE_TICKS == due_at:
                if car.crashed or car.lc_dir:
                    continue
                if car.controller == "bot":
                    self._decide(car, events)
                elif car.yield_until > tick and car.yield_to is None:
                    self._find_yield(car)
            elif (
                car.intent
                and (tick + car.id) % MANDATORY_TICKS == 0
                and not (car.crashed or car.lc_dir)
                and car.controller == "bot"
            ):
                self._decide(car, events)  # leaving an ending lane: it looks more often

    def _road_events(self, events: list[Event]) -> None:
        tick = self.tick
        while self._schedule and self._schedule[0][0] <= tick:
            _, lane, x, seconds = self._schedule.pop(0)
            self._incident(lane, x, seconds)
            events.extend(self._pending)
            self._pending.clear()
        expired = [inc for inc in self.geo.incidents if inc.until <= tick]
        if expired:
            self.geo.incidents = [inc for inc in self.geo.incidents if inc.until > tick]
            self._refresh_road()
            for inc in expired:
                events.append(Event(tick, "incident_clear", None, inc.x, inc.lane))

    # ------------------------------------------------------------------ bookkeeping

    def state(self) -> list[tuple[int, float, float, float, int, bool]]:
        """A compact, comparable picture of every car (for tests and replays)."""
        return [(c.id, c.lane, c.x, c.v, c.signal, c.crashed) for c in self._order]
