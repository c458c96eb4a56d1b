"""The debrief's analysis: wave roots, counterfactuals and cards come from the round's data."""

from __future__ import annotations

from pathlib import Path

import msgpack
import pytest

from server.debrief import analyse
from server.played import RoundInputs, RoundOutcome
from shared.protocol import MAX_FRAME_BYTES, SERVER_MESSAGES, validate
from tests.support.debrief import Played, brake_at, play, scenario_toml, write_scenario

WAVE_CARDS = {"wave_root", "reinforcing_loop", "delay", "distant_cause"}


@pytest.fixture(scope="module")
def dense(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One lane, 40 cars on a kilometre: dense enough that a stop travels back."""
    d = tmp_path_factory.mktemp("dense")
    return write_scenario(d, scenario_toml("dense", 1000, 1, 40, {"steady": 1.0}))


@pytest.fixture(scope="module")
def braked(dense: str) -> Played:
    return play(dense, 5, 80, players=1, controls=brake_at(30), names=["Ana"])


def test_scripted_brake_is_traced_to_its_root_with_a_positive_cost(braked: Played) -> None:
    ana = braked.players[0]
    roots = braked.debrief["roots"]
    mine = [r for r in roots if r["car"] == ana and r["kind"] == "brake"]
    assert mine, f"Ana's brake at 0:30 was not found among {[(r['car'], r['t']) for r in roots]}"
    root = mine[0]
    assert 29.5 <= root["t"] <= 31.5
    assert root["reached"] >= 4
    assert root["chain"][0] == ana and len(set(root["chain"])) == len(root["chain"])
    assert root["delay_vs"] > 0
    cf = root["counterfactual"]
    assert cf is not None and cf["cost_vs"] > 0
    assert cf["from_t"] < root["t"] < cf["to_t"]
    assert cf["cost_vs"] == pytest.approx(cf["factual_vs"] - cf["counterfactual_vs"], abs=0.11)
    assert root["text"].startswith("Ana's brake at 0:30 cost the road")
    card = next(c for c in braked.debrief["cards"] if c["id"] == "wave_root")
    assert "Ana" in card["pattern"] and card["where"]["t0"] <= root["t"] + 0.5


def test_same_round_without_the_brake_has_no_such_root(dense: str) -> None:
    calm = play(dense, 5, 80, players=1, names=["Ana"])
    assert not [r for r in calm.debrief["roots"] if r["car"] == calm.players[0]]
    assert not WAVE_CARDS & {c["id"] for c in calm.debrief["cards"]}


def test_calm_round_without_hard_brakes_has_no_wave_root_card(tmp_path: Path) -> None:
    ref = write_scenario(tmp_path, scenario_toml("calm", 3000, 3, 15, {"steady": 1.0}))
    calm = play(ref, 2, 60)
    assert calm.debrief["team"]["hard_brakes"] == 0
    assert calm.debrief["roots"] == []
    assert not WAVE_CARDS & {c["id"] for c in calm.debrief["cards"]}


def test_different_behaviour_gives_different_cards(tmp_path: Path) -> None:
    ref = write_scenario(tmp_path, scenario_toml("one", 1500, 3, 70, {"steady": 1.0}))
    first = play(ref, 4, 60, players=1, names=["Ana"])
    ref2 = write_scenario(
        tmp_path, scenario_toml("two", 1500, 3, 70, {"hurried": 0.5, "distracted": 0.5})
    )
    second = play(ref2, 4, 60, players=1, names=["Ana"], previous=[first.debrief])
    ids1 = {c["id"] for c in first.debrief["cards"]}
    ids2 = {c["id"] for c in second.debrief["cards"]}
    assert ids1 != ids2
    # the weaving, unsignalled round shows mismatched conventions; the steady one does not
    assert "mental_models" in ids2 and "mental_models" not in ids1
    # round two compares itself with round one
    assert "team_learning" in ids2
    assert [r["round"] for r in second.debrief["rounds"]] == [1, 2]
    learning = next(c for c in second.debrief["cards"] if c["id"] == "team_learning")
    assert "Since round 1" in learning["pattern"]


def test_payload_is_a_valid_small_debrief_message(braked: Played) -> None:
    payload = braked.debrief
    frame = msgpack.packb({"type": "debrief", **payload}, use_bin_type=True)
    assert len(frame) < MAX_FRAME_BYTES
    decoded = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    validate(decoded, SERVER_MESSAGES)
    diagram = payload["diagram"]
    assert len(diagram["kmh"]) == diagram["times"]
    assert all(len(row) == diagram["cells"] for row in diagram["kmh"])
    # the stop shows in the diagram: some cell around the brake is far below free flow
    assert min(v for row in diagram["kmh"] for v in row if v >= 0) < 25
    (path,) = payload["paths"]
    assert path["name"] == "Ana" and len(path["x"]) == diagram["times"]
    for card in payload["cards"]:
        assert {"id", "discipline", "title", "pattern", "idea", "question"} <= card.keys()


def test_team_figures_are_the_sum_of_the_drivers(braked: Played) -> None:
    team, drivers = braked.debrief["team"], braked.debrief["drivers"]
    # on a full one-lane road Ana takes a bot's seat rather than squeezing in a 41st car
    assert team["cars"] == len(drivers) == len(braked.world.cars) == 40
    assert team["players"] == 1
    assert sum(d["hard_brakes"] for d in drivers) == team["hard_brakes"]
    assert sum(d["lane_changes"] for d in drivers) == team["lane_changes"]
    assert sum(d["delay_s"] for d in drivers) == pytest.approx(team["delay_vs"], abs=0.5)
    assert sum(d["distance_m"] for d in drivers) / 1000 == pytest.approx(team["distance_km"])
    # delay in the recording and in the metrics is one definition
    assert sum(braked.recording.delay_ticks) == pytest.approx(team["delay_vs"], abs=0.5)
    ana = next(d for d in drivers if d["car"] == braked.players[0])
    assert ana["name"] == "Ana" and ana["kind"] == "player" and ana["hard_brakes"] >= 1


def test_analysis_without_recording_replays_the_log_to_the_same_result(braked: Played) -> None:
    again = analyse(
        RoundInputs(
            braked.scenario, braked.seed, None, None, None, braked.world.log, braked.world.tick
        ),
        RoundOutcome(adherence={}, names=braked.names),
        [],
    )
    assert again["team"] == braked.debrief["team"]
    assert again["roots"] == braked.debrief["roots"]
    assert again["diagram"] == braked.debrief["diagram"]


def test_an_oversized_payload_is_cut_to_fit_a_frame() -> None:
    from server.debrief import PAYLOAD_BUDGET, fit

    drivers = [
        {"car": i, "kind": "bot" if i >= 40 else "player", "name": "x" * 20, "pad": "y" * 600}
        for i in range(300)
    ]
    times, cells = 150, 64
    payload = {
        "drivers": drivers,
        "diagram": {
            "times": times,
            "cells": cells,
            "t_bin_s": 2.0,
            "kmh": [[150 + (i + j) % 50 for j in range(cells)] for i in range(times)],
        },
        "paths": [{"car": i, "x": [1999] * times} for i in range(40)],
    }
    small = fit(payload)
    assert len(msgpack.packb(small, use_bin_type=True)) <= PAYLOAD_BUDGET
    assert {d["kind"] for d in small["drivers"]} == {"player"} and len(small["drivers"]) == 40
    diagram = small["diagram"]
    assert diagram["times"] == len(diagram["kmh"]) < times
    assert all(len(p["x"]) == diagram["times"] for p in small["paths"])
    assert diagram["t_bin_s"] * diagram["times"] >= 2.0 * times - 4.0
