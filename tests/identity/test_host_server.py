"""`interlane host --server wss://…`: the dashboard on one machine, the room on a running
`interlane server` with TLS (a self-signed certificate made here, trusted with --cafile).
A whole round runs with a player; the host killed with SIGKILL takes its room back with the
same command; quitting asks, and "end it properly" saves the round and tells everyone.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from shared import protocol as p
from tests.support.server_client import WireClient
from tests.support.tui_process import ROOT, TuiProcess

WAIT = 30.0
CTRL_Q = b"\x11"


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
            + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
            + ["-keyout", str(key), "-out", str(cert)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        pytest.skip("openssl is not available to make a test certificate")
    return cert, key


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    cert, key = self_signed(tmp_path)
    db = tmp_path / "server.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "client.cli", "server", "--host", "127.0.0.1", "--port", "0"]
        + ["--db", str(db), "--certfile", str(cert), "--keyfile", str(key), "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Interlane server on wss://"), line
        yield line.split()[-1], cert, db
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def until(condition: Any, what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"not reached in time: {what}"
        await asyncio.sleep(0.05)
    return value


def hosted_code(home: Path, url: str) -> str | None:
    try:
        seats = json.loads((home / "interlane" / "seats.json").read_text())
    except (OSError, ValueError):
        return None
    codes = [s["code"] for s in seats.values() if s["server"] == url and s["role"] == "host"]
    return codes[0] if len(codes) == 1 else None


class Listener:
    """A player over wss:// that keeps reading (so it never stalls) and remembers all."""

    def __init__(self, client: WireClient) -> None:
        self.client = client
        self.seen: list[dict[str, Any]] = []
        self.task = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        ws = self.client.ws
        async for frame in ws:
            self.seen.append(p.parse_server_frame(frame))

    def last(self, kind: str) -> dict[str, Any] | None:
        found = [m for m in self.seen if m["type"] == kind]
        return found[-1] if found else None

    def phase(self) -> str | None:
        room = self.last("room")
        return room["phase"] if room else None


async def test_host_a_round_on_a_tls_server_from_another_terminal(
    tls_server: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, cert, db = tls_server
    home = tmp_path / "host-home"
    command = ["host", "--server", url, "--cafile", str(cert), "--scenario", "open-road"]
    command += ["--bots", "3", "--name", "Facilitator"]
    host = TuiProcess(command, home, cols=120, rows=40)
    code = await until(lambda: hosted_code(home, url), "the host has a room")

    context = ssl.create_default_context(cafile=str(cert))
    ws = await connect(url, ssl=context, compression=None, max_size=p.MAX_FRAME_BYTES)
    ana = Listener(WireClient(ws))
    await ana.client.send({"type": "hello", "protocol": p.PROTOCOL_VERSION, "name": "Ana"})
    await ana.client.send(
        {"type": "join", "protocol": p.PROTOCOL_VERSION, "code": code, "name": "Ana"}
        | {"role": "player"}
    )
    await until(lambda: ana.last("joined"), "Ana is in")

    def host_connected() -> bool:
        room = ana.last("room")
        if not room:
            return False
        return any(m["role"] == "host" and m["connected"] for m in room["players"])

    await until(host_connected, "the host is connected")
    host.kill()  # the facilitator's laptop dies…
    await until(lambda: not host_connected(), "the server sees the host gone")
    host = TuiProcess(command, home, cols=120, rows=40)  # …and the same command runs again
    await until(host_connected, "the host took its room back")
    assert hosted_code(home, url) == code
    room = ana.last("room")
    assert room is not None
    hosts = [m for m in room["players"] if m["role"] == "host"]
    assert [m["name"] for m in hosts] == ["Facilitator"]

    try:
        await asyncio.sleep(1.0)  # the dashboard draws its first frame
        host.press(b"s")
        await until(lambda: ana.phase() == "driving", "the round runs")
        for _ in range(5):
            await ana.client.send({"type": "control", "action": "faster"})
            await asyncio.sleep(0.2)
        host.press(b"e")  # asks first…
        await asyncio.sleep(1.0)
        assert ana.phase() == "driving"
        host.press(b"y")  # …and ends the round when told yes
        await until(lambda: ana.last("debrief"), "the debrief arrives")
        host.press(CTRL_Q)  # quitting asks: end it properly, leave it running, or stay
        await asyncio.sleep(1.0)
        assert host.proc.poll() is None
        host.press(b"e")
        bye = await until(lambda: ana.last("bye"), "everyone is told")
        assert "the host closed the room" in bye["reason"]
        deadline = time.monotonic() + WAIT
        while host.proc.poll() is None:
            assert time.monotonic() < deadline, "the host's dashboard did not end"
            await asyncio.sleep(0.05)
        status, _ = host.wait(5)
        assert status == 0
        assert hosted_code(home, url) is None  # a closed room is no seat to come back to
    finally:
        host.kill()
        ana.task.cancel()
        await ws.close()

    listing = subprocess.run(
        [sys.executable, "-m", "client.cli", "history", "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    rows = [line for line in listing.stdout.splitlines() if f" {code} " in line]
    assert len(rows) == 1 and "Ana" in rows[0] and "open-road" in rows[0]


async def test_an_untrusted_certificate_says_to_use_cafile(
    tls_server: tuple[str, Path, Path], tmp_path: Path
) -> None:
    url, _cert, _db = tls_server
    tui = TuiProcess(["join", "ABCDE", "--server", url, "--name", "Ana"], tmp_path)
    deadline = time.monotonic() + WAIT
    while tui.proc.poll() is None:
        assert time.monotonic() < deadline, "the client did not end"
        await asyncio.sleep(0.05)
    status, text = tui.wait(5)
    assert status == 1
    last = text.strip().splitlines()[-1].strip()
    assert last.startswith(
        "interlane join: Cannot connect: the server's certificate is not trusted"
    )
    assert last.endswith("pass it with --cafile FILE.pem")
