"""A player car scripted through controls on the real simulation, tick by tick, with adherence
trackers (server/adherence.py) observing every tick: for the council's adherence tests."""

from __future__ import annotations

from collections.abc import Callable

from server.adherence import AdherenceTracker, Violation
from shared.conventions import make_rulebook
from shared.sim.car import Car
from shared.sim.events import Event
from shared.sim.road import ClosureDescription
from shared.sim.scenario import load_scenario
from shared.sim.tuning import DT
from shared.sim.world import World


class Script:
    """One player car driven by controls, with trackers observing every tick."""

    def __init__(self, scenario: str, trackers: dict[str, dict[str, str]]) -> None:
        self.world = World(load_scenario(scenario), seed=3, bots=0)
        self.car_id = self.world.add_player_car()
        road = self.world.road()
        self.trackers = {
            name: AdherenceTracker(make_rulebook(book), road) for name, book in trackers.items()
        }
        self.violations: dict[str, list[Violation]] = {name: [] for name in trackers}
        self.events: list[Event] = []

    @property
    def car(self) -> Car:
        return self.world.cars[self.car_id]

    def tick(self, *actions: str) -> None:
        controls = {self.car_id: [(a, None) for a in actions]} if actions else None
        events = self.world.step(controls)
        self.events += events
        for name, tracker in self.trackers.items():
            self.violations[name] += tracker.observe(self.world, events)

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / DT)):
            self.tick()

    def until(self, condition: Callable[[], bool], limit_s: float = 400.0) -> None:
        for _ in range(round(limit_s / DT)):
            if condition():
                return
            self.tick()
        raise AssertionError("the scripted driver never got there")

    def signal(self, side: int) -> None:
        """Turn the signal to `side` (-1 left, +1 right, 0 off) with the toggle controls."""
        if self.car.signal == side:
            return
        if side == 0:
            self.tick("signal_left" if self.car.signal == -1 else "signal_right")
        else:
            self.tick("signal_left" if side == -1 else "signal_right")
        assert self.car.signal == side

    def change_lane(self, direction: str, signal_s: float) -> None:
        """Signal for `signal_s` seconds (0: none), then move and wait until settled."""
        lane = self.car.lane_index
        self.signal(0)
        if signal_s > 0:
            self.signal(-1 if direction == "left" else 1)
            self.run(signal_s - DT)  # the signal control itself took one tick
        self.tick(direction)
        self.until(lambda: self.car.lane == self.car.lane_index != lane, limit_s=10)


def closure_of(s: Script) -> ClosureDescription:
    """The road's one lane closure (the lane-closure scenario)."""
    (closure,) = s.world.road()["closures"]
    return closure


def left_to_end(s: Script, closure: ClosureDescription) -> float:
    """Metres from the scripted car to the start of the closed stretch, along the ring."""
    return (closure["start"] - s.car.x) % s.world.length
