"""A tiny stand-in for the real app, so the facilitator/projector/council/debrief screens can
be driven by fixed message dicts: deterministic for pilots and snapshots, no network.

It implements the plumbing contract of docs/architecture.md ("The client's plumbing"):
`app.state` holds the latest room/snapshot/debrief, server messages reach the active screen
as a `ServerMessage`, and `app.send()` is how screens talk (recorded here in `sent`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from textual.app import App
from textual.message import Message
from textual.screen import Screen

from shared.protocol import CLIENT_MESSAGES, SERVER_MESSAGES, pack_car, validate

EVIL_NAME = "[bold red]x[/]"
ESC_NAME = "e\x1b[31mvil"
ESC_SHOWN = "e\\x1b[31mvil"


class ServerMessage(Message):
    """Same name (hence same handler, `on_server_message`) as the real app's message."""

    def __init__(self, msg: dict[str, Any]) -> None:
        super().__init__()
        self.msg = msg


class Harness(App[None]):
    """Pushes one screen and feeds it messages; records what it sends."""

    def __init__(
        self,
        make_screen: Callable[[], Screen[Any]],
        *,
        role: str = "host",
        player: int = 1,
        car: int | None = None,
        messages: tuple[dict[str, Any], ...] = (),
    ) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.state = SimpleNamespace(
            role=role, player=player, car=car, room=None, snapshot=None, debrief=None
        )
        self.sent: list[dict[str, Any]] = []
        self.initial = messages
        for msg in messages:
            self._remember(msg)

    def _remember(self, msg: dict[str, Any]) -> None:
        validate(msg, SERVER_MESSAGES)  # fixtures must be messages a server could send
        if msg["type"] in ("room", "snapshot", "debrief"):
            setattr(self.state, msg["type"], msg)

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())

    def send(self, msg: dict[str, Any]) -> None:
        validate(msg, CLIENT_MESSAGES)  # a screen must never send what the server refuses
        self.sent.append(msg)

    def feed(self, msg: dict[str, Any]) -> None:
        """Deliver a server message the way the real app does."""
        self._remember(msg)
        self.screen.post_message(ServerMessage(msg))


def room_msg(**over: Any) -> dict[str, Any]:
    """A fixed `room` message: three members, one with a markup name, one with an escape."""
    msg: dict[str, Any] = {
        "type": "room",
        "code": "HXK7P",
        "phase": "driving",
        "players": [
            {"id": 1, "name": "Facilitator", "role": "host", "car": None, "connected": True},
            {"id": 2, "name": EVIL_NAME, "role": "player", "car": 11, "connected": True},
            {"id": 3, "name": ESC_NAME, "role": "player", "car": 12, "connected": False},
            {"id": 4, "name": "Ana", "role": "spectator", "connected": True},
        ],
        "scenario": "rush-hour",
        "rulebook": {"passing": "right"},
        "round": 1,
        "rounds": 3,
        "locked": False,
        "clock": 151,
        "ring": {"length": 2000.0, "lanes": 3},
    }
    msg.update(over)
    return msg


def snapshot_msg(**over: Any) -> dict[str, Any]:
    """A fixed `snapshot`: a jam near 1.2 km on an otherwise free ring."""
    cars = []
    for i in range(36):
        x = (i * 55.0) % 2000.0
        lane = i % 3
        jammed = 1000.0 <= x <= 1400.0
        v = 1.5 if jammed else 27.0
        flags = 16 if i in (11, 12) else 0
        if i == 20:
            flags |= 32
        cars.append(list(pack_car(i, lane, x, v, flags)))
    ring = [8 if 32 <= s <= 44 else 60 if s in (30, 31, 45, 46) else 97 for s in range(64)]
    msg: dict[str, Any] = {
        "type": "snapshot",
        "tick": 1800,
        "t": 90.0,
        "cars": cars,
        "ring": ring,
        "events": [{"kind": "hard_brake", "text": f"{EVIL_NAME} braked hard"}],
        "team": {
            "flow_vph": 1712.4,
            "mean_kmh": 63.2,
            "delay_vs": 412.0,
            "crashes": 1,
            "near_misses": 4,
            "hard_brakes": 9,
            "adherence": 78,
        },
    }
    msg.update(over)
    return msg


def screen_text(app: App[Any]) -> str:
    """Everything visible on the current screen as plain text, as the terminal would show it."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)
