"""Attacks that cost the server more than they cost the attacker (issue 14), over real sockets.

Each test asserts bounds and correctness, never a rate: the honest player's snapshots are
counted against the server's ticks (manual `advance`, one snapshot per tick expected), and
the attacker is followed until the server has dealt with it (a condition, polled with a
safety net), not for a fixed time. benchmarks/attacks.py measures the rates under the same
attacks on a real ticking server.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from server.net import GameServer, Limits
from server.store import Store
from shared import protocol as p
from shared.messages import RoomState, parse_client_message
from tests.support.fake_world import fake_factory
from tests.support.server_client import WireClient

SAFETY = 30.0  # seconds: a broken server fails the test instead of hanging it


class TickClock:
    """The server's clock in manual tests: it moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def quick_analysis(request: Any) -> dict[str, Any]:
    """The analysis stand-in: the fake world's rounds have no real scenario to analyse."""
    return {"round": request.round_no, "scenario": "x", "metrics": {"ticks": request.inputs.ticks}}


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def until(condition: Any, what: str) -> None:
    """Poll `condition()` until true (it depends on the server catching up, not on luck)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SAFETY
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.01)


async def raw_websocket(
    port: int, source: str = "127.0.0.1", rcvbuf: int | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A socket that has done the opening handshake and from then on only writes frames."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


def ping_frame(payload: bytes = b"") -> bytes:
    """A masked client PING (the mask is zero, so the payload goes as it is)."""
    return bytes((0x89, 0x80 | len(payload))) + b"\0\0\0\0" + payload


async def honest_room(url: str) -> WireClient:
    honest = await WireClient.open(url)
    await honest.send({"type": "create", "protocol": 1, "name": "A", "scenario": "x", "play": True})
    await honest.until("joined")
    await honest.send({"type": "host", "command": "start"})
    await honest.until("room", phase="driving")
    return honest


async def every_tick_has_its_snapshot(
    server: GameServer, clock: TickClock, honest: WireClient, ticks: int
) -> None:
    first = None
    for _ in range(ticks):
        clock.now += 0.05
        await server.advance(1)
        tick = (await honest.until("snapshot"))["tick"]
        first = tick if first is None else first + 1
        assert tick == first


def test_a_ping_flood_spends_the_message_allowance_and_is_closed() -> None:
    async def flood() -> None:
        clock = TickClock()
        server = GameServer(manual=True, clock=clock, world_factory=fake_factory)
        await server.start("127.0.0.1", 0)
        try:
            honest = await honest_room(f"ws://127.0.0.1:{server.port}")
            before = rss_bytes()
            reader, writer = await raw_websocket(server.port, source="127.0.0.2")
            await until(lambda: len(server.clients) == 2, "the attacker is connected")
            (attacker,) = [c for c in server.clients if c.ws.remote_address[0] == "127.0.0.2"]
            sent = 0
            with pytest.raises((ConnectionError, OSError)):  # noqa: PT012
                while sent < 1_000_000:
                    writer.write(ping_frame(b"x" * 125) * 100)
                    sent += 100
                    await writer.drain()
                    if attacker not in server.clients:
                        raise ConnectionResetError("closed by the server")
            # the allowance (80 at once, 40 a second, abuse closes past 100 more) ran out
            assert attacker.pings < 1_000
            assert attacker.closing
            await until(lambda: attacker not in server.clients, "the attacker is dropped")
            assert rss_bytes() - before < 100 * 2**20
            await every_tick_has_its_snapshot(server, clock, honest, 20)
            writer.close()
            await honest.close()
        finally:
            await server.stop()

    asyncio.run(flood())


def test_a_connection_that_never_reads_is_dropped_whatever_fills_its_buffer() -> None:
    """PINGs are allowed here without limit: the write buffer's bound alone must end it."""

    async def never_reads() -> None:
        clock = TickClock()
        limits = Limits(
            messages_per_second=1e9,
            message_burst=1e9,
            stuck_bytes=256 * 1024,
            stuck_seconds=0.2,
        )
        server = GameServer(manual=True, clock=clock, world_factory=fake_factory, limits=limits)
        await server.start("127.0.0.1", 0)
        try:
            honest = await honest_room(f"ws://127.0.0.1:{server.port}")
            before = rss_bytes()
            _, writer = await raw_websocket(server.port, source="127.0.0.2", rcvbuf=4096)
            await until(lambda: len(server.clients) == 2, "the attacker is connected")
            (attacker,) = [c for c in server.clients if c.ws.remote_address[0] == "127.0.0.2"]
            largest = 0
            with pytest.raises((ConnectionError, OSError)):  # noqa: PT012
                for _ in range(20_000):  # 250 MB of PINGs at most
                    writer.write(ping_frame(b"x" * 125) * 100)
                    await writer.drain()
                    transport = attacker.ws.transport
                    largest = max(largest, transport.get_write_buffer_size())
                    if attacker not in server.clients:
                        raise ConnectionResetError("dropped by the server")
            assert server.stuck_closed == 1
            # the buffer stopped near its bound: the PONGs of one drain round over it at most
            assert largest < limits.stuck_bytes + 8 * 2**20
            assert rss_bytes() - before < 100 * 2**20
            await every_tick_has_its_snapshot(server, clock, honest, 20)
            await honest.close()
        finally:
            await server.stop()

    asyncio.run(never_reads())


def test_half_open_handshakes_are_counted_per_address() -> None:
    async def half_open() -> None:
        server = GameServer(
            manual=True, world_factory=fake_factory, limits=Limits(handshakes_per_address=8)
        )
        await server.start("127.0.0.1", 0)
        socks = []
        try:
            loop = asyncio.get_running_loop()
            for _ in range(40):  # connect, say nothing
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.bind(("127.0.0.2", 0))
                sock.setblocking(False)
                await loop.sock_connect(sock, ("127.0.0.1", server.port))
                socks.append(sock)
            await until(
                lambda: server.gate.handshakes_refused >= 32, "the extra sockets are refused"
            )
            assert server.gate._handshakes.get("127.0.0.2") == 8
            honest = await WireClient.open(f"ws://127.0.0.1:{server.port}")
            await honest.send({"type": "ping", "t": 1})
            assert (await honest.until("pong"))["t"] == 1
            await honest.close()
        finally:
            for sock in socks:
                sock.close()
            await server.stop()

    asyncio.run(half_open())


def test_a_room_caps_its_members_and_its_room_message_always_fits_a_frame() -> None:
    """190 members with 20-character emoji names join a workshop council and all vote."""

    async def crowd() -> None:
        clock = TickClock()
        limits = Limits(join_burst=1000, messages_per_second=1000, message_burst=1000)
        server = GameServer(manual=True, clock=clock, world_factory=fake_factory, limits=limits)
        await server.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}"
        members: list[WireClient] = []
        try:
            host = await WireClient.open(url)
            await host.send(
                {"type": "create", "protocol": 1, "name": "Host", "program": "workshop"}
            )
            code = (await host.until("joined"))["code"]
            await host.send({"type": "host", "command": "next"})  # to the council step
            await host.until("room", step=2)
            await host.send({"type": "host", "command": "start"})
            await host.until("room", phase="council")
            refused = 0
            for i in range(190):
                member = await WireClient.open(url)
                name = "🚗🚕🚙🚌🚎🏎🚓🚑🚒🚐🛻🚚🚛🚜🛵🏍🛺🚲🛴" + chr(0x1F600 + i % 64)
                await member.send(
                    {"type": "join", "protocol": 1, "code": code, "name": name, "role": "player"}
                )
                answer = await member.recv()
                if answer["type"] == "error":
                    assert answer["code"] == "full"
                    refused += 1
                    await member.close()
                else:
                    assert answer["type"] == "joined"
                    members.append(member)
            assert len(members) == p.MAX_ROOM_MEMBERS - 1  # the host is the first member
            assert refused == 190 - len(members)
            catalogue = [
                ("passing", "left"),
                ("signal", "optional"),
                ("following", "none"),
                ("merge", "early"),
                ("speed_limit", "120"),
                ("hazards", "no"),
            ]
            await members[0].send({"type": "propose", "convention": "passing", "option": "left"})
            for member in members:
                for convention, option in catalogue:
                    await member.send({"type": "vote", "convention": convention, "option": option})
            for member in members:  # read what they were sent, so their sockets keep flowing
                member.ws.transport.pause_reading()
            rooms = 0
            for _ in range(600):  # 30 s of ticks; the council lasts 180 s
                clock.now += 0.05
                await server.advance(1)
                while True:
                    try:
                        frame = await asyncio.wait_for(host.ws.recv(), 0.001)
                    except TimeoutError:
                        break
                    assert len(frame) <= p.MAX_FRAME_BYTES
                    msg = p.parse_server_frame(frame)
                    rooms += msg["type"] == "room"
            assert rooms >= 6  # one every 100 ticks at least, and one per vote
            room = server.registry.get(code)
            assert room is not None and not room.closed and room.phase == "council"
            assert not server.room_failures
            await host.close()
        finally:
            for member in members:
                member.ws.transport.abort()  # they stopped reading: a close handshake would wait
            await server.stop()

    asyncio.run(crowd())


def test_a_host_looping_start_end_next_is_bounded_by_cost(tmp_path: Path) -> None:
    """Ten connections loop start/end/next: costly commands and analyses stay bounded, the
    history stops growing when the loop stops, and an honest room ticks throughout."""

    async def loop_attack() -> None:
        clock = TickClock()
        store = Store(tmp_path / "history.db")
        limits = Limits(
            join_burst=100, messages_per_second=1000, message_burst=1000, abuse_close=1e9
        )
        server = GameServer(
            manual=True,
            clock=clock,
            world_factory=fake_factory,
            limits=limits,
            store=store,
            analysis_workers=0,
        )
        server.analyse = quick_analysis  # type: ignore[method-assign]
        await server.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}"
        try:
            honest = await honest_room(url)
            attackers = []
            for _ in range(10):
                a = await WireClient.open(url)
                await a.send({"type": "create", "protocol": 1, "name": "B", "scenario": "x"})
                await a.until("joined")
                attackers.append(a)
            most_waiting = 0
            tick = None
            for _ in range(30):
                for a in attackers:
                    for command in ("start", "end", "next"):
                        await a.send({"type": "host", "command": command})
                clock.now += 0.05
                await server.advance(1)
                most_waiting = max(most_waiting, server.analysis.waiting)
                got = (await honest.until("snapshot"))["tick"]
                tick = got if tick is None else tick + 1
                assert got == tick
            assert most_waiting <= limits.analyses_waiting
            # the address's budget for costly commands ran out before the last attacker's turn
            await attackers[-1].until("error", code="rate_limited")
            await until(lambda: server.analysis.waiting == 0, "the analyses are done")
            saved = store.list_games()
            rounds = sum(g["rounds"] for g in saved)
            # the clock stood still: the burst of the address's budget is all it could spend
            assert rounds <= limits.costly_burst
            assert tick is not None
            for _ in range(40):
                clock.now += 0.05
                await server.advance(1)
                assert (await honest.until("snapshot"))["tick"] == tick + 1
                tick += 1
            await asyncio.sleep(0.2)
            assert sum(g["rounds"] for g in store.list_games()) == rounds
            for a in attackers:
                a.ws.transport.abort()  # they never read: a close handshake would wait
            await honest.close()
        finally:
            await server.stop()
            store.close()

    asyncio.run(loop_attack())


def test_a_full_disk_keeps_the_debrief_marked_not_saved_and_the_next_round_saves(
    tmp_path: Path,
) -> None:
    """The history file may not grow (SQLite's max_page_count: a size limit on the file, as
    deterministic as a full disk and reported the same way, "database or disk is full")."""

    async def full_disk() -> None:
        clock = TickClock()
        path = tmp_path / "history.db"
        store = Store(path)
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")
        server = GameServer(
            manual=True, clock=clock, world_factory=fake_factory, store=store, analysis_workers=0
        )

        def analysis_worth_pages(request: Any) -> dict[str, Any]:
            # a debrief of a few pages, so that saving it needs the file to grow
            return {**quick_analysis(request), "notes": "n" * 20_000}

        server.analyse = analysis_worth_pages  # type: ignore[method-assign]
        await server.start("127.0.0.1", 0)
        try:
            host = await honest_room(f"ws://127.0.0.1:{server.port}")
            await host.send({"type": "host", "command": "end"})
            debrief = await host.until("debrief")
            assert "full" in debrief["not_saved"]
            assert "error" not in debrief and debrief["round"] == 1
            notice = await host.until("notice")
            assert notice["text"].startswith("Round 1 was not saved:")
            await host.send({"type": "replay"})  # kept in memory for a replay
            replay = await host.until("replay")
            assert replay["round"] == 1
            assert sum(g["rounds"] for g in store.list_games()) == 0
            store._db.execute("PRAGMA max_page_count = 1073741823")  # space is back
            await host.send({"type": "host", "command": "next"})
            await host.until("room", phase="lobby")
            await host.send({"type": "host", "command": "start"})
            await host.until("room", phase="driving")
            clock.now += 0.05
            await server.advance(2)
            await host.send({"type": "host", "command": "end"})
            second = await host.until("debrief")
            assert "not_saved" not in second and second["round"] == 2
            (game,) = store.list_games()
            assert game["rounds"] == 1
            assert store.round_numbers(game["id"]) == [2]
            await host.close()
        finally:
            await server.stop()
            store.close()

    asyncio.run(full_disk())


def test_a_room_whose_tick_raises_is_paused_and_kept() -> None:
    async def broken() -> None:
        clock = TickClock()
        server = GameServer(manual=True, clock=clock, world_factory=fake_factory)
        await server.start("127.0.0.1", 0)
        try:
            host = await honest_room(f"ws://127.0.0.1:{server.port}")
            (room,) = list(server.registry)

            def explode(controls: Any) -> Any:
                raise RuntimeError("a bug in the world")

            room.world.step = explode
            await server.advance(3)
            notice = await host.until("notice")
            assert "paused" in notice["text"]
            await host.until("room", phase="paused")
            await server.advance(20)
            assert not room.closed and server.registry.get(room.code) is room
            await host.send({"type": "ping", "t": 1})
            assert (await host.until("pong"))["t"] == 1
            await host.close()
        finally:
            await server.stop()

    asyncio.run(broken())


def test_a_room_with_nobody_connected_stops_ticking() -> None:
    async def idle() -> None:
        clock = TickClock()
        server = GameServer(manual=True, clock=clock, world_factory=fake_factory)
        await server.start("127.0.0.1", 0)
        try:
            host = await honest_room(f"ws://127.0.0.1:{server.port}")
            (room,) = list(server.registry)
            await server.advance(5)
            await host.close()
            await until(lambda: not room.roster.connected(), "the server saw the host leave")
            tick = room.world.tick
            await server.advance(50)
            assert room.world.tick == tick
            clock.now += 200.0  # past the rejoin window: the room is reaped
            await server.advance(1)
            assert server.registry.get(room.code) is None
        finally:
            await server.stop()

    asyncio.run(idle())


def test_a_single_scenario_room_debrief_stays_in_a_frame_after_many_rounds() -> None:
    from server.room import Room
    from server.room.analysis import HISTORY_ROUNDS

    sent: list[bytes] = []

    class Conn:
        def send(self, data: bytes) -> bool:
            sent.append(data)
            return True

        def close(self, code: int, reason: str) -> None:
            pass

    compared: list[int] = []

    def analyser(request: Any) -> dict[str, Any]:
        compared.append(len(request.previous))  # the debrief's list of earlier rounds
        return quick_analysis(request)

    room = Room(
        "KX7PQ", clock=lambda: 0.0, scenario="x", world_factory=fake_factory, analyser=analyser
    )
    host = room.join("Host", "host", Conn(), wants_car=True)
    for _ in range(HISTORY_ROUNDS + 20):
        room.handle(host, parse_client_message({"type": "host", "command": "start"}))
        room.handle(host, parse_client_message({"type": "host", "command": "end"}))
        room.handle(host, parse_client_message({"type": "host", "command": "next"}))
    assert len(room.debriefs.history) == HISTORY_ROUNDS
    assert max(compared) == HISTORY_ROUNDS and len(compared) == HISTORY_ROUNDS + 20
    assert room.round_no == HISTORY_ROUNDS + 20
    assert all(len(frame) <= p.MAX_FRAME_BYTES for frame in sent)


def test_history_piped_into_head_ends_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "history.db"
    with Store(db) as store, store._db:  # one transaction: 3,000 lines, well past a pipe's 64 KiB
        store._db.executemany(
            "INSERT INTO games (code, program, host, created) VALUES (?, 'workshop', 'Host', 0)",
            [(f"G{i:04d}",) for i in range(3000)],
        )
    shell = f"{sys.executable} -m client.cli history --db {db} | head -1"
    done = subprocess.run(
        ["bash", "-c", shell], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.startswith("Games in")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_the_file_size_limit_reads_as_a_full_database() -> None:
    """The condition the full-disk test builds is the one SQLite reports for a full disk."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x BLOB)")
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(sqlite3.OperationalError, match="full"):
        db.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))


def test_rounds_driving_from_one_address_are_capped() -> None:
    async def many_rooms() -> None:
        server = GameServer(
            manual=True,
            world_factory=fake_factory,
            limits=Limits(driving_rooms_per_address=2),
        )
        await server.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}"
        try:
            hosts = [await honest_room(url) for _ in range(2)]
            third = await WireClient.open(url)
            await third.send({"type": "create", "protocol": 1, "name": "C", "scenario": "x"})
            await third.until("joined")
            await third.send({"type": "host", "command": "start"})
            assert (await third.until("error"))["code"] == "busy"
            await hosts[0].send({"type": "host", "command": "end"})  # one round is over…
            await hosts[0].until("room", phase="debrief")
            await third.send({"type": "host", "command": "start"})  # …so this one may drive
            await third.until("room", phase="driving")
            for client in (*hosts, third):
                client.ws.transport.abort()
        finally:
            await server.stop()

    asyncio.run(many_rooms())


def test_a_room_message_too_big_for_a_frame_is_cut_to_fit() -> None:
    from server.room.fanout import fit_room_message

    players = [
        {"id": i, "name": "🚗" * 20, "role": "player", "car": i, "connected": i % 3 != 0}
        for i in range(2, 700)
    ]
    players.append({"id": 1, "name": "Host", "role": "host", "car": None, "connected": True})
    votes = [
        {"player": i, "convention": convention, "option": "none"}
        for i in range(700)
        for convention in ("passing", "signal", "following", "merge", "speed_limit", "hazards")
    ]
    message = RoomState(
        code="KX7PQ",
        phase="council",
        players=players,
        scenario="ring",
        rulebook={},
        round=1,
        rounds=3,
        locked=False,
        clock=1.0,
        council={"votes": votes, "tallies": {"speed_limit": {"none": 700}}},
    )
    data = fit_room_message(message)
    assert len(data) <= p.MAX_FRAME_BYTES
    sent = p.parse_server_frame(data)
    assert "votes" not in sent["council"] and sent["council"]["tallies"]
    assert sent["players"][0]["role"] == "host"  # the host first, then connected players
    assert all(entry["connected"] for entry in sent["players"])
    assert sent["players_more"] == len(players) - len(sent["players"]) > 0
    assert len(sent["players"]) <= p.MAX_ROOM_MEMBERS


def test_a_snapshot_too_big_for_a_frame_is_skipped_and_the_room_goes_on() -> None:
    from server.room import Room

    sent: list[bytes] = []

    class Conn:
        def send(self, data: bytes) -> bool:
            sent.append(data)
            return True

        def close(self, code: int, reason: str) -> None:
            pass

    room = Room("KX7PQ", clock=lambda: 0.0, scenario="x", world_factory=fake_factory)
    host = room.join("Host", "host", Conn())
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    room.world.add_bots(6000)  # the whole ring for the host: far more than a frame holds
    tick = room.world.tick
    sent.clear()
    for _ in range(3):
        room.step()
    assert room.world.tick == tick + 3 and room.phase == "driving"
    assert not any(p.decode(frame)["type"] == "snapshot" for frame in sent)


def test_a_host_cannot_pile_up_incidents_past_what_a_room_message_carries() -> None:
    from server.room import Room
    from server.room.commands import MAX_INCIDENTS
    from server.room.lifecycle import default_world_factory

    sent: list[bytes] = []

    class Conn:
        def send(self, data: bytes) -> bool:
            sent.append(data)
            return True

        def close(self, code: int, reason: str) -> None:
            pass

    room = Room(
        "KX7PQ",
        clock=lambda: 0.0,
        scenario="open-road",
        bots=5,
        world_factory=default_world_factory,
    )
    host = room.join("Host", "host", Conn())
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    for i in range(MAX_INCIDENTS + 5):
        room.handle(
            host,
            parse_client_message({"type": "host", "command": "incident", "lane": 0, "x": 50.0 * i}),
        )
    assert len(room.world.road()["incidents"]) == MAX_INCIDENTS
    errors = [m for m in map(p.decode, sent) if m["type"] == "error"]
    assert len(errors) == 5 and all(e["code"] == "bad_state" for e in errors)
