"""The client against the real server: solo mode end to end, over loopback websockets.

Each test starts the embedded server on 127.0.0.1 port 0 (its own SQLite file in tmp),
runs the app headless with the pilot, and waits for conditions with bounded timeouts —
never fixed sleeps — because the server ticks in real time at 20 Hz.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from client.app import InterlaneApp
from client.net import Connection
from client.plan import Plan
from client.screens.drive import DriveScreen
from client.widgets.hud import Hud
from client.widgets.road import RoadView
from shared.messages import HostCommand
from tests.support.screens import debrief_ready
from tests.support.waiting import wait_for


def solo_app(url: str, name: str = "Ana") -> InterlaneApp:
    plan = Plan(
        kind="solo",
        url=url,
        name=name,
        scenario="open-road",
        bots=12,
        seed=3,
        play=True,
        autostart=True,
    )
    return InterlaneApp(plan)


def you(app: InterlaneApp) -> dict[str, Any]:
    return app.state.you or {}


def road_text(app: InterlaneApp) -> str:
    road = app.screen.query_one(RoadView)
    return "\n".join(road.render_line(y).text for y in range(road.size.height))


async def driving(pilot: Pilot) -> InterlaneApp:
    app: Any = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen) and app.state.you)
    return app


async def test_solo_starts_and_shows_the_drive_screen_with_my_car(server: Any) -> None:
    app = solo_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await driving(pilot)
        assert app.state.role == "host" and app.state.car is not None
        assert you(app)["car"] == app.state.car
        await wait_for(pilot, lambda: "◆" in road_text(app))  # my car, drawn on the road


async def test_left_then_some_ticks_puts_the_car_one_lane_left(server: Any) -> None:
    app = solo_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await driving(pilot)
        start = you(app)["lane"]
        if start == 2:  # already in the leftmost of three lanes: go right first
            await pilot.press("right")
            await wait_for(pilot, lambda: you(app)["lane"] == 1)
            start = 1
        await pilot.press("left")
        await wait_for(pilot, lambda: you(app)["lane"] == start + 1)
        hud = app.screen.query_one(Hud)
        await wait_for(pilot, lambda: f"lane {start + 2} of" in str(hud.render()))


async def test_up_raises_the_target_speed_in_the_hud_by_10(server: Any) -> None:
    app = solo_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await driving(pilot)
        before = you(app)["target_kmh"]
        await pilot.press("down")  # make room below the top speed first
        await wait_for(pilot, lambda: you(app)["target_kmh"] != before)
        before = you(app)["target_kmh"]
        await pilot.press("up")
        await wait_for(pilot, lambda: you(app)["target_kmh"] == before + 10)
        hud = app.screen.query_one(Hud)
        await wait_for(pilot, lambda: f"target {before + 10} km/h" in str(hud.render()))


def cut_the_wire(server: Any) -> None:
    """Abort every TCP connection from the server's side: no close frame, like a dead link."""
    loop = server._loop
    for client in list(server.server.clients):
        loop.call_soon_threadsafe(client.ws.transport.abort)


@pytest.mark.parametrize("how", ["client closes", "server side aborts"])
async def test_dropped_connection_reconnects_and_gets_the_car_back(server: Any, how: str) -> None:
    app = solo_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await driving(pilot)
        car, token = app.state.car, app.state.token
        connection = app.connection
        assert isinstance(connection, Connection)
        attempts = connection.attempts
        if how == "client closes":
            await connection.drop()
        else:
            cut_the_wire(server)
        # the "lost" state can be over before a check sees it: count the connection attempts
        await wait_for(pilot, lambda: connection.attempts > attempts, timeout=20)
        await wait_for(pilot, lambda: app.state.connection == "connected", timeout=20)
        tick = (app.state.snapshot or {})["tick"]
        await wait_for(pilot, lambda: (app.state.snapshot or {})["tick"] > tick + 5)
        assert app.state.token == token
        assert app.state.car == car and you(app)["car"] == car
        assert isinstance(app.screen, DriveScreen)
        before = you(app)["target_kmh"]
        await pilot.press("up")  # and the car answers to this client again
        await wait_for(pilot, lambda: you(app)["target_kmh"] != before)


async def test_join_form_to_lobby_then_the_hosts_start_opens_the_drive_screen(server: Any) -> None:
    """A facilitator's room (a bare websocket host here) and a player typing the code."""
    from textual.widgets import DataTable, Input
    from websockets.asyncio.client import connect

    from client.screens.connect import ConnectScreen
    from client.screens.lobby import LobbyScreen
    from shared.protocol import PROTOCOL_VERSION, encode, parse_server_frame

    async with connect(server.url, compression=None) as host:
        create = {"type": "create", "protocol": PROTOCOL_VERSION, "name": "Host", "bots": 5}
        await host.send(encode({"type": "hello", "protocol": PROTOCOL_VERSION, "name": "Host"}))
        await host.send(encode({**create, "scenario": "open-road"}))
        code = None
        while code is None:
            msg = parse_server_frame(await host.recv())
            code = msg["code"] if msg["type"] == "joined" else None

        app = InterlaneApp(Plan(kind="connect", url=server.url, name="Player", code=code))
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, ConnectScreen))
            app.screen.query_one("#connect-name", Input).value = "[bold red]x[/]"
            await pilot.click("#connect-go")
            await wait_for(pilot, lambda: isinstance(app.screen, LobbyScreen))
            table = app.screen.query_one(DataTable)
            await wait_for(pilot, lambda: table.row_count == 2)
            names = {table.get_row_at(i)[0].plain for i in range(2)}
            assert names == {"Host", "[bold red]x[/]"}
            await host.send(encode({"type": "host", "command": "start"}))
            await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen) and app.state.you)
            assert app.state.role == "player" and app.state.car is not None


async def test_spectate_by_code_shows_the_room_then_the_projector_view(server: Any) -> None:
    from websockets.asyncio.client import connect

    from client.screens.lobby import LobbyScreen
    from client.screens.spectator import SpectatorScreen
    from shared.protocol import PROTOCOL_VERSION, encode, parse_server_frame

    async with connect(server.url, compression=None) as host:
        await host.send(encode({"type": "hello", "protocol": PROTOCOL_VERSION, "name": "Host"}))
        await host.send(
            encode({"type": "create", "protocol": PROTOCOL_VERSION, "name": "Host", "bots": 4})
        )
        code = None
        while code is None:
            msg = parse_server_frame(await host.recv())
            code = msg["code"] if msg["type"] == "joined" else None
        plan = Plan(kind="spectate", url=server.url, name="Wall", code=code, role="spectator")
        app = InterlaneApp(plan)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.role == "spectator" and app.state.room)
            assert isinstance(app.screen, LobbyScreen)
            await host.send(encode({"type": "host", "command": "start"}))
            await wait_for(pilot, lambda: app.state.phase == "driving")
            await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
            assert app.state.car is None  # a spectator never gets a car


async def test_solo_host_pauses_and_resumes_with_p(server: Any) -> None:
    app = solo_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await driving(pilot)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.phase == "paused")
        hud = app.screen.query_one(Hud)
        await wait_for(pilot, lambda: "PAUSED" in str(hud.render()))
        await pilot.press("p")
        await wait_for(pilot, lambda: app.state.phase == "driving")
        tick = (app.state.snapshot or {})["tick"]
        await wait_for(pilot, lambda: (app.state.snapshot or {})["tick"] > tick)


async def test_solo_next_after_the_debrief_drives_the_road_again(server: Any) -> None:
    """A solo player's `n` on the debrief is another round on the same road, started at once."""

    app = solo_app(server.url)
    async with app.run_test(size=(100, 30)) as pilot:
        await driving(pilot)
        assert app.send(HostCommand(command="end"))
        await wait_for(pilot, lambda: debrief_ready(app), timeout=40)
        await wait_for(
            pilot, lambda: app.state.room and (app.state.room or {})["phase"] == "debrief"
        )
        await pilot.press("n")
        await wait_for(
            pilot,
            lambda: (
                (app.state.room or {})["phase"] == "driving"
                and (app.state.room or {})["round"] == 2
            ),
            timeout=20,
        )
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen) and app.state.you)
        assert (app.state.room or {})["scenario"] == "open-road"
        assert you(app)["car"] == app.state.car
