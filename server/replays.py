"""Stored rounds brought back to life: the world of a round rebuilt from the history file.

A round is stored as its scenario, seed, settings and input log, never as a trajectory; the
deterministic simulation turns those back into the exact round. `interlane replay`, the
debrief's re-analysis of old rounds and the tests all come through here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.store import Store, StoreError


def scenario_from_stored(stored: Mapping[str, Any], *, allow_paths: bool = True) -> Any:
    """The Scenario of a stored or received round.

    A round on a scenario that is not built in carries its document (`scenario_doc`): the
    file it was registered from exists only in the process, and on the machine, that played
    it. The document goes through every check a file gets, because it may come from another
    machine's server. Without one (built-ins, and rounds stored before the history file kept
    documents) the scenario is loaded by name, as before. A round that came over the network
    is loaded with `allow_paths=False`: a server's message never makes this machine open a
    file it names.
    """
    from shared.sim.scenario import ScenarioError, load_scenario, parse_scenario

    name = str(stored.get("scenario"))
    doc = stored.get("scenario_doc")
    try:
        if doc is None:
            return load_scenario(name, allow_paths=allow_paths)
        return parse_scenario(
            doc, source=f"the scenario {name[:64]!r} of the round", default_name=name
        )
    except ScenarioError as exc:
        round_no = stored.get("round_no", stored.get("round"))  # stored, or a `replay` message
        # the error may quote keys a server chose: nothing in it may drive the terminal
        said = "".join(ch if ch.isprintable() else "?" for ch in str(exc))
        raise StoreError(f"cannot replay round {round_no}: {said}") from None


def world_from_stored(
    stored: Mapping[str, Any], until_tick: int | None = None, *, allow_paths: bool = True
) -> Any:
    """The round's world at `until_tick` (default: the round's end) from `Store.load_round`
    or a `replay` message (docs/protocol.md)."""
    from shared.sim.world import World

    scenario = scenario_from_stored(stored, allow_paths=allow_paths)
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
