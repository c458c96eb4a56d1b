"""The websockets server: many rooms in one process, their ticking, their life and death.

`GameServer` puts the parts together (docs/architecture.md):

- server/net_gate.py: the gate: every frame decoded once into a typed message, rate limits,
  abuse points, per-address and server-wide budgets (`Limits`);
- server/net_conn.py: one connection (`Client`): sending never waits — a client whose socket
  buffer is still full is skipped for this tick (it gets the next snapshot instead), so one
  slow laptop cannot hold up a room; PINGs are counted like messages;
- server/net_session.py: one connection's life, from `hello` / `create` / `join` to its room;
- server/net_http.py: `/healthz` and the other HTTP paths on the same port;
- server/net_analysis.py: the end of a round off the loop (a worker thread, the analysis in a
  separate process).

One `GameServer` runs in one asyncio loop. One `Ticker` steps every 10 ms and each step
ticks one of five groups of rooms, so every room ticks at 20 Hz while the server's work and
its bursts of snapshots are spread evenly over the 50 ms period; in tests `advance(n)` steps
every room n times on demand.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import ssl
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.frames import CloseCode

from server.collector import Collector
from server.net_analysis import Analyses, run_on
from server.net_conn import Client, GuardedConnection
from server.net_gate import Gate, Limits
from server.net_http import HttpRoute, answer_http
from server.net_session import serve_connection
from server.programs import list_programs
from server.registry import Registry
from server.room import Room
from server.room.analysis import AnalysisRequest
from server.room.lifecycle import default_world_factory, run_inline
from server.room.roster import Conn, Member, RosterError
from server.ticker import Ticker
from shared.messages import Bye, Create, Join, Welcome
from shared.protocol import MAX_FRAME_BYTES, PROTOCOL_VERSION, ProtocolError
from shared.sim.scenario import list_scenarios
from shared.sim.tuning import DT

__all__ = ["TICK_GROUPS", "GameServer", "Limits"]  # Limits: the server's configuration

log = logging.getLogger(__name__)

SERVER_NAME = "interlane"
TICK_GROUPS = 5  # rooms tick in this many groups, DT / TICK_GROUPS apart


class GameServer:
    """Many rooms in one process, served over websockets.

    `manual=True` (tests) runs no ticker: the test calls `await advance(n)`.
    `store` is the history store (None: rounds are not saved).
    `analysis_workers`: processes for the debrief analysis (None: cores − 1, at least one;
    0: analyse on the worker thread, in this process; server/net_analysis.py).
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
        self.http_routes: dict[str, HttpRoute] = {}
        self.room_listeners: list[Callable[[str, bool], None]] = []
        self._steps = 0  # ticker steps so far: step n ticks group n % TICK_GROUPS
        self._server: Server | None = None
        self._tick_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.analysis = Analyses(analysis_workers)
        self.gate = Gate(self.limits, self.registry, clock)
        # worlds are built here, not on the loop: a 200-bot world takes 15–30 ms
        # (server/room/lifecycle.py)
        self._builders = ThreadPoolExecutor(max_workers=1, thread_name_prefix="interlane-build")
        self.stuck_closed = 0  # connections dropped for a write buffer that stayed full
        self._watch_task: asyncio.Task[None] | None = None
        # full garbage collections would stall every room: see server/collector.py
        self.collector = Collector()
        self._collect_task: asyncio.Task[None] | None = None
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
        gate = self.gate

        class Guarded(GuardedConnection):
            """This server's connections: they count their handshakes with its gate."""

            guard = gate

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
            create_connection=Guarded,
        )
        if not self.manual:
            self._tick_task = self._loop.create_task(self.ticker.run())
            self._collect_task = self._loop.create_task(self.collector.run())
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

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, reason: str = "the server is shutting down") -> None:
        """Tell every client `bye`, close every connection cleanly, stop ticking."""
        self.ticker.stop()
        if self._watch_task is not None:
            self._watch_task.cancel()
        if self._collect_task is not None:
            self._collect_task.cancel()
            gc.unfreeze()  # what was set aside is the collector's again
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
        self._builders.shutdown(wait=False, cancel_futures=True)
        self.analysis.stop()

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
        self.collector.room_closed()
        self._group_of.pop(room.code, None)
        self._announce(room.code, False)
        self.room_failures.pop(room.code, None)
        self.gate.forget(room.code)

    def offload(self, job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]):
        """Run slow end-of-round work on a worker thread; `done` comes back on the loop (the
        rooms' `offload`)."""
        assert self._loop is not None
        self.analysis.offload(self._loop, job, done)

    def build(self, job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]):
        """Build (or change) a lobby's world on the build thread; `done` comes back on the
        loop. The rooms' `builder`: other rooms keep ticking meanwhile."""
        if self._loop is None or self.manual:  # not serving, or stepped by a test: build now
            run_inline(job, done)
            return
        run_on(self._builders, self._loop, job, done)

    def analyse(self, request: AnalysisRequest) -> dict[str, Any]:
        """A round's debrief analysis (the rooms' `analyser`; called on a worker thread): in
        an analysis process, or on the thread when processes cannot serve it."""
        return self.analysis.analyse(request)

    # ---- connections -----------------------------------------------------------------

    def _process_request(self, connection: ServerConnection, request: Any) -> Any:
        return answer_http(self.http_routes, connection, request)

    async def _handle(self, ws: ServerConnection) -> None:
        await serve_connection(self, ws)

    def welcome(self) -> Welcome:
        return Welcome(
            protocol=PROTOCOL_VERSION,
            server=SERVER_NAME,
            scenarios=list_scenarios(),
            programs=list_programs(),
            doors=self.doors or None,
        )

    def create_room(self, client: Conn, msg: Create) -> tuple[Room, Member]:
        """A new room with `client` as its host (`create`); the room needs only its `Conn`
        side (send, close), so a test's fake connection can host one too."""
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

    def join_room(self, client: Client, msg: Join) -> tuple[Room, Member]:
        """`client` joins (or rejoins, with a token) the room of `msg.code`."""
        room = self.registry.get(msg.code)
        if room is None or room.closed:
            raise ProtocolError("no_room", "there is no room with that code")
        try:
            if msg.token:
                return room, room.rejoin(msg.token, client)
            return room, room.join(msg.name, msg.role, client)
        except RosterError as exc:
            raise ProtocolError(exc.code, exc.message) from None
