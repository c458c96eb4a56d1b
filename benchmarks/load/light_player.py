"""Light remote players for benchmarks/server_load.py: the websocket client done by hand.

Why this exists: the load benchmark runs its players on the same two cores as the server it
measures. Through websockets' client (server.remote_bots.drive_bot) a room's ten players
and its host cost about 0.6–0.7 % of a core, three quarters of what the server spends on the
room, so with two workers busy there is no core left for the load and the 2-worker figure
measures the load generator. A light player leaves the cores to the server.

The server sees the same client: the same opening handshake (HTTP/1.1 Upgrade with the
User-Agent websockets sends, no compression offered; a front door's redirect is followed),
the same join, the same controls from the same brain (server.remote_bots.BotBrain, as
`interlane bots` drives) about twice a second, masked as RFC 6455 requires; every frame it
sends is read, its PINGs answered with PONG and its CLOSE with CLOSE. Only the client side
is cheaper:

- no task or callback per frame: a player wakes when the next snapshot its brain looks at is
  due, about twice a second, and drains its socket with a few large recv_into; the wake-ups
  of all players share one asyncio timer (Alarms);
- the frame headers are walked in Python (walk_frames) and payloads are not decoded: of a
  snapshot only its tick is read (snapshot_tick), and only the latest one, when the brain is
  due, is decoded and decided on;
- messages are decoded (shared.protocol.decode: msgpack, a map with a "type") but not
  validated: parse_server_frame's checks cost five times the decoding, and the server's
  frames are the protocol tests' business (tests/protocol), not the load generator's;
- the room host's connection drains the same way, every IDLE_WAKE seconds (drain_forever).

Reading in batches is what a client on a slow link does; the frames wait in the kernel's
socket buffers meanwhile, so the server's write buffers stay as empty as with websockets.
Two things differ in timing, not in content: the players' wake-ups fall in the same timer
slot, so their controls and PONGs reach the server together twice a second (websockets'
players send theirs as their own room's snapshot arrives); and a brain decides on the latest
snapshot of a batch, which is its due one or the one after (about one decision in 10.5
ticks instead of 10). A player counts its snapshots (BotStats) when it drains them, so a
short window's count can miss the last half second's.

The wire side (the handshake, the frames, LightSocket) is benchmarks/load/light_socket.py;
this module is the players, their shared timer and the room host's drain.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from benchmarks.load.light_socket import (
    FINAL_BINARY,
    OP_BINARY,
    Frame,
    HandshakeError,
    LightSocket,
)
from server.remote_bots import (
    SNAPSHOT_HEAD,
    TICK_SECONDS,
    BotStats,
    Seat,
    brain_for,
    join_message,
    note_message,
    packed_snapshot,
    snapshot_tick,
)
from shared.protocol import ProtocolError, decode, encode

IDLE_WAKE = 0.25  # seconds between drains when no snapshot says when the next is due
MIN_WAKE, MAX_WAKE = 0.05, 0.5
WAKE_LATE = 0.01  # a player wakes this long after its brain's snapshot should have come
SLOT_SECONDS = 0.02  # wake-ups due within the same slot run together (Alarms)
TICK_HEAD = 32  # bytes of a snapshot enough for snapshot_tick (its tick is at most 8 bytes)
HEAD_BYTES = 1 + len(SNAPSHOT_HEAD)  # a map's marker and the head of a packed snapshot


T = TypeVar("T")


class Alarms:
    """One asyncio timer for all the light sockets of a loop.

    A wake-up is put in the first slot of SLOT_SECONDS that starts after it is due and a
    slot's wake-ups run together: about fifty timer turns a second however many players,
    where asyncio's own call_later costs each wake-up a handle and a dozen Python-level
    comparisons in the loop's heap, a quarter of a light player's time.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.slots: dict[int, list[tuple[Callable[[Any], object], Any]]] = {}
        self._next: asyncio.TimerHandle | None = None
        self._next_slot = 0

    def call_later(self, delay: float, callback: Callable[[T], object], arg: T) -> None:
        """Call `callback(arg)` `delay` seconds from now, up to SLOT_SECONDS later."""
        slot = int((self.loop.time() + delay) / SLOT_SECONDS) + 1
        due = self.slots.get(slot)
        if due is None:
            self.slots[slot] = [(callback, arg)]
        else:
            due.append((callback, arg))
        if self._next is None or slot < self._next_slot:
            self._arm(slot)

    def _arm(self, slot: int) -> None:
        if self._next is not None:
            self._next.cancel()
        self._next_slot = slot
        self._next = self.loop.call_at(slot * SLOT_SECONDS, self._run, slot)

    def _run(self, last: int) -> None:
        self._next = None
        for slot in sorted(k for k in self.slots if k <= last):
            for callback, arg in self.slots.pop(slot):
                try:
                    callback(arg)
                except Exception as exc:  # as the loop reports a failing callback
                    self.loop.call_exception_handler(
                        {"message": "light player wake-up failed", "exception": exc}
                    )
        if self.slots and self._next is None:
            self._arm(min(self.slots))


_alarms: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Alarms] = weakref.WeakKeyDictionary()


def alarms() -> Alarms:
    """The running loop's Alarms."""
    loop = asyncio.get_running_loop()
    found = _alarms.get(loop)
    if found is None:
        found = _alarms[loop] = Alarms(loop)
    return found


class LightPlayer:
    """One bot player of a room: BotBrain on a LightSocket, rejoining after a drop.

    The same life as server.remote_bots.drive_bot (join by code, drive, leave when told bye
    or refused, rejoin with the token after a drop, up to five attempts in a row), woken by
    timers instead of by every frame.
    """

    def __init__(
        self, code: str, name: str, stats: BotStats, seed: int, stop: asyncio.Event | None = None
    ) -> None:
        self.code, self.name, self.stats, self.stop = code, name, stats, stop
        self.brain = brain_for(seed)  # as drive_bot's: the same bot drives the same way
        self.seat = Seat()
        self.leaving = False
        self.ws: LightSocket | None = None  # the last connection
        self._driving: LightSocket | None = None  # the connection its wake-ups are for

    async def run(self, url: str) -> None:
        """Join room `code` at `url` and drive until the player leaves or gives up."""
        attempts = 0
        while attempts < 5 and not self.leaving and not (self.stop and self.stop.is_set()):
            attempts += 1
            try:
                ws = await LightSocket.open(f"{url.rstrip('/')}/r/{self.code}")
            except (OSError, TimeoutError, HandshakeError):
                self.stats.disconnects += 1
                await asyncio.sleep(min(5.0, 0.5 * attempts))
                continue
            self.ws = self._driving = ws
            try:
                self._join(ws)
                await ws.ended
            finally:
                self._driving = None  # its wake-up still due does nothing
                ws.abort()
            if self.leaving:
                return
            self.stats.disconnects += 1
            if self.seat.joined:
                attempts, self.seat.joined = 0, False
            await asyncio.sleep(min(5.0, 0.5 * attempts))

    def _join(self, ws: LightSocket) -> None:
        ws.send(encode(join_message(self.code, self.name, self.seat)))
        alarms().call_later(IDLE_WAKE, self._wake, ws)

    def _wake(self, ws: LightSocket) -> None:
        """Drain the socket, count every frame, act on the messages and on the latest
        snapshot if the brain is due; sleep until its next one should have come."""
        if ws is not self._driving:
            return
        stats, brain = self.stats, self.brain
        if self.stop is not None and self.stop.is_set() and not self.leaving:
            self._leave(ws)
        frames = ws.drain()
        buf = ws.buf
        latest: Frame | None = None
        for frame in frames:
            first, begin, end = frame
            # a snapshot as the server packs it: a small map, "type": "snapshot" first
            if first == FINAL_BINARY and end - begin > HEAD_BYTES and packed_snapshot(buf, begin):
                stats.snapshots += 1
                stats.snapshot_bytes += end - begin
                latest = frame
            elif not self.leaving and not self._act(ws, frame):
                self._leave(ws)
        latest_tick = 0
        if latest is not None:
            tick = snapshot_tick(bytes(buf[latest[1] : min(latest[2], latest[1] + TICK_HEAD)]))
            if tick is None:  # its tick is not where the server puts it: decode it all
                if not self.leaving and not self._act(ws, latest, counted=True):
                    self._leave(ws)
                latest = None
            else:
                latest_tick = tick
        if latest is not None and not self.leaving and brain.due(latest_tick):
            try:
                snapshot = decode(bytes(buf[latest[1] : latest[2]]))
            except ProtocolError:
                stats.errors["bad_frame"] = stats.errors.get("bad_frame", 0) + 1
            else:
                self._decide(ws, snapshot)
        if ws.ended.done():
            return
        if self.leaving and ws.closing_too_long():
            ws.abort()
            return
        delay = IDLE_WAKE
        if latest is not None and not self.leaving:
            delay = (brain.next_tick - latest_tick) * TICK_SECONDS + WAKE_LATE
            delay = min(MAX_WAKE, max(MIN_WAKE, delay))
        alarms().call_later(delay, self._wake, ws)

    def _act(self, ws: LightSocket, frame: Frame, counted: bool = False) -> bool:
        """Decode and act on one message (as remote_bots._act; a snapshot only when its
        tick could not be read where the server puts it, `counted` if it already was);
        False when the player is to leave."""
        stats = self.stats
        payload = ws.buf[frame[1] : frame[2]]
        try:
            if frame[0] & 0x0F != OP_BINARY:
                raise ProtocolError("malformed", "frames must be binary msgpack, not text")
            msg = decode(bytes(payload))
        except ProtocolError:
            stats.errors["bad_frame"] = stats.errors.get("bad_frame", 0) + 1
            return True
        kind = msg["type"]
        if kind == "snapshot":  # one packed another way than snapshot_tick reads
            if not counted:
                stats.snapshots += 1
                stats.snapshot_bytes += len(payload)
            self._decide(ws, msg)
            return True
        return note_message(msg, self.brain, stats, self.seat)

    def _decide(self, ws: LightSocket, snapshot: dict[str, Any]) -> None:
        try:
            controls = self.brain.decide(snapshot)
        except (TypeError, ValueError, AttributeError, IndexError):  # not checked: see above
            self.stats.errors["bad_frame"] = self.stats.errors.get("bad_frame", 0) + 1
            return
        for control in controls:
            ws.send(encode(control))
            self.stats.controls += 1

    def _leave(self, ws: LightSocket) -> None:
        self.leaving = True
        ws.start_close()


async def drive_light(
    url: str,
    code: str,
    name: str,
    stats: BotStats,
    seed: int,
    stop: asyncio.Event | None = None,
) -> None:
    """One light player for its whole life (server.remote_bots.drive_bot's counterpart)."""
    await LightPlayer(code, name, stats, seed, stop).run(url)


async def drain_forever(ws: LightSocket, every: float = MAX_WAKE) -> None:
    """Read and drop all that comes on `ws` every `every` seconds until it ends: a room
    host's connection, which receives the full ring twenty times a second and must not be
    one of the server's slow clients."""
    running = [True]

    def wake(_: object) -> None:
        if running[0]:
            ws.drain()
            if not ws.ended.done():
                alarms().call_later(every, wake, None)

    wake(None)
    try:
        await ws.ended
    finally:
        running[0] = False  # its wake-up still due does nothing
