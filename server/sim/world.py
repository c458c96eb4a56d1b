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
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from operator import attrgetter
from typing import Any

from server.bots import CAR_LENGTH, TRUCK_LENGTH, choose_personality, make_params
from server.sim.car import PLAYER_GAPS, Car
from server.sim.driver import FREE, MAX_BRAKE, MIN_GAP, DriverParams, equilibrium_speed, idm
from server.sim.events import Event
from server.sim.road import RAMP_FEEDER, Incident, Road
from server.sim.scenario import Scenario
from shared.conventions import Rulebook, make_rulebook, speed_limit_mps

DT = 0.05  # seconds per tick (20 Hz)
LC_SECONDS = 2.0  # lateral movement time of a lane change
LC_STEP = DT / LC_SECONDS
DECIDE_TICKS = 10  # each bot reconsiders its lane every 0.5 s, staggered by id
MANDATORY_TICKS = 2  # ... and every 0.1 s while it must leave an ending lane
AEB_TTC = 1.0  # s: automatic emergency braking below this time-to-collision
HARD_BRAKE = 4.0  # m/s²: a "hard brake" event from this deceleration
CRASH_SECONDS = 15.0
PULSE_TICKS = 6  # a player's brake press lasts 0.3 s
PULSE_DECEL = 6.0
YIELD_TICKS = 120  # a yield lasts up to 6 s
ZIPPER_DISTANCE = 100.0  # zipper mergers stay in their lane until this close to the end
ZIPPER_AHEAD = 260.0  # ... and may still move into it while its end is this far ahead
EARLY_AHEAD = 600.0  # early mergers never move into a lane that ends within this distance
LATE_DISTANCE = 70.0  # drivers who ignore the rules merge even later
PLAYER_MAX_SPEED = 160 / 3.6
PLAYER_PARAMS = dict(T=1.5, s0=2.0, a=1.5, b=2.0)

_by_x = attrgetter("x")
KINEMATIC_BRAKE = 5.0  # m/s²: a move is unsafe if anyone would need more than this not to hit
MERGE_TTC = 2.0  # s: ... or if it leaves anyone less time than this to close the gap


def _tighter(car: Car, gap: float, vl: float) -> bool:
    """Whether a leader at `gap` going `vl` constrains the car more than its current one does
    (when a car sees two leaders — both lanes of a lane change, or a car it yields to)."""
    if car.gap >= FREE:
        return True
    p = car.params
    v0 = car.v0_now
    return idm(car.v, v0, car.T, p.s0, p.a, p.b, gap, vl) < idm(
        car.v, v0, car.T, p.s0, p.a, p.b, car.gap, car.lv
    )


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: a log entry compares equal after a msgpack round trip."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _kinematic_ok(v_back: float, v_front: float, gap: float) -> bool:
    """Whether a follower at v_back can stop closing on a leader at v_front within the gap."""
    dv = v_back - v_front
    room = gap - 0.5
    if room <= 0.0:
        return False
    # the move must leave time to react (above the emergency braking's trigger) and room to stop
    return dv <= 0.0 or (gap > MERGE_TTC * dv and dv * dv <= 2.0 * KINEMATIC_BRAKE * room)


class World:
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
        self._pending: list[Event] = []
        self._overlaps: set[tuple[int, int]] = set()
        self._schedule = sorted(
            (round(inc.at / DT), inc.lane, inc.x, inc.seconds) for inc in scenario.incidents
        )
        self._main_lanes = [k for k in range(self.lanes) if self.geo.ramp_lane(k) is None]
        self._refresh_road()
        self._populate(scenario.cars if bots is None else int(bots))

    # ------------------------------------------------------------------ set-up

    @property
    def t(self) -> float:
        return self.tick * DT

    def _car_rng(self, car_id: int) -> random.Random:
        return random.Random(self.seed * 1_000_003 + car_id * 7919 + 17)

    def _new_bot(self, personality: str | None, lane: int, x: float, v: float | None) -> Car:
        car_id = self._next_id
        self._next_id += 1
        if personality is None:
            personality = choose_personality(self.mix, self._rng)
        truck = self.scenario.trucks > 0 and self._rng.random() < self.scenario.trucks
        rng = self._car_rng(car_id)
        overrides = {k: v for k, v in self.scenario.drivers.items() if k != "length"}
        params = make_params(personality, rng, truck=truck, overrides=overrides)
        length = TRUCK_LENGTH if truck else self.scenario.drivers.get("length", CAR_LENGTH)
        car = Car(car_id, lane, x, 0.0, params, personality, rng, length=length, truck=truck)
        if params.tap_rate > 0:
            car.tap_next = self.tick + self._exp_ticks(rng, params.tap_rate)
        self._apply_rules(car)
        car.v = car.v0 * 0.9 if v is None else min(v, car.v0)
        self.cars[car_id] = car
        self._order.append(car)
        return car

    @staticmethod
    def _exp_ticks(rng: random.Random, rate: float) -> int:
        return 1 + int(rng.expovariate(rate) / DT)

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

    def _apply_rules(self, car: Car) -> None:
        """Set what a driver does under the rulebook, by their personality's habits."""
        rb = self.rulebook
        p = car.params
        car.s0 = p.s0
        car.pa = p.a
        car.free_floor = -p.b / p.a
        car.inv_2sqrt_ab = 1.0 / (2.0 * math.sqrt(p.a * p.b))
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
        self._plain = not (self.geo.closures or self.geo.ramps or self.geo.incidents)

    def _can_enter(self, lane: int, x: float, back: float, ahead: float) -> bool:
        if self._plain:
            return 0 <= lane < self.lanes
        return self.geo.can_enter(lane, x, back, ahead)

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
        new._schedule = list(self._schedule)
        new._main_lanes = list(self._main_lanes)
        return new

    # ------------------------------------------------------------------ queries

    def road(self) -> dict:
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
        gives (inf, None).
        """
        car = self.cars[car_id]
        best = math.inf
        leader: int | None = None
        for k in self._occupied(car):
            for other in self._lanes[k]:
                if other is car:
                    continue
                gap = (other.x - car.x) % self.length - other.length
                if gap < best:
                    best, leader = gap, other.id
            for ox, _zone, _kind in self._obs[k]:
                d = (ox - car.x) % self.length
                if d < best and d <= self.length - 30.0:
                    best, leader = d, None
        return best, leader

    def _occupied(self, car: Car) -> tuple[int, ...]:
        lo = int(car.lane)
        return (lo,) if car.lane == lo else (lo, lo + 1)

    # ------------------------------------------------------------------ mutations (logged)

    def add_player_car(self) -> int:
        """A new player-controlled car in the largest free space, at the traffic's speed."""
        self.log.append((self.tick, "add_player", []))
        return self._add_player()

    def _add_player(self) -> int:
        lane, x, v = self._free_spot(CAR_LENGTH, prefer_right=True)
        car_id = self._next_id
        self._next_id += 1
        rng = self._car_rng(car_id)
        base = DriverParams(**PLAYER_PARAMS)  # type: ignore[arg-type]
        base.v0 = PLAYER_MAX_SPEED
        car = Car(car_id, lane, x, v, base, "steady", rng, length=CAR_LENGTH)
        car.controller = "player"
        car.player_owned = True
        typical = self.scenario.drivers.get("v0", 120 / 3.6)
        car.target_speed = max(10 / 3.6, round(typical * 0.9 * 3.6 / 10) * 10 / 3.6)
        car.v_max = PLAYER_MAX_SPEED
        car.v = min(v, car.target_speed)
        self._apply_rules(car)
        self.cars[car_id] = car
        self._order.append(car)
        self._rebuild()
        return car_id

    def _free_spot(self, length: float, prefer_right: bool = False) -> tuple[int, float, float]:
        """The middle of the largest gap in any drivable lane, and a speed safe for it.

        With prefer_right, the rightmost lane with a comfortable gap wins: a player joins the
        road from the right, like a car coming off a slip road.
        """
        best: tuple[float, int, float, float] | None = None
        for lane in self._main_lanes:
            if prefer_right and best is not None and best[0] >= 80.0:
                break
            cars = self._lanes[lane]
            if not cars:
                for i in range(64):
                    x = (self.geo.gantry + 7.0 + i * self.length / 64) % self.length
                    if self.geo.exists(lane, x) and self.geo.exists(lane, x - length):
                        cand = (self.length, lane, x, 25.0)
                        if best is None or cand[0] > best[0]:
                            best = cand
                        break
                continue
            n = len(cars)
            for i, behind in enumerate(cars):
                ahead = cars[(i + 1) % n]
                room = (ahead.x - ahead.length - behind.x) % self.length if n > 1 else self.length
                x = (behind.x + (room + length) / 2) % self.length
                if not (self.geo.exists(lane, x) and self.geo.exists(lane, x - length)):
                    continue
                v = min(behind.v, ahead.v)
                if best is None or room > best[0]:
                    best = (room, lane, x, v)
        if best is None:
            lane = self._main_lanes[0]
            return lane, self.geo.gantry, 0.0
        room, lane, x, v = best
        half = (room - length) / 2
        safe = equilibrium_speed(half, 33.3, 1.5, 2.0)
        return lane, x, min(v, safe)

    def set_controller(self, car_id: int, controller: str, personality: str = "steady") -> None:
        """A bot takes over a car ("bot") or its player takes it back ("player")."""
        car = self.cars.get(car_id)
        if car is None or controller not in ("bot", "player") or car.controller == controller:
            return
        if controller == "bot":
            make_params(personality, car.rng)  # validates the name before anything changes
        self.log.append((self.tick, "set_controller", [car_id, controller, personality]))
        self._set_controller(car, controller, personality)

    def _set_controller(self, car: Car, controller: str, personality: str) -> None:
        car.controller = controller
        if controller == "bot":
            car.params = make_params(personality, car.rng)
            car.personality = personality
            car.brake_until = 0
            car.yield_to = None
            car.intent = 0
            if car.params.tap_rate > 0:
                car.tap_next = self.tick + self._exp_ticks(car.rng, car.params.tap_rate)
            kind = "takeover"
        else:
            base = DriverParams(**PLAYER_PARAMS)  # type: ignore[arg-type]
            base.v0 = PLAYER_MAX_SPEED
            car.params = base
            car.tap_until = 0
            car.tap_next = 10**12
            kind = "handback"
        car.signal = 0
        self._apply_rules(car)
        if controller == "player":
            car.v_max = PLAYER_MAX_SPEED
        self._pending.append(Event(self.tick, kind, car.id, car.x, car.lane_index))

    def add_bots(self, n: int, personality: str | None = None) -> list[int]:
        """Add up to n bots in the largest free spaces; returns the ids actually added."""
        n = max(0, int(n))
        if personality is not None:
            make_params(personality, random.Random(0))  # validate
        self.log.append((self.tick, "add_bots", [n, personality]))
        return self._add_bots(n, personality)

    def _add_bots(self, n: int, personality: str | None) -> list[int]:
        ids = []
        for _ in range(n):
            lane, x, v = self._free_spot(CAR_LENGTH)
            room_ok = self._room_at(lane, x, CAR_LENGTH + 4.0)
            if not room_ok:
                break
            car = self._new_bot(personality, lane, x, v)
            ids.append(car.id)
            self._rebuild()
        return ids

    def _room_at(self, lane: int, x: float, need: float) -> bool:
        for other in self._lanes[lane]:
            d = (other.x - x) % self.length
            if d < need + other.length or self.length - d < need:
                return False
        return True

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

    def inject_incident(self, lane: int, x: float, seconds: float) -> None:
        """Block a lane from x for a while (a breakdown, debris): traffic must go around."""
        lane = int(lane)
        if not 0 <= lane < self.lanes or not seconds > 0 or not math.isfinite(float(x)):
            return
        self.log.append((self.tick, "incident", [lane, float(x), float(seconds)]))
        self._incident(lane, float(x) % self.length, float(seconds))

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
    ) -> None:
        """Continue this world with a recorded log until tick `until_tick`.

        The world stops at `until_tick` before any of that tick's log entries: exactly the
        live world at the end of step `until_tick - 1`, before anything happened between the
        ticks. Default: one past the log's last entry.

        Entries before the current tick are skipped, and so are those of the current tick that
        this world has already applied (its own log at this tick matching the start of the
        given log's), so a deep-copied world can be continued with the round's full log.
        Entries about `skip_cars` (their controls and controller changes) are left out: that
        is how a counterfactual lets a steady bot drive a car instead.
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
            self.step(controls)

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
            self.inject_incident(int(args[0]), float(args[1]), float(args[2]))
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
        self._xs = [None] * self.lanes
        for car in self._order:
            if car.yield_to is not None:
                self._apply_yield(car)
            if car.merge_behind is not None:
                self._apply_merge_behind(car)
            if not car.crashed and car.lc_dir == 0:
                due = (tick + car.id) % DECIDE_TICKS == 0
                if car.controller == "bot":
                    if due or (car.intent and (tick + car.id) % MANDATORY_TICKS == 0):
                        self._decide(car, events)
                elif due and car.yield_until > tick and car.yield_to is None:
                    self._find_yield(car)
        self._move(events)
        self._rebuild()
        self._check_crashes(events)
        self.tick = tick + 1
        return events

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

    def _find_leaders(self) -> None:
        """Gap and leader speed for every car: the nearest car or obstacle ahead in any lane it
        occupies, hidden beyond the sight distance in fog."""
        L = self.length
        for car in self._order:
            car.gap = FREE
            car.lv = 0.0
            car.lead = None
        for lst in self._lanes:
            n = len(lst)
            if n == 0:
                continue
            if n == 1:
                car = lst[0]
                g = L - car.length
                if g < car.gap:
                    car.gap = g
                    car.lv = car.v
                    car.lead = car
                continue
            ahead = lst[0]
            for i in range(n - 1, -1, -1):
                car = lst[i]
                g = ahead.x - car.x
                if g < 0.0:
                    g += L
                g -= ahead.length
                if car.gap == FREE or _tighter(car, g, ahead.v):
                    car.gap = g
                    car.lv = ahead.v
                    car.lead = ahead
                ahead = car
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

    # ------------------------------------------------------------------ decisions

    def _lane_xs(self, k: int) -> list[float]:
        xs = self._xs[k]
        if xs is None:
            xs = [c.x for c in self._lanes[k]]
            self._xs[k] = xs
        return xs

    def _neighbours(self, k: int, x: float) -> tuple[Car | None, Car | None]:
        """The cars just ahead of and just behind position x in lane k."""
        lst = self._lanes[k]
        n = len(lst)
        if n == 0:
            return None, None
        i = bisect_right(self._lane_xs(k), x)
        return lst[i % n], lst[i - 1]

    def _obstacle_ahead(self, k: int, x: float) -> tuple[float, float, str]:
        best = (FREE, 0.0, "")
        for ox, zone, kind in self._obs[k]:
            d = (ox - x) % self.length
            if d < best[0] and d <= self.length - 30.0:
                best = (d, zone, kind)
        return best

    def _accel(self, car: Car, gap: float, vl: float) -> float:
        p = car.params
        return idm(car.v, car.v0_now, car.T, p.s0, p.a, p.b, gap, vl)

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
        ramp = self.geo.ramp_lane(k)
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

        a_now = self._accel(car, car.gap, car.lv)
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
            if not self._can_enter(target, car.x, car.length, ahead_need):
                continue
            nl, nf = self._neighbours(target, car.x)
            gap_f = FREE
            vl = 0.0
            if nl is not None:
                gap_f = (nl.x - car.x) % L - nl.length
                vl = nl.v
            od, _z, _kind = (
                self._obstacle_ahead(target, car.x) if self._obs[target] else (FREE, 0, "")
            )
            if od < gap_f:
                gap_f, vl = od, 0.0
            if gap_f < 1.0:
                continue
            a_new = self._accel(car, gap_f, vl)
            if not _kinematic_ok(car.v, vl, gap_f):
                continue
            # safety for the new follower
            a_nf_now = a_nf_new = 0.0
            if nf is not None:
                gap_b = (car.x - nf.x) % L - car.length
                if gap_b < 1.0 or not _kinematic_ok(nf.v, car.v, gap_b):
                    continue
                q = nf.params
                a_nf_now = idm(nf.v, nf.v0_now, nf.T, q.s0, q.a, q.b, nf.gap, nf.lv)
                a_nf_new = idm(nf.v, nf.v0_now, nf.T, q.s0, q.a, q.b, gap_b, car.v)
                b_safe = p.b_safe
                if mandatory:
                    urgency = 1.0 - min(1.0, d_end / max(zone, 1.0))
                    b_safe = min(MAX_BRAKE, p.b_safe + 4.0 * urgency)
                    if car.stuck_since >= 0 and tick - car.stuck_since > 60:
                        b_safe = MAX_BRAKE
                if a_nf_new < -b_safe or a_new < -b_safe:
                    continue
            if mandatory:
                gain = a_new + (0.5 if direction == 1 else 0.0)  # prefer leaving toward the road
            else:
                # the old follower gains when this car leaves
                a_of_now = a_of_new = 0.0
                of = self._follower_in(k, car)
                if of is not None and of is not car and of.lead is car:
                    q = of.params
                    a_of_now = idm(of.v, of.v0_now, of.T, q.s0, q.a, q.b, of.gap, of.lv)
                    g2 = of.gap + car.length + car.gap
                    a_of_new = idm(of.v, of.v0_now, of.T, q.s0, q.a, q.b, g2, car.lv)
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
            i = bisect_right(self._lane_xs(j), car.x)
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
        if 0.0 < g < 100.0 and _kinematic_ok(car.v, other.v, g) and _tighter(car, g, other.v):
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
        if g > 0.0 and _kinematic_ok(car.v, other.v, g) and _tighter(car, g, other.v):
            car.gap = g
            car.lv = other.v
            car.lead = other

    # ------------------------------------------------------------------ motion

    def _move(self, events: list[Event]) -> None:
        tick = self.tick
        L = self.length
        gantry = self.geo.gantry
        ramps = self.geo.ramps
        for car in self._order:
            v = car.v
            if car.crashed:
                if tick >= car.crash_until:
                    car.crashed = False
                    events.append(Event(tick, "incident_clear", car.id, car.x, car.lane_index))
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
                if gap >= FREE or (player and not car.assist):
                    acc = car.pa * free
                else:
                    s0 = car.s0
                    ss = s0 + v * car.T + v * (v - lv) * car.inv_2sqrt_ab
                    if ss < s0:
                        ss = s0
                    q = ss / (gap if gap > MIN_GAP else MIN_GAP)
                    acc = car.pa * (free - q * q)
                if acc < -MAX_BRAKE:
                    acc = -MAX_BRAKE
                car.a_plan = acc
            if player:
                if car.brake_until > tick and acc > -PULSE_DECEL:
                    acc = -PULSE_DECEL
            else:
                if car.tap_next <= tick:
                    rng = car.rng
                    car.tap_until = tick + int((0.6 + 0.9 * rng.random()) / DT)
                    car.tap_next = car.tap_until + self._exp_ticks(rng, p.tap_rate)
                if car.tap_until > tick and acc > -p.tap_decel:
                    acc = -p.tap_decel
            dv = v - lv
            if dv > 0.0 and gap < dv * AEB_TTC:
                acc = -MAX_BRAKE
                if not car.aeb:
                    car.aeb = True
                    events.append(
                        Event(
                            tick,
                            "near_miss",
                            car.id,
                            car.x,
                            car.lane_index,
                            car.lead.id if car.lead is not None and car.lead is not car else None,
                            MAX_BRAKE,
                        )
                    )
            elif car.aeb:
                car.aeb = False
            if acc <= -HARD_BRAKE:
                if not car.hard:
                    car.hard = True
                    events.append(
                        Event(tick, "hard_brake", car.id, car.x, car.lane_index, value=-acc)
                    )
            elif car.hard and acc > -2.0:
                car.hard = False
            # ballistic update; speed never negative, never above the car's top speed
            nv = v + acc * DT
            if nv < 0.0:
                dx = -v * v / (2.0 * acc) if acc < 0.0 else 0.0
                nv = 0.0
            else:
                dx = (v + nv) * 0.5 * DT
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
                events.append(Event(tick, "gantry", car.id, gantry, car.lane_index, value=nv))
            if car.lc_dir:
                lane = car.lane + car.lc_dir * LC_STEP
                if (lane - car.lc_target) * car.lc_dir >= -1e-9:
                    lane = float(car.lc_target)
                    car.lc_dir = 0
                    if car.controller == "bot" or car.signal:
                        car.signal = 0
                car.lane = lane
                car.lane_index = int(lane + 0.5)
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
        if not self._room_at(ramp.lane, car.x, car.length + 3.0):
            return
        car.lane = float(ramp.lane)
        car.lane_index = ramp.lane
        car.lc_target = ramp.lane
        car.v = min(car.v, 60 / 3.6)
        car.last_lc = self.tick

    # ------------------------------------------------------------------ bookkeeping

    def _rebuild(self) -> None:
        """Per-lane lists sorted by position; a car mid-change is in both of its lanes."""
        lanes: list[list[Car]] = [[] for _ in range(self.lanes)]
        for car in self._order:
            lane = car.lane
            lo = int(lane)
            lanes[lo].append(car)
            if lane != lo:
                lanes[lo + 1].append(car)
        for lst in lanes:
            lst.sort(key=_by_x)
        self._lanes = lanes
        self._xs = [None] * self.lanes

    def _check_crashes(self, events: list[Event]) -> None:
        """Two bodies overlapping in a lane is a crash: both stop, the lane is blocked a while."""
        L = self.length
        still: set[tuple[int, int]] = set()
        known = self._overlaps
        for k, lst in enumerate(self._lanes):
            n = len(lst)
            if n < 2:
                continue
            behind = lst[-1]
            for ahead in lst:
                g = ahead.x - behind.x
                if g < 0.0:
                    g += L
                if g < ahead.length:
                    a, b = behind, ahead
                    pair = (a.id, b.id) if a.id < b.id else (b.id, a.id)
                    if pair in known or pair in still:
                        still.add(pair)
                    else:
                        still.add(pair)
                        self._crash(a, b, k, events)
                behind = ahead
        self._overlaps = still

    def _crash(self, a: Car, b: Car, lane: int, events: list[Event]) -> None:
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
        events.append(Event(tick, "crash", a.id, a.x, lane, other=b.id, value=round(closing, 2)))

    def state(self) -> list[tuple[int, float, float, float, int, bool]]:
        """A compact, comparable picture of every car (for tests and replays)."""
        return [(c.id, c.lane, c.x, c.v, c.signal, c.crashed) for c in self._order]
