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
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import random
import socket
import struct
import weakref
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from websockets.http11 import USER_AGENT

from server.remote_bots import TICK_SECONDS, BotBrain, BotStats, snapshot_tick
from shared.protocol import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    ProtocolError,
    decode,
    encode,
    parse_server_frame,
)

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
FINAL_BINARY = 0x80 | OP_BINARY  # the first header byte of (nearly) every server frame
REDIRECT_STATUSES = (301, 302, 303, 307, 308)  # as websockets' client follows them
MAX_REDIRECTS = 10
MAX_RESPONSE_HEAD = 64 * 1024
OPEN_TIMEOUT = 20.0  # seconds for the opening handshake, redirects included (as drive_bot)
CLOSE_TIMEOUT = 10.0  # seconds a closing handshake may take before the socket is dropped
CLOSE_NORMAL, CLOSE_ABNORMAL, CLOSE_PROTOCOL, CLOSE_TOO_BIG = 1000, 1006, 1002, 1009

BUFFER_BYTES = 16 * 1024  # a socket's read buffer to start with; it grows to a drain's size
MIN_SPACE = 4 * 1024  # a recv_into gets at least this much room (the buffer doubles)
IDLE_WAKE = 0.25  # seconds between drains when no snapshot says when the next is due
MIN_WAKE, MAX_WAKE = 0.05, 0.5
WAKE_LATE = 0.01  # a player wakes this long after its brain's snapshot should have come
SLOT_SECONDS = 0.02  # wake-ups due within the same slot run together (Alarms)
TICK_HEAD = 32  # bytes of a snapshot enough for snapshot_tick (its tick is at most 8 bytes)
# how the server's snapshots start after their map's marker (server/remote_bots.py reads
# their tick after it, snapshot_tick): the frames that are only counted are told by this
SNAPSHOT_HEAD = b"\xa4type\xa8snapshot"
HEAD_BYTES = 1 + len(SNAPSHOT_HEAD)

Frame = tuple[int, int, int]
"""A frame found in a buffer: its first header byte (FIN, RSV, opcode), where its payload
starts and where it ends."""


class FrameError(Exception):
    """The server sent something RFC 6455 does not allow a server to send."""


class HandshakeError(Exception):
    """The opening handshake failed (refused, a bad answer, too many redirects)."""


def walk_frames(
    buf: bytes | bytearray, start: int, end: int, max_size: int = MAX_FRAME_BYTES
) -> tuple[list[Frame], int]:
    """The complete frames in buf[start:end], and where the first incomplete one starts.

    Payloads are located, never copied or read. A masked frame (a server must not mask,
    RFC 6455 section 5.1) or one larger than `max_size` raises FrameError.
    """
    frames: list[Frame] = []
    at = start
    unpack = struct.unpack_from
    while end - at >= 2:
        size = buf[at + 1]
        if size & 0x80:
            raise FrameError("a frame from the server is masked")
        head = at + 2
        if size == 126:
            if end - head < 2:
                break
            (size,) = unpack("!H", buf, head)
            head += 2
        elif size == 127:
            if end - head < 8:
                break
            (size,) = unpack("!Q", buf, head)
            head += 8
        if size > max_size:
            raise FrameError(f"a frame of {size} bytes (the limit is {max_size})")
        if end - head < size:
            break
        frames.append((buf[at], head, head + size))
        at = head + size
    return frames, at


def client_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame from a client: masked with `mask` (four random bytes if None)."""
    key = os.urandom(4) if mask is None else mask
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + size.to_bytes(8, "big")
    keys = (key * (size // 4 + 1))[:size]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(size, "big")
    return head + key + body


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server answers to Sec-WebSocket-Key `key`."""
    return base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest()).decode()


async def _request(url: str) -> tuple[socket.socket, int, dict[str, str], bytes]:
    """Connect and send the opening handshake for `url`: the socket, the response's status,
    its headers (lower-case names) and the bytes that came after them, once checked."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname:
        raise HandshakeError(f"not a ws:// URL: {url}")
    port = parts.port or 80
    loop = asyncio.get_running_loop()
    family, kind, proto, _, address = (
        await loop.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's transports
        await loop.sock_connect(sock, address)
        key = base64.b64encode(os.urandom(16)).decode()
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        if port != 80:
            host += f":{port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # the headers websockets' client sends, in its order (websockets.client.connect)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nUser-Agent: {USER_AGENT}\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode("ascii"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                raise HandshakeError("the server closed the connection during the handshake")
            data += chunk
            if len(data) > MAX_RESPONSE_HEAD:
                raise HandshakeError("the server's response head is too long")
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise HandshakeError(f"not an HTTP response: {lines[0]!r}") from exc
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 101:
            tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
            if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in tokens:
                raise HandshakeError("the server did not upgrade to a websocket")
            if headers.get("sec-websocket-accept") != accept_key(key):
                raise HandshakeError("wrong Sec-WebSocket-Accept")
            if "sec-websocket-extensions" in headers:
                raise HandshakeError("the server chose an extension; none was offered")
    except BaseException:
        sock.close()
        raise
    return sock, status, headers, rest


class LightSocket:
    """A client websocket on a non-blocking socket, read only when its owner drains it.

    There is no reader callback, task or object per frame: `drain()` reads all the socket
    holds and returns where the data frames' payloads are in `buf`, having answered PINGs
    and a CLOSE itself. `ended` resolves with the server's close code (1006 without one)
    once the TCP connection is over.
    """

    def __init__(self, sock: socket.socket, first: bytes, url: str) -> None:
        self.sock = sock
        self.url = url  # where the handshake ended, after any redirect
        peer = sock.getpeername()
        self.port: int = peer[1] if isinstance(peer, tuple) else 0  # the server's (a worker's)
        self.buf = bytearray(max(BUFFER_BYTES, 2 * len(first)))
        self.buf[: len(first)] = first
        self._have = len(first)  # bytes in buf
        self._start = 0  # where the frames the last drain did not return start
        self._outbox = b""  # bytes the socket did not take yet
        self.ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.close_sent: float | None = None  # loop time our CLOSE was sent
        self.close_received: int | None = None  # the code of the server's CLOSE
        self.pings = 0  # PINGs answered

    @classmethod
    async def open(cls, url: str, timeout: float = OPEN_TIMEOUT) -> LightSocket:
        """Connect to `url` (ws://), following redirects as websockets' client does."""
        async with asyncio.timeout(timeout):
            for _ in range(MAX_REDIRECTS + 1):
                sock, status, headers, rest = await _request(url)
                if status == 101:
                    return cls(sock, rest, url)
                sock.close()
                if status not in REDIRECT_STATUSES or "location" not in headers:
                    raise HandshakeError(f"the server answered HTTP {status}")
                url = urljoin(url, headers["location"])
        raise HandshakeError(f"more than {MAX_REDIRECTS} redirects")

    @property
    def clean(self) -> bool:
        """Whether the connection ended with a closing handshake (both CLOSEs, then EOF)."""
        return self.ended.done() and self.close_received is not None and bool(self.close_sent)

    def send(self, payload: bytes) -> None:
        """Send one binary message (never blocks: what the socket does not take waits)."""
        if self.close_sent is None and not self.ended.done():
            self._write(client_frame(OP_BINARY, payload))

    def start_close(self, code: int = CLOSE_NORMAL) -> None:
        """Send CLOSE; drains go on until the server's CLOSE and its end of the stream."""
        if self.close_sent is None and not self.ended.done():
            self._write(client_frame(OP_CLOSE, code.to_bytes(2, "big")))
            self.close_sent = asyncio.get_running_loop().time()

    def closing_too_long(self) -> bool:
        """Whether our CLOSE has waited for its answer past CLOSE_TIMEOUT."""
        sent = self.close_sent
        return sent is not None and asyncio.get_running_loop().time() - sent > CLOSE_TIMEOUT

    def abort(self, code: int = CLOSE_ABNORMAL) -> None:
        """Drop the connection now (no handshake)."""
        if not self.ended.done():
            self.sock.close()
            self.ended.set_result(self.close_received or code)

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """The closing handshake, awaited (for hosts and tests; a player uses start_close)."""
        self.start_close()
        try:
            async with asyncio.timeout(timeout):
                while not self.ended.done():
                    self.drain()
                    if not self.ended.done():
                        await self.readable()
        except TimeoutError:
            self.abort()

    async def readable(self) -> None:
        """Until the socket has something to read (for setting up; a player never waits)."""
        loop = asyncio.get_running_loop()
        fd = self.sock.fileno()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    async def until(self, kind: str) -> dict[str, Any]:
        """The next message of `kind`, parsed; those before it are dropped (for setting up)."""
        while True:
            for _, begin, end in self.drain():
                message = parse_server_frame(bytes(self.buf[begin:end]))
                if message["type"] == kind:
                    return message
            if self.ended.done():
                raise ConnectionError(f"the connection ended (code {self.ended.result()})")
            await self.readable()

    def drain(self) -> list[Frame]:
        """Read all the socket holds; the data frames it completed, oldest first.

        Their payloads are buf[begin:end] until the next drain. PINGs are answered, a CLOSE
        is answered and no data after it returned; at the end of the stream the socket is
        closed and `ended` resolved. Fragmented messages are refused: the game server sends
        every message as one frame (server/net.py, Client.send).
        """
        if self.ended.done():
            return []
        if self._outbox:
            self._write(b"")
        buf, have, start = self.buf, self._have, self._start
        if start:  # the incomplete frame the last drain left goes to the front
            have -= start
            buf[:have] = buf[start : start + have]
            self._start = 0
        sock, eof = self.sock, False
        while True:
            space = len(buf) - have
            if space < MIN_SPACE:
                buf.extend(bytes(len(buf)))
                space = len(buf) - have
            try:
                got = sock.recv_into(memoryview(buf)[have:])
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                eof = True
                break
            if not got:
                eof = True
                break
            have += got
            if got < space:  # the socket is drained (what comes meanwhile waits for the next)
                break
        self._have = have
        try:
            frames, self._start = walk_frames(buf, 0, have)
        except FrameError:
            self._fail(CLOSE_PROTOCOL)
            return []
        out: list[Frame] = []
        for frame in frames:
            first = frame[0]
            if first == FINAL_BINARY:
                if self.close_received is None:
                    out.append(frame)
                continue
            opcode = first & 0x0F
            if first & 0x70 or (opcode < OP_CLOSE and not first & 0x80):
                self._fail(CLOSE_PROTOCOL)  # RSV bits without an extension, or a fragment
                return []
            if opcode == OP_PING:
                self.pings += 1
                self._write(client_frame(OP_PONG, bytes(buf[frame[1] : frame[2]])))
            elif opcode == OP_CLOSE:
                self._closed_by_server(bytes(buf[frame[1] : frame[2]]))
            elif opcode == OP_TEXT and self.close_received is None:
                out.append(frame)  # the owner refuses it, as the protocol does
            elif opcode not in (OP_PONG, OP_TEXT):
                self._fail(CLOSE_PROTOCOL)
                return []
        if eof:
            self.sock.close()
            self.ended.set_result(self.close_received or CLOSE_ABNORMAL)
        return out

    def _closed_by_server(self, payload: bytes) -> None:
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        if self.close_received is None:
            self.close_received = code
            if self.close_sent is None:  # echo its code; the server then ends the stream
                self._write(client_frame(OP_CLOSE, payload[:2]))
                self.close_sent = asyncio.get_running_loop().time()

    def _fail(self, code: int) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): CLOSE with `code`, then drop it."""
        if self.close_sent is None:
            self._write(client_frame(OP_CLOSE, code.to_bytes(2, "big")))
        self.abort(code)

    def _write(self, data: bytes) -> None:
        data = self._outbox + data if self._outbox else data
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = len(data)  # the connection is gone: the next drain ends it
        self._outbox = data[sent:]


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
        # as remote_bots._drive seeds it: the same bot drives the same way
        self.brain = BotBrain(
            random.Random(seed), cruise_kmh=random.Random(seed).choice([90, 100, 110])
        )
        self.token: str | None = None
        self.joined = False  # joined on the current connection
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
            if self.joined:
                attempts, self.joined = 0, False
            await asyncio.sleep(min(5.0, 0.5 * attempts))

    def _join(self, ws: LightSocket) -> None:
        hello: dict[str, Any] = {
            "type": "join",
            "protocol": PROTOCOL_VERSION,
            "code": self.code,
            "name": self.name,
            "role": "player",
        }
        if self.token:
            hello["token"] = self.token
        ws.send(encode(hello))
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
            if (
                first == FINAL_BINARY
                and end - begin > HEAD_BYTES
                and 0x80 <= buf[begin] <= 0x8F
                and buf.startswith(SNAPSHOT_HEAD, begin + 1)
            ):
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
        stats.other += 1
        if kind == "joined":
            token = msg.get("token")
            self.token = token if isinstance(token, str) else None
            self.joined = True
            stats.joined += 1
        elif kind == "room" and isinstance(msg.get("ring"), dict):
            lanes = msg["ring"].get("lanes")
            if isinstance(lanes, int) and lanes > 0:
                self.brain.lanes = lanes
        elif kind == "error":
            code = str(msg.get("code"))
            stats.errors[code] = stats.errors.get(code, 0) + 1
            if code in ("no_room", "locked", "finished", "protocol", "token"):
                return False
        elif kind == "bye":
            return False
        return True

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
