"""A game server in a background thread, for solo play and `interlane host`.

The Textual client owns the main thread and its own event loop; the server gets a thread
with a loop of its own, so a slow frame on screen never delays a tick and vice versa.
`start_embedded` returns once the server listens (or raises what stopped it).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from server.net import GameServer
from server.serve import open_store


class EmbeddedServer:
    """Handle of a running embedded server: `.url`, `.port`, `.stop()`."""

    def __init__(self, host: str, port: int, db: str | None, doors: Any = None) -> None:
        self.host = host
        self._door_config = doors  # server.doors.runner.DoorConfig, or None
        self.port = 0
        self.url = ""
        self._requested = port
        self._db = db
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: GameServer | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="interlane-server", daemon=True)
        self.store: Any | None = None
        self._doors: Any = None

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the starting thread
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self.store = open_store(self._db)
        self._server = GameServer(store=self.store)
        try:
            await self._server.start(self.host, self._requested)
            self.port = self._server.port
            if self._door_config is not None:
                from server.doors.runner import start_doors

                self._doors = await start_doors(self._server, self.host, self._door_config)
            shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
            self.url = f"ws://{shown}:{self.port}"
            self._ready.set()
            await self._stopped.wait()
        finally:
            if self._doors is not None:
                await self._doors.close()
            await self._server.stop()
            if self.store is not None:
                self.store.close()

    def start(self, timeout: float = 10.0) -> EmbeddedServer:
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the embedded server did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Clients are told `bye`, connections closed, the thread joined. Idempotent."""
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stopped.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def server(self) -> GameServer | None:
        return self._server


def start_embedded(
    host: str = "127.0.0.1", port: int = 0, db: str | None = None, doors: Any = None
) -> EmbeddedServer:
    """Start a server in a background thread; returns once it accepts connections.

    `doors`: a server.doors.runner.DoorConfig for the SSH/browser doors and the LAN
    announcement (`interlane host`)."""
    return EmbeddedServer(host, port, db, doors).start()
