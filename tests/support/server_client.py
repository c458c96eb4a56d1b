"""A minimal protocol client for the server's end-to-end tests (real websockets)."""

from __future__ import annotations

import asyncio
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from shared import protocol as p

TIMEOUT = 10.0  # a safety net for a broken server, never what a test waits on


class WireClient:
    """Sends dicts, receives validated server messages, and keeps every one it saw."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(cls, url: str) -> WireClient:
        ws = await connect(url, compression=None, max_size=p.MAX_FRAME_BYTES)
        return cls(ws)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(p.encode(message))

    async def send_raw(self, data: bytes | str) -> None:
        await self.ws.send(data)

    async def recv(self) -> dict[str, Any]:
        frame = await asyncio.wait_for(self.ws.recv(), TIMEOUT)
        msg = p.parse_server_frame(frame)
        self.seen.append(msg)
        return msg

    async def until(self, kind: str, **match: Any) -> dict[str, Any]:
        """The next message of `kind` whose fields equal `match`."""
        while True:
            msg = await self.recv()
            if msg["type"] == kind and all(msg.get(k) == v for k, v in match.items()):
                return msg

    async def close(self) -> None:
        await self.ws.close()
