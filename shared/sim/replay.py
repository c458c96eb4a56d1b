"""A stored round brought back to life: its world rebuilt from scenario, seed and input log.

A round is stored as its scenario, seed, settings and input log, never as a trajectory; the
deterministic simulation turns those back into the exact round. Pure: the input is a mapping
shaped like `server.store.Store.load_round` or a `replay` message (docs/protocol.md), so the
client's replay screen rebuilds rounds without the server package, and server/replays.py wraps
these for the history file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from shared.sim.world import World


class ReplayError(Exception):
    """A round cannot be rebuilt; the message is one printable sentence."""


def scenario_from_stored(stored: Mapping[str, Any], *, allow_paths: bool = True) -> Scenario:
    """The Scenario of a stored or received round.

    A round on a scenario that is not built in carries its document (`scenario_doc`): the
    file it was registered from exists only in the process, and on the machine, that played
    it. The document goes through every check a file gets, because it may come from another
    machine's server. Without one (built-ins, and rounds stored before the history file kept
    documents) the scenario is loaded by name, as before. A round that came over the network
    is loaded with `allow_paths=False`: a server's message never makes this machine open a
    file it names.
    """
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
        raise ReplayError(f"cannot replay round {round_no}: {said}") from None


def world_from_stored(
    stored: Mapping[str, Any], until_tick: int | None = None, *, allow_paths: bool = True
) -> World:
    """The round's world at `until_tick` (default: the round's end)."""
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
