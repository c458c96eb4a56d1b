"""Worker processes behind a front door: the worker's side, and the supervisor's handle on one.

A worker is today's server (`server.net.GameServer`) in its own process and on its own port;
rooms never span processes, so all a worker adds is telling others which rooms it holds
(docs/architecture.md, "Workers, front doors and the directory"):

- `GET /directory` answers its room codes and load as JSON, only to a caller that presents
  the key its supervisor gave it (room codes are what let a person in);
- with `--redis`, it registers each room as it opens and refreshes every entry with a TTL;
- it draws its codes from its own share of the code alphabet, so the workers of one machine
  can never hand out the same code twice;
- when its supervisor is gone, it keeps serving the rooms it holds (their players keep their
  connections) and exits once the last one ends.

`LocalWorker` is the supervisor's handle: it starts a worker as `interlane server --worker`,
learns its port from the line the server prints when it listens, and reports when it exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import re
import sys
from http import HTTPStatus
from typing import Any

from server.directory import REFRESH, DirectoryUnavailable, RedisDirectory
from server.registry import Registry, new_code
from shared.protocol import CODE_ALPHABET

log = logging.getLogger("interlane.worker")

KEY_ENV = "INTERLANE_WORKER_KEY"
KEY_HEADER = "X-Interlane-Key"
DIRECTORY_PATH = "/directory"
READY = re.compile(r"Interlane server on (wss?)://\S+:(\d+)\s*$")


class ShardedRegistry(Registry):
    """A registry that hands out only codes whose first letter falls in its share."""

    def __init__(self, shard: int, shards: int) -> None:
        super().__init__()
        self.shard, self.shards = shard, max(1, shards)

    def reserve_code(self) -> str:
        while True:
            code = new_code(self.rooms)
            if CODE_ALPHABET.index(code[0]) % self.shards == self.shard:
                return code


class WorkerAgent:
    """What makes a GameServer a worker: the directory endpoint, Redis, the orphan rule."""

    def __init__(
        self,
        *,
        key: str,
        url: str,
        directory: RedisDirectory | None = None,
        shard: tuple[int, int] = (0, 1),
        parent_pid: int | None = None,
    ) -> None:
        self.key = key
        self.url = url
        self.directory = directory
        self.shard = shard
        self.parent_pid = parent_pid
        self.server: Any = None
        self._tasks: set[asyncio.Task] = set()

    def attach(self, server: Any) -> None:
        """Hook into a server before it holds any room."""
        self.server = server
        server.registry = ShardedRegistry(*self.shard)
        server.http_routes[DIRECTORY_PATH] = self._describe
        server.room_listeners.append(self._room_changed)

    def load(self) -> dict[str, Any]:
        server = self.server
        return {
            "rooms": len(server.registry),
            "connections": len(server.clients),
            "pid": os.getpid(),
        }

    def _describe(self, connection: Any, request: Any) -> Any:
        given = request.headers.get(KEY_HEADER, "")
        if not self.key or not hmac.compare_digest(given.encode(), self.key.encode()):
            return connection.respond(HTTPStatus.FORBIDDEN, "Forbidden\n")
        body = {**self.load(), "codes": sorted(room.code for room in self.server.registry)}
        response = connection.respond(HTTPStatus.OK, json.dumps(body))
        response.headers["Content-Type"] = "application/json"
        return response

    def _room_changed(self, code: str, opened: bool) -> None:
        directory = self.directory
        if directory is None:
            return
        call = directory.add_room if opened else directory.remove_room
        task = asyncio.get_running_loop().create_task(self._quietly(call(self.url, code)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(call: Any) -> None:
        with contextlib.suppress(DirectoryUnavailable):  # the next refresh tries again
            await call

    async def refresh(self) -> None:
        """Every room held here, and the load, into the directory (with a fresh TTL)."""
        if self.directory is not None:
            codes = [room.code for room in self.server.registry]
            await self._quietly(self.directory.publish(self.url, codes, self.load()))

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh the directory every REFRESH seconds (the first refresh came before the
        server said it listens); end the process when orphaned and idle."""
        orphaned = False
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), REFRESH)
            if stop.is_set():
                break
            await self.refresh()
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                if not orphaned:
                    orphaned = True
                    log.warning(
                        "the front door is gone: serving the %d rooms held here until they end",
                        len(self.server.registry),
                    )
                if len(self.server.registry) == 0:
                    stop.set()
                    break
        if self.directory is not None:
            # stopping: forget our rooms now rather than in a TTL (not waiting on a Redis
            # that is away: one failure ends the attempt)
            with contextlib.suppress(DirectoryUnavailable):
                for code in [room.code for room in self.server.registry]:
                    if self.directory.reachable is False:
                        break
                    await self.directory.remove_room(self.url, code)
            await self.directory.close()


class LocalWorker:
    """One worker process started and watched by this machine's supervisor."""

    def __init__(self, index: int, argv: list[str], key: str, listen_host: str) -> None:
        self.index = index
        self.argv = argv
        self.key = key
        self.listen_host = listen_host
        self.process: asyncio.subprocess.Process | None = None
        self.port: int | None = None
        self.scheme = "ws"
        self.restarts = 0
        self.alive = False
        self._pump: asyncio.Task | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self, timeout: float = 60.0) -> None:
        """Start the process and wait until it listens. Raises RuntimeError if it does not."""
        env = {**os.environ, KEY_ENV: self.key, "PYTHONUNBUFFERED": "1"}
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "client.cli",
            *self.argv,
            stdout=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C at the terminal is the supervisor's to pass on
        )
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(timeout):
                while True:
                    line = (await self.process.stdout.readline()).decode(errors="replace")
                    if not line:
                        raise RuntimeError(f"worker {self.index} exited before it listened")
                    match = READY.search(line.strip())
                    if match:
                        self.scheme, self.port = match.group(1), int(match.group(2))
                        break
        except TimeoutError:
            self.process.kill()
            raise RuntimeError(f"worker {self.index} did not start listening") from None
        self.alive = True
        self._pump = asyncio.get_running_loop().create_task(self._forward_output())
        log.info("worker %d (pid %d) listens on port %d", self.index, self.pid, self.port)

    async def _forward_output(self) -> None:
        """The worker's own printed lines, into this log with the worker's number."""
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            log.info("worker %d: %s", self.index, line.decode(errors="replace").rstrip())

    async def wait(self) -> int:
        assert self.process is not None
        code = await self.process.wait()
        self.alive = False
        return code

    def signal(self, sig: int) -> None:
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)

    def public_url(self, request_host: str) -> str:
        """The ws:// URL a client is sent to: this machine as the client named it (from the
        request's Host header) when the worker listens on every address."""
        host = self.listen_host
        if host in ("", "0.0.0.0", "::"):
            host = request_host or "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    def poll_host(self) -> str:
        return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(
            self.listen_host, self.listen_host
        )


def worker_argv(args: Any, index: int, count: int, port: int, supervisor_pid: int) -> list[str]:
    """`interlane server --worker …` for worker `index` of `count` (of this machine)."""
    argv = ["server", "--worker", f"{index}/{count}/{supervisor_pid}"]
    argv += ["--host", args.host, "--port", str(port)]
    if args.db:
        argv += ["--db", args.db]
    if args.certfile:
        argv += ["--certfile", args.certfile, "--keyfile", args.keyfile]
    if args.redis:
        argv += ["--redis", args.redis]
    if args.public_host:
        argv += ["--public-host", args.public_host]
    return argv


def parse_worker_spec(text: str) -> tuple[int, int, int]:
    """ "INDEX/COUNT/SUPERVISOR_PID" from `--worker`. Raises ValueError."""
    index, count, parent = (int(part) for part in text.split("/"))
    if not 0 <= index < count:
        raise ValueError(f"bad worker spec {text!r}")
    return index, count, parent
