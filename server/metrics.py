"""Measurement during a round: the team's figures and each driver's, tick by tick.

The round hands every tick's world and events to `RoundMetrics.observe`; the HUD asks `live()`
each tick, so both are a single pass over the cars with no allocation beyond a few numbers.
"Delay" everywhere in Interlane means the same thing, defined once here (`FreeFlow`): the
share of each tick a car loses by driving below its free-flow speed — its desired speed capped
by the agreed speed limit and any speed zone. The debrief's counterfactual replays use the same
definition, so their vehicle-seconds compare with these.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from shared.conventions import speed_limit_mps
from shared.sim.tuning import DT  # the simulation's fixed step: one observe() per tick

STOPPED_MPS = 5 / 3.6  # below this a car counts as stopped
CRASH_PENALTY_M = 500.0  # individual score: metres taken off per crash a driver caused
LIVE_FLOW_WINDOW_S = 60.0  # the HUD's flow is over the last minute
ZONE_BIN_M = 10.0


def _bin_edges(bins: int) -> tuple[float, float]:
    """(lo, hi) such that lo < x < hi exactly when 0 <= int(x / ZONE_BIN_M) < bins (finite x).

    The quotient is rounded, so each edge is found by stepping from a float just outside to
    its neighbours while they are still outside (a few steps at most); the rounded quotient
    and int() never decrease with x, so everything between the edges is inside.
    """
    lo = -ZONE_BIN_M  # int(-1.0) == -1: outside
    while int(math.nextafter(lo, math.inf) / ZONE_BIN_M) < 0:
        lo = math.nextafter(lo, math.inf)
    hi = bins * ZONE_BIN_M  # exactly bins * 10, so int(hi / ZONE_BIN_M) == bins: outside
    while int(math.nextafter(hi, -math.inf) / ZONE_BIN_M) >= bins:
        hi = math.nextafter(hi, -math.inf)
    return lo, hi


def is_player(car: Any) -> bool:
    """A player's car, even while a bot drives it for a disconnected player."""
    return car.controller == "player" or bool(getattr(car, "player_owned", False))


class FreeFlow:
    """Each car's free-flow speed, for delay: desired speed, capped by rules and speed zones.

    A car's desired speed is read once, when first seen: a bot's model speed, a player's target
    speed as the round began (later changes are choices, not the road's free flow). Factual and
    counterfactual runs therefore share one yardstick.
    """

    def __init__(self, road: Mapping[str, Any], rulebook: Mapping[str, str] | None) -> None:
        self.length = float(road.get("length", 1.0)) or 1.0
        rule = speed_limit_mps(rulebook or {})
        cap = rule if rule is not None else math.inf
        bins = max(1, int(math.ceil(self.length / ZONE_BIN_M)))
        self.bin_limit = [cap] * bins
        for zone in road.get("speed_zones", ()) or ():
            start, end, limit = float(zone["start"]), float(zone["end"]), float(zone["limit"])
            for k in range(bins):
                x = (k + 0.5) * ZONE_BIN_M
                inside = start <= x < end if start <= end else (x >= start or x < end)
                if inside:
                    self.bin_limit[k] = min(self.bin_limit[k], limit)
        # The lowest limit anywhere (inf on a road with none): a desired speed below it is the
        # free-flow speed at every position, so the hot loops can skip the per-position lookup.
        self.floor = min(self.bin_limit)
        # One finite limit all along the road (a rulebook's limit, no speed zone): a car that
        # wants more has that limit wherever x falls in a bin, i.e. where edges[0] < x <
        # edges[1] (the bins' test without the division). None where limits vary or are none.
        uniform = all(limit == self.floor for limit in self.bin_limit)
        self.cap = self.floor if uniform and self.floor < math.inf else None
        self.edges = _bin_edges(bins)
        self.desired: dict[int, float] = {}

    def desired_of(self, car: Any) -> float:
        """The car's own desired speed, remembered from the first time it is asked."""
        v0 = self.desired.get(car.id)
        if v0 is None:
            if is_player(car):  # a player's car can go 160; the speed they set out at counts
                v0 = float(getattr(car, "target_speed", 0.0) or 0.0)
            else:
                v0 = float(getattr(getattr(car, "params", None), "v0", 0.0) or 0.0)
            v0 = v0 if v0 > 0 else 120 / 3.6
            self.desired[car.id] = v0
        return v0

    def speed(self, car_id: int, x: float) -> float:
        """Free-flow speed of a known car at position x."""
        return self.capped(self.desired.get(car_id, 120 / 3.6), x)

    def capped(self, v0: float, x: float) -> float:
        """A desired speed v0 capped by the limit in force at position x (a finite position:
        the fast paths below do not look at it when they need not)."""
        if v0 < self.floor:
            return v0
        if self.cap is not None:
            return self.cap if self.edges[0] < x < self.edges[1] else v0
        k = int(x / ZONE_BIN_M)
        limit = self.bin_limit[k] if 0 <= k < len(self.bin_limit) else math.inf
        return v0 if v0 < limit else limit

    def tick_delay(self, cars: Iterable[Any], per_car: dict[int, float] | None = None) -> float:
        """Vehicle-seconds of delay all cars suffer in one tick; `per_car` accumulates each
        car's share. The one definition of delay: the counterfactuals call it, RoundMetrics and
        the Recorder inline it (tests/sim/test_observers_speed_equivalence.py holds them to it)."""
        total = 0.0
        desired, limits, floor, cap = self.desired, self.bin_limit, self.floor, self.cap
        bins = len(limits)
        x_lo, x_hi = self.edges
        for car in cars:  # the body of capped(), inlined: this runs for every car every tick
            car_id = car.id
            v0 = desired.get(car_id)
            if v0 is None:
                v0 = self.desired_of(car)
            if v0 < floor:
                free = v0
            elif cap is not None:
                free = cap if x_lo < car.x < x_hi else v0
            else:
                k = int(car.x / ZONE_BIN_M)
                limit = limits[k] if 0 <= k < bins else math.inf
                free = v0 if v0 < limit else limit
            v = car.v
            if v < free:
                lost = (1.0 - v / free) * DT
                total += lost
                if per_car is not None:
                    per_car[car_id] = per_car.get(car_id, 0.0) + lost
        return total


class _Driver:
    """Running sums for one car; cheap to update every tick."""

    __slots__ = (
        "v0",
        "ticks",
        "v_sum",
        "a_sq",
        "delay",
        "start_distance",
        "distance",
        "crashes",
        "crashes_caused",
        "stand_in_crashes",
        "stand_in",
        "near_misses",
        "hard_brakes",
        "lane_changes",
        "unsignalled",
        "was_player",
        "personality",
    )

    def __init__(self, car: Any, v0: float) -> None:
        self.v0 = v0  # the car's free-flow desired speed (FreeFlow.desired_of), fixed once seen
        self.ticks = 0
        self.v_sum = 0.0
        self.a_sq = 0.0
        self.delay = 0.0
        self.start_distance = float(getattr(car, "distance", 0.0) or 0.0)
        self.distance = 0.0
        self.crashes = 0
        self.crashes_caused = 0
        # crashes this car caused while a bot drove it for its disconnected player: not the
        # member's (docs/debrief.md, "Crash blame")
        self.stand_in_crashes = 0
        self.stand_in = getattr(car, "controller", "bot") != "player" and bool(
            getattr(car, "player_owned", False)
        )
        self.near_misses = 0
        self.hard_brakes = 0
        self.lane_changes = 0
        self.unsignalled = 0
        self.was_player = is_player(car)
        self.personality = getattr(car, "personality", None)


class RoundMetrics:
    """Team and individual figures of one round, fed by `observe(world, events)` each tick."""

    def __init__(self, world: Any, adherence: Any = None) -> None:
        self.free = FreeFlow(world.road(), getattr(world, "rulebook", None))
        self.gantry_x = float(world.road().get("gantry", 0.0) or 0.0)
        self.adherence = adherence
        self.scenario = getattr(getattr(world, "scenario", None), "name", None)
        rulebook = getattr(world, "rulebook", None)
        self.rulebook = dict(rulebook) if rulebook is not None else None
        self.tick0 = int(world.tick)
        self.ticks = 0
        self.drivers: dict[int, _Driver] = {}
        self.gantry = 0
        self.gantry_recent: deque[int] = deque()
        self.crashes = 0
        self.near_misses = 0
        self.hard_brakes = 0
        self.lane_changes = 0
        self.unsignalled = 0
        self.delay = 0.0
        self.v_sum = 0.0
        self.v_sq = 0.0
        self.samples = 0
        self.current_mean = 0.0
        self._adherence_cache: tuple[int, float | None] = (-1, None)

    # ---- per tick ---------------------------------------------------------------------------

    def observe(self, world: Any, events: Iterable[Any]) -> None:
        """Add one tick: every car's running sums and delay, then the tick's events.

        One pass with locals: this runs for every car of every room at 20 Hz. The free-flow
        speed is the FreeFlow.capped definition, inlined, with its fast path (a desired speed
        below every limit of the road is the free-flow speed everywhere).
        """
        self.ticks += 1
        drivers = self.drivers
        free = self.free
        floor, limits, cap = free.floor, free.bin_limit, free.cap
        bins = len(limits)
        x_lo, x_hi = free.edges
        v_tick = 0.0
        v_sq = 0.0
        delay = 0.0
        cars = world.cars
        for car in cars.values():
            try:
                d = drivers[car.id]
            except KeyError:
                d = drivers[car.id] = _Driver(car, free.desired_of(car))
            v = car.v
            a = car.a
            d.ticks += 1
            d.v_sum += v
            d.a_sq += a * a
            d.distance = float(car.distance) - d.start_distance
            if not d.was_player:  # is_player(car), inlined: read for every bot every tick
                try:
                    if car.controller == "player" or car.player_owned:
                        d.was_player = True
                except AttributeError:  # a car without player_owned
                    d.was_player = car.controller == "player"
            v0 = d.v0
            if v0 < floor:
                fv = v0
            elif cap is not None:
                fv = cap if x_lo < car.x < x_hi else v0
            else:
                k = int(car.x / ZONE_BIN_M)
                limit = limits[k] if 0 <= k < bins else math.inf
                fv = v0 if v0 < limit else limit
            if v < fv:
                lost = (1.0 - v / fv) * DT
                d.delay += lost
                delay += lost
            v_tick += v
            v_sq += v * v
        n = len(cars)
        self.delay += delay
        self.v_sum += v_tick
        self.v_sq += v_sq
        self.samples += n
        self.current_mean = v_tick / n if n else 0.0
        if events:
            tick = world.tick
            for ev in events:
                self._event(ev, tick)

    def _event(self, ev: Any, tick: int) -> None:
        kind = ev.kind
        if kind == "gantry":
            self.gantry += 1
            self.gantry_recent.append(tick)
            return
        d = self.drivers.get(ev.car) if ev.car is not None else None
        if kind == "takeover" or kind == "handback":
            if d is not None:
                d.stand_in = kind == "takeover" and d.was_player
            return
        if kind == "crash":
            self.crashes += 1
            if d is not None:
                d.crashes += 1
                if d.stand_in:
                    d.stand_in_crashes += 1
                else:
                    d.crashes_caused += 1
            other = self.drivers.get(ev.other) if ev.other is not None else None
            if other is not None:
                other.crashes += 1
        elif kind == "near_miss":
            self.near_misses += 1
            if d is not None:
                d.near_misses += 1
        elif kind == "hard_brake":
            self.hard_brakes += 1
            if d is not None:
                d.hard_brakes += 1
        elif kind == "lane_change":
            self.lane_changes += 1
            unsignalled = not ev.value or ev.value <= 0
            self.unsignalled += unsignalled
            if d is not None:
                d.lane_changes += 1
                d.unsignalled += unsignalled

    # ---- reading ----------------------------------------------------------------------------

    @property
    def elapsed(self) -> float:
        return self.ticks * DT

    def _adherence_score(self) -> float | None:
        """Mean adherence score over drivers, from the tracker (refreshed once a second).

        The tracker's scores() when it has one: the same scores as its result(), without
        building every car's counters.
        """
        tracker = self.adherence
        if tracker is None:
            return None
        when, value = self._adherence_cache
        if when < 0 or self.ticks - when >= 20:
            scores = getattr(tracker, "scores", None)
            if scores is not None:
                value = _mean([float(score) for score in scores().values()])
            else:
                value = mean_adherence(tracker.result())
            self._adherence_cache = (self.ticks, value)
        return value

    def live(self) -> dict[str, Any]:
        """The HUD's team figures; flow over the last minute so it responds to what happens."""
        now = self.tick0 + self.ticks
        window_ticks = int(LIVE_FLOW_WINDOW_S / DT)
        recent = self.gantry_recent
        while recent and recent[0] <= now - window_ticks:
            recent.popleft()
        span = min(self.elapsed, LIVE_FLOW_WINDOW_S)
        adherence = self._adherence_score()
        return {
            "flow_vph": round(len(recent) * 3600 / span) if span > 0 else 0,
            "mean_kmh": round(self.current_mean * 3.6, 1),
            "delay_vs": round(self.delay, 1),
            "crashes": self.crashes,
            "near_misses": self.near_misses,
            "hard_brakes": self.hard_brakes,
            "adherence": None if adherence is None else round(adherence),
        }

    def individual(self, car_id: int) -> dict[str, Any]:
        """One driver's figures: distance, crashes caused, penalty and score (metres)."""
        d = self.drivers.get(car_id)
        if d is None:
            return {"distance_m": 0.0, "crashes_caused": 0, "penalty_m": 0.0, "score": 0.0}
        penalty = d.crashes_caused * CRASH_PENALTY_M
        distance = round(d.distance, 1)
        return {
            "distance_m": distance,
            "crashes_caused": d.crashes_caused,
            "penalty_m": penalty,
            # x - 0.0 is x: no second round() (they are slow) for a driver who caused no crash
            "score": round(d.distance - penalty, 1) if penalty else distance,
        }

    def result(self, adherence: Mapping[Any, Mapping[str, Any]] | None = None) -> dict[str, Any]:
        """The round's final figures, per driver included; plain types only (msgpack/JSON).

        `adherence` is the AdherenceTracker's result (per car, with a 0..100 `score`); when
        omitted, the tracker given to the constructor (if any) is asked.
        """
        if adherence is None and self.adherence is not None:
            adherence = self.adherence.result()
        per_car = adherence or {}
        drivers = []
        for car_id in sorted(self.drivers):
            d = self.drivers[car_id]
            entry = per_car.get(car_id) or per_car.get(str(car_id)) or {}
            score = entry.get("score") if isinstance(entry, Mapping) else None
            drivers.append(
                {
                    "car": car_id,
                    "kind": "player" if d.was_player else "bot",
                    "personality": None if d.was_player else d.personality,
                    **self.individual(car_id),
                    "mean_kmh": round(d.v_sum / d.ticks * 3.6, 1) if d.ticks else 0.0,
                    "delay_s": round(d.delay, 2),
                    "crashes": d.crashes,
                    "stand_in_crashes_caused": d.stand_in_crashes,
                    "near_misses": d.near_misses,
                    "hard_brakes": d.hard_brakes,
                    "lane_changes": d.lane_changes,
                    "unsignalled_changes": d.unsignalled,
                    "accel_rms": round(math.sqrt(d.a_sq / d.ticks), 3) if d.ticks else 0.0,
                    "adherence": None if score is None else round(float(score)),
                }
            )
        mean_v = self.v_sum / self.samples if self.samples else 0.0
        var = self.v_sq / self.samples - mean_v * mean_v if self.samples else 0.0
        players = sum(1 for d in drivers if d["kind"] == "player")
        n_cars = len(drivers)
        team_adherence = mean_adherence(per_car) if per_car else None
        team = {
            "cars": n_cars,
            "players": players,
            "flow_vph": round(self.gantry * 3600 / self.elapsed) if self.elapsed > 0 else 0,
            "mean_kmh": round(mean_v * 3.6, 1),
            "speed_sd_kmh": round(math.sqrt(max(0.0, var)) * 3.6, 1),
            "delay_vs": round(sum(d["delay_s"] for d in drivers), 1),
            "delay_per_car_s": round(self.delay / n_cars, 1) if n_cars else 0.0,
            "crashes": self.crashes,
            "near_misses": self.near_misses,
            "hard_brakes": self.hard_brakes,
            "lane_changes": self.lane_changes,
            "unsignalled_changes": self.unsignalled,
            "distance_km": round(sum(d["distance_m"] for d in drivers) / 1000, 4),
            "adherence": None if team_adherence is None else round(team_adherence),
            "gantry_count": self.gantry,
        }
        return {
            "scenario": self.scenario,
            "rulebook": self.rulebook,
            "ticks": self.ticks,
            "tick0": self.tick0,
            "duration_s": round(self.elapsed, 2),
            "team": team,
            "drivers": drivers,
        }


def mean_adherence(per_car: Mapping[Any, Any]) -> float | None:
    """The mean of the per-car 0..100 scores an AdherenceTracker reports (None if none)."""
    return _mean(
        [
            float(v["score"])
            for v in per_car.values()
            if isinstance(v, Mapping) and isinstance(v.get("score"), int | float)
        ]
    )


def _mean(scores: list[float]) -> float | None:
    return sum(scores) / len(scores) if scores else None
