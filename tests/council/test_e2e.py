"""The whole `workshop` program over real loopback websockets, time driven tick by tick.

Round 1 with no rules → a council where proposals, votes and a tie broken by the host make
the rulebook → round 2 drives under it (and the steady bots hold the other side of the road)
→ the shock round keeps it → the program finishes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.net import GameServer, Limits
from shared.sim.world import DT
from tests.support.server_client import TIMEOUT, WireClient

BOTS = 30
DRIVE_S = 45.0


class Pumped:
    """A client whose messages are read as they come, so the server never has to skip it
    while the test advances many ticks; `until` then looks through what arrived."""

    def __init__(self, client: WireClient) -> None:
        self.client = client
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                await self.queue.put(await self.client.recv())
        except Exception:
            return

    async def send(self, message: dict[str, Any]) -> None:
        await self.client.send(message)

    async def until(self, kind: str, **match: Any) -> dict[str, Any]:
        while True:
            msg = await asyncio.wait_for(self.queue.get(), TIMEOUT)
            if msg["type"] == kind and all(msg.get(k) == v for k, v in match.items()):
                return msg

    async def until_where(
        self, kind: str, ready: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        while True:
            msg = await self.until(kind)
            if ready(msg):
                return msg

    async def close(self) -> None:
        self.task.cancel()
        await self.client.close()


@pytest.fixture
async def server() -> AsyncIterator[GameServer]:
    srv = GameServer(manual=True, limits=Limits(join_burst=1000))
    await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop()


async def connect(srv: GameServer, message: dict[str, Any]) -> tuple[Pumped, dict[str, Any]]:
    client = Pumped(await WireClient.open(f"ws://127.0.0.1:{srv.port}"))
    await client.send(message)
    return client, await client.until("joined")


def steady_mean_lane(world: Any) -> float:
    steady = [c for c in world.cars.values() if c.personality == "steady" and c.controller == "bot"]
    return sum(c.lane_index for c in steady) / len(steady)


async def council_until(client: Pumped, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first council state (from `room` messages) for which `ready` holds."""
    while True:
        state = (await client.until("room", phase="council"))["council"]
        if ready(state):
            return state


async def drive(srv: GameServer, room: Any, seconds: float) -> None:
    start = room.world.tick
    while room.world.tick - start < round(seconds / DT):
        await srv.advance(20)


async def test_workshop_program_end_to_end(server: GameServer) -> None:
    host, joined = await connect(
        server,
        {
            "type": "create",
            "protocol": 1,
            "name": "Host",
            "program": "workshop",
            "bots": BOTS,
            "seed": 11,
        },
    )
    code = joined["code"]
    room = server.registry.get(code)
    assert room is not None
    players = {}
    for name in ("Ana", "Ben", "Cy"):
        players[name] = await connect(
            server, {"type": "join", "protocol": 1, "code": code, "name": name, "role": "player"}
        )
    everyone = [host] + [c for c, _ in players.values()]
    lobby = await host.until("room", phase="lobby")
    assert lobby["program"] == "workshop" and lobby["rounds"] == 3

    # Round 1: every driver for themselves, individual scoring, no agreed rules
    await host.send({"type": "host", "command": "start"})
    first = await host.until("room", phase="driving")
    assert first["scoring"] == "individual"
    assert first["rulebook"]["passing"] == "free"
    await drive(server, room, DRIVE_S)
    free_lane = steady_mean_lane(room.world)
    await host.send({"type": "host", "command": "end"})
    await host.until("debrief")
    await host.send({"type": "host", "command": "next"})
    await host.until("room", phase="lobby")

    # The council: proposals, votes, a tie the host breaks
    await host.send({"type": "host", "command": "start"})
    for client in everyone:
        await client.until("room", phase="council")
    ana, ben, cy = (players[n][0] for n in ("Ana", "Ben", "Cy"))
    await ana.send({"type": "propose", "convention": "passing", "option": "left"})
    await ben.send({"type": "vote", "convention": "passing", "option": "left"})
    await cy.send({"type": "propose", "convention": "passing", "option": "right"})
    await host.send({"type": "vote", "convention": "passing", "option": "right"})
    await ana.send({"type": "propose", "convention": "signal", "option": "required"})
    await ben.send({"type": "vote", "convention": "signal", "option": "required"})
    await cy.send({"type": "vote", "convention": "signal", "option": "required"})
    await cy.send({"type": "vote", "convention": "speed_limit", "option": "90"})
    assert (await cy.until("error"))["code"] == "unknown_option"
    # Ben changes his mind and back again: only his last vote counts
    await ben.send({"type": "vote", "convention": "passing", "option": "right"})
    await ben.send({"type": "vote", "convention": "passing", "option": "left"})
    await server.advance(1)
    state = await council_until(
        host, lambda s: s["tallies"].get("signal", {}).get("required") == 3 and len(s["votes"]) == 7
    )
    assert state["tallies"]["passing"] == {"left": 2, "right": 2}
    assert state["ties"] == {"passing": ["right", "left"]}
    assert state["result"]["passing"] == "free"  # a tie keeps what was there
    await host.send(
        {"type": "host", "command": "decide", "convention": "passing", "option": "left"}
    )
    state = await council_until(host, lambda s: bool(s["decided"]))
    assert state["decided"] == {"passing": "left"}
    assert state["result"]["passing"] == "left"
    # the host adds ten seconds; then the countdown, driven by ticks, closes the council
    await host.send({"type": "host", "command": "extend", "seconds": 10})
    state = await council_until(host, lambda s: s["remaining"] > 185)
    ticks = 0
    while room.phase == "council":
        await server.advance(20)
        ticks += 20
    assert ticks * DT == pytest.approx(state["remaining"], abs=1.0)
    after = await host.until("room", phase="lobby")
    assert after["rulebook"]["passing"] == "left"
    assert after["rulebook"]["signal"] == "required"

    # Round 2: shared rules, team scoring; the bots now keep left
    await host.send({"type": "host", "command": "start"})
    second = await host.until("room", phase="driving")
    assert second["scoring"] == "team" and second["rulebook"]["passing"] == "left"
    assert room.world.rulebook["passing"] == "left"
    await drive(server, room, DRIVE_S)
    left_lane = steady_mean_lane(room.world)
    assert left_lane > free_lane + 0.1, (free_lane, left_lane)
    assert room.observers["adherence"].rulebook["passing"] == "left"
    # the live team score carries the adherence to the agreed rulebook
    snap = await ana.until_where("snapshot", lambda m: bool(m.get("team")))
    assert 0 <= snap["team"]["adherence"] <= 100
    # Ana changes lanes without signalling: the feed names her as it happens
    ana_car = room.world.cars[next(m.car for m in room.roster if m.name == "Ana")]
    assert ana_car.signal == 0 and not ana_car.crashed
    move = "left" if ana_car.lane_index < room.world.lanes - 1 else "right"
    await ana.send({"type": "control", "action": move})
    await ana.send({"type": "ping", "t": 1.0})
    await ana.until("pong")  # the control has been read
    await server.advance(2)
    flagged = "Ana changed lanes without signalling"
    await ana.until_where("snapshot", lambda m: any(e.get("text") == flagged for e in m["events"]))
    await host.send({"type": "host", "command": "end"})
    await host.until("debrief")
    await host.send({"type": "host", "command": "next"})

    # Round 3: the shock, same rulebook on a closing lane
    third_lobby = await host.until("room", phase="lobby")
    assert third_lobby["scenario"] == "lane-closure"
    assert third_lobby["rulebook"]["passing"] == "left"
    await host.send({"type": "host", "command": "start"})
    await host.until("room", phase="driving")
    await server.advance(100)
    await host.send({"type": "host", "command": "end"})
    await host.until("debrief")
    await host.send({"type": "host", "command": "next"})
    await host.until("room", phase="finished")
    for client in everyone:
        await client.close()


async def test_a_program_path_over_the_wire_is_refused_but_a_registered_file_runs(
    server: GameServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.programs as programs

    monkeypatch.setattr(programs, "_REGISTERED", {})
    path = tmp_path / "day.toml"
    path.write_text('name = "day"\n[[steps]]\nkind = "round"\nscenario = "ring"\nseconds = 60\n')
    client = Pumped(await WireClient.open(f"ws://127.0.0.1:{server.port}"))
    for hostile in ("/etc/hosts", "../../etc/hosts", path.name):
        await client.send({"type": "create", "protocol": 1, "name": "H", "program": hostile})
        error = await client.until("error")
        assert "one of the programs" in error["message"]
    name = programs.register_program(path)  # what `interlane host --program FILE` does
    await client.send({"type": "create", "protocol": 1, "name": "H", "program": name})
    await client.until("joined")
    room = await client.until("room", phase="lobby")
    assert room["program"] == "day" and room["scenario"] == "ring"
    await client.close()
