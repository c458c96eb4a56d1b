"""A solo room end to end on the server side: the damper challenge live (HUD figures and the
coach in the feed), its debrief for one person, and the progress kept in the history."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from server.history_cli import run_history
from server.round import Room
from server.store import Store
from shared.messages import parse_client_message
from tests.server.test_room import FakeConn
from tests.support.solo import damper_controls, follower_controls

GROUP_WORDS = ("agreed", "council", "as a group", "the group", "each other")


def solo_round(
    tmp_path: Path,
    policy: Callable[[Any, int, int], list[list[Any]]],
    scenario: str = "damper-ring",
    seed: int = 2,
    seconds: float = 180.0,
    store: Store | None = None,
) -> tuple[Room, FakeConn, Store]:
    store = store or Store(tmp_path / "history.db")
    room = Room("SOLO1", clock=time.monotonic, scenario=scenario, seed=seed, store=store)
    conn = FakeConn()
    me = room.join("Ana", "host", conn, wants_car=True)
    room.handle(me, parse_client_message({"type": "host", "command": "start"}))
    room.seconds = seconds
    while room.phase == "driving":
        world = room.world
        for action, value in policy(world, me.car, world.tick):
            msg = {"type": "control", "action": action}
            if value is not None:
                msg["value"] = value
            room.handle(me, parse_client_message(msg))
        room.step()
    return room, conn, store


@pytest.fixture(scope="module")
def damper_game(tmp_path_factory: pytest.TempPathFactory) -> tuple[Room, FakeConn, Store]:
    return solo_round(tmp_path_factory.mktemp("damper"), damper_controls)


@pytest.fixture(scope="module")
def follower_game(tmp_path_factory: pytest.TempPathFactory) -> tuple[Room, FakeConn, Store]:
    return solo_round(tmp_path_factory.mktemp("follower"), follower_controls)


def coach_lines(conn: FakeConn) -> list[str]:
    return [
        e["text"]
        for snap in conn.of("snapshot")
        for e in snap["events"]
        if e.get("kind") == "coach"
    ]


def test_the_damper_ring_is_the_damper_challenge(damper_game: Any) -> None:
    room, conn, _ = damper_game
    assert room.plan.challenge == "damper" and "damper" in room.observers
    live = [s["you"]["damper"] for s in conn.of("snapshot") if "damper" in (s.get("you") or {})]
    assert live and live[-1]["won"] and live[-1]["coach"] is None
    assert live[-1]["without_kmh"] > live[-1]["spread_kmh"]


def test_the_coach_speaks_to_the_follower_not_to_the_damper(
    damper_game: Any, follower_game: Any
) -> None:
    assert not [t for t in coach_lines(damper_game[1]) if "leave more room" in t]
    lines = coach_lines(follower_game[1])
    assert any("braking as hard as the car ahead" in t for t in lines), lines
    assert len(lines) < 20  # a line when the advice changes, not one per tick


def test_the_solo_debrief_speaks_to_one_person(damper_game: Any) -> None:
    _, conn, _ = damper_game
    debrief = conn.last("debrief")
    solo = debrief["solo"]
    assert solo["challenge"] == "damper" and solo["won"] and solo["score"] > 0
    assert debrief["damper"]["won"] and "You damped the waves" in solo["verdict"]
    ids = [c["id"] for c in debrief["cards"]]
    assert ids[0] == "damper" and "absorbed" in ids
    assert not {"shared_vision", "team_learning", "commons", "mental_models"} & set(ids)
    text = " ".join(f"{c['pattern']} {c['idea']} {c['question']}" for c in debrief["cards"])
    assert not [w for w in GROUP_WORDS if w in text.lower()], text
    assert all(row["scenario"] == "damper-ring" for row in debrief["rounds"])
    assert solo["next"] == {
        "title": "Zipper merge",
        "scenario": "lane-closure",
        "how": "interlane solo --scenario lane-closure",
    }


def test_progress_is_stored_and_listed(
    damper_game: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    room, _, store = damper_game
    (row,) = store.solo_results("damper-ring")
    assert (row["player"], row["challenge"], row["won"]) == ("Ana", "damper", True)
    assert row["score"] == -room.last_debrief["damper"]["change_pct"]
    # a second attempt on the same road is compared with the first, and only with it
    again, conn, _ = solo_round(tmp_path, follower_controls, store=store, seconds=60.0)
    debrief = conn.last("debrief")
    assert debrief["solo"]["attempt"] == 2 and debrief["solo"]["earlier"] == [row["score"]]
    attempts = next(c for c in debrief["cards"] if c["id"] == "attempts")
    assert "Attempt 2 at Wave damper" in attempts["pattern"]
    assert run_history(type("Args", (), {"db": str(store.path)})()) == 0
    out = capsys.readouterr().out
    assert "Solo progress" in out
    line = next(ln for ln in out.splitlines() if "Wave damper" in ln)
    assert "2 attempts" in line and "won" in line and f"{row['score']:.0f}%" in line


def test_the_zipper_round_keeps_the_players_adherence(tmp_path: Path) -> None:
    room, conn, store = solo_round(
        tmp_path, lambda world, car, tick: [], scenario="lane-closure", seconds=40.0
    )
    assert room.plan.challenge == "zipper" and room.rulebook["merge"] == "zipper"
    solo = conn.last("debrief")["solo"]
    (row,) = store.solo_results("lane-closure")
    assert row["challenge"] == "zipper" and row["score"] == solo["score"] is not None
    assert row["won"] == (solo["score"] >= 80)
    assert "damper" not in room.observers


def test_a_schema_2_history_file_gains_the_solo_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server import store as store_module

    path = tmp_path / "old.sqlite3"
    with monkeypatch.context() as old:  # the Interlane before solo progress
        old.setattr(store_module, "MIGRATIONS", store_module.MIGRATIONS[:2])
        old.setattr(store_module, "SCHEMA_VERSION", 2)
        with Store(path) as store:
            game = store.create_game("OLDER", "solo-practice", "Ana")
    with Store(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS) >= 3
        assert store.solo_results() == []
        store.save_solo_result(game, 1, "Ana", "damper", "damper-ring", 31.0, True, {"x": 1})
        (row,) = store.solo_results("damper-ring")
        assert (row["score"], row["won"], row["figures"]) == (31.0, True, {"x": 1})
