"""Programs: the built-ins load and follow the design; bad files name the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.programs import (
    ProgramError,
    Shock,
    known_scenarios,
    list_programs,
    load_program,
    parse_program,
)
from shared.conventions import default_rulebook, make_rulebook

ROAD = """
name = "test-road"
[road]
length = 1000
lanes = 2
gantry = 0
[traffic]
cars = 10
"""

ROUND = """
[[steps]]
kind = "round"
title = "R"
scenario = "{scenario}"
seconds = 60
rulebook = {{}}
"""


def test_builtins_are_listed_and_load() -> None:
    names = list_programs()
    assert {"workshop", "solo-practice", "quick"} <= set(names)
    for name in names:
        program = load_program(name)
        assert program.name == name
        assert program.rounds, name
        assert program.describe()["steps"]


def test_workshop_follows_the_design() -> None:
    program = load_program("workshop")
    kinds = [s.kind for s in program.steps]
    assert kinds == ["round", "council", "round", "round"]
    first, council, shared, shock = program.steps
    assert first.scoring == "individual" and first.rulebook == default_rulebook()
    assert first.mix and len(first.mix) > 1  # mixed bots
    assert council.seconds is not None and council.seconds > 0
    assert shared.rulebook == "council" and shared.scoring == "team"
    assert shared.scenario == first.scenario  # the same road, now with rules
    assert shock.rulebook == "keep" and shock.scoring == "team"
    assert shock.scenario in ("lane-closure", "incident") or shock.shocks
    assert program.final_debrief


def test_quick_fits_a_fifteen_minute_slot() -> None:
    program = load_program("quick")
    assert len(program.rounds) == 2
    lengths = [s.seconds for s in program.steps]
    assert None not in lengths  # every step says its length: none falls back to a scenario's
    assert sum(s for s in lengths if s is not None) <= 6 * 60


def test_solo_practice_has_no_council() -> None:
    program = load_program("solo-practice")
    assert all(s.kind == "round" for s in program.steps)
    assert all(isinstance(s.rulebook, dict) for s in program.steps)


def test_builtin_scenarios_exist_when_the_simulation_is_there() -> None:
    known = known_scenarios()
    if known is None:
        pytest.skip("shared.sim.scenario is not available yet")
    for name in list_programs():
        for step in load_program(name).rounds:
            assert step.scenario in known


def test_a_full_program_with_shocks_and_paths(tmp_path: Path) -> None:
    (tmp_path / "road.toml").write_text(ROAD)
    text = """
name = "mine"
[[steps]]
kind = "round"
scenario = "road.toml"
seconds = 120
rulebook = { passing = "left", speed_limit = "80" }
scoring = "individual"
bots = 12
seed = 3
[[steps.shocks]]
at = 90
kind = "bots"
count = -4
[[steps.shocks]]
at = 30
kind = "incident"
lane = 1
x = 250.5
seconds = 20
[[steps]]
kind = "council"
[[steps]]
kind = "round"
scenario = "road.toml"
rulebook = "council"
"""
    path = tmp_path / "mine.toml"
    path.write_text(text)
    program = load_program(str(path))
    first, council, second = program.steps
    assert first.scenario == str((tmp_path / "road.toml").resolve())
    assert first.rulebook == make_rulebook({"passing": "left", "speed_limit": "80"})
    assert first.shocks == (
        Shock(30.0, "incident", {"lane": 1, "x": 250.5, "seconds": 20}),
        Shock(90.0, "bots", {"count": -4}),
    )
    at, kind, args = first.shocks[0]
    assert (at, kind, args["lane"]) == (30.0, "incident", 1)
    assert council.kind == "council" and council.seconds == 180
    assert second.rulebook == "council" and second.seconds == 240 and second.scoring == "team"


def _error(text: str, tmp_path: Path) -> ProgramError:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProgramError) as err:
        load_program(str(path))
    assert str(path) in str(err.value)
    return err.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("line", "key", "expected"),
    [
        ('scoring = "teams"', "steps[2].scoring", '"individual" or "team"'),
        ("seconds = 5", "steps[2].seconds", "seconds from 10"),
        ('scenaro = "ring"', "steps[2].scenaro", "known keys"),
        ('rulebook = { passing = "middle" }', "steps[2].rulebook.passing", "one of"),
        ('rulebook = { colour = "red" }', "steps[2].rulebook.colour", "convention"),
        ('rulebook = "sometimes"', "steps[2].rulebook", '"keep", "council"'),
        ('rulebook = "council"', "steps[2].rulebook", "council"),
        ("bots = -1", "steps[2].bots", "whole number"),
        ("mix = { reckless = 1 }", "steps[2].mix.reckless", "bot kind"),
        ("mix = { steady = 0 }", "steps[2].mix", "more than 0"),
        ("seed = true", "steps[2].seed", "whole number"),
        ('title = ["a"]', "steps[2].title", "string"),
    ],
)
def test_bad_round_keys_name_line_and_key(
    tmp_path: Path, line: str, key: str, expected: str
) -> None:
    (tmp_path / "a.toml").write_text(ROAD)
    good = ROUND.format(scenario="a.toml")
    name = line.split("=")[0].strip()
    second = "\n".join(row for row in good.splitlines() if not row.startswith(name + " ="))
    text = 'name = "x"\n' + good + second + "\n# the bad line follows\n" + line + "\n"
    err = _error(text, tmp_path)
    assert err.key == key
    assert err.line == len(text.splitlines())  # the bad line is the last one
    assert expected in err.expected
    assert f"line {err.line}" in str(err)


def test_toml_syntax_errors_give_the_line(tmp_path: Path) -> None:
    err = _error('name = "x"\n\n[[steps]]\nkind = round\n', tmp_path)
    assert err.line == 4
    assert "TOML" in str(err)


def test_shock_errors_point_into_the_shock_table(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(ROAD)
    text = (
        ROUND.format(scenario="a.toml")
        + '[[steps.shocks]]\nat = 10\nkind = "incident"\nlane = 0\nx = 5\nseconds = 9\n'
        + '[[steps.shocks]]\nat = 75\nkind = "incident"\nlane = 0\nx = 5\nseconds = 9\n'
    )
    err = _error(text, tmp_path)
    assert err.key == "steps[1].shocks[2].at"
    assert err.line == _line_of(text, "at = 75")
    err = _error(
        text.replace('kind = "incident"\nlane = 0\nx = 5\nseconds = 9\n[[', 'kind = "flood"\n[['),
        tmp_path,
    )
    assert err.key == "steps[1].shocks[1].kind"
    assert err.line == _line_of(text, 'kind = "incident"')
    err = _error(text.replace("lane = 0", "lane = 7", 1), tmp_path)
    assert err.key == "steps[1].shocks[1].lane"


def test_structural_errors(tmp_path: Path) -> None:
    assert _error('name = "x"\n', tmp_path).key == "steps"
    err = _error('[[steps]]\nkind = "council"\n', tmp_path)
    assert "round" in err.expected
    err = _error('[[steps]]\nkind = "round"\nscenario = "ring"\nrulebook = "keep"\n', tmp_path)
    assert err.key == "steps[1].rulebook" and err.line == 4
    # without a rulebook key the first round starts from the defaults
    assert parse_program('[[steps]]\nkind = "round"\nscenario = "ring"\n').steps[0].rulebook == (
        default_rulebook()
    )
    err = _error('[[steps]]\nkind = "drive"\n', tmp_path)
    assert err.key == "steps[1].kind" and err.line == 2
    err = _error('[[steps]]\nkind = "round"\nscenario = "missing.toml"\nrulebook = {}\n', tmp_path)
    assert err.key == "steps[1].scenario" and err.line == 3 and "existing" in err.expected
    err = _error('final_debrief = "yes"\n[[steps]]\nkind = "round"\n', tmp_path)
    assert err.key == "final_debrief" and err.line == 1


def test_unknown_program_name() -> None:
    with pytest.raises(ProgramError) as err:
        load_program("no-such-program")
    assert "workshop" in str(err.value)


def test_unknown_scenario_name_is_caught_when_the_simulation_is_there() -> None:
    if known_scenarios() is None:
        pytest.skip("shared.sim.scenario is not available yet")
    text = '[[steps]]\nkind = "round"\nscenario = "the-moon"\nrulebook = {}\n'
    with pytest.raises(ProgramError) as err:
        parse_program(text, source="p.toml")
    assert err.value.line == 3 and err.value.key == "steps[1].scenario"


@given(
    count=st.integers(min_value=1, max_value=6),
    data=st.data(),
    padding=st.lists(st.sampled_from(["", "# a comment", "  "]), max_size=3),
)
def test_the_error_line_follows_the_bad_step(
    count: int, data: st.DataObject, padding: list[str]
) -> None:
    bad = data.draw(st.integers(min_value=0, max_value=count - 1))
    rows: list[str] = []
    for index in range(count):
        rows += [*padding, "[[steps]]", 'kind = "round"', *padding, 'scenario = "ring"']
        rows += ["rulebook = {}" if index == 0 else 'rulebook = "keep"']
        rows += [f"seconds = {5 if index == bad else 60}", *padding]
    text = "\n".join(rows) + "\n"
    with pytest.raises(ProgramError) as err:
        parse_program(text, source="gen.toml")
    assert err.value.key == f"steps[{bad + 1}].seconds"
    assert err.value.line is not None
    assert text.splitlines()[err.value.line - 1] == "seconds = 5"
    assert err.value.line == [i for i, r in enumerate(rows, 1) if r == "seconds = 5"][0]


def test_shocks_are_checked_against_the_scenarios_road(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(ROAD)  # two lanes, 1000 m
    shock = '[[steps.shocks]]\nat = 10\nkind = "incident"\nlane = {lane}\nx = {x}\nseconds = 9\n'
    err = _error(ROUND.format(scenario="a.toml") + shock.format(lane=2, x=5), tmp_path)
    assert err.key == "steps[1].shocks[1].lane" and "0 (rightmost) to 1" in err.expected
    err = _error(ROUND.format(scenario="a.toml") + shock.format(lane=1, x=1000), tmp_path)
    assert err.key == "steps[1].shocks[1].x" and "below 1000" in err.expected


def test_a_broken_scenario_file_is_the_scenario_keys_error(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text("[road]\nlanes = 9\n")
    err = _error(ROUND.format(scenario="a.toml"), tmp_path)
    assert err.key == "steps[1].scenario" and "loads" in err.expected
    assert err.line == 5  # ROUND starts with a blank line; `scenario =` is its 5th


TOML_SCALARS = st.one_of(
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True),
    st.sampled_from(["round", "council", "keep", "ring", "incident", "bots", "team", "x.toml"]),
    st.text(max_size=6),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "kind",
                    "scenario",
                    "seconds",
                    "rulebook",
                    "shocks",
                    "at",
                    "lane",
                    "x",
                    "passing",
                    "mix",
                    "steady",
                    "count",
                    "bots",
                    "title",
                    "steps",
                    "name",
                    "final_debrief",
                ]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


STEP_TABLES = st.fixed_dictionaries(
    {"kind": st.sampled_from(["round", "council", "drive"])},
    optional={
        "scenario": st.sampled_from(["ring", "open-road", "moon", "x.toml"]) | TOML_SCALARS,
        "seconds": TOML_SCALARS,
        "rulebook": st.sampled_from(["keep", "council"]) | TOML_VALUES,
        "scoring": TOML_SCALARS,
        "shocks": st.lists(
            st.fixed_dictionaries(
                {"kind": st.sampled_from(["incident", "bots"]), "at": TOML_SCALARS},
                optional={
                    "lane": TOML_SCALARS,
                    "x": TOML_SCALARS,
                    "seconds": TOML_SCALARS,
                    "count": TOML_SCALARS,
                },
            ),
            max_size=2,
        )
        | TOML_VALUES,
        "mix": TOML_VALUES,
        "bots": TOML_SCALARS,
    },
)


@given(
    st.one_of(
        st.dictionaries(st.sampled_from(["name", "steps", "final_debrief", "x"]), TOML_VALUES),
        st.fixed_dictionaries({"steps": st.lists(STEP_TABLES, min_size=1, max_size=4)}),
    )
)
def test_any_parsed_structure_is_a_program_or_a_program_error(data: dict) -> None:
    from server.programs import _Checker

    try:
        program = _Checker("", "fuzz.toml").program(data, "fuzz")
    except ProgramError as err:
        assert err.file == "fuzz.toml" and str(err)
    else:
        assert program.rounds


@given(st.text(max_size=200))
def test_any_text_is_a_program_or_a_program_error(text: str) -> None:
    try:
        parse_program(text, source="fuzz.toml")
    except ProgramError as err:
        assert str(err).startswith("fuzz.toml")


def test_network_names_never_open_paths_and_registered_files_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.programs as programs

    monkeypatch.setattr(programs, "_REGISTERED", {})
    (tmp_path / "a.toml").write_text(ROAD)
    path = tmp_path / "day.toml"
    path.write_text('name = "workshop"\n' + ROUND.format(scenario="a.toml"))
    for hostile in (str(path), "../" + path.name, "/etc/passwd", "work\x1bshop"):
        with pytest.raises(ProgramError) as err:
            load_program(hostile, allow_paths=False)
        assert "one of the programs" in err.value.expected
        assert "\x1b" not in str(err.value)
    name = programs.register_program(path)
    assert name == "workshop-2"  # never shadows a built-in
    assert programs.register_program(path) == name  # registering again is idempotent
    assert name in list_programs()
    assert load_program(name, allow_paths=False).source == str(path.resolve())
    assert load_program("workshop", allow_paths=False).title.startswith("Workshop")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[steps]]\nkind = "round"\nscenario = "a.toml"\nscoring = "teams"\n')
    with pytest.raises(ProgramError) as err:
        programs.register_program(bad)
    assert err.value.line == 4
