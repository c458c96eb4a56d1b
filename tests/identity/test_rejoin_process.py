"""A player is a person, not a process: `interlane join` killed with SIGKILL and run again with
the same command gets the same member and car back, and everything it did before and after
the kill counts for that one named driver (debrief line, report table, CSV).

Real processes end to end: the embedded game server on a loopback port, the host as a
protocol client, and the player as the real TUI on a pseudo-terminal, driven by keys.
"""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shared import protocol as p
from tests.support.server_client import WireClient
from tests.support.tui_process import ROOT, TuiProcess

WAIT = 30.0  # a safety net for a broken build; the test waits on conditions


async def until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in time: {what}")
        await asyncio.sleep(0.05)


def hard_brakes(room: Any, car: int) -> int:
    return sum(1 for e in list(room.round_events) if e.kind == "hard_brake" and e.car == car)


async def brake_hard(player: TuiProcess, room: Any, car: int, times: int) -> None:
    """Tap the brake (space) until the server has seen `times` more hard brakes of `car`; a
    tap is one pulse, and the next waits until that pulse is over (a held brake is one hard
    brake, however long)."""
    goal = hard_brakes(room, car) + times
    deadline = time.monotonic() + WAIT
    while (seen := hard_brakes(room, car)) < goal:
        assert time.monotonic() < deadline, "the player's brakes never reached the server"
        assert player.proc.poll() is None, "the player's process ended"
        player.press(b" ")
        pulse_end = time.monotonic() + 2.0
        while hard_brakes(room, car) == seen and time.monotonic() < pulse_end:
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "client.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_killed_player_comes_back_as_the_same_driver(server: Any, tmp_path: Path) -> None:
    host = await WireClient.open(server.url)
    await host.send({"type": "hello", "protocol": p.PROTOCOL_VERSION, "name": "Host"})
    await host.send(
        {
            "type": "create",
            "protocol": p.PROTOCOL_VERSION,
            "name": "Host",
            "scenario": "open-road",
            "bots": 4,
            "seed": 5,
        }
    )
    code = (await host.until("joined"))["code"]
    room = server.server.registry.get(code)
    await host.send({"type": "host", "command": "start"})
    command = ["join", code, "--server", server.url, "--name", "Ana"]
    data_home = tmp_path / "ana-home"

    def ana() -> Any:
        players = [m for m in room.roster if m.role == "player"]
        return players[0] if len(players) == 1 else None

    first = TuiProcess(command, data_home)
    try:
        member = await until(lambda: (m := ana()) and m.connected and m.car is not None and m, "in")
        player_id, car = member.player, member.car
        await brake_hard(first, room, car, 2)
        before = hard_brakes(room, car)
    finally:
        first.kill()
    seats = data_home / "interlane" / "seats.json"
    assert seats.stat().st_mode & 0o777 == 0o600 and member.token in seats.read_text()
    await until(lambda: not member.connected, "the server sees the player gone")
    assert room.world.cars[car].controller == "bot"  # a bot drives the car meanwhile

    second = TuiProcess(command, data_home)
    try:
        await until(lambda: member.connected, "the same member is back")
        assert [m.name for m in room.roster] == ["Host", "Ana"]  # no "Ana 2"
        assert (ana().player, ana().car) == (player_id, car)
        assert room.world.cars[car].controller == "player"
        await brake_hard(second, room, car, 2)
        total = hard_brakes(room, car)
        assert total >= before + 2
        await host.send({"type": "host", "command": "end"})
        debrief = await host.until("debrief")
    finally:
        second.kill()
    await host.close()
    # the token kept on disk brought the seat back (quietly), not the claim by name
    assert not [m for m in host.seen if m["type"] == "notice" and "rejoined" in m["text"]]

    mine = [d for d in debrief["drivers"] if d["car"] == car]
    assert len(mine) == 1 and mine[0]["name"] == "Ana" and mine[0]["hard_brakes"] == total
    names = [d.get("name") for d in debrief["drivers"] if d.get("name")]
    assert names == ["Ana"]

    db = str(tmp_path / "games.db")
    listing = cli("history", "--db", db)
    assert "Ana" in listing and "Ana 2" not in listing
    game = listing.splitlines()[2].split()[0]
    table = cli("report", game, "--db", db, "--format", "md")
    rows = [line for line in table.splitlines() if line.startswith("| Ana ")]
    assert rows and "Ana 2" not in table
    rows_csv = list(csv.DictReader(io.StringIO(cli("report", game, "--db", db, "--format", "csv"))))
    ana_rows = [r for r in rows_csv if r["record"] == "driver" and r["name"] == "Ana"]
    assert len(ana_rows) == 1 and int(ana_rows[0]["hard_brakes"]) == total
