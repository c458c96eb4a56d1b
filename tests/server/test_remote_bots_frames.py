"""Remote bots read every frame but parse in full only the snapshots the brain looks at:
`snapshot_tick` must agree with a full decode on the server's own frames, send anything else
to the full parse, and a bot must still count, reject and act as if it parsed everything."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from server.remote_bots import DECIDE_EVERY_TICKS, BotBrain, BotStats, drive_bot, snapshot_tick
from shared import protocol as p
from tests.support.bot_frames import server_frame


@pytest.mark.parametrize("tick", [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32])
def test_snapshot_tick_reads_the_servers_frames(tick: int) -> None:
    for frame in (server_frame(tick), server_frame(tick, None), server_frame(tick, team={})):
        assert snapshot_tick(frame) == p.parse_server_frame(frame)["tick"] == tick


def test_snapshot_tick_leaves_everything_else_to_the_full_parse() -> None:
    frame = server_frame(300)
    others: list[bytes | str] = [
        p.encode({"tick": 3, "type": "snapshot", "t": 0.1, "cars": [], "ring": [], "events": []}),
        p.encode({"type": "pong", "t": 1.0}),
        p.encode({"type": "snapshot", "tick": -3}),
        p.encode({"type": "snapshot", "tick": 3.0}),
        p.encode({"type": "snapshot", "tick": "3"}),
        p.encode({f"k{i}": i for i in range(15)} | {"type": "snapshot", "tick": 3}),  # map16
        frame[:21],  # cut inside the tick
        frame[:20],
        frame.decode("latin-1"),  # a text frame
        b"",
        b"\x80",
    ]
    for other in others:
        assert snapshot_tick(other) is None, other


def test_brain_due_is_what_decide_looks_at() -> None:
    brain = BotBrain(random.Random(1))
    assert brain.due(0) and brain.decide(p.parse_server_frame(server_frame(0))) is not None
    for tick in range(1, 3 * DECIDE_EVERY_TICKS):
        due = brain.due(tick)
        assert due == (tick % DECIDE_EVERY_TICKS == 0)
        before = brain._last_tick
        brain.decide(p.parse_server_frame(server_frame(tick)))
        assert (brain._last_tick != before) == due


async def _fake_room(frames: list[bytes | str], controls: list[dict[str, Any]]):
    """A websocket server that admits one bot, sends it `frames`, then says bye."""

    async def handler(ws: ServerConnection) -> None:
        join = p.parse_client_frame(await ws.recv())
        assert join["type"] == "join" and join["code"] == "ABCDE"
        joined = {"type": "joined", "code": "ABCDE", "role": "player", "token": "t", "player": 1}
        await ws.send(p.encode(joined))
        for frame in frames:
            await ws.send(frame)
        await ws.send(p.encode({"type": "bye", "reason": "test"}))
        try:
            async for message in ws:
                controls.append(p.parse_client_frame(message))
        except Exception:
            pass

    return await serve(handler, "127.0.0.1", 0, compression=None)


async def test_a_bot_counts_every_frame_and_acts_only_on_valid_ones() -> None:
    sizes: list[int] = []
    frames: list[bytes | str] = []
    for tick in range(0, 35):
        if tick == 20:
            frames.append(server_frame(tick)[:30])  # broken, on a tick the brain looks at
            continue
        frame = server_frame(tick)
        frames.append(frame)
        sizes.append(len(frame))
    frames.insert(5, b"\xc1 not msgpack")
    frames.insert(9, "a text frame")
    controls: list[dict[str, Any]] = []
    server = await _fake_room(frames, controls)
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        stats = BotStats()
        await asyncio.wait_for(drive_bot(url, "ABCDE", "B", stats, None, 1), 10)
    finally:
        server.close()
        await server.wait_closed()
    assert stats.joined == 1 and stats.other == 2  # joined, bye
    assert stats.errors == {"bad_frame": 3}
    assert stats.snapshots == len(sizes) and stats.snapshot_bytes == sum(sizes)
    # the brain looked at ticks 0, 10, 21 (20 was broken) and 31: each time below its cruise
    # speed, so each time "faster"
    assert stats.controls == 4
    assert [c["action"] for c in controls] == ["faster"] * 4


async def test_a_bot_leaves_at_its_deadline_while_waiting() -> None:
    async def silent(ws: ServerConnection) -> None:
        await ws.wait_closed()  # reads the join, says nothing

    server = await serve(silent, "127.0.0.1", 0, compression=None)
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        stats = BotStats()
        started = time.monotonic()
        await asyncio.wait_for(drive_bot(url, "ABCDE", "B", stats, started + 0.3, 1), 5)
        assert 0.25 <= time.monotonic() - started < 3
        assert stats.disconnects == 0 and stats.joined == 0
    finally:
        server.close()
        await server.wait_closed()


def test_the_brain_looks_again_in_a_new_round() -> None:
    brain = BotBrain(random.Random(1))
    for tick in range(0, 400, 10):
        brain.decide(p.parse_server_frame(server_frame(tick)))
    assert not brain.due(395) and brain.next_tick == 400
    # the next round's world starts at tick 0 again: the brain looks at once, then every 10
    assert brain.due(0)
    assert brain.decide(p.parse_server_frame(server_frame(0))) == [
        {"type": "control", "action": "faster"}
    ]
    assert not brain.due(5) and brain.due(10)
