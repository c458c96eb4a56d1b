"""The first solo road shows the phenomenon: with the player doing nothing, stop-and-go waves
(stopped cars) appear within the first minute, on every seed of a sample."""

from __future__ import annotations

import pytest

from server.metrics import STOPPED_MPS
from server.programs import load_program
from shared.sim.scenario import load_scenario
from shared.sim.world import World

DT = 0.05


def first_stop_after(seed: int, start_s: float = 5.0, limit_s: float = 60.0) -> float | None:
    """Seconds into the round of the first stopped car after the start settled, or None."""
    world = World(load_scenario("stop-and-go"), seed)
    world.set_rulebook({})
    world.add_player_car()  # the player is on the road, pressing nothing
    while world.tick * DT < limit_s:
        world.step()
        if world.tick * DT >= start_s and any(c.v < STOPPED_MPS for c in world.cars.values()):
            return world.tick * DT
    return None


@pytest.mark.parametrize("seed", range(1, 11))
def test_stopped_cars_appear_within_a_minute_with_the_player_idle(seed: int) -> None:
    assert first_stop_after(seed) is not None


def test_the_solo_ladder_starts_on_that_road_with_a_hint() -> None:
    first = load_program("solo-practice").rounds[0]
    assert first.scenario == "stop-and-go" and first.challenge == "warm-up"
    assert "wave" in first.intro.lower() and len(first.intro) <= 120
