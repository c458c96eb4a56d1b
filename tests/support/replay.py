"""A stored round for the replay tests: 20 s of the Sugiyama ring with one player who brakes
three times, saved in a history file the way the server saves a round (server/store.py)."""

from __future__ import annotations

from pathlib import Path

from server.played import RoundInputs, RoundOutcome
from server.store import Store
from shared.sim.scenario import load_scenario
from shared.sim.world import World
from tests.support.harness import EVIL_NAME

TICKS = 400  # 20 s of the Sugiyama ring


def store_ring_round(folder: Path) -> tuple[str, int, World]:
    """The round, saved in a fresh history file in `folder`: (file, game id, the world)."""
    world = World(load_scenario("ring"), seed=5)
    me = world.add_player_car()
    for tick in range(TICKS):
        controls = {me: [("brake", None)]} if tick in (100, 104, 108) else None
        world.step(controls)
    db = str(folder / "history.sqlite")
    store = Store(db)
    game = store.create_game("HXK7P", "quick", "Host")
    debrief = {
        "drivers": [{"car": me, "name": EVIL_NAME, "kind": "player"}],
        "roots": [
            {
                "car": me,
                "name": EVIL_NAME,
                "kind": "brake",
                "t": 5.0,
                "x": 10.0,
                "text": f"{EVIL_NAME}'s brake at 0:05",
            }
        ],
    }
    store.save_round(
        game,
        1,
        RoundInputs("ring", 5, None, None, None, world.log, TICKS),
        RoundOutcome({"ticks": TICKS}, names={me: EVIL_NAME}),
        debrief,
    )
    return db, game, world
