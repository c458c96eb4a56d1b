"""Incidents are wave roots: traced, named by their cause, and costed by a replay without them.

A lane blocked by the host (`i`), a scenario's schedule or a program's shock starts a wave
like a brake does; the debrief names what blocked it (never a driver), the cars that braked in
turn behind it, and what it cost the road: the round replayed from just before the incident
without it (server/counterfactual.py). The replay is checked against a world run separately
without the incident, so the figure cannot be a constant.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from server.counterfactual import incident_cause, without_incident
from server.metrics import FreeFlow
from server.report import render
from shared.sim.scenario import Scenario, load_scenario
from shared.sim.world import World
from tests.support.debrief import (
    INCIDENT_TICK,
    SECONDS,
    InjectIncident,
    Played,
    play,
    scenario_toml,
    stored_report,
    write_scenario,
)


def _separate_delay(scenario: Scenario, seed: int, played: Played, cf: dict[str, Any]) -> float:
    """Everyone's delay over the counterfactual's window in a world run on its own from the
    start, without any incident: what the replay without the incident must have found."""
    rec = played.recording
    free = FreeFlow(rec.road, rec.rulebook)
    free.desired.update(rec.desired)
    world = World(scenario, seed=seed)
    start = round(cf["from_t"] / 0.05) + rec.tick0
    end = round(cf["to_t"] / 0.05) + rec.tick0
    while world.tick < start:
        world.step({})
    total = 0.0
    while world.tick < end:
        world.step({})
        total += free.tick_delay(world.cars.values(), None)
    return total


def _incident_roots(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in payload["roots"] if r["kind"] == "incident"]


@pytest.fixture(scope="module")
def host_round() -> Played:
    """rush-hour with the host's incident in the rightmost lane, 20 s in, for 30 s."""
    return play("rush-hour", 3, SECONDS, controls=InjectIncident(INCIDENT_TICK, 0, 300.0, 30.0))


def test_the_hosts_incident_is_a_root_whose_cost_is_the_round_replayed_without_it(
    host_round: Played,
) -> None:
    played = host_round
    assert played.payload is not None
    (root,) = _incident_roots(played.payload)
    assert root["cause"] == "host" and root["car"] is None and root["name"] is None
    assert root["lane"] == 0 and abs(root["t"] - INCIDENT_TICK * 0.05) < 1.0
    assert root["reached"] >= 1  # the cars behind braked in turn
    cf = root["counterfactual"]
    assert cf is not None and cf["cost_vs"] > 0
    # the replay without the incident is the round as it would have been: a world run
    # separately, never given the incident, loses exactly the same time over the window
    alone = _separate_delay(played.scenario, played.seed, played, cf)
    assert abs(alone - cf["counterfactual_vs"]) <= 0.11
    assert abs(cf["factual_vs"] - cf["counterfactual_vs"] - cf["cost_vs"]) <= 0.11
    # its wording names the incident and its lane as people number them, never a driver
    assert root["text"].startswith("The host's incident in lane 1 at 0:20 cost the road ")
    assert "bot" not in root["text"] and "car " not in root["text"]
    # here it is the round's costliest material root: the Waves tab's first row and the card
    assert root["material"] and played.payload["roots"][0] is root
    (card,) = [c for c in played.payload["cards"] if c["id"] == "wave_root"]
    assert card["figures"]["car"] is None and card["figures"]["cost_vs"] == cf["cost_vs"]
    assert "the incident cost the road" in card["pattern"]


def test_a_scenario_incident_is_its_scenarios_and_its_replay_leaves_only_it_out(
    tmp_path: Path,
) -> None:
    text = scenario_toml("blocked", 1200, 2, 60, {"steady": 0.8, "hurried": 0.2})
    text += "[[incidents]]\nat = 10\nlane = 1\nx = 600\nseconds = 25\n"
    ref = write_scenario(tmp_path, text)
    played = play(ref, 11, 50.0)
    assert played.payload is not None
    (root,) = _incident_roots(played.payload)
    assert root["cause"] == "scenario" and root["car"] is None
    assert root["text"].startswith("The scenario's incident in lane 2 at 0:10")
    cf = root["counterfactual"]
    assert cf is not None and cf["cost_vs"] > 0
    without = dataclasses.replace(load_scenario(ref), incidents=())
    alone = _separate_delay(without, 11, played, cf)
    assert abs(alone - cf["counterfactual_vs"]) <= 0.11


def test_a_shock_is_named_a_shock_and_its_log_replays_exactly() -> None:
    scenario = load_scenario("ring")
    live = World(scenario, seed=2)
    for _ in range(100):
        live.step({})
    live.inject_incident(0, 120.0, 10.0, "shock")
    live.inject_incident(0, 400.0, 10.0)
    for _ in range(100):
        live.step({})
    assert live.log[0] == (100, "incident", [0, 120.0, 10.0, "shock"])
    assert live.log[1] == (100, "incident", [0, 400.0, 10.0])  # the host's: as before
    again = World.replay(scenario, 2, None, None, None, live.log, until_tick=live.tick)
    assert again.state() == live.state()
    assert incident_cause(live.log, 100, 0) == "shock"
    assert incident_cause(live.log, 100, 1) == "scenario"
    dropped = without_incident(live.log, again, 100, 0)
    assert dropped == [(100, "incident", [0, 400.0, 10.0])]


def test_the_report_json_holds_the_incident_root(host_round: Played, tmp_path: Path) -> None:
    played = host_round
    assert played.payload is not None
    path = tmp_path / "history.sqlite3"
    data = stored_report(played, path, "ABCDE", "workshop", "Host")
    full = json.loads(render(data, "json"))
    roots = full["rounds"][0]["debrief"]["roots"]
    (root,) = [r for r in roots if r["kind"] == "incident"]
    assert root["cause"] == "host" and root["counterfactual"]["cost_vs"] > 0
    assert "The host's incident in lane 1" in render(data, "md")
