"""A room's scenario comes from a name, never from a path that arrived over the network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.net import GameServer, Limits
from server.round import default_world_factory
from shared.messages import parse_client_message
from shared.sim.scenario import (
    SCENARIO_DIR,
    ScenarioError,
    list_scenarios,
    load_scenario,
    register_scenario,
)
from tests.support.server_client import WireClient


@pytest.fixture
async def server() -> AsyncIterator[GameServer]:
    srv = GameServer(
        manual=True, limits=Limits(join_burst=1000), world_factory=default_world_factory
    )
    await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop()


@pytest.mark.parametrize(
    "scenario",
    [
        str(SCENARIO_DIR / "ring.toml"),  # a real, valid scenario file: still refused by path
        "/etc/passwd",
        "../../../etc/hostname.toml",
        "ring.toml",
    ],
)
async def test_paths_in_create_are_refused_without_revealing_files(
    server: GameServer, scenario: str
) -> None:
    c = await WireClient.open(f"ws://127.0.0.1:{server.port}")
    await c.send({"type": "create", "protocol": 1, "name": "H", "scenario": scenario})
    error = await c.until("error")
    assert error["code"] == "bad_value"
    assert "no such file" not in error["message"] and "cannot read" not in error["message"]
    assert "TOML" not in error["message"]
    await server.advance(1)
    assert len(server.registry) == 0
    await c.close()


def test_a_registered_file_is_reachable_by_name_only(tmp_path: Path) -> None:
    text = (SCENARIO_DIR / "ring.toml").read_text(encoding="utf-8")
    path = tmp_path / "my road.toml"
    path.write_text(text, encoding="utf-8")
    name = register_scenario(path)
    assert name in list_scenarios()
    assert name != "ring"  # never shadows a built-in
    assert load_scenario(name, allow_paths=False).lanes == load_scenario("ring").lanes
    with pytest.raises(ScenarioError):
        load_scenario(str(path), allow_paths=False)


def test_a_scenario_rooms_round_takes_the_scenarios_own_length(tmp_path: Path) -> None:
    import re
    import time

    from server.round import Room
    from tests.server.test_room import FakeConn

    text = (SCENARIO_DIR / "ring.toml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^seconds = \d+", "seconds = 2", text, count=1)
    assert n == 1
    path = tmp_path / "quick.toml"
    path.write_text(text, encoding="utf-8")
    name = register_scenario(path)
    room = Room("ABCDE", clock=time.monotonic, scenario=name, bots=4, seed=5)
    conn = FakeConn()
    host = room.join("Host", "host", conn, wants_car=True)
    assert conn.last("room")["seconds"] == 2.0
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    while room.phase == "driving":
        room.step()
    assert room.world.tick == 40
    assert conn.last("debrief")["round"] == 1
