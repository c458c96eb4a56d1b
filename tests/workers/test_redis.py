"""The directory in a real Redis: two "machines" (front door + workers each) on one host share
it, and rooms survive Redis going away (docs/architecture.md, "Two machines behind one
address")."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import redis

from server.directory import shown_url
from tests.support.cluster import (
    Cluster,
    RedisServer,
    create_room,
    join_room,
    until,
    worker_port,
)


def _machine(tmp: Path, name: str, redis_url: str) -> Cluster:
    home = tmp / name
    home.mkdir()
    return Cluster(home, workers=2, extra=["--redis", redis_url])


async def test_a_room_made_through_front_door_a_is_joined_through_front_door_b(
    tmp_path: Path,
) -> None:
    store = RedisServer(tmp_path)
    a = b = None
    try:
        a = _machine(tmp_path, "a", store.url)
        b = _machine(tmp_path, "b", store.url)
        a_ports = {w["port"] for w in a.health()["workers"]}
        host, joined = await create_room(a.url, "Ana", scenario="open-road")
        assert worker_port(host) in a_ports
        player, _ = await join_room(b.url, joined["code"], "Ben")
        assert worker_port(player) == worker_port(host)
        room = await until(host, "room")
        while "Ben" not in {e["name"] for e in room["players"]}:
            room = await until(host, "room")
        assert b.health()["directory"] == {
            "kind": "redis",
            "reachable": True,
            "error": "",
            "workers": 4,
        }
        await host.close()
        await player.close()
    finally:
        for machine in (a, b):
            if machine is not None:
                machine.stop()
        store.stop()


def _wait(check: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


async def test_rooms_keep_running_while_redis_is_away_and_the_directory_heals(
    tmp_path: Path,
) -> None:
    store = RedisServer(tmp_path)
    machine = None
    try:
        machine = _machine(tmp_path, "a", store.url)
        host, joined = await create_room(machine.url, "Ana", scenario="open-road")
        code = joined["code"]
        await host.send({"type": "host", "command": "start"})
        await until(host, "room", phase="driving")

        store.stop()
        assert await asyncio.to_thread(
            _wait, lambda: machine.health()["directory"]["reachable"] is False
        )
        health = machine.health()
        assert health["ok"] and health["directory"]["error"]
        # the room keeps ticking, and new rooms still open on this machine's workers
        first = (await until(host, "snapshot"))["tick"]
        while (await until(host, "snapshot"))["tick"] < first + 20:
            pass
        other, other_joined = await create_room(machine.url, "Cy", scenario="open-road")
        player, _ = await join_room(machine.url, other_joined["code"], "Dee")
        assert worker_port(player) == worker_port(other)

        store.start()  # an empty Redis: the workers' refreshes fill it again
        client = redis.Redis.from_url(store.url, decode_responses=True)
        ports = {str(worker_port(host)), str(worker_port(other))}

        def whole() -> bool:
            try:
                rooms = {c: client.get(f"interlane:room:{c}") for c in (code, other_joined["code"])}
            except redis.RedisError:
                return False
            owners = [v for v in rooms.values() if isinstance(v, str) and v]
            return len(owners) == len(rooms) and {v.rsplit(":", 1)[1] for v in owners} == ports

        assert await asyncio.to_thread(_wait, whole)
        assert await asyncio.to_thread(
            _wait, lambda: machine.health()["directory"]["reachable"] is True
        )
        client.close()
        for c in (host, other, player):
            await c.close()
    finally:
        if machine is not None:
            machine.stop()
        store.stop()


def test_a_redis_password_never_reaches_the_log() -> None:
    assert shown_url("redis://:secret@h:6379/0") == "redis://:***@h:6379/0"
    assert shown_url("redis://u:pw@h/1") == "redis://u:***@h/1"
    assert shown_url("redis://h:1/0") == "redis://h:1/0"
