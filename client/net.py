"""The client's one connection to a server: connect, speak first, read, reconnect.

It runs as a coroutine on Textual's own event loop (the app starts it as an exclusive
worker), so there are no threads and no locks: incoming frames are validated with
`parse_server_frame` and handed to a callback; outgoing messages go through a queue that a
writer task drains. When the socket drops it tells the app, waits with growing backoff and
connects again, and — once it holds a room code and a token — opens with a `join` carrying
the token so the server hands the player's car back.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from shared.protocol import (
    CLIENT_MESSAGES,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    ProtocolError,
    encode,
    parse_server_frame,
    validate,
)

BACKOFF = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds to wait before each reconnect attempt; the last value repeats."""

FATAL_ERRORS = frozenset(
    {"protocol", "kicked", "no_room", "room_closed", "full", "bad_code", "locked", "finished"}
)
"""Server error codes after which reconnecting would only fail again."""

OnMessage = Callable[[dict[str, Any]], None]
OnStatus = Callable[[str, str], None]  # (state, human sentence)
Opening = Callable[[], Sequence[dict[str, Any]]]  # the first messages on a fresh socket
IsFatal = Callable[[dict[str, Any]], bool]  # an `error` message after which to stop


def trust_context(cafile: str | None) -> ssl.SSLContext | None:
    """For wss://: the system's certificates plus those in `cafile` (a facilitator's
    self-signed one), or None to let websockets use the default (which also honours
    SSL_CERT_FILE). Raises OSError / ssl.SSLError for a file that is not a PEM certificate."""
    if not cafile:
        return None
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=cafile)
    return context


def backoff_delay(attempt: int, schedule: Sequence[float] = BACKOFF) -> float:
    """Seconds to wait before reconnect attempt number `attempt` (1-based)."""
    return schedule[min(max(attempt, 1), len(schedule)) - 1]


class Connection:
    """One logical connection that survives dropped sockets."""

    def __init__(
        self,
        url: str,
        on_message: OnMessage,
        on_status: OnStatus,
        opening: Opening,
        backoff: Sequence[float] = BACKOFF,
        is_fatal: IsFatal | None = None,
        cafile: str | None = None,
    ) -> None:
        self.url = url
        self._is_fatal = is_fatal or (lambda msg: msg["code"] in FATAL_ERRORS)
        self._cafile = cafile
        self._on_message = on_message
        self._on_status = on_status
        self._opening = opening
        self._backoff = backoff
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(maxsize=256)
        self._ws: ClientConnection | None = None
        self._stopped = False
        self.fatal: str | None = None
        self.attempts = 0
        self.ever_connected = False

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def send(self, message: dict[str, Any]) -> bool:
        """Queue a message for the server; False when not connected (the intent is dropped:
        a steering key pressed while offline must not fire seconds later)."""
        clean = validate(message, CLIENT_MESSAGES)  # a bug here should fail loudly, in tests
        if self._ws is None:
            return False
        try:
            self._outbox.put_nowait(encode(clean))
        except asyncio.QueueFull:
            return False
        return True

    def stop(self) -> None:
        self._stopped = True
        ws = self._ws
        if ws is not None:
            asyncio.ensure_future(ws.close())

    async def drop(self) -> None:
        """Close the socket as if the network failed (used by tests and the 'reconnect' command)."""
        ws = self._ws
        if ws is not None:
            await ws.close()

    async def run(self) -> None:
        """Connect and keep reconnecting until stopped or told something fatal."""
        failures = 0
        try:
            context = trust_context(self._cafile) if self.url.startswith("wss:") else None
        except (OSError, ssl.SSLError) as exc:
            self.fatal = f"cannot read the certificates in {self._cafile}: {exc}"
            self._on_status("closed", f"Cannot connect: {self.fatal}")
            return
        tls: dict[str, Any] = {}
        if self.url.startswith("wss:"):
            # True: websockets' default context (system certificates, SSL_CERT_FILE); a quick
            # TLS shutdown, or a client leaving a dead server waits asyncio's 30 s for it
            tls = {"ssl": context or True, "ssl_shutdown_timeout": 2}
        while not self._stopped:
            self.attempts += 1
            self._on_status("connecting", f"Connecting to {self.url}…")
            try:
                async with connect(
                    self.url,
                    **tls,
                    compression=None,
                    max_size=MAX_FRAME_BYTES,
                    open_timeout=5,
                    ping_interval=5,
                    ping_timeout=5,
                    close_timeout=1,
                ) as ws:
                    failures = 0
                    await self._session(ws)
            except ssl.SSLCertVerificationError as exc:
                self.fatal = (
                    f"the server's certificate is not trusted ({exc.verify_message}); "
                    "if it is self-signed, pass it with --cafile FILE.pem"
                )
                self._on_status("closed", f"Cannot connect: {self.fatal}")
                return
            except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed) as exc:
                reason = _describe(exc)
            except InvalidURI as exc:
                self.fatal = f"not a server address: {exc.uri}"
                self._on_status("closed", f"Cannot connect: {self.fatal}")
                return
            else:
                reason = "the server closed the connection"
            finally:
                self._ws = None
            if self._stopped:
                return
            if self.fatal is not None:
                self._on_status("closed", f"Disconnected: {self.fatal}")
                return
            failures += 1
            delay = backoff_delay(failures, self._backoff)
            what = "Connection lost" if self.ever_connected else f"Cannot reach {self.url}"
            self._on_status(
                "lost", f"{what} ({reason}); retrying in {delay:g} s (attempt {failures})"
            )
            await asyncio.sleep(delay)

    async def _session(self, ws: ClientConnection) -> None:
        while not self._outbox.empty():  # intents queued for a dead socket are stale
            self._outbox.get_nowait()
        for message in self._opening():
            await ws.send(encode(validate(message, CLIENT_MESSAGES)))
        self._ws = ws
        self.ever_connected = True
        self._on_status("connected", f"Connected to {self.url}")
        writer = asyncio.create_task(self._write(ws))
        try:
            async for frame in ws:
                try:
                    msg = parse_server_frame(frame)
                except ProtocolError as exc:
                    self._on_status("connected", f"Ignored a bad message from the server: {exc}")
                    continue
                if msg["type"] == "error" and self._is_fatal(msg):
                    self.fatal = msg["message"]
                if msg["type"] == "bye":
                    self.fatal = msg["reason"] or "the server said goodbye"
                self._on_message(msg)
                if self.fatal is not None:
                    await ws.close()
                    return
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _write(self, ws: ClientConnection) -> None:
        while True:
            data = await self._outbox.get()
            await ws.send(data)


def hello(name: str) -> dict[str, Any]:
    """The first message on every socket."""
    return {"type": "hello", "protocol": PROTOCOL_VERSION, "name": name}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "nothing is listening there"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionClosed):
        return "the connection dropped"
    text = str(exc) or type(exc).__name__
    return text[:80]
