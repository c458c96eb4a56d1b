"""The world's logged mutations, and replaying them from a log.

Everything that changes a world between ticks (a controller change, bots added or removed,
an incident, a new rulebook) is appended to `world.log` here with its tick, and `run_log`
applies such a log again: the round replays exactly (docs/architecture.md, "The
simulation"). World (shared/sim/world.py) inherits this mixin; joining a car is in
shared/sim/joining.py, the step in shared/sim/world.py.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

from shared.conventions import Rulebook, make_rulebook
from shared.sim.bots import CAR_LENGTH, TRUCK_LENGTH, choose_personality, make_params
from shared.sim.car import Car
from shared.sim.driver import DriverParams
from shared.sim.events import Event
from shared.sim.road import Incident
from shared.sim.state import WorldState
from shared.sim.tuning import DT, PLAYER_MAX_SPEED, PLAYER_PARAMS, exp_ticks

if TYPE_CHECKING:
    from shared.sim.road import Road
    from shared.sim.scenario import Scenario


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively: a log entry compares equal after a msgpack round trip."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class Mutations(WorldState):
    """The logged mutations (each a public method that logs, and its private worker that
    `run_log` also calls) and the replay of a log."""

    if TYPE_CHECKING:
        # provided by shared/sim/world.py (World), shared/sim/motion.py and
        # shared/sim/joining.py
        scenario: Scenario
        geo: Road
        rulebook: Rulebook
        mix: dict[str, float]
        log: list[tuple[int, str, list[Any]]]
        _rng: random.Random
        _pending: list[Event]
        _schedule: list[tuple[int, int, float, float]]

        def _apply_rules(self, car: Car) -> None: ...
        def _rebuild(self) -> None: ...
        def _refresh_road(self) -> None: ...
        def _draw_truck(self) -> bool: ...
        def _room_at(self, lane: int, x: float, length: float, clearance: float) -> bool: ...
        def _new_bot(
            self,
            personality: str | None,
            lane: int,
            x: float,
            v: float | None,
            truck: bool | None = None,
        ) -> Car: ...
        def _join_spot(
            self, target: float, length: float = CAR_LENGTH
        ) -> tuple[int, float, float, float] | None: ...
        def add_player_car(self) -> int: ...
        def step(
            self, controls: Mapping[int, Sequence[Sequence[Any]]] | None = None
        ) -> list[Event]: ...

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

    def run_log(
        self,
        log: Sequence[Sequence[Any]],
        until_tick: int | None = None,
        skip_cars: Iterable[int] = (),
        on_step: Callable[[Self, list[Event]], None] | None = None,
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
