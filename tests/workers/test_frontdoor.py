"""`interlane server --workers 2`: a front door on the public port, rooms on two worker
processes, everything over real sockets (docs/architecture.md, "Workers, front doors and the
directory")."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest

from client.net import Connection, hello, route_url
from server.frontdoor import FrontDoor, locate
from server.store import Store
from shared.messages import ClientMessage, Create, ErrorReply, Join, Joined, ServerMessage
from tests.support.cluster import Cluster, create_room, join_room, until, worker_port


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path, workers=2)
    try:
        yield c
    finally:
        c.stop()


def test_route_url_puts_the_code_or_new_in_the_path() -> None:
    join = Join(code="ab-cd", name="A", role="player", protocol=1)
    assert route_url("ws://h:1", [hello("A"), join]) == "ws://h:1/r/ab-cd"
    assert route_url("ws://h:1/", [hello("A"), Create(protocol=1, name="A")]) == "ws://h:1/new"
    assert route_url("ws://h:1", [hello("A")]) == "ws://h:1"


async def test_rooms_spread_joins_and_rejoins_reach_the_right_worker(cluster: Cluster) -> None:
    ports = {w["port"] for w in cluster.health()["workers"]}
    assert len(ports) == 2
    hosts = [await create_room(cluster.url, f"Host{i}", scenario="open-road") for i in range(4)]
    assert {worker_port(h) for h, _ in hosts} == ports  # both workers hold rooms

    for host, joined in hosts:
        code = joined["code"]
        player, mine = await join_room(cluster.url, code.lower(), "Ana")
        assert worker_port(player) == worker_port(host)
        # the host sees Ana and Ana sees the host: the same room
        room = await until(host, "room")
        while "Ana" not in {e["name"] for e in room["players"]}:
            room = await until(host, "room")
        seen = await until(player, "room")
        assert {"Ana", joined_name(host, hosts)} <= {e["name"] for e in seen["players"]}

    # a drop, then a rejoin with the token through the front door gets the same car back
    host, joined = hosts[0]
    code = joined["code"]
    player, mine = await join_room(cluster.url, code, "Ben")
    await host.send({"type": "host", "command": "start"})
    room = await until(player, "room", phase="driving")
    car = next(e["car"] for e in room["players"] if e["id"] == mine["player"])
    assert car is not None
    await player.close()
    again, rejoined = await join_room(cluster.url, code, "x", token=mine["token"])
    assert worker_port(again) == worker_port(host)
    assert (rejoined["car"], rejoined["player"]) == (car, mine["player"])
    snap = await until(again, "snapshot")
    assert snap["you"]["car"] == car
    for c, _ in hosts:
        await c.close()


def joined_name(host: Any, hosts: list) -> str:
    index = next(i for i, (h, _) in enumerate(hosts) if h is host)
    return f"Host{index}"


async def test_an_unknown_code_gives_the_clients_usual_error(cluster: Cluster) -> None:
    messages: list[ServerMessage] = []
    statuses: list[tuple[str, str]] = []
    join = Join(protocol=1, code="ZZZZZ", name="Ana", role="player")
    conn = Connection(
        cluster.url,
        on_message=messages.append,
        on_status=lambda state, text: statuses.append((state, text)),
        opening=lambda: [hello("Ana"), join],
    )
    await asyncio.wait_for(conn.run(), 30)
    assert conn.fatal == "there is no room with that code"
    assert messages == [ErrorReply(code="no_room", message="there is no room with that code")]
    assert statuses[-1] == ("closed", "Disconnected: there is no room with that code")


async def _finish_a_round(host: Any) -> int:
    """Drive a `quick` room's first round to its debrief (which is saved before it is sent)."""
    await host.send({"type": "host", "command": "start"})
    await until(host, "room", phase="driving")
    first = await until(host, "snapshot")
    while (await until(host, "snapshot"))["tick"] < first["tick"] + 20:
        pass
    await host.send({"type": "host", "command": "end"})
    return int((await until(host, "debrief"))["round"])


async def test_a_killed_worker_tells_its_players_and_keeps_its_history(cluster: Cluster) -> None:
    host, joined = await create_room(cluster.url, "Ana", program="quick", bots=10, play=True)
    code = joined["code"]
    round_no = await _finish_a_round(host)
    port = worker_port(host)
    victim = next(w for w in cluster.health()["workers"] if w["port"] == port)
    survivor = next(w for w in cluster.health()["workers"] if w["port"] != port)

    # a player in that room, on the real client's connection, reconnecting through the door
    messages: list[ServerMessage] = []
    joined_event = asyncio.Event()
    state: dict[str, Any] = {}

    def on_message(msg: ServerMessage) -> None:
        messages.append(msg)
        if isinstance(msg, Joined):
            state.update(code=msg.code, token=msg.token)
            joined_event.set()

    def opening() -> list[ClientMessage]:
        token = state.get("token")
        return [hello("Ben"), Join(protocol=1, code=code, name="Ben", role="player", token=token)]

    conn = Connection(cluster.url, on_message, lambda s, t: None, opening)
    running = asyncio.create_task(conn.run())
    await asyncio.wait_for(joined_event.wait(), 30)

    os.kill(victim["pid"], signal.SIGKILL)
    killed = time.monotonic()
    await asyncio.wait_for(running, 30)
    told_after = time.monotonic() - killed
    assert conn.fatal is not None and "stopped" in conn.fatal
    last = messages[-1]
    assert isinstance(last, ErrorReply) and last.code == "room_closed"
    assert told_after < 5.0, told_after

    # new rooms open on a live worker
    other, _ = await create_room(cluster.url, "Cy", scenario="open-road")
    assert worker_port(other) != port
    assert worker_port(other) in {survivor["port"]} | {
        w["port"] for w in cluster.health()["workers"] if w["alive"]
    }
    await other.close()

    # the dead worker's finished round is in the shared history
    with Store(cluster.db) as store:
        games = [g for g in store.list_games() if g["code"] == code]
        assert games, store.list_games()
        assert round_no in store.round_numbers(games[0]["id"])

    # and the supervisor brings the worker back
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = cluster.health()["workers"]
        if all(w["alive"] for w in workers) and any(w["restarts"] == 1 for w in workers):
            break
        await asyncio.sleep(0.2)
    assert all(w["alive"] for w in workers)
    cluster.pids = [w["pid"] for w in workers]


async def test_a_killed_front_door_loses_no_room(cluster: Cluster) -> None:
    host, _ = await create_room(cluster.url, "Ana", scenario="open-road")
    await host.send({"type": "host", "command": "start"})
    await until(host, "room", phase="driving")
    health_before = cluster.health()["workers"]
    cluster.proc.kill()
    cluster.proc.wait()
    # the room keeps ticking and answering on the worker's own socket
    first = (await until(host, "snapshot"))["tick"]
    while (await until(host, "snapshot"))["tick"] < first + 20:
        pass
    await host.send({"type": "ping", "t": 2.5})
    assert (await until(host, "pong"))["t"] == 2.5
    # an orphaned worker ends once it holds no room: the idle one at once, the other
    # keeps the host's seat (2 minutes after a drop) and stays
    busy = worker_port(host)
    idle_pid = next(w["pid"] for w in health_before if w["port"] != busy)
    busy_pid = next(w["pid"] for w in health_before if w["port"] == busy)
    await host.close()

    def gone(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{pid}/stat") as stat:  # an exited child nobody reaped yet
            return stat.read().split(") ", 1)[1].startswith("Z")

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not gone(idle_pid):
        await asyncio.sleep(0.1)
    assert gone(idle_pid) and not gone(busy_pid)


def test_locate_names_a_worker_on_every_address_as_the_client_named_the_door() -> None:
    assert locate("ws://0.0.0.0:9001", "play.example.org") == "ws://play.example.org:9001"
    assert locate("ws://0.0.0.0:9001", "::1") == "ws://[::1]:9001"
    assert locate("wss://a.example.org:9001", "b.example.org") == "wss://a.example.org:9001"


async def test_a_front_door_answers_junk_paths_with_404_and_no_workers_with_503() -> None:
    door = FrontDoor([], None, "key")
    stop = asyncio.Event()
    serving = asyncio.create_task(door.serve("127.0.0.1", 0, None, stop))
    while door.port is None:
        await asyncio.sleep(0.01)

    def ask(path: str) -> tuple[int, bytes]:
        conn = HTTPConnection("127.0.0.1", door.port, timeout=10)
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()

    try:
        for path in ("/r/", "/r/%00%ff", "/r/" + "A" * 5000, "/r/../../etc", "/nope"):
            status, _ = await asyncio.to_thread(ask, path)
            assert status == 404, path
        status, body = await asyncio.to_thread(ask, "/r/ABCDE")
        assert (status, body) == (404, b"there is no room with that code\n")
        assert (await asyncio.to_thread(ask, "/new"))[0] == 503
        status, body = await asyncio.to_thread(ask, "/healthz")
        assert status == 503 and json.loads(body)["workers"] == []
    finally:
        stop.set()
        await serving


async def test_stopping_the_front_door_stops_its_workers_and_tells_their_players(
    cluster: Cluster,
) -> None:
    host, _ = await create_room(cluster.url, "Ana", scenario="open-road")
    cluster.proc.send_signal(signal.SIGTERM)
    bye = await until(host, "bye")
    assert bye["reason"]
    assert await asyncio.to_thread(cluster.proc.wait, 60) == 0
    for pid in cluster.pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
