"""The client's one connection to a server: connect, speak first, read, reconnect.

It runs as a coroutine on Textual's own event loop (the app starts it as an exclusive
worker), so there are no threads and no locks: each incoming frame is decoded and checked
once into its typed value (`shared.messages.decode_server_frame`) and handed to a callback;
outgoing frames (typed client messages, encoded by `checked_frame`) go through a queue that
a writer task drains. When the socket drops it tells the app, waits with growing backoff and
connects again, and — once it holds a room code and a token — opens with a `join` carrying
the token so the server hands the player's car back.

A hostile or broken server must not crash or grow the client (docs/protocol.md, "Limits"):
frames that fail validation are dropped and counted, and a server that keeps sending them,
floods PINGs, or stops reading what the client sends is left with a sentence saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import quote

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.frames import Frame, Opcode

from shared.messages import (
    Bye,
    ClientMessage,
    Create,
    ErrorReply,
    Hello,
    Join,
    ServerMessage,
    decode_server_frame,
    parse_client_message,
)
from shared.protocol import MAX_FRAME_BYTES, PROTOCOL_VERSION, ProtocolError
from shared.ratelimit import Bucket

BACKOFF = (0.2, 0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds to wait before each reconnect attempt; the last value repeats."""

SEAT_KEPT_SECONDS = 120.0
"""How long a server keeps a dropped member's seat for its token (docs/protocol.md, `join`)."""

GIVE_UP_SECONDS = SEAT_KEPT_SECONDS + 30.0
"""After this long without getting back in, the seat is surely gone: stop retrying and say
the server is gone, rather than loop for ever in front of a frozen screen."""

ROUTE_REFUSALS = {
    404: ("no_room", "there is no room with that code"),
    410: ("room_closed", "the server process that held this room stopped; the room is gone"),
}
"""A front door's answers to /r/CODE that mean the room is not there (docs/protocol.md)."""

FATAL_ERRORS = frozenset(
    {"protocol", "kicked", "no_room", "room_closed", "full", "bad_code", "locked", "finished"}
)
"""Server error codes after which reconnecting would only fail again."""

REFUSAL_HINTS = {
    "locked": " (ask the host to unlock it)",
    "no_room": " (check the code, and --server if the room is on another machine)",
    "finished": " (ask the host for the code of the next room)",
    "full": " (ask the host to make room)",
}
"""What to do about a join refused for good, said after the server's own sentence."""

BAD_FRAMES_BURST = 20.0
BAD_FRAMES_PER_SECOND = 1.0
"""Frames the client cannot accept that it forgives (a burst, then one a second); a server
that keeps sending more is left with a message saying so."""

PINGS_BURST = 40.0
PINGS_PER_SECOND = 5.0
"""Websocket PINGs from the server that the client answers; a PING flood is left."""

STUCK_BYTES = 1024 * 1024
STUCK_SECONDS = 3.0
"""Unsent bytes (PONGs, inputs) that may stay queued for a server that does not read them."""


class GuardedClientConnection(ClientConnection):
    """A websockets client connection that reports each PING the server sends (the library
    answers them itself, so a flood of them would otherwise only grow our write buffer)."""

    on_ping: Callable[[], None] | None = None

    def process_event(self, event: Any) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING and self.on_ping is not None:
            self.on_ping()
        super().process_event(event)


OnMessage = Callable[[ServerMessage], object]  # what it returns is ignored
OnStatus = Callable[[str, str], object]  # (state, human sentence); returns ignored
Opening = Callable[[], Sequence[ClientMessage]]  # the first messages on a fresh socket
IsFatal = Callable[[ErrorReply], bool]  # an `error` message after which to stop


def checked_frame(message: ClientMessage) -> bytes:
    """The bytes of a message this client is about to send, held to the schema the server
    holds it to first (shared/messages/schema.py): a bug here should fail loudly, in tests,
    not as a server's error. Raises ProtocolError."""
    parse_client_message(message.as_map())
    return message.encode()


class Link(Protocol):
    """What the app needs of its connection: `Connection` on a network, a fake in tests
    (tests/client/test_harness.py), so that both are driven through the same calls."""

    lost_at: float | None  # loop time the link was lost (None: it is up, or never was)
    fatal: str | None  # why it stopped for good, once it has

    def send(self, frame: bytes) -> bool: ...

    def stop(self) -> None: ...

    async def drop(self) -> None: ...

    async def run(self) -> None: ...


class OpenLink(Protocol):
    """How the app opens its link: `Connection` itself, or a test's stand-in for it."""

    def __call__(
        self,
        url: str,
        on_message: OnMessage,
        on_status: OnStatus,
        opening: Opening,
        *,
        is_fatal: IsFatal | None,
        cafile: str | None,
        give_up_after: float,
    ) -> Link: ...


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
        give_up_after: float = GIVE_UP_SECONDS,
    ) -> None:
        self.url = url
        self._give_up_after = give_up_after
        self.lost_at: float | None = None  # loop time the last session ended (None: in one)
        self._is_fatal = is_fatal or (lambda msg: msg.code in FATAL_ERRORS)
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
        self.bad_frames = 0  # frames from the server that failed validation (dropped)
        self.failed_handlers = 0  # valid frames whose handling raised (dropped)
        self.server_pings = 0

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def send(self, frame: bytes) -> bool:
        """Queue a frame (`checked_frame`) for the server; False when not connected (the
        intent is dropped: a steering key pressed while offline must not fire seconds later)."""
        if self._ws is None:
            return False
        try:
            self._outbox.put_nowait(frame)
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
            opening = list(self._opening())
            try:
                async with connect(
                    route_url(self.url, opening),
                    **tls,
                    compression=None,
                    max_size=MAX_FRAME_BYTES,
                    open_timeout=5,
                    ping_interval=5,
                    ping_timeout=5,
                    close_timeout=1,
                    create_connection=GuardedClientConnection,
                ) as ws:
                    failures = 0
                    await self._session(ws, opening)
            except ssl.SSLCertVerificationError as exc:
                self.fatal = (
                    f"the server's certificate is not trusted ({exc.verify_message}); "
                    "if it is self-signed, pass it with --cafile FILE.pem"
                )
                self._on_status("closed", f"Cannot connect: {self.fatal}")
                return
            except InvalidStatus as exc:
                refusal = ROUTE_REFUSALS.get(exc.response.status_code)
                if refusal is not None:  # a front door: the room is not (or no longer) there
                    self.fatal = refusal[1]
                    self._on_message(ErrorReply(code=refusal[0], message=refusal[1]))
                reason = _describe(exc)
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
            now = asyncio.get_running_loop().time()
            if self.ever_connected and self.lost_at is None:
                self.lost_at = now
            if self.lost_at is not None and now + delay - self.lost_at > self._give_up_after:
                self.fatal = (
                    f"no answer from {self.url} for {fmt_span(now - self.lost_at)} ({reason}); "
                    "the seat it kept is gone"
                )
                self._on_status("closed", f"Disconnected: {self.fatal}")
                return
            what = "Connection lost" if self.ever_connected else f"Cannot reach {self.url}"
            self._on_status(
                "lost", f"{what} ({reason}); retrying in {delay:g} s (attempt {failures})"
            )
            await asyncio.sleep(delay)

    async def _session(self, ws: ClientConnection, opening: list[ClientMessage]) -> None:
        while not self._outbox.empty():  # intents queued for a dead socket are stale
            self._outbox.get_nowait()
        for message in opening:
            await ws.send(checked_frame(message))
        self._ws = ws
        self.ever_connected = True
        self.lost_at = None
        self._on_status("connected", f"Connected to {self.url}")
        writer = asyncio.create_task(self._write(ws))
        watcher = asyncio.create_task(self._watch(ws))
        loop = asyncio.get_running_loop()
        bad = Bucket(BAD_FRAMES_PER_SECOND, BAD_FRAMES_BURST, loop.time())
        pings = Bucket(PINGS_PER_SECOND, PINGS_BURST, loop.time())

        def on_ping() -> None:
            self.server_pings += 1
            if not pings.take(loop.time()) and self.fatal is None:
                self.fatal = "the server floods this client with pings; left it"
                ws.transport.abort()

        if isinstance(ws, GuardedClientConnection):
            ws.on_ping = on_ping
        try:
            async for frame in ws:
                try:
                    msg = decode_server_frame(frame)
                except ProtocolError as exc:
                    self.bad_frames += 1
                    if not bad.take(loop.time()):
                        self.fatal = (
                            f"the server keeps sending messages this client cannot read ({exc})"
                        )
                        await ws.close()
                        return
                    self._on_status("connected", f"Ignored a bad message from the server: {exc}")
                    continue
                if isinstance(msg, ErrorReply) and self._is_fatal(msg):
                    self.fatal = msg.message
                if isinstance(msg, Bye):
                    self.fatal = msg.reason or "the server said goodbye"
                try:
                    self._on_message(msg)
                except Exception:  # a handler's bug must not end the connection
                    self.failed_handlers += 1
                if self.fatal is not None:
                    await ws.close()
                    return
        finally:
            for task in (writer, watcher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _watch(self, ws: ClientConnection, every: float = 0.25) -> None:
        """Leave a server that does not read what we send (PONGs pile up in our buffer)."""
        loop = asyncio.get_running_loop()
        since: float | None = None
        while True:
            await asyncio.sleep(every)
            transport = ws.transport
            if transport is None or transport.is_closing():
                return
            if transport.get_write_buffer_size() <= STUCK_BYTES:
                since = None
                continue
            now = loop.time()
            since = now if since is None else since
            if now - since >= STUCK_SECONDS:
                self.fatal = "the server stopped reading what this client sends; left it"
                transport.abort()
                return

    async def _write(self, ws: ClientConnection) -> None:
        while True:
            data = await self._outbox.get()
            await ws.send(data)


def route_url(url: str, opening: Sequence[ClientMessage]) -> str:
    """The address to open for these first messages: `/r/CODE` to join a room, `/new` to
    create one, so a front door can send the socket to the right worker (a single server
    ignores the path). docs/protocol.md, "Addresses"."""
    base = url.split("?", 1)[0].rstrip("/")
    for message in opening:
        if isinstance(message, Join) and message.code:
            return f"{base}/r/{quote(message.code, safe='')}"
        if isinstance(message, Create):
            return f"{base}/new"
    return url


def hello(name: str) -> Hello:
    """The first message on every socket."""
    return Hello(protocol=PROTOCOL_VERSION, name=name)


def refusal(error: ErrorReply) -> str:
    """An `error` that refused a join or create for good, with what to do about it."""
    return f"{error.message}{REFUSAL_HINTS.get(error.code, '')}"


def lost_sentence(spectator: bool, elapsed: float, detail: str) -> str:
    """The notice while the link is lost, `elapsed` seconds after the drop: how long the
    server keeps the seat (docs/protocol.md, "Limits"), and the latest retry's `detail`."""
    if spectator:
        kept = "this view comes back by itself when the server is back"
    elif elapsed < 1.0:
        kept = "your seat is kept for 2 minutes"
    elif elapsed < SEAT_KEPT_SECONDS:
        kept = f"your seat is kept for another {fmt_span(SEAT_KEPT_SECONDS - elapsed)}"
    else:
        kept = "your seat may be gone by now"
    return f"Lost the connection to the server; retrying… {kept}.\n{detail}."


def fmt_span(seconds: float) -> str:
    """'2 min 30 s' or '12 s': how long the server has been silent, as people say it."""
    whole = max(0, int(seconds))
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "nothing is listening there"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionClosed):
        return "the connection dropped"
    text = str(exc) or type(exc).__name__
    return text[:80]
