"""Nothing ends by accident: ctrl+q mid-round asks (no: still driving; yes: the seat is kept
for the same command), and a player or the projector is told plainly when the room closes or
the server goes away. The app against the real embedded server, with the pilot."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import pytest
from textual.screen import Screen

from client.app import InterlaneApp
from client.plan import Plan
from client.screens.confirm import Choice, RoomEnded
from client.screens.drive import DriveScreen
from client.tokens import SeatStore
from server.embedded import start_embedded
from shared import protocol as p
from tests.support.server_client import WireClient
from tests.support.waiting import wait_for

S = TypeVar("S", bound=Screen[Any])


async def open_room(url: str, start: bool) -> tuple[WireClient, str]:
    host = await WireClient.open(url)
    await host.send({"type": "hello", "protocol": p.PROTOCOL_VERSION, "name": "Host"})
    await host.send(
        {"type": "create", "protocol": p.PROTOCOL_VERSION, "name": "Host", "bots": 2}
        | {"scenario": "open-road", "seed": 1}
    )
    code = (await host.until("joined"))["code"]
    if start:
        await host.send({"type": "host", "command": "start"})
    return host, code


def screen_as(app: InterlaneApp, kind: type[S]) -> S:
    """The app's current screen, which the test has just waited to be a `kind`."""
    screen = app.screen
    assert isinstance(screen, kind), screen
    return screen


def member(server: Any, code: str, name: str) -> Any:
    room = server.server.registry.get(code)
    return next((m for m in room.roster if m.name == name), None) if room else None


async def test_ctrl_q_mid_round_asks_and_no_keeps_driving(server: Any) -> None:
    host, code = await open_room(server.url, start=True)
    plan = Plan(kind="join", url=server.url, name="Ana", code=code, role="player")
    app = InterlaneApp(plan)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen) and app.state.you)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        question = screen_as(app, Choice).question
        assert question.startswith("Leave round 1? A bot drives your car")
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        assert not app._exit and app.state.connection == "connected"
        ana = member(server, code, "Ana")
        room = server.server.registry.get(code)
        assert ana.connected and room.world.cars[ana.car].controller == "player"
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("y")
        await wait_for(pilot, lambda: app._exit)
    await host.close()
    # leaving keeps the seat: the same command within two minutes takes the car back
    seat = SeatStore().get(server.url, code)
    assert seat is not None and seat.token == ana.token


async def test_ctrl_q_in_the_lobby_quits_without_asking(server: Any) -> None:
    host, code = await open_room(server.url, start=False)
    plan = Plan(kind="join", url=server.url, name="Ana", code=code, role="player")
    app = InterlaneApp(plan)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.phase == "lobby" and app.state.player)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: app._exit)
    await host.close()


@pytest.mark.parametrize("role", ["player", "spectator"])
async def test_a_closed_room_is_said_plainly_until_dismissed(server: Any, role: str) -> None:
    host, code = await open_room(server.url, start=True)
    plan = Plan(kind="join" if role == "player" else "spectate", url=server.url, name="Ana")
    app = InterlaneApp(plan.__class__(**{**plan.__dict__, "code": code, "role": role}))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.phase == "driving" and app.state.player)
        await host.send({"type": "host", "command": "close"})
        await wait_for(pilot, lambda: isinstance(app.screen, RoomEnded))
        sentence = screen_as(app, RoomEnded).sentence
        assert sentence.startswith(f"You are no longer in room {code}: the host closed the room")
        assert SeatStore().get(server.url, code) is None  # nothing to come back to
        await pilot.press("escape")  # look back at the last screen…
        await wait_for(pilot, lambda: not isinstance(app.screen, RoomEnded))
        assert not app._exit
    await host.close()


async def test_the_projector_is_told_when_the_server_goes_away(tmp_path: Path) -> None:
    handle = start_embedded("127.0.0.1", 0, db=str(tmp_path / "games.db"))
    try:
        host, code = await open_room(handle.url, start=True)
        plan = Plan(kind="spectate", url=handle.url, name="Wall", code=code, role="spectator")
        app = InterlaneApp(plan)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.state.phase == "driving" and app.state.player)
            handle.stop()
            await wait_for(pilot, lambda: isinstance(app.screen, RoomEnded))
            sentence = screen_as(app, RoomEnded).sentence
            assert "the server is shutting down" in sentence
            await pilot.press("q")
            await wait_for(pilot, lambda: app._exit)
    finally:
        handle.stop()


async def test_the_projector_shows_a_lost_connection_until_it_is_back(server: Any) -> None:
    host, code = await open_room(server.url, start=True)
    plan = Plan(kind="spectate", url=server.url, name="Wall", code=code, role="spectator")
    app = InterlaneApp(plan)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.phase == "driving" and app.state.player)
        player = app.state.player
        assert app.connection is not None
        await app.connection.drop()  # the network fails under the projector
        await wait_for(pilot, lambda: isinstance(app.screen, RoomEnded))
        sentence = screen_as(app, RoomEnded).sentence
        assert sentence.startswith("Lost the connection to the server; retrying")
        await wait_for(pilot, lambda: not isinstance(app.screen, RoomEnded))  # back by itself
        assert app.state.connection == "connected" and app.state.player == player
    await host.close()


async def test_a_solo_host_ends_the_round_properly_on_quit(server: Any) -> None:
    plan = Plan(
        kind="solo",
        url=server.url,
        name="Ana",
        scenario="open-road",
        bots=4,
        seed=3,
        play=True,
        autostart=True,
    )
    app = InterlaneApp(plan)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen) and app.state.you)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        question = screen_as(app, Choice).question
        assert question.startswith("Quit while round 1 is under way? End it properly")
        assert "everyone" not in question and "solo history" in question  # nobody else here
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        assert app.state.phase == "driving"
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("e")  # end it properly: saved, then the app ends by itself
        await wait_for(pilot, lambda: app._exit, timeout=60)
    assert app.state.debrief is not None  # the round's debrief came before the goodbye
    assert [g["rounds"] for g in server.store.list_games()] == [1]


async def test_a_stale_seat_on_disk_joins_afresh_quietly(server: Any) -> None:
    host, code = await open_room(server.url, start=False)
    SeatStore().save(server.url, code, "not-a-token-of-this-room", "Ana", "player")
    app = InterlaneApp(Plan(kind="join", url=server.url, name="Ana", code=code, role="player"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.player is not None)
        ana = member(server, code, "Ana")
        assert ana is not None and ana.connected
        seat = SeatStore().get(server.url, code)
        assert seat is not None and seat.token == ana.token
        assert not [n for n in app._notifications if "token" in n.message]
    await host.close()


async def test_a_host_whose_stored_room_is_gone_opens_a_new_one(server: Any) -> None:
    SeatStore().save(server.url, "ZZZZZ", "old-token", "Host", "host")
    plan = Plan(kind="host", url=server.url, name="Host", scenario="open-road", bots=2)
    app = InterlaneApp(plan.__class__(**{**plan.__dict__, "separate_server": True}))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.state.role == "host" and app.state.room)
        code = app.state.code
        assert code and code != "ZZZZZ" and server.server.registry.get(code) is not None
        seat = SeatStore().host_seat(server.url)
        assert seat is not None and seat.code == code
        assert SeatStore().get(server.url, "ZZZZZ") is None
