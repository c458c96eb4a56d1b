"""A room stepped tick by tick without sockets or clocks: a connection that records what the
room sends, a clock a test moves by hand, and a room on the fake world
(tests/support/fake_world.py).
"""

from __future__ import annotations

from typing import Any

from server.room import Room
from shared import protocol as p
from tests.support.fake_world import fake_factory


class FakeConn:
    """Collects what the room sends, decoded through the client's own gate."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    def send(self, data: bytes) -> bool:
        self.frames.append(p.parse_server_frame(data))
        return True

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    def last(self, kind: str) -> dict[str, Any]:
        return self.of(kind)[-1]


class Clock:
    """The room's clock, standing still until a test sets `now`."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_room(**kwargs: Any) -> tuple[Room, Clock]:
    """Room ABCDE on the fake world ("test-road" unless `scenario` says otherwise)."""
    clock = Clock()
    kwargs.setdefault("scenario", "test-road")
    return Room("ABCDE", clock=clock, world_factory=fake_factory, **kwargs), clock
