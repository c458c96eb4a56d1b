"""A worker (a real GameServer) behind a real front door, both in the test's own process.

tests/support/cluster.py starts `interlane server --workers N` as a subprocess, which is the
product as a person runs it; this one keeps the worker in reach, so that a test can look at
what the server holds (a room's world, a connection's keepalive) while its clients go through
the door's redirect, as benchmarks/server_load.py's ramp does.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from server.frontdoor import FrontDoor
from server.net import GameServer, Limits
from server.workers import LocalWorker, WorkerAgent

PATIENCE = 60.0  # seconds: a safety net for a broken build, never what a test waits on


@dataclass
class DoorAndWorker:
    server: GameServer  # the worker
    door: FrontDoor

    @property
    def door_url(self) -> str:
        return f"ws://127.0.0.1:{self.door.port}"

    @property
    def worker_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}"


@contextlib.asynccontextmanager
async def door_and_worker(limits: Limits | None = None) -> AsyncIterator[DoorAndWorker]:
    """A ticking worker on a free loopback port, attached to a front door on another."""
    key = secrets.token_urlsafe(16)
    server = GameServer(limits=limits or Limits(join_burst=1000), analysis_workers=0)
    WorkerAgent(key=key, url="").attach(server)
    await server.start("127.0.0.1", 0)
    handle = LocalWorker(0, [], key, "127.0.0.1")
    handle.port, handle.alive = server.port, True
    door = FrontDoor([handle], None, key)
    stop = asyncio.Event()
    serving = asyncio.create_task(door.serve("127.0.0.1", 0, None, stop))
    try:
        await until(lambda: door.port is not None or serving.done(), "the front door listens")
        if serving.done():
            serving.result()  # its failure, raised here
        yield DoorAndWorker(server, door)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, PATIENCE)
        await server.stop()


async def until(check: Callable[[], object], what: str, timeout: float = PATIENCE) -> None:
    """Until `check()` holds, letting the loop run; fails after `timeout` (a safety net)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in time")
        await asyncio.sleep(0.02)
