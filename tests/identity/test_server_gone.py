"""A server killed outright (SIGKILL, no `bye`): every role — a player, a host on a separate
server, the projector — gets a notice that stays while the client retries; a server restarted
on the same port has no room, so the notice becomes a final one ("The server is gone: …") and
quitting ends the process with that sentence and exit code 1. A server that never comes back
gets the same final notice once the retries give up. A real server process, the real app."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from client.app import InterlaneApp
from client.net import Connection
from client.plan import Plan
from client.screens.confirm import RoomEnded
from client.tokens import SeatStore
from shared import protocol as p
from tests.support.server_client import WireClient
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


class ServerProcess:
    """`interlane server` in its own process, on a given port (0: any free one)."""

    def __init__(self, db: Path, port: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "client.cli", "server", "--host", "127.0.0.1"]
            + ["--port", str(port), "--db", str(db), "--workers", "1"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        line = self.proc.stdout.readline()
        assert "Interlane server on" in line, line + (self.proc.stderr.read() or "")
        self.url = line.split()[-1]
        self.port = urlsplit(self.url).port or 0

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to say goodbye."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    try:
        yield started
    finally:
        for server in started:
            server.kill()


async def open_room(url: str) -> tuple[WireClient, str]:
    host = await WireClient.open(url)
    await host.send({"type": "hello", "protocol": p.PROTOCOL_VERSION, "name": "Host"})
    await host.send(
        {"type": "create", "protocol": p.PROTOCOL_VERSION, "name": "Host", "bots": 2}
        | {"scenario": "open-road", "seed": 1}
    )
    code = (await host.until("joined"))["code"]
    await host.send({"type": "host", "command": "start"})
    return host, code


async def plan_for(role: str, url: str) -> tuple[Plan, WireClient | None]:
    if role == "host":  # `interlane host --server URL`: the room lives on that server
        plan = Plan(kind="host", url=url, name="Hosta", scenario="open-road", bots=2, seed=1)
        return replace(plan, separate_server=True), None
    host, code = await open_room(url)
    kind = "spectate" if role == "spectator" else "join"
    return Plan(kind=kind, url=url, name="Ana", code=code, role=role), host


def notice(app: InterlaneApp) -> RoomEnded | None:
    screen = app.screen
    return screen if isinstance(screen, RoomEnded) else None


def lost_notice(app: InterlaneApp) -> bool:
    shown = notice(app)
    return shown is not None and shown.lost


def final_notice(app: InterlaneApp) -> bool:
    """The notice up is the final one: the room or the server will not come back."""
    shown = notice(app)
    return shown is not None and not shown.lost


@pytest.mark.parametrize("role", ["player", "host", "spectator"])
async def test_a_killed_server_leaves_a_notice_then_a_final_one(
    servers: list[ServerProcess], tmp_path: Path, role: str
) -> None:
    first = ServerProcess(tmp_path / "one.db")
    servers.append(first)
    plan, host = await plan_for(role, first.url)
    app = InterlaneApp(plan)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.player is not None and app.state.room)
        code = app.state.code
        assert code and SeatStore().get(first.url, code) is not None or role == "host"
        first.kill()
        await wait_for(pilot, lambda: lost_notice(app))
        shown = notice(app)
        assert shown is not None
        assert shown.sentence.startswith("Lost the connection to the server; retrying…")
        if role == "spectator":
            assert "comes back by itself" in shown.sentence
        else:
            assert "your seat is kept for" in shown.sentence
        # it stays through the retries, updated by each one
        connection = app.connection
        assert isinstance(connection, Connection)  # the real one: it retries by itself
        tried = connection.attempts
        await wait_for(pilot, lambda: connection.attempts > tried + 1)
        shown = notice(app)
        assert shown is not None and shown.lost and "attempt" in shown.sentence
        # a server comes back on the same port, but it is a new one: it has no room
        second = ServerProcess(tmp_path / "two.db", port=first.port)
        servers.append(second)
        await wait_for(pilot, lambda: app.gone is not None)
        await wait_for(pilot, lambda: final_notice(app))
        final = notice(app)
        assert final is not None
        assert final.sentence.startswith(f"The server is gone: it came back without room {code}")
        assert app.connection is not None and app.connection.fatal is not None  # no more retries
        await pilot.press("q")
        await wait_for(pilot, lambda: app._exit)
    assert app.return_code == 1
    assert app.exit_message == final.sentence
    if host is not None:
        with contextlib.suppress(Exception):
            await host.close()


async def test_a_server_that_never_comes_back_is_given_up(
    servers: list[ServerProcess], tmp_path: Path
) -> None:
    server = ServerProcess(tmp_path / "one.db")
    servers.append(server)
    plan, host = await plan_for("player", server.url)
    app = InterlaneApp(plan)
    app.give_up_after = 1.0  # the real limit is the 2-minute seat and a margin
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.player is not None and app.state.room)
        server.kill()
        await wait_for(pilot, lambda: lost_notice(app))
        await wait_for(pilot, lambda: app.gone is not None)
        await wait_for(pilot, lambda: final_notice(app))
        final = notice(app)
        assert final is not None
        assert final.sentence.startswith(f"The server is gone: no answer from {server.url}")
        await pilot.press("escape")  # look back at the frozen road…
        await wait_for(pilot, lambda: notice(app) is None)
        assert not app._exit
        await pilot.press("ctrl+q")  # …and quitting then says why, with exit code 1
        await wait_for(pilot, lambda: app._exit)
    assert app.return_code == 1
    assert app.exit_message == final.sentence
    if host is not None:
        with contextlib.suppress(Exception):
            await host.close()
