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
from collections.abc import Mapping, Sequence
from typing import Any

from shared.conventions import Rulebook, make_rulebook, speed_limit_mps
from shared.sim.bots import CAR_LENGTH, TRUCK_LENGTH, choose_personality, make_params
from shared.sim.car import PLAYER_GAPS, Car
from shared.sim.driver import equilibrium_speed
from shared.sim.events import Event
from shared.sim.joining import Joining
from shared.sim.lanes import LaneChanging
from shared.sim.motion import Motion
from shared.sim.mutations import Mutations
from shared.sim.road import Road, RoadDescription
from shared.sim.scenario import Scenario
from shared.sim.tuning import (
    DECIDE_TICKS,
    DT,
    MANDATORY_TICKS,
    PULSE_TICKS,
    YIELD_TICKS,
    exp_ticks,
)

__all__ = ["DT", "World"]


class World(Joining, Mutations, Motion, LaneChanging):
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
