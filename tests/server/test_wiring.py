"""The room wired to the real collaborators: sim World, metrics, adherence, recorder, council,
programs, store and debrief. A short real round, then the saved round and its debrief."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from server.room import Room
from server.store import Store
from shared import protocol as p
from shared.messages import parse_client_message
from tests.support.room import FakeConn


def test_a_real_round_is_saved_before_its_debrief(tmp_path: Path) -> None:
    store = Store(tmp_path / "history.db")
    order: list[str] = []
    real_save = store.save_round

    def save_round(*args: Any, **kwargs: Any) -> int:
        order.append("saved")
        return real_save(*args, **kwargs)

    store.save_round = save_round  # type: ignore[method-assign]

    class Watch(FakeConn):
        def send(self, data: bytes) -> bool:
            msg = p.parse_server_frame(data)
            if msg["type"] == "debrief":
                order.append("debrief")
            self.frames.append(msg)
            return True

    room = Room("ABCDE", clock=time.monotonic, scenario="open-road", bots=8, seed=3, store=store)
    host_conn, ana_conn = Watch(), FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=True)
    ana = room.join("Ana", "player", ana_conn)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    assert set(room.observers) == {"metrics", "adherence", "recorder"}
    room.seconds = 4.0
    room.step()
    first = ana_conn.last("snapshot")
    assert first["you"]["car"] == ana.car
    room.handle(ana, parse_client_message({"type": "control", "action": "signal_left"}))
    while room.phase == "driving":
        room.step()
    assert room.phase == "debrief"
    assert order == ["saved", "debrief"]
    debrief = ana_conn.last("debrief")
    assert debrief["round"] == 1 and debrief["scenario"] == "open-road"
    names = {d["name"] for d in debrief["drivers"] if d["kind"] == "player"}
    assert names == {"Host", "Ana"}
    assert room.game_id is not None, "the round's game was saved"
    saved = store.load_round(room.game_id, 1)
    assert saved["seed"] == room.seed
    snapshots = ana_conn.of("snapshot")
    scored = [s for s in snapshots if "score" in s.get("you", {})]
    assert scored, "individual scores reach the player's HUD"
    assert len(scored) <= len(snapshots) // 10 + 1  # every 10th tick, not every tick
    store.close()


def test_team_scoring_rounds_show_the_team_figures() -> None:
    room = Room("ABCDE", clock=time.monotonic, program="workshop", bots=6, seed=1)
    conn = FakeConn()
    host = room.join("Host", "host", conn, wants_car=True)
    player_conn = FakeConn()
    ana = room.join("Ana", "player", player_conn)
    assert conn.last("room")["rounds"] == 3 and conn.last("room")["scoring"] == "individual"
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    for _ in range(20):
        room.step()
    assert not any("team" in s for s in player_conn.of("snapshot"))
    assert any("team" in s for s in conn.of("snapshot"))  # the host always has them
    room.handle(host, parse_client_message({"type": "host", "command": "end"}))
    room.handle(host, parse_client_message({"type": "host", "command": "next"}))
    assert room.phase == "lobby" and room.plan.kind == "council"
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    assert conn.last("room")["phase"] == "council"
    room.handle(
        ana, parse_client_message({"type": "propose", "convention": "passing", "option": "right"})
    )
    room.handle(
        host, parse_client_message({"type": "vote", "convention": "passing", "option": "right"})
    )
    room.handle(
        ana, parse_client_message({"type": "vote", "convention": "merge", "option": "sideways"})
    )
    assert player_conn.last("error")["code"] in ("bad_option", "bad_value", "unknown_option")
    council = conn.last("room")["council"]
    assert council["tallies"]["passing"] == {"right": 2}
    room.handle(host, parse_client_message({"type": "host", "command": "end"}))
    assert room.phase == "lobby" and room.rulebook["passing"] == "right"
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    assert room.plan.scoring == "team"
    for _ in range(20):
        room.step()
    teams = [s["team"] for s in player_conn.of("snapshot") if "team" in s]
    assert teams and "flow_vph" in teams[-1]


def test_host_and_spectators_see_team_figures_in_individual_rounds() -> None:
    room = Room("ABCDE", clock=time.monotonic, scenario="open-road", bots=6, seed=2)
    host_conn, ana_conn, proj_conn = FakeConn(), FakeConn(), FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=True)
    room.join("Ana", "player", ana_conn)
    room.join("Projector", "spectator", proj_conn)
    assert room.plan.scoring == "individual"
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    for _ in range(25):
        room.step()
    for conn in (host_conn, proj_conn):
        teams = [s["team"] for s in conn.of("snapshot") if "team" in s]
        assert len(teams) in (2, 3) and "flow_vph" in teams[-1] and "mean_kmh" in teams[-1]
    assert not any("team" in s for s in ana_conn.of("snapshot"))
    # the host drives too: the whole ring, the team figures and their own score
    last = [s for s in host_conn.of("snapshot") if "team" in s][-1]
    assert last["you"]["car"] == host.car and "score" in last["you"]
    assert len(last["cars"]) == len(room.world.cars)
