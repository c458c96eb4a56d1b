"""Remote bots nap between the snapshots their brain looks at, the frames meanwhile waiting in
the socket (server.remote_bots._play). A napping bot must still read and count every frame,
decide on snapshots as they come, keep up with a server that sends late, slowly or ahead of
its ticks, and leave promptly; and it must read the socket far less often than once a frame."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from server.remote_bots import DECIDE_EVERY_TICKS, TICK_SECONDS, BotStats, drive_bot
from shared import protocol as p
from tests.support.bot_frames import server_frame

DT = TICK_SECONDS
FRESH = 0.4  # looked at this soon after it was sent: as it came (a missed look is ≥ 0.5 s late);
# generous so that a busy CI machine does not fail it by scheduling delays alone


class StreamingRoom:
    """A websocket server that admits one bot and sends it snapshots of the given ticks at
    the given times (seconds from the join), noting when each went out and when each control
    came in."""

    def __init__(self, sends: list[tuple[int, float]]) -> None:
        self.sends = sends
        self.sent: dict[int, float] = {}
        self.controls: list[tuple[float, dict[str, Any]]] = []
        self.sizes: list[int] = []
        self.port = 0  # the bot's

    async def handler(self, ws: ServerConnection) -> None:
        self.port = ws.remote_address[1]
        p.parse_client_frame(await ws.recv())
        joined = {"type": "joined", "code": "ABCDE", "role": "player", "token": "t", "player": 1}
        await ws.send(p.encode(joined))
        reader = asyncio.ensure_future(self._read(ws))
        start = time.monotonic()
        try:
            for tick, at in self.sends:
                await asyncio.sleep(max(0.0, start + at - time.monotonic()))
                frame = server_frame(tick)
                self.sent[tick] = time.monotonic()
                self.sizes.append(len(frame))
                await ws.send(frame)
            await ws.send(p.encode({"type": "bye", "reason": "test"}))
        except ConnectionClosed:
            pass  # the bot left
        await reader

    async def _read(self, ws: ServerConnection) -> None:
        try:
            async for message in ws:
                self.controls.append((time.monotonic(), p.parse_client_frame(message)))
        except Exception:
            pass

    def lateness(self) -> dict[int, float]:
        """For each snapshot the brain looked at: how long after it was sent the bot acted
        (the brain says "faster" at every look: YOU is slower than any cruise speed)."""
        assert [c["action"] for _, c in self.controls] == ["faster"] * len(self.controls)
        looked = [t for t, _ in self.sends if t % DECIDE_EVERY_TICKS == 0]
        assert len(self.controls) == len(looked)
        return {t: at - self.sent[t] for t, (at, _) in zip(looked, self.controls, strict=True)}


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """How many times the bots' websockets read their socket, by the bot's port."""
    count: Counter[int] = Counter()
    real = ClientConnection.data_received

    def data_received(self: ClientConnection, data: bytes) -> None:
        count[self.local_address[1]] += 1
        real(self, data)

    monkeypatch.setattr(ClientConnection, "data_received", data_received)
    return count


async def _run(room: StreamingRoom, stop_after: float | None = None) -> BotStats:
    server = await serve(room.handler, "127.0.0.1", 0, compression=None)
    url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    stats = BotStats()
    stop = asyncio.Event()
    try:
        bot = asyncio.ensure_future(drive_bot(url, "ABCDE", "B", stats, None, 1, stop))
        if stop_after is not None:
            await asyncio.sleep(stop_after)
            stop.set()
            stopped = time.monotonic()
            await asyncio.wait_for(bot, 5)
            # it stops after its nap, not after websockets' close timeout (10 s)
            assert time.monotonic() - stopped < 3, "the bot waited out a close timeout"
        else:
            await asyncio.wait_for(bot, 20)
    finally:
        server.close()
        await server.wait_closed()
    assert not stats.errors and stats.joined == 1
    if stop_after is None:
        assert stats.snapshots == len(room.sends) and stats.snapshot_bytes == sum(room.sizes)
    return stats


async def test_a_bot_naps_between_looks_and_looks_as_snapshots_come(
    reads: Counter[int],
) -> None:
    room = StreamingRoom([(t, t * DT) for t in range(60)])
    await _run(room)
    late = room.lateness()
    assert max(late.values()) < FRESH, late
    # a read for the frame that came first in a nap, one for the rest, one for the snapshot
    # looked at as it came (and the join's): without naps it would be one a frame
    assert reads[room.port] < 0.5 * len(room.sends), reads


async def test_a_bot_keeps_pace_with_a_slow_and_a_jerky_server(reads: Counter[int]) -> None:
    slow = StreamingRoom([(t, t * 2 * DT) for t in range(51)])  # 10 ticks a second
    # late ticks, each followed by the ones missed meanwhile back to back (a server catching up)
    jerky = StreamingRoom([(t, t * DT + (0.12 if t % 7 == 3 else 0.0)) for t in range(51)])
    await asyncio.gather(_run(slow), _run(jerky))
    assert max(slow.lateness().values()) < FRESH
    assert max(jerky.lateness().values()) < FRESH
    # the naps follow the slow server's pace (after two looks): most frames wait in the socket
    assert reads[slow.port] < 2 / 3 * len(slow.sends), reads  # at 20 Hz naps: 5 in 6


async def test_a_bot_catches_up_with_a_server_ahead_of_its_ticks_and_after_a_pause() -> None:
    # 1 s at 20 Hz, then 30 ticks at once, then 20 Hz again; then a pause of 0.6 s
    sends = [(t, t * DT) for t in range(20)] + [(t, 20 * DT) for t in range(20, 50)]
    sends += [(t, (t - 30) * DT) for t in range(50, 70)]
    sends += [(t, 0.6 + (t - 30) * DT) for t in range(70, 91)]
    room = StreamingRoom(sends)
    await _run(room)
    late = room.lateness()
    for tick, seconds in late.items():
        # a snapshot that came during a nap waits for its end at most
        allowed = FRESH if tick < 20 or tick >= 60 else DECIDE_EVERY_TICKS * DT + FRESH
        assert seconds < allowed, (tick, seconds)


async def test_a_napping_bot_leaves_promptly_when_stopped() -> None:
    room = StreamingRoom([(t, t * DT) for t in range(200)])
    stats = await _run(room, stop_after=1.0)
    # what came during its last nap is not read: the bot stops before its next frame
    assert 8 <= stats.snapshots <= 25
