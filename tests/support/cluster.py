"""Helpers for the front door tests: real `interlane server` processes and a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared import protocol as p
from tests.support.server_client import WireClient

ROOT = Path(__file__).resolve().parents[2]
PATIENCE = 60.0  # seconds a start may take on a loaded machine (a safety net only)


class Cluster:
    """`interlane server --workers N` in a subprocess; stops it (and its workers) at the end."""

    def __init__(self, tmp: Path, workers: int = 2, extra: list[str] | None = None) -> None:
        self.db = tmp / "history.db"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "client.cli", "server", "--host", "127.0.0.1", "--port", "0"]
            + ["--workers", str(workers), "--db", str(self.db), *(extra or [])],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "Interlane server on" not in line:
            self.stop()
            raise AssertionError(line + (self.proc.stderr.read() if self.proc.stderr else ""))
        self.url = line.split()[-1]
        self.pids = [w["pid"] for w in self.health()["workers"]]

    def health(self) -> dict[str, Any]:
        port = self.url.rsplit(":", 1)[1]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:  # 503: no worker alive; the body still says why
            return json.loads(exc.read())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in self.pids:  # a worker left behind by a killed front door
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway redis-server on a free loopback port, data in a temp directory."""

    def __init__(self, tmp: Path, port: int | None = None) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip(
                "redis-server is not installed (apt-get install redis-server; .ci/run does)"
            )
        self.exe, self.dir = exe, tmp
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.exe, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir)]
            + ["--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp)
    try:
        yield server
    finally:
        server.stop()


def worker_port(client: WireClient) -> int:
    """The port this socket ended on after the front door's redirect."""
    return int(client.ws.remote_address[1])


async def create_room(url: str, name: str = "Host", **fields: Any) -> tuple[WireClient, dict]:
    host = await WireClient.open(f"{url}/new")
    await host.send({"type": "hello", "protocol": 1})
    await host.until("welcome")
    await host.send({"type": "create", "protocol": 1, "name": name, **fields})
    return host, await host.until("joined")


async def join_room(url: str, code: str, name: str, **fields: Any) -> tuple[WireClient, dict]:
    client = await WireClient.open(f"{url}/r/{code}")
    await client.send(
        {"type": "join", "protocol": 1, "code": code, "name": name, "role": "player", **fields}
    )
    return client, await client.until("joined")


async def until(client: WireClient, kind: str, **match: Any) -> dict[str, Any]:
    """The next message of `kind`, with room for a busy machine."""
    while True:
        msg = p.parse_server_frame(await asyncio.wait_for(client.ws.recv(), PATIENCE))
        if msg["type"] == kind and all(msg.get(k) == v for k, v in match.items()):
            return msg
