"""Whatever happens in a round, its debrief is well-formed, small and honest about its data."""

from __future__ import annotations

import msgpack
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.debrief import analyse
from server.insights import DETECTORS
from server.metrics import RoundMetrics
from server.played import RoundInputs, RoundOutcome
from server.recorder import Recorder
from shared.protocol import CONTROL_ACTIONS, MAX_FRAME_BYTES
from shared.sim.scenario import parse_scenario
from shared.sim.world import World
from tests.support.debrief import check_payload

CARD_IDS = {d.__name__ for d in DETECTORS}
ACTIONS = [a for a in CONTROL_ACTIONS if a not in ("gap", "assist")]


@st.composite
def rounds(draw: st.DrawFn) -> dict:
    lanes = draw(st.integers(1, 3))
    length = draw(st.sampled_from([300.0, 800.0, 1500.0]))
    cars = draw(st.integers(0, int(length / 40) * lanes))
    mix = draw(
        st.dictionaries(
            st.sampled_from(["steady", "hurried", "distracted", "local"]),
            st.floats(0.1, 1.0),
            min_size=1,
        )
    )
    presses = draw(
        st.lists(
            st.tuples(st.integers(0, 399), st.integers(0, 1), st.sampled_from(ACTIONS)),
            max_size=30,
        )
    )
    return {
        "raw": {
            "name": "prop",
            "road": {"length": length, "lanes": lanes},
            "traffic": {"cars": cars, "mix": mix},
        },
        "seed": draw(st.integers(0, 2**31 - 1)),
        "players": draw(st.integers(0, 2)),
        "ticks": draw(st.integers(0, 400)),
        "presses": presses,
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_any_round_gives_a_well_formed_debrief(spec: dict) -> None:
    scenario = parse_scenario(spec["raw"])
    world = World(scenario, seed=spec["seed"])
    cars = [world.add_player_car() for _ in range(spec["players"])]
    metrics, recorder = RoundMetrics(world), Recorder(checkpoint_ticks=100)
    script: dict[int, dict[int, list]] = {}
    for tick, who, action in spec["presses"]:
        if cars:
            script.setdefault(tick, {}).setdefault(cars[who % len(cars)], []).append((action, None))
    brakes = 0
    for _ in range(spec["ticks"]):
        events = world.step(script.get(world.tick, {}))
        brakes += sum(1 for e in events if e.kind == "hard_brake")
        metrics.observe(world, events)
        recorder.observe(world, events)
    names = {car: f"P{car}" for car in cars}
    inputs = RoundInputs(scenario, spec["seed"], None, None, None, world.log)
    recording = recorder.recording()
    payload = analyse(inputs, RoundOutcome(metrics.result(), {}, recording, names), [])

    frame = msgpack.packb({"type": "debrief", **payload}, use_bin_type=True)
    assert len(frame) < MAX_FRAME_BYTES
    assert msgpack.unpackb(frame, raw=False, strict_map_key=True)["round"] == 1
    assert payload["team"]["hard_brakes"] == brakes
    diagram = payload["diagram"]
    assert len(diagram["kmh"]) == diagram["times"]
    assert all(len(row) == diagram["cells"] for row in diagram["kmh"])
    assert all(len(p["x"]) == diagram["times"] for p in payload["paths"])
    assert {p["car"] for p in payload["paths"]} <= set(cars)
    series = payload["series"]
    assert len({len(series[k]) for k in ("t", "mean_kmh", "flow_vph", "stopped")}) == 1
    drivers = {d["car"] for d in payload["drivers"]}
    for root in payload["roots"]:
        least = 0 if root["kind"] == "crash" else 1  # a crash is a root even if unanswered
        assert root["car"] in drivers and root["reached"] == len(root["chain"]) - 1 >= least
        assert len(set(root["chain"])) == len(root["chain"]) == len(root["decel"])
        cf = root["counterfactual"]
        assert cf is None or cf["from_t"] < cf["to_t"] <= payload["duration_s"] + 0.01
    if brakes == 0:
        assert not [r for r in payload["roots"] if r["kind"] == "brake"]
    for card in payload["cards"]:
        assert card["id"] in CARD_IDS
        assert all(card[k] for k in ("title", "pattern", "idea", "question", "discipline"))
    check_payload(payload)  # thresholds, ranking, distances within half the ring
    # analysing again gives the same: the analysis does not change its inputs
    assert analyse(inputs, RoundOutcome(metrics.result(), {}, recording, names), []) == payload
