"""Worlds are built off the event loop (server/room/lifecycle.py `Lifecycle.build`, server/net.py `build`).

A world factory that the test holds half-way through a build stands in for a slow one (a
200-bot world takes 15–30 ms): while it is held, another room keeps ticking (counted by the
server's own tick counter and that room's world), the building room has no world and ticks
none, its host's `next` and `bots` are answered `busy` and its `start` is queued with a
notice; once the build is let go the queued round starts on the world that was built.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from server.net import GameServer
from server.room import Room
from server.room.lifecycle import run_inline
from tests.support.fake_world import fake_factory
from tests.support.server_client import WireClient

SAFETY = 30.0  # seconds: a net for a broken build, never what the test waits on


class HeldFactory:
    """fake_factory, but once `hold` is set a build waits (off the loop) until `release`."""

    def __init__(self) -> None:
        self.hold = False
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.worlds: list[Any] = []
        self.threads: list[str] = []

    def __call__(self, *args: Any) -> tuple[Any, Any]:
        self.threads.append(threading.current_thread().name)
        if self.hold:
            self.entered.set()
            assert self.gate.wait(SAFETY), "the test never let the build go"
        scenario, world = fake_factory(*args)
        self.worlds.append(world)
        return scenario, world


async def until(condition: Callable[[], Any], what: str) -> None:
    deadline = time.monotonic() + SAFETY
    while not condition():
        assert time.monotonic() < deadline, f"not reached: {what}"
        await asyncio.sleep(0.01)


async def host_of(url: str, **create: Any) -> tuple[WireClient, str]:
    host = await WireClient.open(url)
    await host.send({"type": "hello", "protocol": 1, "name": "Host"})
    await host.send({"type": "create", "protocol": 1, "name": "Host", "play": True} | create)
    return host, (await host.until("joined"))["code"]


def test_a_held_build_keeps_other_rooms_ticking_and_answers_the_host() -> None:
    async def scenario() -> None:
        factory = HeldFactory()
        server = GameServer(world_factory=factory, analysis_workers=0)
        await server.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}"
        try:
            honest, honest_code = await host_of(url, scenario="open-road", bots=4)
            await honest.send({"type": "host", "command": "start"})
            await honest.until("room", phase="driving")
            builder, code = await host_of(url, program="quick", bots=4)
            room = server.registry.get(code)
            other = server.registry.get(honest_code)
            assert isinstance(room, Room) and isinstance(other, Room)
            await builder.send({"type": "host", "command": "next"})  # to the council's lobby
            await builder.until("room", phase="lobby", step=2)

            factory.hold = True
            await builder.send({"type": "host", "command": "next"})  # the last round's road
            await until(factory.entered.is_set, "the build began")
            assert room.building == "the next road" and room.world is None
            ticks, world_tick = server.ticker.stats.ticks, other.world.tick
            await until(
                lambda: (
                    server.ticker.stats.ticks >= ticks + 40 and other.world.tick >= world_tick + 20
                ),
                "the other room ticks while the build is held",
            )
            assert not factory.gate.is_set() and room.world is None  # still held: nothing ticked

            await builder.send({"type": "host", "command": "bots", "value": 5})
            busy = await builder.until("error")
            assert busy["code"] == "busy" and "still being built" in busy["message"]
            await builder.send({"type": "host", "command": "next"})
            assert (await builder.until("error"))["code"] == "busy"
            await builder.send({"type": "host", "command": "start"})
            queued = await builder.until("notice")
            assert queued["text"].startswith("Building the next road: the round starts")
            assert room.phase == "lobby"

            factory.gate.set()
            started = await builder.until("room", phase="driving")
            assert started["step"] == 3 and room.building is None
            assert room.world is factory.worlds[-1]
            assert factory.threads[-1].startswith("interlane-build")
            await builder.close()
            await honest.close()
        finally:
            factory.gate.set()
            await server.stop()

    asyncio.run(scenario())


def test_the_same_scenario_and_seed_build_the_same_world_off_the_loop() -> None:
    """Determinism does not depend on where the world is built."""

    async def scenario() -> None:
        server = GameServer(analysis_workers=0)
        await server.start("127.0.0.1", 0)
        try:
            rooms = []
            for _ in range(2):
                room = Room(
                    "ABCD",
                    clock=time.monotonic,
                    program="quick",
                    bots=30,
                    seed=7,
                    builder=server.build,
                )
                rooms.append(room)
            inline = Room("EFGH", clock=time.monotonic, program="quick", bots=30, seed=7)
            for room in rooms:
                room.step_index = 2
                room.lifecycle.prepare_step()
            await until(lambda: all(r.world is not None for r in rooms), "both built")
            inline.step_index = 2
            inline.lifecycle.prepare_step()
            states = [
                sorted((c.id, c.lane, round(c.x, 6), round(c.v, 6)) for c in r.world.cars.values())
                for r in (*rooms, inline)
            ]
            assert states[0] == states[1] == states[2]
        finally:
            await server.stop()

    asyncio.run(scenario())


def test_a_failed_build_tells_the_host_and_start_tries_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def flaky(*args: Any) -> tuple[Any, Any]:
        calls.append(1)
        if len(calls) == 2:
            raise ValueError("the disk is full")
        return fake_factory(*args)

    told: list[str] = []
    room = Room("ABCD", clock=time.monotonic, program="quick", world_factory=flaky)
    monkeypatch.setattr(room, "tell_host", told.append)
    room.builder = run_inline
    room.step_index = 2
    room.lifecycle.prepare_step()
    assert room.world is None and room.building is None
    assert told and "the disk is full" in told[0]
    room.lifecycle.begin_round()  # `start` builds the road again, then drives
    assert room.world is not None and room.phase == "driving"
