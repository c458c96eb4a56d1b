"""The server as users start it: embedded in a thread, `interlane server` with signals and
TLS, and `interlane bots` remote players driving through the protocol."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from server.embedded import start_embedded
from server.net import GameServer, Limits
from server.remote_bots import BotBrain, BotStats, drive_bot
from server.room import Room
from shared import protocol as p
from tests.support.fake_world import fake_factory
from tests.support.server_client import WireClient

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_server_serves_and_stops(tmp_path: Path) -> None:
    handle = start_embedded("127.0.0.1", 0, str(tmp_path / "h.db"))
    try:
        assert handle.url.startswith("ws://127.0.0.1:")

        async def talk() -> dict:
            c = await WireClient.open(handle.url)
            await c.send({"type": "hello", "protocol": 1})
            msg = await c.until("welcome")
            await c.close()
            return msg

        assert asyncio.run(talk())["protocol"] == p.PROTOCOL_VERSION
    finally:
        handle.stop()
    handle.stop()  # idempotent


def _snap(tick: int, lane: int, x: float, cars: list) -> dict:
    return {
        "type": "snapshot",
        "tick": tick,
        "t": tick * 0.05,
        "cars": cars,
        "ring": [],
        "events": [],
        "you": {"car": 1, "lane": lane, "x": x, "v": 27.8, "target_kmh": 100},
    }


def test_bot_brain_keeps_right_after_signalling() -> None:
    brain = BotBrain(random.Random(0), cruise_kmh=100, lanes=3)
    me = p.pack_car(1, 1.0, 500.0, 28.0, 0)
    actions: list[tuple[int, str]] = []
    for tick in range(0, 200, 10):
        for c in brain.decide(_snap(tick, 1, 500.0, [me])):
            actions.append((tick, c["action"]))
    moves = [(t, a) for t, a in actions if a in ("left", "right")]
    signals = [(t, a) for t, a in actions if a.startswith("signal")]
    assert moves and moves[0][1] == "right"
    assert signals[0][1] == "signal_right" and moves[0][0] - signals[0][0] >= 44  # ≥ 2.2 s


def test_bot_brain_does_not_move_into_an_occupied_lane() -> None:
    brain = BotBrain(random.Random(0), cruise_kmh=100, lanes=3)
    me = p.pack_car(1, 1.0, 500.0, 28.0, 0)
    beside = p.pack_car(2, 0.0, 505.0, 28.0, 0)
    for tick in range(0, 400, 10):
        for c in brain.decide(_snap(tick, 1, 500.0, [me, beside])):
            assert c["action"] not in ("right", "left")


async def test_remote_bots_join_and_drive() -> None:
    server = GameServer(manual=True, world_factory=fake_factory, limits=Limits(join_burst=100))
    await server.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{server.port}"
    try:
        host = await WireClient.open(url)
        await host.send({"type": "create", "protocol": 1, "name": "H", "scenario": "x"})
        code = (await host.until("joined"))["code"]
        stats = BotStats()
        stop = asyncio.Event()
        bots = [
            asyncio.create_task(drive_bot(url, code, f"B{i}", stats, None, i, stop))
            for i in range(3)
        ]
        room = server.registry.get(code)
        assert isinstance(room, Room)
        while len(room.roster) < 4:
            await asyncio.sleep(0.01)
        await host.send({"type": "host", "command": "start"})
        await host.until("room", phase="driving")
        for _ in range(200):
            await server.advance(1)
            await asyncio.sleep(0)
        while stats.snapshots < 3 * 150:
            await asyncio.sleep(0.01)
        assert stats.joined == 3 and stats.controls > 0 and not stats.errors
        cars = [m.car for m in room.roster if m.role == "player"]
        world = room.world
        assert world is not None
        assert all(c is not None and world.cars[c].controller == "player" for c in cars)
        stop.set()
        await host.send({"type": "host", "command": "end"})
        await asyncio.wait_for(asyncio.gather(*bots), 10)
    finally:
        await server.stop()


def _self_signed(tmp_path: Path) -> tuple[str, str] | None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=localhost",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return str(cert), str(key)


@pytest.mark.parametrize("tls", [False, True])
def test_interlane_server_answers_and_says_bye_on_sigterm(tmp_path: Path, tls: bool) -> None:
    extra: list[str] = []
    if tls:
        pair = _self_signed(tmp_path)
        if pair is None:
            pytest.skip("openssl is not available to make a test certificate")
        extra = ["--certfile", pair[0], "--keyfile", pair[1]]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "client.cli",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--db",
            str(tmp_path / "s.db"),
            "--workers",
            "1",
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "Interlane server on" in line, line + (proc.stderr.read() if proc.stderr else "")
        url = line.split()[-1]
        assert url.startswith("wss://" if tls else "ws://")

        async def client() -> tuple[str, int | None]:
            import ssl

            from websockets.asyncio.client import connect

            ctx = None
            if tls:
                ctx = ssl.create_default_context(cafile=extra[1])
                ctx.check_hostname = False
            async with connect(url, ssl=ctx, compression=None) as ws:
                await ws.send(p.encode({"type": "ping", "t": 3}))
                assert p.parse_server_frame(await ws.recv())["type"] == "pong"
                proc.send_signal(signal.SIGTERM)
                bye = p.parse_server_frame(await asyncio.wait_for(ws.recv(), 10))
                await asyncio.wait_for(ws.wait_closed(), 10)
                return bye["type"], ws.close_code

        assert asyncio.run(client()) == ("bye", 1001)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
