"""Scenarios: every built-in loads and runs; a malformed file names the file, key and expectation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.sim.scenario import ScenarioError, list_scenarios, load_scenario, parse_scenario
from shared.sim.world import World

REQUIRED = {"ring", "open-road", "rush-hour", "lane-closure", "on-ramp", "incident"}


def test_all_required_scenarios_exist_and_run() -> None:
    assert set(list_scenarios()) >= REQUIRED
    for name in list_scenarios():
        scenario = load_scenario(name)
        world = World(scenario, seed=1)
        assert len(world.cars) == scenario.cars
        for _ in range(40):
            world.step()


def test_ring_is_the_sugiyama_setting() -> None:
    ring = load_scenario("ring")
    assert (ring.lanes, ring.length, ring.cars) == (1, 230.0, 22)


def test_features_are_loaded() -> None:
    assert load_scenario("lane-closure").closures[0].lane == 2
    assert load_scenario("on-ramp").ramps
    incident = load_scenario("incident")
    assert incident.incidents and incident.speed_zones


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("[road]\nlanes = 2\n", "road.length", "missing"),
        ("[road]\nlength = 1000\nlanes = 7\n", "road.lanes", "whole number from 1 to 4"),
        ('[road]\nlength = 1000\nlanes = "three"\n', "road.lanes", "whole number"),
        ("[road]\nlength = -5\n", "road.length", "a number from 50"),
        ("[road]\nlength = 1000\nwidth = 3\n", "road.width", "unknown key"),
        ("colour = 1\n[road]\nlength = 1000\n", "colour", "unknown key"),
        (
            "[road]\nlength = 1000\n[traffic]\nmix = { pirate = 1 }\n",
            "traffic.mix.pirate",
            "unknown",
        ),
        ("[road]\nlength = 1000\n[traffic]\ncars = 5000\n", "traffic.cars", "whole number"),
        ("[road]\nlength = 200\n[traffic]\ncars = 100\n", "traffic.cars", "at most"),
        ('[road]\nlength = 1000\n[rulebook]\npassing = "middle"\n', "rulebook", "no option"),
        (
            "[road]\nlength = 1000\nlanes = 2\n[[closures]]\nlane = 3\nstart = 1\nend = 50\n",
            "closures[0].lane",
            "a lane from 0 to 1",
        ),
        (
            "[road]\nlength = 1000\nlanes = 2\n[[closures]]\nlane = 1\nend = 50\n",
            "closures[0].start",
            "missing",
        ),
        ("[road]\nlength = 1000\n[[fog]]\nstart = 0\nend = 10\nsight = 1\n", "fog[0].sight", "10"),
        ("[road]\nlength = 1000\n[drivers]\nT = 0\n", "drivers.T", "above 0"),
        ("closures = 3\n[road]\nlength = 1000\n", "closures", "array of tables"),
        ("[road\nlength = 1000\n", "", "not valid TOML"),
    ],
)
def test_malformed_files_get_errors_naming_file_key_and_expectation(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(str(path))
    message = str(info.value)
    assert str(path) in message
    assert key in message
    assert expected in message


def test_unknown_name_lists_the_built_ins() -> None:
    with pytest.raises(ScenarioError, match="rush-hour"):
        load_scenario("no-such-scenario")


def test_missing_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such file"):
        load_scenario(str(tmp_path / "gone.toml"))


def test_overrides_are_checked() -> None:
    ring = load_scenario("ring")
    assert ring.with_overrides(lanes=2, length=500).lanes == 2
    with pytest.raises(ScenarioError, match="road.lanes"):
        ring.with_overrides(lanes=9)
    with pytest.raises(ScenarioError, match="traffic.cars"):
        ring.with_overrides(cars=500)
    shorter = load_scenario("lane-closure").with_overrides(length=1250, cars=60)
    assert (shorter.closures[0].start, shorter.closures[0].end) == (800.0, 1000.0)
    assert shorter.closures[0].warn == 500.0 and shorter.gantry == 600.0
    with pytest.raises(ScenarioError, match="lanes"):
        load_scenario("on-ramp").with_overrides(lanes=1)


toml_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
keys = st.sampled_from(
    ["name", "seconds", "road", "traffic", "drivers", "rulebook", "closures", "ramps", "fog"]
    + ["speed_zones", "incidents", "length", "lanes", "cars", "mix", "x"]
)


@given(
    st.dictionaries(
        keys,
        toml_values
        | st.dictionaries(keys, toml_values, max_size=4)
        | st.lists(st.dictionaries(keys, toml_values, max_size=4), max_size=2),
        max_size=6,
    )
)
def test_any_document_gives_a_scenario_or_a_scenario_error(raw: dict[str, Any]) -> None:
    try:
        scenario = parse_scenario(raw, source="fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml: ")
    else:
        assert 1 <= scenario.lanes <= 4 and scenario.length >= 50
