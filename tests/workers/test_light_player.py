"""The load benchmark's light players (benchmarks/load/light_player.py) are the same client
to the server as websockets' one: they join through the front door's redirect, read every
frame, drive with their controls, answer the keepalive and close cleanly."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from benchmarks.load.light_player import Alarms, LightPlayer, drain_forever
from benchmarks.load.light_socket import OP_BINARY, OP_PING, LightSocket, client_frame, walk_frames
from server.net import GameServer, Limits
from server.net_conn import Client
from server.remote_bots import BotStats
from server.room.roster import Member
from shared.protocol import MAX_FRAME_BYTES, encode
from tests.support.door_worker import PATIENCE, door_and_worker, until

# ---- frames ------------------------------------------------------------------------------

payloads = st.one_of(
    st.binary(max_size=300),
    st.sampled_from([125, 126, 127, 65535, MAX_FRAME_BYTES]).map(lambda n: b"\x5a" * n),
)
server_frames = st.lists(
    st.one_of(
        st.tuples(st.sampled_from([Opcode.BINARY, Opcode.TEXT]), payloads),
        st.tuples(st.just(Opcode.PONG), st.binary(max_size=125)),  # a control frame's limit
    ),
    max_size=8,
)


def _stream(frames: list[tuple[Opcode, bytes]]) -> bytes:
    """Frames as a server writes them (websockets' own serializer: unmasked)."""
    return b"".join(Frame(op, data).serialize(mask=False) for op, data in frames)


def _expected(
    frames: list[tuple[Opcode, bytes]], data_only: bool = False
) -> list[tuple[int, bytes]]:
    """(first header byte, payload) of each frame; with `data_only`, those a drain returns."""
    return [
        (0x80 | op.value, data)
        for op, data in frames
        if not data_only or op in (Opcode.BINARY, Opcode.TEXT)
    ]


def _splits(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    last = 0
    for point in [*points, len(data)]:
        yield data[last:point]
        last = point


@given(server_frames, st.lists(st.integers(min_value=0), max_size=12))
def test_any_split_of_a_stream_of_frames_walks_to_the_same_frames(
    frames: list[tuple[Opcode, bytes]], cuts: list[int]
) -> None:
    data = _stream(frames)
    buf, seen = bytearray(), []
    for chunk in _splits(data, cuts):
        buf += chunk
        found, used = walk_frames(buf, 0, len(buf))
        seen += [(first, bytes(buf[begin:end])) for first, begin, end in found]
        del buf[:used]
    assert seen == _expected(frames)
    assert not buf


@given(server_frames, st.lists(st.integers(min_value=0), max_size=12))
def test_a_socket_drained_after_any_split_returns_every_frame_and_answers_pings(
    frames: list[tuple[Opcode, bytes]], cuts: list[int]
) -> None:
    """The same through LightSocket.drain (its buffer kept, grown and compacted between
    drains), with a PING in the middle of the stream answered by a masked PONG."""
    ping_at = len(frames) // 2
    frames_with_ping = [*frames[:ping_at], (Opcode.PING, b"1234"), *frames[ping_at:]]
    data = _stream(frames_with_ping)

    async def scenario() -> tuple[list[tuple[int, bytes]], bytes]:
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        light = LightSocket(ours, b"", "ws://test/")
        seen = []
        try:
            for chunk in _splits(data, cuts):
                theirs.sendall(chunk)
                seen += [(first, bytes(light.buf[b:e])) for first, b, e in light.drain()]
            theirs.setblocking(False)
            answer = theirs.recv(1024)
        finally:
            light.abort()
            theirs.close()
        return seen, answer

    seen, answer = asyncio.run(scenario())
    assert seen == _expected(frames, data_only=True)
    reader = StreamReader()
    reader.feed_data(answer)
    pong = _parse_client_frame(reader)
    assert (pong.opcode, pong.data) == (Opcode.PONG, b"1234")


def _parse_client_frame(reader: StreamReader) -> Frame:
    """One frame as a server reads it from a client: it must be masked (else ProtocolError)."""
    parser = Frame.parse(reader.read_exact, mask=True, max_size=None)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("an incomplete frame")


@given(st.binary(max_size=70_000))
def test_client_frames_are_masked_as_rfc_6455_requires(payload: bytes) -> None:
    reader = StreamReader()
    reader.feed_data(client_frame(OP_BINARY, payload))
    frame = _parse_client_frame(reader)
    assert (frame.opcode, frame.data, frame.fin) == (Opcode.BINARY, payload, True)


def test_a_masked_server_frame_is_refused() -> None:
    from benchmarks.load.light_socket import FrameError

    with pytest.raises(FrameError):
        walk_frames(client_frame(OP_PING, b"x"), 0, 7)


# ---- against a real server ---------------------------------------------------------------


def _member(server: GameServer, code: str, name: str) -> Member | None:
    room = server.registry.get(code)
    return next((m for m in room.roster if m.name == name), None) if room else None


async def test_a_light_player_joins_through_the_door_drives_answers_pings_and_ends_cleanly() -> (
    None
):
    limits = Limits(join_burst=1000, ping_interval=0.2, ping_timeout=5.0)
    async with door_and_worker(limits) as cluster:
        server = cluster.server
        host = await LightSocket.open(f"{cluster.door_url}/new")
        assert host.port == server.port != cluster.door.port  # redirected to the worker
        host.send(
            encode({"type": "create", "protocol": 1, "name": "Host", "scenario": "open-road"})
        )
        code = (await asyncio.wait_for(host.until("joined"), PATIENCE))["code"]

        stats = BotStats()
        player = LightPlayer(code.lower(), "Bot 1", stats, seed=7)
        run = asyncio.create_task(player.run(cluster.door_url))
        await until(lambda: stats.joined == 1, "the player joined")
        ws = player.ws
        assert ws is not None and ws.port == server.port

        host.send(encode({"type": "host", "command": "start"}))
        draining = asyncio.create_task(drain_forever(host))
        await until(
            lambda: (m := _member(server, code, "Bot 1")) is not None and m.car is not None,
            "the player has a car",
        )
        member = _member(server, code, "Bot 1")
        room = server.registry.get(code)
        assert room is not None and member is not None
        car = room.world.cars[member.car]
        first_kmh = round(car.target_speed * 3.6)
        # whatever it chose before, the brain now wants 20 km/h less: only its controls
        # can bring the server's car there
        player.brain.cruise_kmh = first_kmh - 20
        await until(
            lambda: abs(round(car.target_speed * 3.6) - player.brain.cruise_kmh) <= 5,
            "the car's target speed follows the player's controls",
        )
        assert round(car.target_speed * 3.6) != first_kmh
        assert stats.controls >= 2 and stats.snapshots > 0

        # the server's keepalive PINGs are answered: websockets measures each PONG's latency
        await until(lambda: ws.pings >= 2, "PINGs arrived")
        conn = member.conn
        assert isinstance(conn, Client)  # a real connection's Client, as the session made it
        await until(lambda: conn.ws.latency > 0, "the server saw a PONG")
        assert stats.errors == {} and stats.disconnects == 0

        await server.stop()  # `bye`, then a closing handshake with every client
        await asyncio.wait_for(run, PATIENCE)
        await asyncio.wait_for(draining, PATIENCE)
        assert player.leaving and ws.clean and ws.ended.result() == 1001
        assert host.clean and stats.disconnects == 0 and stats.errors == {}


async def test_a_light_player_asked_to_stop_leaves_with_a_closing_handshake() -> None:
    async with door_and_worker() as cluster:
        server = cluster.server
        host = await LightSocket.open(f"{cluster.worker_url}/new")
        host.send(encode({"type": "create", "protocol": 1, "name": "Host"}))
        code = (await asyncio.wait_for(host.until("joined"), PATIENCE))["code"]
        stats, stop = BotStats(), asyncio.Event()
        player = LightPlayer(code, "Bot 1", stats, seed=1, stop=stop)
        run = asyncio.create_task(player.run(cluster.worker_url))
        draining = asyncio.create_task(drain_forever(host))
        await until(lambda: _member(server, code, "Bot 1") is not None, "the player joined")
        stop.set()
        await asyncio.wait_for(run, PATIENCE)
        assert player.ws is not None and player.ws.clean
        assert player.ws.ended.result() == 1000  # the server echoed our code
        await until(lambda: len(server.clients) == 1, "the server let the player go")
        await host.close()
        await asyncio.wait_for(draining, PATIENCE)
        assert host.clean and stats.disconnects == 0


async def test_a_wrong_code_is_refused_by_the_front_door() -> None:
    from benchmarks.load.light_socket import HandshakeError

    async with door_and_worker() as cluster:
        with pytest.raises(HandshakeError, match="404"):
            await LightSocket.open(f"{cluster.door_url}/r/ZZZZZ")


async def test_alarms_wake_each_callback_once_never_early_in_one_timer() -> None:
    loop = asyncio.get_running_loop()
    alarms = Alarms(loop)
    began, woke = loop.time(), {}

    def wake(delay: float) -> None:
        assert delay not in woke
        woke[delay] = loop.time() - began

    for delay in (0.09, 0.01, 0.05, 0.051):
        alarms.call_later(delay, wake, delay)
    await until(lambda: len(woke) == 4, "every alarm rang")
    assert all(woke[delay] >= delay for delay in woke)
    assert sorted(woke, key=woke.__getitem__) == [0.01, 0.05, 0.051, 0.09]
    assert not alarms.slots
