"""One websocket connection as the server sees it: sending without waiting, PINGs counted.

`Client` is what rooms send to (`send` never waits: a client whose socket buffer is still
full is skipped for this tick, so one slow laptop cannot hold up a room) and what the gate
scores (abuse points, the message allowance, error replies limited so a flood is not
echoed). `GuardedConnection` is the websockets connection that reports PINGs to its `Client`
and counts sockets still in the opening handshake with the gate (server/net_gate.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from websockets.asyncio.server import ServerConnection, broadcast
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import OPEN

from shared.messages import ErrorReply
from shared.ratelimit import Bucket

if TYPE_CHECKING:
    from server.net_gate import Gate, Limits


def binary_frame_header(size: int) -> bytes:
    """The header of an unmasked, final, binary websocket frame of `size` bytes (RFC 6455)."""
    if size < 126:
        return bytes((0x82, size))
    if size < 65536:
        return b"\x82\x7e" + size.to_bytes(2, "big")
    return b"\x82\x7f" + size.to_bytes(8, "big")


class Client:
    """One websocket connection, as rooms see it (`send`, `close`) plus its abuse score."""

    def __init__(
        self,
        ws: ServerConnection,
        limits: Limits,
        now: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ws = ws
        self.limits = limits
        self.clock = clock
        self.bucket = Bucket(limits.messages_per_second, limits.message_burst, now)
        self.abuse = 0.0
        self.abuse_stamp = now
        self.errors_sent = Bucket(5.0, 10.0, now)  # never answer a flood with a flood
        self.sent = 0
        self.skipped = 0
        self.bytes_sent = 0
        self.closing = False
        self.pings = 0
        self.stuck_since: float | None = None  # loop time the write buffer went over the bound

    def send(self, data: bytes) -> bool:
        """Queue one binary message without waiting; False if the client was skipped.

        This runs twenty times a second for every client, so an open connection without
        extensions gets the frame written straight to its transport (a server's frames are
        not masked: a two-to-ten-byte header and the payload, as websockets would write it);
        anything else goes through websockets' own `broadcast`.
        """
        ws = self.ws
        transport = ws.transport
        if self.closing or transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() > self.limits.write_buffer:
            self.skipped += 1
            return False
        protocol = ws.protocol
        if protocol.state is OPEN and not protocol.extensions and ws.send_in_progress is None:
            transport.write(binary_frame_header(len(data)) + data)
        else:
            broadcast([ws], data)
        self.sent += 1
        self.bytes_sent += len(data)
        return True

    def close(self, code: int, reason: str) -> None:
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().create_task(self.ws.close(code, reason))

    def stuck(self, now: float) -> bool:
        """Whether the unsent bytes have stayed over the bound for too long (`now`: loop time).

        A close frame would wait behind those bytes, so the caller aborts the socket instead.
        """
        transport = self.ws.transport
        if transport is None or transport.is_closing():
            return False
        if transport.get_write_buffer_size() <= self.limits.stuck_bytes:
            self.stuck_since = None
            return False
        if self.stuck_since is None:
            self.stuck_since = now
        return now - self.stuck_since >= self.limits.stuck_seconds

    def on_ping(self) -> None:
        """A websocket PING arrived (the library has already queued its PONG): it spends the
        message allowance like any message, so a PING flood is closed like a message flood."""
        self.pings += 1
        if self.closing:
            # told to close, still pinging: the close frame would wait behind their PONGs
            self.ws.transport.abort()
            return
        now = self.clock()
        if not self.bucket.take(now) and self.strike(now, 0.5):
            self.close(CloseCode.POLICY_VIOLATION, "too many pings")

    def strike(self, now: float, points: float = 1.0) -> bool:
        """Add abuse points; True when the connection has earned a close."""
        self.abuse = max(0.0, self.abuse - (now - self.abuse_stamp) * self.limits.abuse_decay)
        self.abuse_stamp = now
        self.abuse += points
        return self.abuse > self.limits.abuse_close

    def reply_error(self, code: str, message: str, now: float) -> None:
        if self.errors_sent.take(now):
            self.send(ErrorReply(code=code, message=message).encode())


class GuardedConnection(ServerConnection):
    """A websockets server connection that reports PINGs and counts unfinished handshakes.

    websockets answers every PING with a PONG inside the library, so without this hook a PING
    flood costs nothing to send and an unbounded write buffer to answer. The handshake count
    is taken as soon as the socket is accepted, before the client has said anything, so that
    sockets left half-open from one address cannot hold every file descriptor.
    """

    guard: Gate | None = None
    on_ping: Callable[[], None] | None = None
    handshake_address: str | None = None  # set while this socket counts as a handshake

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.guard is not None:
            self.guard.handshake_began(self, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.guard is not None:
            self.guard.handshake_ended(self)
        super().connection_lost(exc)

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING and self.on_ping is not None:
            self.on_ping()
        super().process_event(event)
