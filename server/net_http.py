"""HTTP on the game's port: what a request that is not a websocket upgrade gets.

`GET /healthz` answers 200 (docs/protocol.md, "Limits and defences"); a worker behind a front
door adds its own paths (`GameServer.http_routes`: server/workers.py's `/directory`); any
other path (`/new`, `/r/CODE` from a front door, or none) is the game itself: the handshake
goes on to a websocket.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection

HttpRoute = Callable[[ServerConnection, Any], Any]
"""An extra path's answer: websockets' `process_request` for that path."""


def answer_http(routes: Mapping[str, HttpRoute], connection: ServerConnection, request: Any) -> Any:
    """websockets' `process_request`: a response, or None to go on with the handshake."""
    path = request.path.split("?", 1)[0]
    if path == "/healthz":
        return connection.respond(HTTPStatus.OK, "OK\n")
    route = routes.get(path)
    if route is not None:
        return route(connection, request)
    return None
