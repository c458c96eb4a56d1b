"""Stored rounds brought back to life: the world of a round rebuilt from the history file.

The rebuild itself is pure and lives in shared/sim/replay.py (the client's replay screen uses
it too); here it meets the history file, and a round that cannot be rebuilt is a `StoreError`
like any other unusable part of the file. `interlane replay`, the debrief's re-analysis of old
rounds and the tests all come through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.store import Store, StoreError
from shared.sim import replay
from shared.sim.scenario import Scenario
from shared.sim.world import World


def scenario_from_stored(stored: Mapping[str, Any], *, allow_paths: bool = True) -> Scenario:
    """The Scenario of a stored or received round (shared.sim.replay.scenario_from_stored)."""
    try:
        return replay.scenario_from_stored(stored, allow_paths=allow_paths)
    except replay.ReplayError as exc:
        raise StoreError(str(exc)) from None


def world_from_stored(
    stored: Mapping[str, Any], until_tick: int | None = None, *, allow_paths: bool = True
) -> World:
    """The round's world at `until_tick` (default: the round's end) from `Store.load_round`
    or a `replay` message (docs/protocol.md)."""
    try:
        return replay.world_from_stored(stored, until_tick, allow_paths=allow_paths)
    except replay.ReplayError as exc:
        raise StoreError(str(exc)) from None


def replay_round(store: Store, game_id: int, round_no: int, until_tick: int | None = None) -> World:
    """The world of a stored round, replayed exactly from its input log."""
    return world_from_stored(store.load_round(game_id, round_no), until_tick)


def load_stored(db: str | None, game: int | str, round_no: int | None) -> dict[str, Any]:
    """One stored round of a game (its id or room code); the last round when `round_no` is None.
    The client's replay screen gets this from client/launch.py as its source of rounds."""
    store = Store(db)
    game_id = store.find_game(game)
    if round_no is None:
        rounds = store.load_game(game_id).get("rounds") or []
        if not rounds:
            raise StoreError(f"game {game} has no stored rounds yet")
        round_no = int(rounds[-1]["round_no"])
    return store.load_round(game_id, round_no)
