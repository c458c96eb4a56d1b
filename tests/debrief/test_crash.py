"""A server killed (SIGKILL) during round 2 keeps round 1 intact, readable and replayable."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from server.debrief import rerun
from server.replays import replay_round
from server.store import Store
from shared import protocol as p
from tests.support.server_client import WireClient

ROOT = Path(__file__).resolve().parents[2]


def _start(db: Path) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "client.cli", "server", "--host", "127.0.0.1", "--port", "0"]
        + ["--db", str(db), "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert "Interlane server on" in line, line + (proc.stderr.read() if proc.stderr else "")
    return proc, line.split()[-1]


PATIENCE = 60.0  # seconds one message may take on a loaded machine (a safety net only)


async def _until(client: WireClient, kind: str, **match: object) -> dict:
    """The next message of `kind` matching `match`, with room for a busy machine."""
    while True:
        msg = p.parse_server_frame(await asyncio.wait_for(client.ws.recv(), PATIENCE))
        if msg["type"] == kind and all(msg.get(k) == v for k, v in match.items()):
            return msg


async def _play_into_round_two(url: str, proc: subprocess.Popen) -> int:
    """Host a `quick` game: drive round 1 briefly, end it, hold the council, start round 2,
    and kill the server while round 2 is driving. Returns round 1's debrief round number."""
    host = await WireClient.open(url)
    await host.send({"type": "hello", "protocol": 1})
    await _until(host, "welcome")
    await host.send(
        {
            "type": "create",
            "protocol": 1,
            "name": "Ana",
            "program": "quick",
            "bots": 20,
            "play": True,
        }
    )
    await _until(host, "joined")

    async def drive(ticks: int) -> None:
        first = await _until(host, "snapshot")
        snap = first
        while snap["tick"] < first["tick"] + ticks:
            snap = await _until(host, "snapshot")

    await host.send({"type": "host", "command": "start"})
    await _until(host, "room", phase="driving")
    await drive(40)
    await host.send({"type": "host", "command": "end"})
    debrief = await _until(host, "debrief")
    await host.send({"type": "host", "command": "next"})  # the council step
    await _until(host, "room", phase="lobby")
    await host.send({"type": "host", "command": "start"})
    await _until(host, "room", phase="council")
    await host.send({"type": "host", "command": "end"})  # round 2 is prepared
    await _until(host, "room", phase="lobby")
    await host.send({"type": "host", "command": "start"})
    await _until(host, "room", phase="driving")
    await drive(30)
    proc.send_signal(signal.SIGKILL)  # mid-round: nothing gets to clean up
    proc.wait(10)
    return int(debrief["round"])


def test_sigkill_during_round_two_leaves_round_one_intact(tmp_path: Path) -> None:
    db = tmp_path / "history.sqlite3"
    proc, url = _start(db)
    try:
        assert asyncio.run(_play_into_round_two(url, proc)) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL

    with Store(db) as store:
        (game,) = store.list_games()
        assert game["rounds"] == 1 and game["players"] == ["Ana"]
        stored = store.load_round(game["id"], 1)
        assert stored["debrief"]["round"] == 1 and stored["ticks"] >= 40
        world = replay_round(store, game["id"], 1)
        assert world.tick == stored["ticks"]
    # the stored inputs rebuild exactly the figures the live round measured
    _, _, metrics = rerun(
        stored["scenario"],
        stored["seed"],
        stored["rulebook"],
        stored["bots"],
        stored["mix"],
        stored["log"],
        stored["ticks"],
    )
    live = {k: v for k, v in stored["metrics"]["team"].items() if k != "adherence"}
    assert {k: v for k, v in metrics["team"].items() if k != "adherence"} == live

    report = subprocess.run(
        [sys.executable, "-m", "client.cli", "report", str(game["id"]), "--format", "json"]
        + ["--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    assert [r["round_no"] for r in json.loads(report.stdout)["rounds"]] == [1]

    again, _ = _start(db)  # a restarted server opens the same file
    try:
        again.send_signal(signal.SIGTERM)
        assert again.wait(15) == 0
    finally:
        if again.poll() is None:
            again.kill()
            again.wait(10)
