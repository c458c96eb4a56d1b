"""The front door: the public port of `interlane server --workers N`, carrying no game traffic.

It answers each websocket handshake with an HTTP redirect (docs/architecture.md, "Workers,
front doors and the directory"; docs/protocol.md, "Addresses"): `/new` goes to the least
loaded worker, `/r/CODE` to the worker that holds the room, an unknown code gets 404 and a
room lost with its worker 410. websockets' client follows 307 by itself, so a player's
socket ends up on the worker, and the front door never sees a game frame: if it dies, no
room and no connection goes with it.

It learns where rooms are from its own workers (`GET /directory` on each, every second and
again on a miss, so a room created a moment ago is found) and, with `--redis`, from the
shared directory, which also lists the workers of other machines. It also supervises its
workers: one that exits has its rooms marked lost and is started again.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection, serve

from server.directory import REFRESH, DirectoryUnavailable, RedisDirectory, shown_url
from server.registry import normalise_code
from server.workers import DIRECTORY_PATH, KEY_HEADER, LocalWorker, worker_argv
from shared.protocol import CODE_ALPHABET, CODE_LENGTH

log = logging.getLogger("interlane.frontdoor")

POLL_EVERY = 1.0  # seconds between polls of this machine's workers
RESTART_AFTER = 1.0  # seconds before a worker that exited is started again
PENDING_GRACE = 0.5  # seconds a client sent to /new may take to create its room
MISS_PATIENCE = 0.5  # seconds a code not found is looked for again
GONE_KEPT = 10_000  # lost room codes remembered (for 410 rather than 404)
NO_ROOM = "there is no room with that code"
ROOM_LOST = "the server process that held this room stopped; the room is gone"


def request_hostname(request: Any) -> str:
    """The host part of the request's Host header ("" when absent or odd)."""
    host = request.headers.get("Host", "")
    try:
        return urlsplit(f"//{host}").hostname or ""
    except ValueError:
        return ""


def locate(url: str, request_host: str) -> str:
    """A worker's URL as the client can reach it: a worker registered under "every address"
    (0.0.0.0) is on the machine the client just reached, so it gets the client's own name."""
    parts = urlsplit(url)
    if parts.hostname in (None, "", "0.0.0.0", "::") and request_host:
        host = f"[{request_host}]" if ":" in request_host else request_host
        return f"{parts.scheme}://{host}:{parts.port}"
    return url


class FrontDoor:
    """Routing and supervision; `serve()` runs until `stop` is set."""

    def __init__(
        self,
        workers: list[LocalWorker],
        directory: RedisDirectory | None,
        key: str,
        public_host: str | None = None,
    ) -> None:
        self.workers = workers
        self.directory = directory
        self.key = key
        self.public_host = public_host
        self.local_rooms: dict[str, LocalWorker] = {}
        self.loads: dict[int, dict[str, Any]] = {}  # worker index → its last answer
        self.remote: dict[str, dict[str, Any]] = {}  # worker URL → load, from Redis
        # worker URL → when rooms were sent there that its last load may not count yet
        self.pending: dict[str, list[float]] = {}
        self.gone: dict[str, float] = {}
        self.stopping = False
        self.port: int | None = None
        self._poll: asyncio.Task | None = None
        self._poll_context = ssl.create_default_context()
        self._poll_context.check_hostname = False
        self._poll_context.verify_mode = ssl.CERT_NONE  # our own child, on this machine, keyed

    # ---- what the workers say ------------------------------------------------------------

    def registered_url(self, worker: LocalWorker) -> str:
        """The URL this worker registers under (as the worker computes it)."""
        host = self.public_host or worker.listen_host
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{worker.scheme}://{host}:{worker.port}"

    def _ask(self, worker: LocalWorker) -> dict[str, Any] | None:
        """One worker's rooms and load (on a thread; None when it does not answer)."""
        host, port = worker.poll_host(), worker.port
        if port is None:
            return None
        conn: http.client.HTTPConnection
        if worker.scheme == "wss":
            conn = http.client.HTTPSConnection(host, port, timeout=2, context=self._poll_context)
        else:
            conn = http.client.HTTPConnection(host, port, timeout=2)
        try:
            conn.request("GET", DIRECTORY_PATH, headers={KEY_HEADER: self.key})
            response = conn.getresponse()
            if response.status != 200:
                return None
            body = json.loads(response.read(1_000_000))
        except (OSError, ValueError, http.client.HTTPException):
            return None
        finally:
            conn.close()
        return body if isinstance(body, dict) else None

    async def poll(self) -> None:
        """Ask every live local worker now, at most one round of questions at a time."""
        if self._poll is None or self._poll.done():
            self._poll = asyncio.get_running_loop().create_task(self._poll_all())
        await asyncio.shield(self._poll)

    def _counted(self, url: str, asked: float) -> None:
        """A load asked for at `asked` counts the rooms sent there well before it."""
        sent = [t for t in self.pending.get(url, []) if t > asked - PENDING_GRACE]
        if sent:
            self.pending[url] = sent
        else:
            self.pending.pop(url, None)

    async def _poll_all(self) -> None:
        live = [w for w in self.workers if w.alive]
        asked = time.monotonic()
        answers = await asyncio.gather(*(asyncio.to_thread(self._ask, w) for w in live))
        for worker, answer in zip(live, answers, strict=True):
            if answer is not None and worker.alive:
                self.loads[worker.index] = answer
                self._counted(self.registered_url(worker), asked)
        # a worker that did not answer this time keeps its last known rooms (its death is
        # the supervisor's to see, and that needs to know which rooms went with it)
        rooms: dict[str, LocalWorker] = {}
        for worker in self.workers:
            for code in self.loads.get(worker.index, {}).get("codes", []):
                if isinstance(code, str):
                    rooms[code] = worker
        self.local_rooms = rooms
        if self.directory is not None:
            with contextlib.suppress(DirectoryUnavailable):
                asked = time.monotonic()
                remote = await self.directory.workers()
                for url in remote:  # (a worker's load in Redis is up to REFRESH s old)
                    self._counted(url, asked - REFRESH)
                self.remote = remote

    async def _poll_forever(self) -> None:
        while not self.stopping:
            try:
                await self.poll()
            except Exception:
                log.exception("polling the workers failed")
            await asyncio.sleep(POLL_EVERY)

    # ---- routing ---------------------------------------------------------------------------

    def least_loaded(self) -> str | None:
        """The registered URL of the worker to hold a new room."""
        candidates: dict[str, tuple[int, int]] = {}
        if self.directory is not None and self.directory.reachable and self.remote:
            for url, load in self.remote.items():
                candidates[url] = (int(load.get("rooms", 0)), int(load.get("connections", 0)))
        else:
            for worker in self.workers:
                if worker.alive and worker.port is not None:
                    load = self.loads.get(worker.index, {})
                    candidates[self.registered_url(worker)] = (
                        int(load.get("rooms", 0)),
                        int(load.get("connections", 0)),
                    )
        if not candidates:
            return None
        url = min(
            candidates,
            key=lambda u: (candidates[u][0] + len(self.pending.get(u, ())), candidates[u][1], u),
        )
        self.pending.setdefault(url, []).append(time.monotonic())
        return url

    async def find(self, code: str) -> tuple[str, str | None]:
        """Where room `code` is: ("live", URL), ("gone", None) or ("none", None).

        A room is registered a moment after its creator hears its code (the worker tells
        the directory on its next turn), so a miss asks again for up to MISS_PATIENCE
        seconds before it is final; a wrong code costs its sender that much.
        """
        deadline = time.monotonic() + MISS_PATIENCE
        while True:
            worker = self.local_rooms.get(code)
            if worker is not None and worker.alive:
                return "live", self.registered_url(worker)
            if self.directory is not None and self.directory.reachable is not False:
                # (while Redis is down only the poll loop knocks: joins do not wait on it)
                with contextlib.suppress(DirectoryUnavailable):
                    state, url = await self.directory.lookup(code)
                    if state != "none":
                        return state, url
            if code in self.gone:
                return "gone", None
            if time.monotonic() >= deadline:
                return "none", None
            await asyncio.gather(self.poll(), asyncio.sleep(MISS_PATIENCE / 5))

    async def route(self, connection: ServerConnection, request: Any) -> Any:
        path = request.path.split("?", 1)[0]
        if path == "/healthz":
            body = self.health()
            status = HTTPStatus.OK if body["ok"] else HTTPStatus.SERVICE_UNAVAILABLE
            response = connection.respond(status, json.dumps(body, indent=1) + "\n")
            response.headers["Content-Type"] = "application/json"
            return response
        host = request_hostname(request)
        if path in ("/", "/new"):
            url = self.least_loaded()
            if url is None:
                return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "no worker is running\n")
            return self._redirect(connection, locate(url, host) + "/new")
        if path.startswith("/r/"):
            code = normalise_code(path[3:])
            if len(code) == CODE_LENGTH and all(ch in CODE_ALPHABET for ch in code):
                state, url = await self.find(code)
                if state == "live" and url is not None:
                    return self._redirect(connection, f"{locate(url, host)}/r/{code}")
                if state == "gone":
                    return connection.respond(HTTPStatus.GONE, ROOM_LOST + "\n")
            return connection.respond(HTTPStatus.NOT_FOUND, NO_ROOM + "\n")
        return connection.respond(HTTPStatus.NOT_FOUND, "Not Found\n")

    @staticmethod
    def _redirect(connection: ServerConnection, location: str) -> Any:
        response = connection.respond(HTTPStatus.TEMPORARY_REDIRECT, "")
        response.headers["Location"] = location
        return response

    def health(self) -> dict[str, Any]:
        workers = []
        for worker in self.workers:
            load = self.loads.get(worker.index, {}) if worker.alive else {}
            workers.append(
                {
                    "worker": worker.index,
                    "pid": worker.pid,
                    "port": worker.port,
                    "alive": worker.alive,
                    "restarts": worker.restarts,
                    "rooms": load.get("rooms"),
                    "connections": load.get("connections"),
                }
            )
        body: dict[str, Any] = {"ok": any(w.alive for w in self.workers), "workers": workers}
        if self.directory is None:
            body["directory"] = {"kind": "local"}
        else:
            reachable = bool(self.directory.reachable)
            body["directory"] = {
                "kind": "redis",
                "reachable": reachable,
                "error": self.directory.last_error,
                "workers": len(self.remote) if reachable else None,
            }
            if not self.workers:
                body["ok"] = reachable
        return body

    # ---- supervision -----------------------------------------------------------------------

    async def supervise(self, worker: LocalWorker) -> None:
        """Watch one worker for ever: when it exits, its rooms are lost; start it again."""
        while not self.stopping:
            code = await worker.wait()
            if self.stopping:
                return
            codes = self.loads.pop(worker.index, {}).get("codes", [])
            lost = sorted(c for c in codes if isinstance(c, str))
            for room in lost:
                self.local_rooms.pop(room, None)
                self.gone[room] = time.monotonic()
            while len(self.gone) > GONE_KEPT:
                self.gone.pop(next(iter(self.gone)))
            log.warning(
                "worker %d (pid %s) exited (%s); rooms lost with it: %d; starting it again",
                worker.index,
                worker.pid,
                code,
                len(lost),
            )
            if self.directory is not None:
                with contextlib.suppress(DirectoryUnavailable):
                    await self.directory.mark_gone(self.registered_url(worker), lost)
            await asyncio.sleep(RESTART_AFTER)
            if self.stopping:
                return
            worker.restarts += 1
            try:
                await worker.start()
            except (RuntimeError, OSError) as exc:
                log.error("worker %d could not start again: %s", worker.index, exc)
                return

    async def serve(
        self, host: str, port: int, context: ssl.SSLContext | None, stop: asyncio.Event
    ) -> None:
        async def never(ws: ServerConnection) -> None:  # every request is answered above
            await ws.close()

        async with serve(
            never, host, port, process_request=self.route, ssl=context, compression=None
        ) as server:
            self.port = server.sockets[0].getsockname()[1] if server.sockets else port
            await self.poll()
            loop = asyncio.get_running_loop()
            tasks = [loop.create_task(self._poll_forever())]
            tasks += [
                loop.create_task(self.supervise(w)) for w in self.workers if w.process is not None
            ]
            try:
                await stop.wait()
            finally:
                self.stopping = True
                for task in tasks:
                    task.cancel()


async def _run(args: argparse.Namespace, context: ssl.SSLContext | None, ready: Any) -> None:
    key = secrets.token_urlsafe(24)
    count = args.workers
    base = getattr(args, "worker_port", None) or 0
    workers = [
        LocalWorker(
            i, worker_argv(args, i, count, base + i if base else 0, os.getpid()), key, args.host
        )
        for i in range(count)
    ]
    directory = RedisDirectory(args.redis) if args.redis else None
    door = FrontDoor(workers, directory, key, args.public_host)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await asyncio.gather(*(w.start() for w in workers))
        if directory is not None:
            with contextlib.suppress(DirectoryUnavailable):
                await directory.workers()
        serving = loop.create_task(door.serve(args.host, args.port, context, stop))
        while door.port is None and not serving.done():
            await asyncio.sleep(0.01)
        if serving.done():
            serving.result()
        ready(door)
        await serving
    finally:
        door.stopping = True
        for worker in workers:
            worker.signal(signal.SIGTERM)
        for worker in workers:
            if worker.process is not None:
                try:
                    await asyncio.wait_for(worker.process.wait(), 15)
                except TimeoutError:
                    worker.signal(signal.SIGKILL)
        if directory is not None:
            await directory.close()


def run_front_door(args: argparse.Namespace) -> int:
    """`interlane server --workers N` (N ≠ 1) or with `--redis`."""
    from server.serve import open_store, ssl_context

    logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        context = ssl_context(args.certfile, args.keyfile)
        # migrated once here, before the workers share it; a front door alone keeps none
        store = open_store(args.db) if args.workers else None
    except ValueError as exc:
        print(f"interlane server: {exc}", file=sys.stderr)
        return 2
    if store is not None:
        args.db = str(store.path)
        store.close()
    if args.workers == 0 and not args.redis:
        print("interlane server: --workers 0 (a front door alone) needs --redis", file=sys.stderr)
        return 2
    if args.redis:
        try:
            RedisDirectory(args.redis)
        except ValueError as exc:
            print(f"interlane server: bad --redis address: {exc}", file=sys.stderr)
            return 2
    scheme = "wss" if context else "ws"

    def ready(door: FrontDoor) -> None:
        print(f"Interlane server on {scheme}://{args.host}:{door.port}", flush=True)
        ports = ", ".join(str(w.port) for w in door.workers)
        where = f"directory in Redis at {shown_url(args.redis)}" if args.redis else "directory here"
        what = f"front door for {len(door.workers)} workers (ports {ports})"
        print(f"{what if door.workers else 'front door alone'}; {where}", flush=True)
        if args.db and door.workers:
            print(f"history: {args.db}", flush=True)

    try:
        asyncio.run(_run(args, context, ready))
    except OSError as exc:
        print(f"interlane server: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        print(f"interlane server: {exc}", file=sys.stderr)
        return 1
    print("Interlane server stopped.", flush=True)
    return 0
