"""The real app, never connecting and with its clock frozen, brought to the drive or the lobby
screen by the fabricated messages of tests/support/fakes.py: the same picture on every run."""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.pilot import Pilot

from client.app import InterlaneApp
from client.events import received
from client.plan import Plan
from client.screens.drive import DriveScreen
from client.screens.lobby import LobbyScreen
from client.widgets.road import RoadView
from shared.messages import decode_server_frame
from shared.protocol import encode
from tests.support.fakes import joined, room, snapshot
from tests.support.waiting import wait_for


def frozen_app() -> InterlaneApp:
    """A solo app for Ana that never connects, its clock standing at 100 s."""
    return InterlaneApp(Plan(kind="solo", name="Ana"), clock=lambda: 100.0)


def post(app: App[int], msg: dict[str, Any]) -> None:
    """Hand the app a fabricated server message as its connection would: packed, read back
    and checked as a frame, posted as the event of its kind (client/events.py)."""
    app.post_message(received(decode_server_frame(encode(msg))))


async def drive_ready(pilot: Pilot[int]) -> None:
    """Joined, driving, three snapshots in: the road has been drawn."""
    app = pilot.app
    post(app, joined())
    post(app, room("driving"))
    for tick in (98, 99, 100):
        post(app, snapshot(tick, events=None if tick == 100 else []))
    await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
    await wait_for(pilot, lambda: app.screen.query_one(RoadView).frames > 0)
    await pilot.pause()


async def lobby_ready(pilot: Pilot[int]) -> None:
    """Connected, joined, in the lobby with the room known."""
    app = pilot.app
    assert isinstance(app, InterlaneApp)
    app.state.connection = "connected"
    post(app, joined())
    post(app, room("lobby"))
    await wait_for(
        pilot, lambda: isinstance(app.screen, LobbyScreen) and app.state.room is not None
    )
    await pilot.pause()
