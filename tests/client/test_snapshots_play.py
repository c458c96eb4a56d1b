"""Snapshot tests of the drive and lobby screens at 80×24 and 120×40.

Deterministic by construction: the app never connects, it is fed the fixed messages of
test_client_fakes, and its clock is frozen (so interpolation, blinking and the round clock
are the same on every run).
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot

from client.app import InterlaneApp
from client.events import ServerMessage
from client.plan import Plan
from client.screens.drive import DriveScreen
from client.screens.lobby import LobbyScreen
from client.widgets.road import RoadView
from tests.client.test_fakes import joined, room, snapshot
from tests.support.waiting import wait_for


def frozen_app() -> InterlaneApp:
    return InterlaneApp(Plan(kind="solo", name="Ana"), clock=lambda: 100.0)


async def drive_ready(pilot: Pilot) -> None:
    app = pilot.app
    app.post_message(ServerMessage(joined()))
    app.post_message(ServerMessage(room("driving")))
    for tick in (98, 99, 100):
        app.post_message(ServerMessage(snapshot(tick, events=None if tick == 100 else [])))
    await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
    await wait_for(pilot, lambda: app.screen.query_one(RoadView).frames > 0)
    await pilot.pause()


async def lobby_ready(pilot: Pilot) -> None:
    app = pilot.app
    assert isinstance(app, InterlaneApp)
    app.state.connection = "connected"
    app.post_message(ServerMessage(joined()))
    app.post_message(ServerMessage(room("lobby")))
    await wait_for(
        pilot, lambda: isinstance(app.screen, LobbyScreen) and app.state.room is not None
    )
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_drive_screen_snapshot(snap_compare, size: tuple[int, int]) -> None:  # noqa: ANN001
    assert snap_compare(frozen_app(), terminal_size=size, run_before=drive_ready)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_lobby_screen_snapshot(snap_compare, size: tuple[int, int]) -> None:  # noqa: ANN001
    assert snap_compare(frozen_app(), terminal_size=size, run_before=lobby_ready)
