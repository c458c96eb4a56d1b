"""A tiny stand-in for shared.sim.World, for the server's tests only.

It honours the World contract of docs/architecture.md that the server relies on (cars, step
with controls, controllers, bots, incidents, the log) with trivial physics, so room and
network behaviour can be tested on their own, fast and exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class FakeCar:
    id: int
    lane: float
    x: float
    v: float = 20.0
    a: float = 0.0
    length: float = 5.0
    controller: str = "bot"
    personality: str = "steady"
    signal: int = 0
    hazard: bool = False
    braking: bool = False
    crashed: bool = False
    target_speed: float = 20.0
    gap_setting: int = 2
    assist: bool = True
    distance: float = 0.0
    aeb: bool = False
    player_owned: bool = False  # a player's car stays theirs while a bot drives it

    @property
    def lane_index(self) -> int:
        return round(self.lane)


class FakeWorld:
    """Cars circle a ring at their target speed; lane changes are instant."""

    def __init__(self, length: float = 2000.0, lanes: int = 3, bots: int = 6) -> None:
        self.length = length
        self.lanes = lanes
        self.tick = 0
        self.cars: dict[int, FakeCar] = {}
        self.log: list[tuple[int, str, tuple[Any, ...]]] = []
        self.incidents: list[tuple[int, float, float]] = []
        self.rulebook: dict[str, str] | None = None
        self._next = 0
        self.add_bots(bots)
        self.log.clear()

    @property
    def t(self) -> float:
        return self.tick * 0.05

    def _new_car(self, controller: str) -> int:
        car = FakeCar(self._next, float(self._next % self.lanes), (self._next * 97.0) % self.length)
        car.controller = controller
        car.player_owned = controller == "player"
        self.cars[car.id] = car
        self._next += 1
        return car.id

    def add_player_car(self) -> int:
        self.log.append((self.tick, "add_player_car", ()))
        return self._new_car("player")

    def set_controller(self, car_id: int, controller: str, personality: str = "steady") -> None:
        self.log.append((self.tick, "set_controller", (car_id, controller)))
        self.cars[car_id].controller = controller
        if controller == "player":
            self.cars[car_id].player_owned = True

    def add_bots(self, n: int, personality: str | None = None) -> list[int]:
        self.log.append((self.tick, "add_bots", (n,)))
        return [self._new_car("bot") for _ in range(n)]

    def remove_bots(self, n: int) -> list[int]:
        self.log.append((self.tick, "remove_bots", (n,)))
        # like the real world: never a player's car, even while a bot drives it
        bots = [c for c in self.cars.values() if not c.player_owned]
        gone = bots[max(0, len(bots) - n) :] if n > 0 else []
        for car in gone:
            del self.cars[car.id]
        return [c.id for c in gone]

    def inject_incident(self, lane: int, x: float, seconds: float) -> None:
        self.log.append((self.tick, "inject_incident", (lane, x, seconds)))
        self.incidents.append((lane, x, seconds))

    def set_rulebook(self, rulebook: dict[str, str]) -> None:
        self.rulebook = dict(rulebook)

    def step(self, controls: dict[int, list[tuple[str, Any]]]) -> list[Any]:
        for car_id, actions in controls.items():
            car = self.cars.get(car_id)
            if car is None or car.controller != "player":
                continue
            for action, _value in actions:
                self.log.append((self.tick, "control", (car_id, action)))
                if action == "left":
                    car.lane = min(self.lanes - 1.0, car.lane + 1)
                elif action == "right":
                    car.lane = max(0.0, car.lane - 1)
                elif action == "faster":
                    car.target_speed += 10 / 3.6
                elif action == "slower":
                    car.target_speed = max(0.0, car.target_speed - 10 / 3.6)
        for car in self.cars.values():
            car.v = car.target_speed
            car.x = (car.x + car.v * 0.05) % self.length
            car.distance += car.v * 0.05
        self.tick += 1
        return []

    def ring_summary(self, segments: int = 64) -> list[float]:
        sums = [0.0] * segments
        counts = [0] * segments
        for car in self.cars.values():
            i = min(segments - 1, int(car.x / self.length * segments))
            sums[i] += car.v
            counts[i] += 1
        return [s / c if c else 0.0 for s, c in zip(sums, counts, strict=True)]

    def leader_of(self, car_id: int) -> tuple[float | None, int | None]:
        me = self.cars[car_id]
        best: tuple[float | None, int | None] = (None, None)
        for car in self.cars.values():
            if car.id == car_id or car.lane_index != me.lane_index:
                continue
            gap = (car.x - me.x) % self.length - car.length
            if best[0] is None or gap < best[0]:
                best = (gap, car.id)
        return best

    def road(self) -> dict[str, Any]:
        return {
            "length": self.length,
            "lanes": self.lanes,
            "gantry": 0.0,
            "closures": [],
            "ramps": [],
            "incidents": [],
            "speed_zones": [],
            "fog": [],
        }


def fake_factory(
    scenario: str, seed: int, rulebook: Any, bots: int | None, mix: Any = None
) -> tuple[str, FakeWorld]:
    """A world factory with the signature Room expects."""
    if scenario == "missing":
        raise ValueError("no scenario called 'missing'")
    return scenario, FakeWorld(bots=6 if bots is None else bots)
