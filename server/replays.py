"""Stored rounds brought back to life: the world of a round rebuilt from the history file.

A round is stored as its scenario, seed, settings and input log, never as a trajectory; the
deterministic simulation turns those back into the exact round. `interlane replay`, the
debrief's re-analysis of old rounds and the tests all come through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.store import Store, StoreError


def world_from_stored(stored: Mapping[str, Any], until_tick: int | None = None) -> Any:
    """The round's world at `until_tick` (default: the round's end) from `Store.load_round`."""
    from server.sim.scenario import ScenarioError, load_scenario
    from server.sim.world import World

    try:
        scenario = load_scenario(stored["scenario"])
    except ScenarioError as exc:
        raise StoreError(f"cannot replay round {stored.get('round_no')}: {exc}") from None
    end = int(stored["ticks"]) if until_tick is None else min(int(until_tick), int(stored["ticks"]))
    return World.replay(
        scenario,
        int(stored["seed"]),
        stored.get("rulebook"),
        stored.get("bots"),
        stored.get("mix"),
        stored["log"],
        until_tick=end,
    )


def replay_round(store: Store, game_id: int, round_no: int, until_tick: int | None = None) -> Any:
    """The world of a stored round, replayed exactly from its input log."""
    return world_from_stored(store.load_round(game_id, round_no), until_tick)
