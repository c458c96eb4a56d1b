"""The client harness: the real `InterlaneApp` with a fake connection, no network.

Screens are driven the way a server drives them (docs/architecture.md, "The client's
plumbing"): each message a test feeds is encoded and decoded like a frame into its typed
value (`shared.messages.decode_server_frame`, as client/net.py does) and handed to the
callback the app gave its connection, so the app folds it into `app.state`, routes to the
screen for the phase and forwards it there as the event of its kind. What the screens send
(typed messages) goes through `app.send`, which encodes it, into the fake connection, which
decodes the frame, checks it as the server's gate would and records it in `sent` as the
clean map, so tests compare plain dicts.

`Harness` adds only test accessors to the app (`feed`, `sent`, `link`) and one caption:
its TITLE is "Harness", the window title of the stored snapshot SVGs
(tests/client/__snapshots__/), which Textual draws from the app's title; no screen shows it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen

from client.app import InterlaneApp
from client.net import IsFatal, OnMessage, OnStatus, Opening, checked_frame
from client.plan import Plan
from client.screens.replay import RoundSource
from shared.messages import decode_server_frame
from shared.protocol import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    ProtocolError,
    decode,
    encode,
    pack_car,
    validate,
)
from tests.support.waiting import wait_for

EVIL_NAME = "[bold red]x[/]"
ESC_NAME = "e\x1b[31mvil"
ESC_SHOWN = "e\\x1b[31mvil"
URL = "ws://harness.invalid"
CODE = "HXK7P"


class FakeLink:
    """Stands in for client.net.Connection (the `client.net.Link` the app drives): it opens
    at once, delivers the `first` messages, then whatever a test feeds, and records what
    the app sends (its frames, decoded and checked as the server's gate checks them)."""

    def __init__(
        self,
        url: str,
        on_message: OnMessage,
        on_status: OnStatus,
        opening: Opening,
        *,
        is_fatal: IsFatal | None,
        cafile: str | None,
        give_up_after: float,
        first: list[dict[str, Any]] | None = None,
    ) -> None:
        self.url = url
        self.lost_at: float | None = None
        self.fatal: str | None = None
        self.opened: list[dict[str, Any]] = []  # what the app said first on the socket
        self.sent: list[dict[str, Any]] = []  # what it sent since
        self.bad_frames = 0  # frames the real check refused (dropped)
        self._on_message = on_message
        self._on_status = on_status
        self._opening = opening
        self._first = first if first is not None else []
        self._up = False
        self._stopped = asyncio.Event()

    async def run(self) -> None:
        self._on_status("connecting", f"Connecting to {self.url}…")
        self.opened = [_sent(checked_frame(msg)) for msg in self._opening()]
        self._up = True
        self._on_status("connected", f"Connected to {self.url}")
        while self._first:  # (a list: messages fed before the link was up are added to it)
            self.deliver(self._first.pop(0))
        await self._stopped.wait()
        self._up = False

    @property
    def up(self) -> bool:
        return self._up

    def deliver(self, msg: dict[str, Any]) -> None:
        """One message from the server, through the real frame check: a frame it refuses
        is dropped and counted, as `Connection` does."""
        try:
            clean = decode_server_frame(encode(msg))
        except ProtocolError as exc:
            self.bad_frames += 1
            self._on_status("connected", f"Ignored a bad message from the server: {exc}")
            return
        self._on_message(clean)

    def send(self, frame: bytes) -> bool:
        clean = _sent(frame)  # a screen must never send what is refused
        if not self._up:
            return False
        self.sent.append(clean)
        return True

    def status(self, state: str, text: str) -> None:
        """The link's state changes (connecting | connected | lost | closed), as
        `Connection` reports it."""
        self._on_status(state, text)

    def close(self, reason: str) -> None:
        """The server went away for good: the link says so as `Connection.run` does."""
        self.fatal = reason
        self.stop()
        self._on_status("closed", f"Disconnected: {reason}")

    def stop(self) -> None:
        self._up = False
        self._stopped.set()

    async def drop(self) -> None:
        self.stop()


def _sent(frame: bytes) -> dict[str, Any]:
    """A frame the app sent, as the clean map the server's gate would make of it."""
    return validate(decode(frame), CLIENT_MESSAGES)


class Harness(InterlaneApp):
    """The real app, joined to a room as `role` (no `joined` when role is empty), fed
    `messages` once its fake connection is up. Which screen shows is the app's own routing
    (`client.routing.screen_key`), so a test names the phase and role, not the screen."""

    TITLE = "Harness"  # the stored snapshots' window caption (see the module docstring)

    def __init__(
        self,
        *,
        role: str = "host",
        player: int = 1,
        car: int | None = None,
        messages: tuple[dict[str, Any], ...] = (),
        plan: Plan | None = None,
        clock: Callable[[], float] = time.monotonic,
        rounds: RoundSource | None = None,
    ) -> None:
        if plan is None:
            kind = "spectate" if role == "spectator" else "join"
            joining = "spectator" if role == "spectator" else "player"
            plan = Plan(kind=kind, url=URL, name="Ana", code=CODE, role=joining)
        first = list(messages)
        if role:
            joined: dict[str, Any] = {
                "type": "joined",
                "code": CODE,
                "role": role,
                "token": "t0k",
                "player": player,
            }
            if car is not None:
                joined["car"] = car
            first.insert(0, joined)
        for msg in first:
            validate(msg, SERVER_MESSAGES)  # fixtures must be messages a server could send
        self.links: list[FakeLink] = []
        self._early = first  # delivered once the first link is up

        def open_link(
            url: str,
            on_message: OnMessage,
            on_status: OnStatus,
            opening: Opening,
            *,
            is_fatal: IsFatal | None,
            cafile: str | None,
            give_up_after: float,
        ) -> FakeLink:
            link = FakeLink(
                url,
                on_message,
                on_status,
                opening,
                is_fatal=is_fatal,
                cafile=cafile,
                give_up_after=give_up_after,
                first=None if self.links else self._early,
            )
            self.links.append(link)
            return link

        super().__init__(plan, clock=clock, rounds=rounds, link=open_link)

    @property
    def link(self) -> FakeLink:
        """The connection the app opened last."""
        return self.links[-1]

    @property
    def sent(self) -> list[dict[str, Any]]:
        """What the screens sent through `app.send` (the opening messages are not in it)."""
        return self.link.sent if self.links else []

    def feed(self, msg: dict[str, Any]) -> None:
        """Deliver a server message the way the real connection does (once it is up: fed
        before, it waits for the link, as a server's first messages would)."""
        if self.links and self.link.up:
            self.link.deliver(msg)
        else:
            validate(msg, SERVER_MESSAGES)
            self._early.append(msg)


def shown(screen: type[Screen[Any]]) -> Callable[[Pilot[Any]], Awaitable[None]]:
    """A snapshot's `run_before`: wait until the app's routing shows `screen`, settled."""

    async def ready(pilot: Pilot[Any]) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, screen))
        await pilot.pause()

    return ready


def room_msg(**over: Any) -> dict[str, Any]:
    """A fixed `room` message: three members, one with a markup name, one with an escape."""
    msg: dict[str, Any] = {
        "type": "room",
        "code": CODE,
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


def seated(room: dict[str, Any], player: int, car: int | None) -> dict[str, Any]:
    """`room` with member `player` holding `car`: the app takes its car from the roster
    (client/state.py), as it does from a real server."""
    players = [{**p, "car": car} if p["id"] == player else p for p in room["players"]]
    return {**room, "players": players}


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
