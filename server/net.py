"""The websockets server: connections, the validation gate, rate limits and fan-out.

Every frame a client sends is decoded once, by `shared.messages.decode_client_frame`, into a
typed message before anything else sees it; what fails gets an `error` with a code and a
sentence. Abuse (bad frames or too
many of them) adds up on a per-connection score that decays with time; past a threshold the
connection is closed with 1008. Sending never waits: a client whose socket buffer is still
full from earlier frames is skipped for this tick (it gets the next snapshot instead), so
one slow laptop cannot hold up a room.

Limits count what a message costs, not only how many there are (docs/protocol.md, "Limits"):
websocket PINGs spend the same allowance as messages; a connection whose unsent bytes stay
over `Limits.stuck_bytes` (PONGs to a flood, say) for `stuck_seconds` is dropped; host
commands that build a world or start an analysis spend a smaller per-address budget; the
analyses waiting for a process are bounded; handshakes still in progress and rooms driving
are counted per address.

One `GameServer` runs in one asyncio loop. One `Ticker` steps every 10 ms and each step
ticks one of five groups of rooms, so every room ticks at 20 Hz while the server's work and
its bursts of snapshots are spread evenly over the 50 ms period; in tests `advance(n)` steps
every room n times on demand.

The end of a round goes off the loop: a worker thread gathers the results, has the debrief
analysed in a separate process (a `ProcessPoolExecutor` started lazily with the "forkserver"
or "spawn" method — never a plain fork of this threaded process — so that seconds of
analysis do not hold this process's GIL while other rooms tick), saves the round, and only
then hands the payload back to the room on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import OPEN

from server.programs import list_programs
from server.registry import Registry
from server.room import Room
from server.room.analysis import AnalysisRequest, analyse_packed, analyse_request, pack_request
from server.room.lifecycle import default_world_factory, run_inline
from server.room.roster import Member, RosterError
from server.ticker import Ticker
from shared.messages import (
    Bye,
    ClientMessage,
    Create,
    ErrorReply,
    Hello,
    HostCommand,
    Join,
    Ping,
    Pong,
    Welcome,
    decode_client_frame,
)
from shared.protocol import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    ProtocolError,
    check_protocol_version,
)
from shared.ratelimit import Bucket
from shared.sim.scenario import list_scenarios
from shared.sim.tuning import DT

log = logging.getLogger(__name__)

SERVER_NAME = "interlane"
TICK_GROUPS = 5  # rooms tick in this many groups, DT / TICK_GROUPS apart


@dataclass
class Limits:
    """The defences' thresholds. Tests and the load benchmark loosen some of them."""

    messages_per_second: float = 40.0  # a held key repeats ~30 times a second
    message_burst: float = 80.0
    abuse_close: float = 50.0  # abuse points that close a connection with 1008
    abuse_decay: float = 2.0  # points forgiven per second
    joins_per_second: float = 0.5  # per remote address: a classroom behind one NAT still fits
    join_burst: float = 40.0
    connections_per_address: int = 256  # open sockets from one address (a NAT-ed classroom fits)
    write_buffer: int = 64 * 1024  # bytes queued for a client before it is skipped
    max_rooms: int = 2000
    ping_interval: float = 5.0
    ping_timeout: float = 10.0
    # a connection whose unsent bytes stay above this for `stuck_seconds` is dropped, whatever
    # filled its buffer (PONGs to a PING flood, frames to a client that never reads)
    stuck_bytes: int = 1024 * 1024
    stuck_seconds: float = 3.0
    # host commands that build a world or start an analysis (COSTLY_COMMANDS), per address
    costly_per_second: float = 1.0
    costly_burst: float = 20.0
    # …and server-wide: a 200-bot world takes 15–30 ms to build on the loop (measured on a
    # busy 2-core machine), so ten a second is at most a third of the loop's time
    costly_total_per_second: float = 10.0
    costly_total_burst: float = 40.0
    analyses_waiting: int = 8  # rounds waiting for (or in) analysis, server-wide
    driving_rooms_per_address: int = 40  # rooms started from one address and not yet over
    handshakes_per_address: int = 64  # sockets from one address still in the opening handshake
    open_timeout: float = 5.0  # seconds a socket may take to finish its opening handshake


COSTLY_COMMANDS = frozenset({"start", "end", "next", "bots"})
"""Host commands that build a world (start after a council, next, bots add cars) or start a
round's analysis and save (end): each is worth hundreds of ordinary messages."""
DRIVING_PHASES = ("driving", "paused")


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

    guard: GameServer | None = None
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


def default_analysis_workers() -> int:
    """Processes for debrief analysis: one core is left for the ticking process."""
    return max(1, min(4, (os.cpu_count() or 2) - 1))


def _analysis_worker_init(server_pid: int | None = None) -> None:
    """In each analysis process: Ctrl-C is the server's business (it stops the pool), the
    process never writes on the terminal (a host's TUI may be drawing there; its failures
    come back to the server as exceptions and are logged there), it ends when the server
    is gone (`exit_with`), and the analysis modules are imported before the first round
    needs them."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
    if server_pid is not None:
        threading.Thread(target=exit_with, args=(server_pid,), daemon=True).start()
    import server.debrief  # noqa: F401 (the analysis modules, loaded before the first round)


def exit_with(pid: int, every: float = 1.0) -> None:
    """End this process once process `pid` is gone (a thread's loop; never returns).

    A server killed outright (kill -9, the out-of-memory killer) cannot stop its analysis
    pool, and a pool's process waits for its next job for ever: it holds both ends of its
    job queue, so it never sees the server go. Without this, every such kill would leave an
    idle analysis process (and multiprocessing's forkserver, which lives as long as its
    children) behind until the machine restarts.
    """
    while True:
        time.sleep(every)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:  # the number now belongs to another user's process
            os._exit(0)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker with a real stderr.

    The tracker hands `sys.stderr.fileno()` to its process; inside a Textual app (the host's
    embedded server) sys.stderr is a capture whose fileno is -1, and starting processes fails
    with "bad value(s) in fds_to_keep". The real stderr is put back only while the tracker
    starts; once it runs, the pool's processes start without asking for stderr again.
    """
    from multiprocessing import resource_tracker

    try:
        usable = sys.stderr is not None and sys.stderr.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = True  # the tracker copes with a stderr that has no fileno at all
    if usable or sys.__stderr__ is None:
        resource_tracker.ensure_running()
        return
    with contextlib.redirect_stderr(sys.__stderr__):
        resource_tracker.ensure_running()


def analysis_context() -> Any:
    """A multiprocessing context safe to use from a process that has threads."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _run_on(
    executor: Any,
    loop: asyncio.AbstractEventLoop,
    job: Callable[[], Any],
    done: Callable[[Any, BaseException | None], None],
) -> None:
    """Run `job` on `executor`; `done(result, exc)` comes back on `loop` (never if the server
    stopped before the job ran, or after the loop closed; at once if the executor is shut)."""

    def finished(future: Any) -> None:
        if future.cancelled():
            return  # the server stopped before this job ran
        exc = future.exception()
        result = None if exc is not None else future.result()
        with contextlib.suppress(RuntimeError):  # the loop already closed
            loop.call_soon_threadsafe(done, result, exc)

    try:
        executor.submit(job).add_done_callback(finished)
    except RuntimeError as exc:  # shutting down
        done(None, exc)


class GameServer:
    """Many rooms in one process, served over websockets.

    `manual=True` (tests) runs no ticker: the test calls `await advance(n)`.
    `store` is the history store (None: rounds are not saved).
    `analysis_workers`: processes for the debrief analysis (None: cores − 1, at least one;
    0: analyse on the worker thread, in this process).
    """

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        store: Any | None = None,
        manual: bool = False,
        clock: Callable[[], float] = time.monotonic,
        world_factory: Callable[..., tuple[Any, Any]] = default_world_factory,
        analysis_workers: int | None = None,
    ) -> None:
        self.limits = limits or Limits()
        self.store = store
        self.manual = manual
        self.clock = clock
        self.world_factory = world_factory
        self.registry = Registry()
        # rooms tick in TICK_GROUPS groups spread over the 50 ms period: every room keeps
        # its 20 Hz, but a step does a fraction of the work and sends a fraction of the
        # snapshots, so the last room of a busy server is not 40 ms behind the first
        self.ticker = Ticker(
            self.step_group,
            dt=DT / TICK_GROUPS,
            max_catchup=10 * TICK_GROUPS,
            late_after=DT,
            clock=clock,
        )
        self._group_of: dict[str, int] = {}  # room code → its tick group
        # hooks for a worker behind a front door (server/workers.py): extra HTTP paths, and
        # who to tell when a room opens (True) or closes (False)
        self.http_routes: dict[str, Callable[[ServerConnection, Any], Any]] = {}
        self.room_listeners: list[Callable[[str, bool], None]] = []
        self._steps = 0  # ticker steps so far: step n ticks group n % TICK_GROUPS
        self._server: Server | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.analysis_workers = (
            default_analysis_workers() if analysis_workers is None else max(0, analysis_workers)
        )
        # a worker thread per analysis process: each waits (without the GIL) for its result
        self._worker = ThreadPoolExecutor(
            max_workers=max(1, self.analysis_workers), thread_name_prefix="interlane-debrief"
        )
        # worlds are built here, not on the loop: a 200-bot world takes 15–30 ms
        # (server/room/lifecycle.py)
        self._builders = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interlane-build")
        self._pool: ProcessPoolExecutor | None = None
        self._pool_failed = False
        self._pool_lock = threading.Lock()
        self._stopping = False
        # where each round's analysis ran: "process", or "thread" (no pool, or a fallback)
        self.analyses: dict[str, int] = {"process": 0, "thread": 0}
        self._joins: dict[str, Bucket] = {}
        self._costly: dict[str, Bucket] = {}  # per address: COSTLY_COMMANDS
        self._costly_total = Bucket(
            self.limits.costly_total_per_second, self.limits.costly_total_burst, clock()
        )
        self._per_address: dict[str, int] = {}
        self._handshakes: dict[str, int] = {}  # per address: sockets still in the handshake
        self.handshakes_refused = 0
        self._started_from: dict[str, str] = {}  # room code → address of its last `start`
        self.analyses_waiting = 0  # rounds handed to `offload` and not yet back
        self.stuck_closed = 0  # connections dropped for a write buffer that stayed full
        self._watch_task: asyncio.Task[None] | None = None
        self.room_failures: dict[str, int] = {}
        self.clients: set[Client] = set()
        # the open doors (server.doors.runner), sent in `welcome` for the join card
        self.doors: list[dict[str, Any]] = []
        # seconds each room's tick took, recent ones: the load benchmark's per-room figure
        self.room_tick_times: deque[float] = deque(maxlen=200_000)
        # seconds from each room tick's deadline to its snapshots being written: what a
        # player waits beyond the 50 ms rhythm (lateness of the step plus rooms before it)
        self.room_latencies: deque[float] = deque(maxlen=200_000)
        # CPU seconds of each whole tick: wall time minus what other processes took from us
        self.tick_cpu_times: deque[float] = deque(maxlen=20_000)

    # ---- life cycle ------------------------------------------------------------------

    async def start(
        self, host: str = "127.0.0.1", port: int = 0, ssl_context: ssl.SSLContext | None = None
    ) -> GameServer:
        self._loop = asyncio.get_running_loop()
        guard = self

        def guarded(*args: Any, **kwargs: Any) -> GuardedConnection:
            connection = GuardedConnection(*args, **kwargs)
            connection.guard = guard
            return connection

        self._server = await serve(
            self._handle,
            host,
            port,
            ssl=ssl_context,
            compression=None,
            max_size=MAX_FRAME_BYTES,
            max_queue=32,
            ping_interval=self.limits.ping_interval,
            ping_timeout=self.limits.ping_timeout,
            close_timeout=2,
            process_request=self._process_request,
            server_header=SERVER_NAME,
            open_timeout=self.limits.open_timeout,
            create_connection=guarded,
        )
        if not self.manual:
            self._tick_task = self._loop.create_task(self.ticker.run())
        self._watch_task = self._loop.create_task(self._watch_buffers())
        return self

    async def _watch_buffers(self, every: float = 0.25) -> None:
        """Drop connections whose unsent bytes stay over the bound (real time, any mode)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every)
            now = loop.time()
            for client in list(self.clients):
                if client.stuck(now):
                    self.stuck_closed += 1
                    client.closing = True
                    transport = client.ws.transport
                    log.info("dropping a connection that does not read what it is sent")
                    transport.abort()

    def handshake_began(self, connection: GuardedConnection, transport: Any) -> None:
        """A socket was accepted: count it against its address until its handshake ends."""
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        if self._handshakes.get(address, 0) >= self.limits.handshakes_per_address:
            self.handshakes_refused += 1
            transport.abort()  # no log line: a flood of these must not flood the log
            return
        self._handshakes[address] = self._handshakes.get(address, 0) + 1
        connection.handshake_address = address

    def handshake_ended(self, connection: GuardedConnection) -> None:
        address = connection.handshake_address
        if address is None:
            return
        connection.handshake_address = None
        left = self._handshakes.get(address, 1) - 1
        if left > 0:
            self._handshakes[address] = left
        else:
            self._handshakes.pop(address, None)

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, reason: str = "the server is shutting down") -> None:
        """Tell every client `bye`, close every connection cleanly, stop ticking."""
        self.ticker.stop()
        if self._watch_task is not None:
            self._watch_task.cancel()
        if self._tick_task is not None:
            self._tick_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._tick_task
        bye = Bye(reason=reason).encode()
        for client in list(self.clients):
            client.send(bye)
        for room in self.registry:
            room.closed = True
        if self._server is not None:
            self._server.close(code=CloseCode.GOING_AWAY, reason="server shutting down")
            await self._server.wait_closed()
        self._worker.shutdown(wait=False, cancel_futures=True)
        self._builders.shutdown(wait=False, cancel_futures=True)
        with self._pool_lock:
            self._stopping = True
            pool, self._pool = self._pool, None
        if pool is not None:
            # queued analyses are cancelled; one already running finishes in its process
            pool.shutdown(wait=False, cancel_futures=True)

    async def advance(self, ticks: int = 1) -> None:
        """Step every room `ticks` times, letting the network flush between ticks (tests)."""
        for _ in range(ticks):
            self.step_all()
            await asyncio.sleep(0)

    def step_all(self) -> None:
        """One tick of every room (tests, and `advance`)."""
        self._step_rooms(list(self.registry), None)

    def step_group(self) -> None:
        """The ticker's step: one tick of the rooms of the next group."""
        group = self._steps % TICK_GROUPS
        self._steps += 1
        rooms = [room for room in self.registry if self._group_of.get(room.code, 0) == group]
        self._step_rooms(rooms, self.ticker.deadline)

    def _step_rooms(self, rooms: list[Room], deadline: float | None) -> None:
        """A tick of each of `rooms`. A room that raises is logged; a room that keeps raising
        is closed, so one broken round cannot take the server down."""
        times, latencies, clock = self.room_tick_times, self.room_latencies, self.clock
        cpu_began = time.thread_time()
        for room in rooms:
            began = time.perf_counter()
            try:
                room.step()
                times.append(time.perf_counter() - began)
                if deadline is not None:
                    latencies.append(clock() - deadline)
            except Exception as exc:
                self._room_failed(room, exc)
                continue
            if self.room_failures:
                self.room_failures.pop(room.code, None)
            if room.empty:
                self._close_room(room, "")
        self.tick_cpu_times.append(time.thread_time() - cpu_began)

    def _room_failed(self, room: Room, exc: Exception) -> None:
        """A room's tick raised. The first failures are logged (not every tick's: a broken
        round would fill the log); after three in a row a driving round is paused and its
        host told why, so the room, its members and its earlier rounds stay; only a room that
        keeps failing while paused is closed."""
        failures = self.room_failures.get(room.code, 0) + 1
        self.room_failures[room.code] = failures
        if failures <= 3 or failures % 200 == 0:
            log.error("room %s failed its tick (%d in a row)", room.code, failures, exc_info=exc)
        if failures >= 3 and room.phase == "driving":
            room.phase = "paused"
            with contextlib.suppress(Exception):
                room.tell_host(f"The round hit an error and was paused ({type(exc).__name__}).")
                room.announce()
        elif failures >= 6:
            self._close_room(room, "this room failed and was closed")

    def _close_room(self, room: Room, reason: str) -> None:
        room.closed = True
        for member in room.roster:
            if member.conn is not None:
                if reason:
                    room.send(member, Bye(reason=reason))
                member.conn.close(1011 if reason else 1000, reason[:100])
        self.registry.remove(room.code)
        self._group_of.pop(room.code, None)
        self._announce(room.code, False)
        self.room_failures.pop(room.code, None)
        self._started_from.pop(room.code, None)

    def offload(self, job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]):
        """Run slow end-of-round work on the worker thread; `done` comes back on the loop."""
        assert self._loop is not None

        def back(result: Any, exc: BaseException | None) -> None:
            self.analyses_waiting -= 1
            done(result, exc)

        self.analyses_waiting += 1
        _run_on(self._worker, self._loop, job, back)

    def build(self, job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]):
        """Build (or change) a lobby's world on the build thread; `done` comes back on the
        loop. The rooms' `builder`: other rooms keep ticking meanwhile."""
        if self._loop is None or self.manual:  # not serving, or stepped by a test: build now
            run_inline(job, done)
            return
        _run_on(self._builders, self._loop, job, done)

    def _analysis_pool(self) -> ProcessPoolExecutor | None:
        """The analysis processes, started on first use; None once the server stops."""
        with self._pool_lock:
            if self._pool is None and not self._stopping and not self._pool_failed:
                _start_resource_tracker()
                self._pool = ProcessPoolExecutor(
                    max_workers=self.analysis_workers,
                    mp_context=analysis_context(),
                    initializer=_analysis_worker_init,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def _give_up_pool(self) -> None:
        """No more analysis processes for this server: every later round uses a thread."""
        with self._pool_lock:
            self._pool_failed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _drop_pool(self, pool: ProcessPoolExecutor | None) -> None:
        if pool is None:
            return
        with self._pool_lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def analyse(self, request: AnalysisRequest) -> dict[str, Any]:
        """A round's debrief analysis (the rooms' `analyser`; called on a worker thread).

        The request is pickled here (compactly: see server/room/analysis.py `pack_request`) and
        analysed in an analysis process while this thread waits. When the inputs cannot be pickled, or the
        pool is unavailable or broke (a process killed), the analysis runs here on the thread
        instead, and the log says so.
        """
        if self.analysis_workers > 0:
            try:
                data = pack_request(request)
            except Exception as exc:
                log.warning("round inputs cannot go to a process (%r): analysing on a thread", exc)
            else:
                if self._stopping:
                    raise RuntimeError("the server is stopping")
                try:
                    pool = self._analysis_pool()
                    future = pool.submit(analyse_packed, data) if pool is not None else None
                except Exception as exc:  # processes cannot start here: stay on threads
                    log.warning("analysis processes cannot start (%r): analysing on threads", exc)
                    self._give_up_pool()
                    future = None
                if future is not None:
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        log.warning("the analysis process failed (%r): analysing on a thread", exc)
                        self._drop_pool(pool)
                    else:
                        self.analyses["process"] += 1
                        return result
        self.analyses["thread"] += 1
        return analyse_request(request)

    # ---- HTTP ------------------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Any) -> Any:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            return connection.respond(HTTPStatus.OK, "OK\n")
        route = self.http_routes.get(path)
        if route is not None:
            return route(connection, request)
        return None  # any other path (/new, /r/CODE from a front door) is the game itself

    # ---- connections -----------------------------------------------------------------

    async def _handle(self, ws: ServerConnection) -> None:
        if isinstance(ws, GuardedConnection):
            self.handshake_ended(ws)
        peer = ws.remote_address
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        if self._per_address.get(address, 0) >= self.limits.connections_per_address:
            too_many = ErrorReply(code="too_many", message="too many connections from your address")
            await ws.send(too_many.encode())
            await ws.close(CloseCode.POLICY_VIOLATION, "too many connections")
            return
        self._per_address[address] = self._per_address.get(address, 0) + 1
        client = Client(ws, self.limits, self.clock(), self.clock)
        if isinstance(ws, GuardedConnection):
            ws.on_ping = client.on_ping
        self.clients.add(client)
        state: dict[str, Any] = {"room": None, "member": None}
        try:
            async for frame in ws:
                now = self.clock()
                if not client.bucket.take(now):
                    client.reply_error("rate_limited", "too many messages; slow down", now)
                    if client.strike(now, 0.5):
                        await ws.close(CloseCode.POLICY_VIOLATION, "too many messages")
                        break
                    continue
                try:
                    msg = decode_client_frame(frame)
                    self._dispatch(client, msg, address, state)
                except ProtocolError as exc:
                    client.reply_error(exc.code, exc.message, now)
                    if exc.code == "protocol":
                        await ws.close(CloseCode.POLICY_VIOLATION, "unsupported protocol version")
                        break
                    if client.strike(now):
                        await ws.close(CloseCode.POLICY_VIOLATION, "too many bad messages")
                        break
                except Exception:
                    log.exception("unexpected failure handling a message")
                    client.reply_error("internal", "the server could not handle that", now)
                if client.closing:
                    break
        except ConnectionClosed:
            pass
        finally:
            self.clients.discard(client)
            left = self._per_address.get(address, 1) - 1
            if left > 0:
                self._per_address[address] = left
            else:
                self._per_address.pop(address, None)
            room, member = state["room"], state["member"]
            if room is not None and member is not None and member.conn is client:
                try:
                    room.disconnect(member)
                except Exception:
                    log.exception("room %s: disconnect failed", room.code)

    def _dispatch(self, client: Client, msg: ClientMessage, address: str, state: dict) -> None:
        """One checked message: the connection's own (ping, hello, create, join) here, the
        rest to the member's room."""
        match msg:
            case Ping(t=t):
                client.send(Pong(t=t).encode())
                return
            case Hello(protocol=version):
                check_protocol_version(version)
                client.send(self.welcome().encode())
                return
        room: Room | None = state["room"]
        member: Member | None = state["member"]
        if isinstance(msg, Create | Join):
            check_protocol_version(msg.protocol)
            if member is not None and room is not None and room.roster.get(member.player) is member:
                raise ProtocolError("bad_state", "this connection is already in a room")
            if not self._join_allowed(address):
                raise ProtocolError("rate_limited", "too many joins from your address; wait a bit")
            room, member = (
                self._create(client, msg) if isinstance(msg, Create) else self._join(client, msg)
            )
            state["room"], state["member"] = room, member
            return
        if (
            room is None
            or member is None
            or room.roster.get(member.player) is not member
            or member.conn is not client
        ):
            raise ProtocolError("not_joined", "create or join a room first")
        if isinstance(msg, HostCommand) and member.is_host:
            self._check_cost(msg.command, room, address)
        room.handle(member, msg)
        if isinstance(msg, HostCommand) and room.phase in DRIVING_PHASES and msg.command == "start":
            self._started_from[room.code] = address

    def _check_cost(self, command: str, room: Room, address: str) -> None:
        """Refuse a host command the server cannot afford now (its own budget, per address)."""
        if (
            command == "end"
            and room.phase in DRIVING_PHASES
            and self.analyses_waiting >= self.limits.analyses_waiting
        ):
            raise ProtocolError(
                "busy",
                "the server is still analysing other rounds; end this one in a moment "
                "(it also ends by itself when its time is up)",
            )
        if command == "start" and room.phase not in DRIVING_PHASES:
            driving = sum(
                1
                for code, source in self._started_from.items()
                if source == address
                and code != room.code
                and (other := self.registry.get(code)) is not None
                and other.phase in DRIVING_PHASES
            )
            if driving >= self.limits.driving_rooms_per_address:
                raise ProtocolError(
                    "busy", "too many rounds are driving from your address; end one first"
                )
        if command in COSTLY_COMMANDS:
            now = self.clock()
            bucket = self._costly.get(address)
            if bucket is None:
                if len(self._costly) > 10_000:
                    self._costly.clear()
                bucket = self._costly[address] = Bucket(
                    self.limits.costly_per_second, self.limits.costly_burst, now
                )
            if not bucket.take(now):
                raise ProtocolError(
                    "rate_limited",
                    "too many rounds started, ended or skipped from your address; wait a bit",
                )
            if not self._costly_total.take(now):
                raise ProtocolError(
                    "busy", "the server is starting many rounds right now; try again in a moment"
                )

    def _join_allowed(self, address: str) -> bool:
        now = self.clock()
        bucket = self._joins.get(address)
        if bucket is None:
            if len(self._joins) > 10_000:
                self._joins.clear()
            bucket = self._joins[address] = Bucket(
                self.limits.joins_per_second, self.limits.join_burst, now
            )
        return bucket.take(now)

    def welcome(self) -> Welcome:
        return Welcome(
            protocol=PROTOCOL_VERSION,
            server=SERVER_NAME,
            scenarios=list_scenarios(),
            programs=list_programs(),
            doors=self.doors or None,
        )

    def _create(self, client: Client, msg: Create) -> tuple[Room, Member]:
        if len(self.registry) >= self.limits.max_rooms:
            raise ProtocolError("full", "this server has no room for another game")
        code = self.registry.reserve_code()
        try:
            room = Room(
                code,
                clock=self.clock,
                scenario=msg.scenario,
                program=msg.program,
                bots=msg.bots,
                seed=msg.seed,
                world_factory=self.world_factory,
                offload=self.offload,
                analyser=self.analyse,
                store=self.store,
                builder=self.build,
            )
        except ValueError as exc:
            raise ProtocolError("bad_value", str(exc)) from None
        except Exception as exc:
            # a scenario that does not load (ScenarioError) or similar: the creator's problem
            log.info("create failed: %r", exc)
            raise ProtocolError("bad_value", f"cannot create that room: {exc}") from None
        self.registry.add(code, room)
        self._group_of[code] = self._quietest_group()
        self._announce(code, True)
        member = room.join(msg.name, "host", client, wants_car=bool(msg.play))
        return room, member

    def _announce(self, code: str, opened: bool) -> None:
        for listener in self.room_listeners:
            try:
                listener(code, opened)
            except Exception:
                log.exception("a room listener failed")

    def _quietest_group(self) -> int:
        """The tick group with the fewest rooms, for a new room."""
        counts = [0] * TICK_GROUPS
        for group in self._group_of.values():
            counts[group] += 1
        return counts.index(min(counts))

    def _join(self, client: Client, msg: Join) -> tuple[Room, Member]:
        room = self.registry.get(msg.code)
        if room is None or room.closed:
            raise ProtocolError("no_room", "there is no room with that code")
        try:
            if msg.token:
                return room, room.rejoin(msg.token, client)
            return room, room.join(msg.name, msg.role, client)
        except RosterError as exc:
            raise ProtocolError(exc.code, exc.message) from None
