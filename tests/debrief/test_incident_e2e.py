"""End to end: the host blocks a lane over a real websocket, and the debrief the server sends
back holds that incident as a wave root, named the host's, costed by the replay without it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.net import GameServer, Limits
from server.room.lifecycle import default_world_factory
from shared import protocol as p
from shared.sim.scenario import SCENARIO_DIR, register_scenario
from tests.support.server_client import WireClient

SAFETY_NET_S = 300.0  # the analysis runs on a thread; this only catches a broken server


def short_rush_hour(tmp_path: Path, seconds: int) -> str:
    """rush-hour, as long as `seconds`, registered by name for rooms of this process."""
    text = (SCENARIO_DIR / "rush-hour.toml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^seconds = \d+", f"seconds = {seconds}", text, count=1)
    assert n == 1
    path = tmp_path / "short-rush-hour.toml"
    path.write_text(text, encoding="utf-8")
    return register_scenario(path)


@pytest.fixture
async def server() -> AsyncIterator[GameServer]:
    srv = GameServer(
        manual=True,
        limits=Limits(join_burst=1000),
        world_factory=default_world_factory,
        analysis_workers=0,  # analysed on a thread: no process pool for one round
    )
    await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop()


async def test_the_hosts_incident_comes_back_as_a_costed_root(
    server: GameServer, tmp_path: Path
) -> None:
    name = short_rush_hour(tmp_path, seconds=50)
    host = await WireClient.open(f"ws://127.0.0.1:{server.port}")
    await host.send({"type": "create", "protocol": 1, "name": "Host", "scenario": name})
    await host.until("joined")
    room = next(iter(server.registry))
    await host.send({"type": "host", "command": "start"})
    await host.until("room", phase="driving")
    # from here on the host reads everything as it comes (as a client does), so the server's
    # pings are answered however long the ticks take on a busy machine
    debriefs: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def read() -> None:
        async for frame in host.ws:
            msg = p.parse_server_frame(frame)
            if msg["type"] == "debrief" and not debriefs.done():
                debriefs.set_result(msg)

    reader = asyncio.create_task(read())
    await server.advance(300)  # 15 s of driving, tick by tick
    await host.send({"type": "host", "command": "incident", "lane": 0, "x": 300.0, "seconds": 25.0})
    for _ in range(200):  # the command is read between ticks
        await server.advance(1)
        if room.world.log and room.world.log[-1][1] == "incident":
            break
    at = next(tick for tick, op, _ in room.world.log if op == "incident")
    while room.phase == "driving":
        await server.advance(20)
    debrief = await asyncio.wait_for(debriefs, SAFETY_NET_S)
    reader.cancel()
    roots = [r for r in debrief["roots"] if r["kind"] == "incident"]
    assert len(roots) == 1
    root = roots[0]
    assert root["cause"] == "host" and root["car"] is None and root["lane"] == 0
    assert abs(root["t"] - at * 0.05) < 1.0
    assert root["counterfactual"] is not None and root["counterfactual"]["cost_vs"] > 0
    assert root["text"].startswith("The host's incident in lane 1 at ")
    await host.close()
