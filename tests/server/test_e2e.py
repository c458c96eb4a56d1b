"""End to end over a real socket on a free loopback port; time is driven tick by tick."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from http.client import HTTPConnection

import pytest

from server.net import GameServer, Limits
from server.room import Room
from server.room.lifecycle import default_world_factory
from shared import protocol as p
from tests.support.fake_world import fake_factory
from tests.support.server_client import WireClient


@pytest.fixture
async def server() -> AsyncIterator[GameServer]:
    srv = GameServer(
        manual=True, limits=Limits(join_burst=1000), world_factory=default_world_factory
    )
    await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop()


def url(srv: GameServer) -> str:
    return f"ws://127.0.0.1:{srv.port}"


async def test_host_players_control_rejoin_and_end(server: GameServer) -> None:
    host = await WireClient.open(url(server))
    await host.send({"type": "hello", "protocol": 1})
    assert (await host.until("welcome"))["protocol"] == 1
    # a fixed seed: on about 3 % of seeds Ana's unchecked lane change hits a car alongside
    # and her crashed car stays in its lane (by design), which is not what this test is about
    create = {"type": "create", "protocol": 1, "name": "Host", "scenario": "open-road", "seed": 1}
    await host.send(create)
    joined = await host.until("joined")
    code = joined["code"]
    assert joined["role"] == "host" and len(code) == p.CODE_LENGTH
    assert set(code) <= set(p.CODE_ALPHABET)

    players = []
    for name in ("Ana", "Ben"):
        c = await WireClient.open(url(server))
        await c.send(
            {"type": "join", "protocol": 1, "code": code.lower(), "name": name, "role": "player"}
        )
        players.append((c, await c.until("joined")))
    ana, ana_joined = players[0]
    ben, _ = players[1]

    await host.send({"type": "host", "command": "start"})
    room = await ana.until("room", phase="driving")
    my_car = next(e["car"] for e in room["players"] if e["id"] == ana_joined["player"])
    assert my_car is not None

    await server.advance(1)
    first = await ana.until("snapshot")
    assert first["you"]["car"] == my_car
    lane = first["you"]["lane"]
    action = "left" if lane == 0 else "right"
    await ana.send({"type": "control", "action": action})
    await ana.send({"type": "ping", "t": 1.5})
    assert (await ana.until("pong"))["t"] == 1.5  # the control was read before the ping
    await server.advance(60)  # a lane change takes a couple of seconds in the real sim
    snap = first
    while snap["tick"] < first["tick"] + 60:
        snap = await ana.until("snapshot")
    assert snap["you"]["lane"] != lane

    # Ana drops; a bot drives her car; she rejoins with her token and gets it back
    await ana.close()
    for _ in range(50):
        await server.advance(1)
        if room_car_controller(server, code, my_car) == "bot":
            break
    assert room_car_controller(server, code, my_car) == "bot"
    again = await WireClient.open(url(server))
    await again.send(
        {
            "type": "join",
            "protocol": 1,
            "code": code,
            "name": "x",
            "role": "player",
            "token": ana_joined["token"],
        }
    )
    rejoined = await again.until("joined")
    assert rejoined["car"] == my_car and rejoined["player"] == ana_joined["player"]
    assert room_car_controller(server, code, my_car) == "player"
    await server.advance(1)
    assert (await again.until("snapshot"))["you"]["car"] == my_car

    await host.send({"type": "host", "command": "end"})
    for c in (host, ben, again):
        await c.until("room", phase="debrief")
    for c in (host, ben, again):
        assert (await c.until("debrief"))["round"] == 1
    for c in (host, ben, again):
        await c.close()


def room_car_controller(server: GameServer, code: str, car: int) -> str:
    room = server.registry.get(code)
    assert isinstance(room, Room) and room.world is not None
    return room.world.cars[car].controller


async def test_non_host_host_command_over_the_wire(server: GameServer) -> None:
    host = await WireClient.open(url(server))
    await host.send({"type": "create", "protocol": 1, "name": "H", "scenario": "open-road"})
    code = (await host.until("joined"))["code"]
    ana = await WireClient.open(url(server))
    await ana.send({"type": "join", "protocol": 1, "code": code, "name": "A", "role": "player"})
    await ana.until("joined")
    await ana.send({"type": "host", "command": "start"})
    assert (await ana.until("error"))["code"] == "forbidden"
    room = server.registry.get(code)
    assert isinstance(room, Room) and room.phase == "lobby"
    await host.close()
    await ana.close()


async def test_protocol_99_is_refused_and_closed(server: GameServer) -> None:
    c = await WireClient.open(url(server))
    await c.send({"type": "join", "protocol": 99, "code": "ABCDE", "name": "x", "role": "player"})
    assert (await c.until("error"))["code"] == "protocol"
    await asyncio.wait_for(c.ws.wait_closed(), 5)
    assert c.ws.close_code == 1008


async def test_unknown_code_and_health_check(server: GameServer) -> None:
    c = await WireClient.open(url(server))
    await c.send({"type": "join", "protocol": 1, "code": "ZZZZZ", "name": "x", "role": "player"})
    assert (await c.until("error"))["code"] == "no_room"
    await c.close()

    def get() -> tuple[int, bytes]:
        conn = HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("GET", "/healthz")
        resp = conn.getresponse()
        return resp.status, resp.read()

    assert await asyncio.to_thread(get) == (200, b"OK\n")


async def test_stop_says_bye_and_closes_cleanly() -> None:
    srv = GameServer(manual=True, world_factory=fake_factory)
    await srv.start("127.0.0.1", 0)
    c = await WireClient.open(url(srv))
    await c.send({"type": "create", "protocol": 1, "name": "H", "scenario": "x"})
    await c.until("joined")
    await srv.stop()
    assert (await c.until("bye"))["reason"]
    await asyncio.wait_for(c.ws.wait_closed(), 5)
    assert c.ws.close_code == 1001


async def test_unknown_scenario_or_program_is_an_error_not_a_room(server: GameServer) -> None:
    c = await WireClient.open(url(server))
    await c.send({"type": "create", "protocol": 1, "name": "H", "scenario": "no-such-road"})
    assert (await c.until("error"))["code"] == "bad_value"
    await c.send({"type": "create", "protocol": 1, "name": "H", "program": "no-such-program"})
    assert (await c.until("error"))["code"] == "bad_value"
    await server.advance(1)
    assert len(server.registry) == 0
    await c.send({"type": "create", "protocol": 1, "name": "H", "program": "quick", "play": True})
    joined = await c.until("joined")
    room = await c.until("room")
    assert room["program"] == "quick" and room["host"] == joined["player"]
    await c.close()
