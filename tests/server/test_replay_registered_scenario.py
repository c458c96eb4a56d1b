"""A round on a scenario registered from a file replays where that file is unknown.

The registration lives in one process (`shared.sim.scenario._REGISTERED`); the round carries
the scenario's checked TOML document instead: in the `replay` message (`scenario_doc`) and in
the history file (the `scenario_doc` column, schema 2). "Another process" is simulated by
emptying the registry and deleting the file before the round is rebuilt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import server.store as store_module
import shared.sim.scenario as scenario_module
from server.played import RoundInputs, RoundOutcome
from server.replays import world_from_stored
from server.room import Room
from server.store import MIGRATIONS, Store, StoreError, encode_log
from shared import protocol as p
from shared.messages import parse_client_message
from shared.sim.scenario import ScenarioError, load_scenario, parse_scenario, register_scenario
from shared.sim.world import World
from tests.support.room import Clock, FakeConn

# Deliberately unlike any built-in: a closure and a speed zone on a two-lane 600 m loop, so a
# replay on the wrong road (or a default one) cannot end with the same cars in the same places.
SCENARIO_TOML = """
name = "test-loop"
description = "a scenario that exists only in this test's temporary folder"
seconds = 30

[road]
length = 600
lanes = 2

[traffic]
cars = 14
mix = { steady = 0.6, hurried = 0.2, distracted = 0.2 }

[drivers]
v0_kmh = 70

[[closures]]
lane = 1
start = 300
end = 380
warn = 150

[[speed_zones]]
start = 100
end = 250
limit_kmh = 40
"""

TICKS = 80


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """This test's own registry of scenario files, so no registration leaks into others."""
    fresh: dict[str, Path] = {}
    monkeypatch.setattr(scenario_module, "_REGISTERED", fresh)
    return fresh


def play_round(room: Room) -> tuple[FakeConn, Any]:
    """Host and Ana drive TICKS ticks of the room's round (Ana brakes, changes lane, speeds up),
    then the host ends it. Returns Ana's connection and the world as the round ended."""
    host_conn, ana_conn = FakeConn(), FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=True)
    ana = room.join("Ana", "player", ana_conn)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    actions = {10: "brake", 25: "left", 40: "faster", 55: "right"}
    for tick in range(TICKS):
        if tick in actions:
            room.handle(ana, parse_client_message({"type": "control", "action": actions[tick]}))
        room.step()
    room.handle(host, parse_client_message({"type": "host", "command": "end"}))
    assert room.phase == "debrief" and ana_conn.last("debrief")["round"] == 1
    room.handle(ana, parse_client_message({"type": "replay"}))
    return ana_conn, room.world


def end_state(world: Any) -> tuple[int, list[tuple[int, int, float, float]]]:
    """What must match exactly: the tick and every car's id, lane, position and speed."""
    return world.tick, [(c.id, c.lane, c.x, c.v) for c in world.cars.values()]


@pytest.fixture
def registered_round(tmp_path: Path, registry: dict[str, Path]) -> dict[str, Any]:
    """A real round on a registered file, saved to a history file; then the file is gone."""
    path = tmp_path / "my-loop.toml"
    path.write_text(SCENARIO_TOML, encoding="utf-8")
    name = register_scenario(path)
    store = Store(tmp_path / "history.sqlite3")
    room = Room("ABCDE", clock=Clock(), scenario=name, seed=5, store=store)
    ana_conn, world = play_round(room)
    assert any(entry[1] == "controls" for entry in world.log)
    store.close()
    # another process, on another machine: no registration, no file
    registry.clear()
    path.unlink()
    with pytest.raises(ScenarioError):
        load_scenario(name, allow_paths=False)
    return {
        "name": name,
        "replay": ana_conn.last("replay"),
        "db": tmp_path / "history.sqlite3",
        "game_id": room.game_id,
        "end": end_state(world),
    }


def test_the_replay_message_rebuilds_the_round_without_the_file(registered_round) -> None:
    replay = registered_round["replay"]  # as the client's gate let it through (FakeConn)
    assert replay["scenario"] == registered_round["name"]
    assert replay["scenario_doc"]["road"] == {"length": 600, "lanes": 2}
    assert replay["ticks"] == TICKS
    rebuilt = world_from_stored(replay)
    assert end_state(rebuilt) == registered_round["end"]


def test_the_stored_round_rebuilds_in_a_fresh_store_without_the_file(registered_round) -> None:
    with Store(registered_round["db"]) as store:
        stored = store.load_round(registered_round["game_id"], 1)
    assert stored["scenario_doc"] == registered_round["replay"]["scenario_doc"]
    assert end_state(world_from_stored(stored)) == registered_round["end"]
    # the debrief screen of a remote player gets the message with these keys added
    fetched = {**registered_round["replay"], "round_no": 1, "game_id": "ABCDE"}
    assert end_state(world_from_stored(fetched, until_tick=TICKS)) == registered_round["end"]


def test_without_its_document_the_round_cannot_be_rebuilt(registered_round) -> None:
    """The check that the tests above can fail: by name alone the scenario is unknown here."""
    replay = {k: v for k, v in registered_round["replay"].items() if k != "scenario_doc"}
    with pytest.raises(StoreError, match="cannot replay round 1: unknown scenario"):
        world_from_stored(replay)
    with sqlite3.connect(registered_round["db"]) as db:
        db.execute("UPDATE rounds SET scenario_doc = NULL")
    db.close()
    with Store(registered_round["db"]) as store, pytest.raises(StoreError, match="unknown"):
        world_from_stored(store.load_round(registered_round["game_id"], 1))


def test_a_built_in_scenario_travels_by_name_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "history.sqlite3")
    room = Room("ABCDE", clock=Clock(), scenario="ring", seed=2, store=store)
    ana_conn, world = play_round(room)
    replay = ana_conn.last("replay")
    assert replay["scenario"] == "ring" and "scenario_doc" not in replay
    assert room.game_id is not None
    stored = store.load_round(room.game_id, 1)
    assert stored["scenario_doc"] is None
    assert end_state(world_from_stored(stored)) == end_state(world)
    assert load_scenario("ring").doc is None
    store.close()


def test_the_document_is_what_the_file_said_and_does_not_change_equality(
    tmp_path: Path, registry: dict[str, Path]
) -> None:
    path = tmp_path / "loop.toml"
    path.write_text(SCENARIO_TOML, encoding="utf-8")
    from_file = load_scenario(path)
    assert from_file.doc is not None and from_file.doc["closures"][0]["start"] == 300
    from_doc = parse_scenario(from_file.doc, source="elsewhere", default_name="x")
    assert from_doc == dataclasses.replace(from_file, source="elsewhere")
    assert "doc=" not in repr(from_file)
    # a changed road is no longer described by the document: nothing to replay it from
    assert from_file.with_overrides(lanes=3).doc is None


def test_a_replay_too_big_for_a_frame_is_refused_as_before(
    tmp_path: Path, registry: dict[str, Path]
) -> None:
    """A huge document makes the message too big: the existing `bad_state`, not a crash."""
    path = tmp_path / "wordy.toml"
    text = SCENARIO_TOML.replace('description = "', 'description = "' + "x" * p.MAX_FRAME_BYTES)
    path.write_text(text, encoding="utf-8")
    store = Store(tmp_path / "history.sqlite3")
    room = Room("ABCDE", clock=Clock(), scenario=register_scenario(path), seed=1, store=store)
    ana_conn, world = play_round(room)
    error = ana_conn.last("error")
    assert error["code"] == "bad_state" and "too long" in error["message"]
    registry.clear()
    path.unlink()
    assert room.game_id is not None
    stored = store.load_round(room.game_id, 1)  # the history file has no frame limit
    assert end_state(world_from_stored(stored)) == end_state(world)
    store.close()


# ---- the history file's migration ------------------------------------------------------------


def test_a_schema_1_file_opens_migrates_and_its_rounds_still_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as old:  # the Interlane that wrote schema 1
        old.setattr(store_module, "MIGRATIONS", MIGRATIONS[:1])
        old.setattr(store_module, "SCHEMA_VERSION", 1)
        with Store(path) as store:
            assert store.schema_version == 1
            game = store.create_game("OLDER", "ring", "Host")
    world = World(load_scenario("ring"), seed=7)
    car = world.add_player_car()
    for tick in range(TICKS):
        world.step({car: [("brake", None)]} if tick == 30 else None)
    with sqlite3.connect(path) as db:  # the row exactly as schema 1's save_round wrote it
        db.execute(
            "INSERT INTO rounds (game_id, round_no, scenario, seed, rulebook, bots, mix, log,"
            " ticks, metrics, debrief, created) VALUES (?, 1, 'ring', 7, 'null', NULL, NULL, ?,"
            " ?, '{}', '{}', 0)",
            (game, encode_log(world.log), world.tick),
        )
    db.close()

    with Store(path) as store:
        assert store.schema_version == len(MIGRATIONS) >= 2
        stored = store.load_round(game, 1)
        assert stored["scenario_doc"] is None
        assert end_state(world_from_stored(stored)) == end_state(world)
    with sqlite3.connect(path) as db:
        columns = {row[1]: row for row in db.execute("PRAGMA table_info(rounds)")}
    db.close()
    assert "scenario_doc" in columns and columns["scenario_doc"][3] == 0  # nullable


# ---- documents from elsewhere are checked like files -----------------------------------------

ROAD = {"length": 600, "lanes": 2}

HOSTILE_DOCS = [
    {"road": {"length": 1e12, "lanes": 2}},  # an absurd road
    {"road": {"length": 10**400 // 10**390, "lanes": 2}},
    {"road": {"length": float("nan")}},
    {"road": "long"},
    {"road": {"length": "600"}},
    {"road": {"length": 600, "lanes": True}},
    {"road": {"length": 600, "lanes": 99}},
    {},  # no road at all
    {"road": ROAD, "traffic": {"cars": 10**30}},
    {"road": ROAD, "traffic": {"cars": 2000}},  # more than fit
    {"road": ROAD, "traffic": {"mix": {"steady": -1}}},
    {"road": ROAD, "traffic": {"mix": [1, 2]}},
    {"road": ROAD, "closures": {"lane": 0}},
    {"road": ROAD, "closures": [1, 2]},
    {"road": ROAD, "closures": [{"lane": 5, "start": 1, "end": 9}]},
    {"road": ROAD, "rulebook": {"passing": 3}},
    {"road": ROAD, "rulebook": {"no-such-convention": "x"}},
    {"road": ROAD, "drivers": {"T": 0}},
    {"road": ROAD, "__class__": {"x": 1}},
    {"road": ROAD, 7: "an integer key"},
    {"road": ROAD, "\x1b[2J\x07": 1},  # a key that would drive the terminal
    {"road": ROAD, "name": ["not", "a", "string"]},
    [1, 2, 3],
    "a string",
]


def replay_message(**fields: Any) -> dict[str, Any]:
    """A `replay` message of an empty round on the scenario "evil", with `fields` changed."""
    message = {
        "type": "replay",
        "round": 1,
        "scenario": "evil",
        "seed": 1,
        "rulebook": {},
        "ticks": 10,
        "log": [],
        "names": {},
    }
    return {**message, **fields}


@pytest.mark.parametrize("doc", HOSTILE_DOCS)
def test_a_hostile_document_is_refused_with_one_sentence(doc: Any) -> None:
    replay = replay_message(round=3, scenario="evil\x1b[2J", scenario_doc=doc)
    with pytest.raises(StoreError) as caught:
        world_from_stored(replay)
    message = str(caught.value)
    assert message.startswith("cannot replay round 3: ") and "\n" not in message
    assert message.isprintable()  # the server's name and keys cannot drive the terminal


@pytest.mark.parametrize("doc", [d for d in HOSTILE_DOCS if isinstance(d, dict)][:8])
def test_a_hostile_document_from_the_wire_or_the_history_file_is_refused(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    message = replay_message(scenario_doc=doc)
    try:
        received = p.parse_server_frame(p.encode(message))
    except p.ProtocolError:
        pass  # refused at the gate already (NaN cannot be a field anywhere)
    else:
        with pytest.raises(StoreError):
            world_from_stored(received)
    with Store(tmp_path / "h.sqlite3") as store:
        game = store.create_game("EVIL", "x", "Host")
        try:
            store.save_round(game, 1, inputs("evil", doc), RoundOutcome(metrics={}), {})
        except ValueError:
            return  # not storable as JSON (NaN): never in the file
        stored = store.load_round(game, 1)
    with pytest.raises(StoreError):
        world_from_stored(stored)


def inputs(scenario: str, doc: Any) -> RoundInputs:
    """An empty round on `scenario`, stored with the document `doc`."""
    return RoundInputs(scenario, 1, {}, None, None, [], scenario_doc=doc)


def test_a_damaged_document_column_is_a_store_error(tmp_path: Path) -> None:
    with Store(tmp_path / "h.sqlite3") as store:
        game = store.create_game("ABCDE", "x", "Host")
        store.save_round(game, 1, inputs("ring", {}), RoundOutcome(metrics={}), {})
    with sqlite3.connect(tmp_path / "h.sqlite3") as db:
        db.execute("UPDATE rounds SET scenario_doc = '{not json'")
    db.close()
    with Store(tmp_path / "h.sqlite3") as store, pytest.raises(StoreError, match="damaged"):
        store.load_round(game, 1)


_KEYS = st.sampled_from(
    ["name", "seconds", "road", "length", "lanes", "gantry", "traffic", "cars", "mix", "steady",
     "closures", "lane", "start", "end", "rulebook", "passing", "drivers", "T", "fog", "x"]
)  # fmt: skip
_LEAVES = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_VALUES = st.recursive(
    _LEAVES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=5),
    max_leaves=20,
)


@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_any_document_is_a_scenario_or_a_scenario_error(doc: dict[str, Any]) -> None:
    """Whatever a server sends, parsing it never raises anything but ScenarioError."""
    with contextlib.suppress(ScenarioError):
        parse_scenario(doc, source="fuzz", default_name="x")


def test_a_round_from_a_server_never_makes_the_client_open_a_file(tmp_path: Path) -> None:
    """A hostile server could name a path as the round's scenario; a replay that came over the
    network loads names (or its document) only, while a local history file may hold a path."""
    from client.screens.replay import build_frames
    from shared.sim.replay import ReplayError

    path = tmp_path / "on-this-machine.toml"
    path.write_text(SCENARIO_TOML, encoding="utf-8")
    message = replay_message(scenario=str(path), ticks=3)
    with pytest.raises(StoreError, match="unknown scenario"):
        world_from_stored(message, allow_paths=False)
    with pytest.raises(ReplayError, match="unknown scenario"):
        build_frames(message, from_network=True)
    assert world_from_stored(message).tick == 3  # the same round from a local file replays
    frames, _ = build_frames(message)
    assert frames[-1].tick == 3
