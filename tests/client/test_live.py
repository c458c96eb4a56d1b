"""The facilitator screens against the real server: host dashboard → start → end → debrief.

The embedded server runs on 127.0.0.1 port 0 with its own SQLite file; a headless player
joins over websockets with a markup-looking name. Waits are bounded polls on conditions.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Digits, OptionList

from client.app import InterlaneApp
from client.plan import Plan
from client.screens.confirm import Choice
from client.screens.council import CouncilScreen, option_id
from client.screens.debrief import DebriefScreen
from client.screens.host import HostScreen
from client.screens.replay import ReplayScreen
from client.screens.spectator import SpectatorScreen
from client.widgets.bigcode import render_rows
from client.widgets.ring_overview import RingOverview
from client.widgets.spacetime import SpaceTime
from server.replays import load_stored
from shared.protocol import FLAG_PLAYER, PROTOCOL_VERSION
from tests.support.harness import EVIL_NAME, screen_text
from tests.support.screens import debrief_ready
from tests.support.server_client import WireClient


async def wait_for(pilot: Pilot, condition: Callable[[], Any], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


async def drain(client: WireClient) -> None:
    """Keep reading so the server never sees this player as a slow client."""
    with contextlib.suppress(Exception):
        while True:
            await client.recv()


async def open_room(url: str, **create: Any) -> tuple[WireClient, str, asyncio.Task[None]]:
    """A bare websocket host creates a room (`create` fields as keywords); returns the host,
    the room code and the task that keeps reading the host's frames."""
    host = await WireClient.open(url)
    await host.send({"type": "create", "protocol": PROTOCOL_VERSION, "name": "Host", **create})
    joined = await host.until("joined")
    return host, joined["code"], asyncio.create_task(drain(host))


async def quiet(pilot: Pilot, app: InterlaneApp) -> None:
    """Stop the connection before the app exits, so no snapshot lands mid-shutdown."""
    if app.connection is not None:
        app.connection.stop()
    await pilot.pause(0.1)


async def test_host_dashboard_runs_a_round_to_its_debrief(server: Any, tmp_path: Path) -> None:
    plan = Plan(
        kind="host",
        url=server.url,
        name="Host",
        scenario="ring",
        bots=14,
        seed=2,
        db=str(tmp_path / "games.db"),
    )
    app = InterlaneApp(plan, rounds=load_stored)
    async with app.run_test(size=(100, 32)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen) and app.state.code)
        player = await WireClient.open(server.url)
        await player.send(
            {
                "type": "join",
                "protocol": PROTOCOL_VERSION,
                "code": app.state.code,
                "name": EVIL_NAME,
                "role": "player",
            }
        )
        reader = asyncio.create_task(drain(player))
        try:
            table = app.screen.query_one("#host-players", DataTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            assert EVIL_NAME in screen_text(app)
            await pilot.press("s")
            await wait_for(pilot, lambda: app.state.phase == "driving")
            ring = app.screen.query_one("#host-ring", RingOverview)
            # the whole ring: every car, the joined player's among them
            await wait_for(pilot, lambda: any(c[4] & FLAG_PLAYER for c in ring.cars))
            assert len(ring.cars) >= 14
            # two seconds of round time, so the diagram has time bins (counted in the round's
            # own clock, not the wall's: an idle machine gets here within a tick or two)
            await wait_for(pilot, lambda: float((app.state.snapshot or {}).get("t", 0.0)) >= 2.0)
            await pilot.press("e")  # asks first
            await wait_for(pilot, lambda: isinstance(app.screen, Choice))
            await pilot.press("y")
            await wait_for(pilot, lambda: debrief_ready(app), timeout=30)
            screen = app.screen
            assert isinstance(screen, DebriefScreen)
            await wait_for(pilot, lambda: "diagram" in screen.payload, timeout=30)
            assert screen.projector  # the host without a car gets the projector layout
            await pilot.press("r")
            diagram = screen.query_one("#diagram", SpaceTime)
            await wait_for(pilot, lambda: diagram.revealed)
            assert diagram.diagram is not None and diagram.diagram.times > 0
            await pilot.press("p")  # the round just played, rebuilt from the history file
            await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
            replay = app.screen
            assert isinstance(replay, ReplayScreen)
            await wait_for(pilot, lambda: replay.loaded or replay.error is not None, timeout=30)
            assert replay.error is None and replay.frames[-1].tick > 0
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            await quiet(pilot, app)
        finally:
            reader.cancel()
            await player.close()


async def test_spectator_sees_the_whole_ring_of_a_running_round(server: Any) -> None:
    host, code, reader = await open_room(server.url, scenario="ring", bots=14, seed=4)
    plan = Plan(kind="spectate", url=server.url, name="Spectator", code=code, role="spectator")
    app = InterlaneApp(plan, rounds=load_stored)
    try:
        async with app.run_test(size=(100, 32)) as pilot:
            await wait_for(pilot, lambda: app.state.room is not None)
            await host.send({"type": "host", "command": "start"})
            await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
            ring = app.screen.query_one("#spec-ring", RingOverview)
            await wait_for(pilot, lambda: len(ring.cars) == 14 and ring.ring)
            for row in render_rows(code):
                assert row in screen_text(app)
            clock = app.screen.query_one("#spec-clock", Digits)
            await wait_for(pilot, lambda: clock.value not in ("-:--", "0:00"))
            await quiet(pilot, app)
    finally:
        reader.cancel()
        await host.close()


async def test_council_screen_votes_through_the_real_council(server: Any) -> None:
    host, code, reader = await open_room(server.url, program="quick", bots=10, seed=4)
    plan = Plan(kind="join", url=server.url, name=EVIL_NAME, code=code, role="player")
    app = InterlaneApp(plan, rounds=load_stored)
    try:
        async with app.run_test(size=(120, 50)) as pilot:
            await wait_for(pilot, lambda: app.state.room is not None and app.state.player)
            await host.send({"type": "host", "command": "start"})
            await wait_for(pilot, lambda: app.state.phase == "driving")
            await host.send({"type": "host", "command": "end"})
            await wait_for(pilot, lambda: app.state.phase == "debrief", timeout=30)
            await host.send({"type": "host", "command": "next"})
            await wait_for(pilot, lambda: app.state.phase in ("lobby", "council"))
            if app.state.phase == "lobby":
                await host.send({"type": "host", "command": "start"})
            await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
            options = app.screen.query_one("#council-options", OptionList)
            await wait_for(pilot, lambda: options.has_focus)  # mounted and ready
            zipper = options.get_option_index(option_id("merge", "zipper"))
            options.highlighted = zipper
            await pilot.pause()
            assert options.highlighted == zipper  # nothing moved the choice under the key press
            await pilot.press("enter")

            def tallied() -> bool:
                council = (app.state.room or {}).get("council") or {}
                return council.get("tallies", {}).get("merge") == {"zipper": 1}

            try:
                await wait_for(pilot, tallied)
            except AssertionError:
                council = (app.state.room or {}).get("council")
                raise AssertionError(f"no zipper vote counted; council: {council}") from None
            await wait_for(
                pilot,
                lambda: "1 vote" in str(options.get_option(option_id("merge", "zipper")).prompt),
            )
            final = str(options.get_option(option_id("merge", "zipper")).prompt)
            assert final.startswith(" ✓ ") and EVIL_NAME in final
            await quiet(pilot, app)
    finally:
        reader.cancel()
        await host.close()


async def test_a_remote_player_replays_the_round_from_the_debrief(server: Any) -> None:
    """No history file on the player's machine: the round's inputs come over the wire and the
    deterministic simulation rebuilds it here, following the player's own car."""
    host, code, reader = await open_room(server.url, scenario="ring", bots=10, seed=5)
    plan = Plan(kind="join", url=server.url, name=EVIL_NAME, code=code, role="player")
    app = InterlaneApp(plan, rounds=load_stored)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.room is not None and app.state.player)
            await host.send({"type": "host", "command": "start"})
            await wait_for(pilot, lambda: app.state.phase == "driving" and app.state.car)
            car = app.state.car
            await wait_for(pilot, lambda: app.state.snapshot and app.state.snapshot["tick"] > 40)
            await host.send({"type": "host", "command": "end"})
            await wait_for(pilot, lambda: debrief_ready(app), timeout=30)
            screen = app.screen
            assert isinstance(screen, DebriefScreen)
            await wait_for(pilot, lambda: "diagram" in screen.payload, timeout=30)
            await pilot.press("r")
            shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show}
            assert "replay" in shown
            await pilot.press("p")
            await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen), timeout=20)
            replay = app.screen
            assert isinstance(replay, ReplayScreen)
            await wait_for(pilot, lambda: replay.loaded or replay.error is not None, timeout=30)
            assert replay.stored is not None and car is not None
            assert replay.error is None and replay.frames[-1].tick == replay.stored["ticks"]
            assert replay.follow == car and replay.names.get(car) == EVIL_NAME
            assert EVIL_NAME in screen_text(app)  # the name, literally, in the status line
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen is screen)
            await quiet(pilot, app)
    finally:
        reader.cancel()
        await host.close()
