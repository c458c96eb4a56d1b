"""The end-of-program debrief, end to end: the `quick` program on a real server over loopback.

A facilitator runs the whole `quick` program (round 1, a council that sets keep-right, round 2);
one member watches it through the real app — as the host (projector layout), as a player, or
as a spectator (projector). After the last round the debrief carries the program: every round
side by side and what changed when the rules changed, and when the host closes the program
every screen turns to it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Static, TabbedContent

from client.app import InterlaneApp
from client.plan import Plan
from client.screens.debrief import DebriefScreen
from shared.messages import parse_client_message
from tests.support.screens import debrief_ready
from tests.support.waiting import wait_for

PATIENCE = 60.0  # seconds a step may take on a loaded machine (a safety net only)


def phase(app: InterlaneApp) -> str | None:
    room = app.state.room
    return room.get("phase") if isinstance(room, dict) else None


def step(app: InterlaneApp) -> int | None:
    room = app.state.room
    return room.get("step") if isinstance(room, dict) else None


async def run_program(pilot: Pilot, app: InterlaneApp, command: Callable[..., Any]) -> None:
    """Walk the `quick` program with the host's commands, watching the app's room state."""

    async def host(cmd: str, **extra: Any) -> None:
        await command({"type": "host", "command": cmd, **extra})

    async def ticks(n: int) -> None:
        await wait_for(pilot, lambda: app.state.snapshot is not None)
        first = (app.state.snapshot or {})["tick"]
        await wait_for(pilot, lambda: (app.state.snapshot or {})["tick"] >= first + n)

    await wait_for(pilot, lambda: phase(app) == "lobby")
    await host("start")
    await wait_for(pilot, lambda: phase(app) == "driving")
    await ticks(40)
    await host("end")
    await wait_for(pilot, lambda: (app.state.debrief or {}).get("round") == 1)
    await host("next")  # the council step
    await wait_for(pilot, lambda: phase(app) == "lobby" and step(app) == 2)
    await host("start")
    await wait_for(pilot, lambda: phase(app) == "council")
    await host("decide", convention="passing", option="right")
    await host("end")  # round 2 is prepared under the council's rulebook
    await wait_for(pilot, lambda: phase(app) == "lobby" and step(app) == 3)
    await host("start")
    await wait_for(pilot, lambda: phase(app) == "driving")
    app.state.snapshot = None
    await ticks(40)
    await host("end")
    await wait_for(pilot, lambda: (app.state.debrief or {}).get("round") == 2)


async def check_program_screen(pilot: Pilot, app: InterlaneApp) -> DebriefScreen:
    await wait_for(pilot, lambda: debrief_ready(app))
    screen = app.screen
    assert isinstance(screen, DebriefScreen)
    program = (app.state.debrief or {})["program"]
    assert [r["round"] for r in program["rounds"]] == [1, 2]
    (change,) = program["changes"]
    assert change["round"] == 2 and change["rules"] == ["Passing side: Free → Keep right"]
    tabs = screen.query_one("#debrief-tabs", TabbedContent)
    await wait_for(pilot, lambda: tabs.get_tab("tab-program").display)
    await pilot.press("6")
    await wait_for(pilot, lambda: tabs.active == "tab-program")
    table = screen.query_one("#program-rounds", DataTable)
    assert table.row_count == 2
    assert str(table.get_row_at(1)[-1]) == "Keep right"
    changes = str(screen.query_one("#program-changes", Static).render())
    assert "Round 2 changed the rules (Passing side: Free → Keep right)" in changes
    return screen


async def finish_and_see_the_program(
    pilot: Pilot, app: InterlaneApp, command: Callable[..., Any]
) -> None:
    screen = await check_program_screen(pilot, app)
    tabs = screen.query_one("#debrief-tabs", TabbedContent)
    await pilot.press("1")
    await wait_for(pilot, lambda: tabs.active == "tab-diagram")
    await command({"type": "host", "command": "next"})  # the program is over
    await wait_for(pilot, lambda: phase(app) == "finished")
    await wait_for(pilot, lambda: tabs.active == "tab-program")  # every screen turns to it


class WireHost:
    """The facilitator as a bare websocket that creates the `quick` room and sends commands;
    its incoming frames are read in the background (a member that never reads is dropped)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.code: str | None = None

    async def __aenter__(self) -> WireHost:
        from websockets.asyncio.client import connect

        from shared.protocol import PROTOCOL_VERSION, encode, parse_server_frame

        self._encode = encode
        self.ws = await connect(self.url, compression=None)
        await self.ws.send(encode({"type": "hello", "protocol": PROTOCOL_VERSION, "name": "Fac"}))
        create = {"type": "create", "protocol": PROTOCOL_VERSION, "name": "Fac"}
        await self.ws.send(encode({**create, "program": "quick", "bots": 20}))
        while self.code is None:
            msg = parse_server_frame(await asyncio.wait_for(self.ws.recv(), PATIENCE))
            self.code = msg["code"] if msg["type"] == "joined" else None
        self._reader = asyncio.create_task(self._drain())
        return self

    async def _drain(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                await self.ws.recv()

    async def send(self, msg: dict[str, Any]) -> None:
        await self.ws.send(self._encode(msg))

    async def __aexit__(self, *exc: Any) -> None:
        self._reader.cancel()
        await self.ws.close()


async def test_the_host_sees_the_program_debrief(server: Any) -> None:
    plan = Plan(kind="host", url=server.url, name="Fac", program="quick", bots=20)
    app = InterlaneApp(plan)

    async def command(msg: dict[str, Any]) -> None:
        assert app.send(parse_client_message(msg))

    async with app.run_test(size=(120, 40)) as pilot:
        await run_program(pilot, app, command)
        await finish_and_see_the_program(pilot, app, command)
        assert isinstance(app.screen, DebriefScreen) and app.screen.projector


@pytest.mark.parametrize("role", ["player", "spectator"])
async def test_players_and_the_projector_see_the_program_debrief(server: Any, role: str) -> None:
    async with WireHost(server.url) as host:
        plan = Plan(kind="join", url=server.url, name="Ana", code=host.code, role=role)
        app = InterlaneApp(plan)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.role == role)
            await run_program(pilot, app, host.send)
            await finish_and_see_the_program(pilot, app, host.send)
            assert isinstance(app.screen, DebriefScreen)
            assert app.screen.projector == (role == "spectator")
