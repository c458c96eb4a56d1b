"""The red team's attacks on a real `interlane server`, with an honest player's rate during each.

A server runs as a subprocess (the real CLI, default limits, its own history file, at
`ulimit -n 1024`); an honest player from 127.0.0.1 creates a room on the open road and
drives. Each attack comes from its own loopback address (127.0.0.x: a different machine to
the server's per-address limits) for `--seconds`, and the figures are printed one per line:
the honest player's snapshots per second during the attack, the server's memory growth, what
happened to the attacker, the history file's growth. The last attack turns round: a hostile
server floods a real client (`client.net.Connection`) with PINGs it never reads the PONGs of.
The summary is the last line.

    .venv/bin/python benchmarks/attacks.py                 # 15 s per attack
    .venv/bin/python benchmarks/attacks.py --seconds 5 --only ping-flood

The rates are wall-clock figures: on a machine shared with other work they are lower than
the server could do alone, so say whether the machine was busy when quoting them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from websockets.asyncio.client import connect  # noqa: E402
from websockets.asyncio.server import ServerConnection, serve  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from client import net  # noqa: E402
from shared import protocol as p  # noqa: E402

GOAL_HONEST_HZ = 19.0  # snapshots a second the honest player keeps during a flood
GOAL_HONEST_LOOP_HZ = 18.0  # …and during the start/end/next loop
GOAL_RSS_MB = 100.0


def rss_mb(pid: int | None = None) -> float:
    path = Path(f"/proc/{pid or 'self'}/status")
    for line in path.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Honest:
    """A player driving in its own room, counting the snapshots it receives."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.snapshots = 0
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        ready = asyncio.Event()
        self.task = asyncio.create_task(self._run(ready))
        await asyncio.wait_for(ready.wait(), 30)

    async def _run(self, ready: asyncio.Event) -> None:
        async with connect(self.url, compression=None, max_size=p.MAX_FRAME_BYTES) as ws:
            await ws.send(
                p.encode(
                    {
                        "type": "create",
                        "protocol": 1,
                        "name": "Honest",
                        "scenario": "open-road",
                        "play": True,
                    }
                )
            )
            await ws.send(p.encode({"type": "host", "command": "start"}))
            async for frame in ws:
                kind = p.decode(frame)["type"]
                if kind == "snapshot":
                    self.snapshots += 1
                    ready.set()
                elif kind == "room":
                    # a long benchmark outlives a round: keep driving
                    msg = p.decode(frame)
                    if msg["phase"] == "debrief":
                        await ws.send(p.encode({"type": "host", "command": "next"}))
                    elif msg["phase"] == "lobby":
                        await ws.send(p.encode({"type": "host", "command": "start"}))

    async def rate_during(self, seconds: float, attack: Awaitable[Any]) -> tuple[float, Any]:
        """Snapshots a second while `attack` runs (it is cancelled after `seconds`)."""
        task = asyncio.ensure_future(attack)
        before, began = self.snapshots, time.monotonic()
        await asyncio.sleep(seconds)
        rate = (self.snapshots - before) / (time.monotonic() - began)
        result = None
        if task.done():
            result = task.result()
        else:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        return rate, result


async def raw_socket(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return await asyncio.open_connection(sock=sock)


async def handshake(port: int, source: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await raw_socket(port, source)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")
    return reader, writer


PING = bytes((0x89, 0x80 | 125)) + b"\0\0\0\0" + b"x" * 125


async def ping_flood_never_reading(port: int, out: dict[str, Any]) -> None:
    _, writer = await handshake(port, "127.0.0.2")
    began = time.monotonic()
    out["pings"] = 0
    try:
        while True:
            writer.write(PING * 200)
            out["pings"] += 200
            await writer.drain()
    except (ConnectionError, OSError):
        out["closed_after_s"] = time.monotonic() - began


async def ping_flood_reading(port: int, out: dict[str, Any]) -> None:
    began = time.monotonic()
    out["pings"] = 0
    try:
        async with connect(
            f"ws://127.0.0.1:{port}", compression=None, local_addr=("127.0.0.3", 0)
        ) as ws:
            while True:
                for _ in range(100):
                    await ws.ping()
                    out["pings"] += 1
                await asyncio.sleep(0)
    except (ConnectionClosed, OSError):
        out["closed_after_s"] = time.monotonic() - began


async def crowd(port: int, out: dict[str, Any]) -> None:
    """190 members with 20-character emoji names join a workshop council and vote."""
    url = f"ws://127.0.0.1:{port}"
    out.update(joined=0, refused=0, host_rooms=0, closed=False)
    async with connect(url, compression=None, local_addr=("127.0.0.4", 0)) as host:
        await host.send(
            p.encode({"type": "create", "protocol": 1, "name": "Host", "program": "workshop"})
        )
        await host.send(p.encode({"type": "host", "command": "next"}))
        await host.send(p.encode({"type": "host", "command": "start"}))
        code = None
        while code is None or out.get("phase") != "council":
            msg = p.decode(await host.recv())
            code = msg.get("code", code) if msg["type"] in ("joined", "room") else code
            out["phase"] = msg.get("phase", out.get("phase"))
        members = []
        for i in range(190):
            source = f"127.0.1.{1 + i // 38}"  # 38 joins an address: inside its burst of 40
            ws = await connect(
                url, compression=None, max_size=p.MAX_FRAME_BYTES, local_addr=(source, 0)
            )
            name = "🚗🚕🚙🚌🚎🏎🚓🚑🚒🚐🛻🚚🚛🚜🛵🏍🛺🚲🛴" + chr(0x1F600 + i % 64)
            await ws.send(
                p.encode(
                    {"type": "join", "protocol": 1, "code": code, "name": name, "role": "player"}
                )
            )
            answer = p.decode(await ws.recv())
            if answer["type"] == "joined":
                out["joined"] += 1
                members.append(ws)
            else:
                out["refused"] += 1
                out["refusal"] = answer.get("code")
                await ws.close()
        for ws in members:
            for convention, option in (("passing", "right"), ("merge", "early"), ("hazards", "no")):
                await ws.send(
                    p.encode({"type": "vote", "convention": convention, "option": option})
                )
        try:
            async for frame in host:
                msg = p.decode(frame)
                out["host_rooms"] += msg["type"] == "room"
                out["largest_frame"] = max(out.get("largest_frame", 0), len(frame))
        except ConnectionClosed:
            out["closed"] = True


async def host_loop(port: int, out: dict[str, Any]) -> None:
    """Ten connections, each hosting a room, loop start/end/next as fast as the room allows:
    every command valid for the room's phase, sent as soon as the phase changes."""
    url = f"ws://127.0.0.1:{port}"
    out.update(sent=0, errors={}, debriefs=0)
    hosts = []
    for _ in range(10):
        ws = await connect(url, compression=None, local_addr=("127.0.0.5", 0))
        await ws.send(
            p.encode({"type": "create", "protocol": 1, "name": "Loop", "scenario": "open-road"})
        )
        hosts.append(ws)
    following = {"lobby": "start", "driving": "end", "debrief": "next"}

    async def loop(ws: Any) -> None:
        phase: str | None = None
        with contextlib.suppress(ConnectionClosed):
            async for frame in ws:
                msg = p.decode(frame)
                if msg["type"] == "error":
                    out["errors"][msg["code"]] = out["errors"].get(msg["code"], 0) + 1
                    if phase is not None and phase in following:  # refused: ask again
                        await asyncio.sleep(0.05)
                        await ws.send(p.encode({"type": "host", "command": following[phase]}))
                        out["sent"] += 1
                elif msg["type"] == "debrief":
                    out["debriefs"] += 1
                elif msg["type"] == "room" and msg["phase"] != phase:
                    phase = msg["phase"]
                    if phase in following:
                        await ws.send(p.encode({"type": "host", "command": following[phase]}))
                        out["sent"] += 1

    tasks = [asyncio.create_task(loop(ws)) for ws in hosts]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        for ws in hosts:
            with contextlib.suppress(Exception):
                await ws.close()


async def half_open(port: int, out: dict[str, Any]) -> None:
    """1,100 sockets from one address that never start their handshake."""
    socks = []
    loop = asyncio.get_running_loop()
    out["opened"] = 0
    try:
        for _ in range(1100):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.6", 0))
            sock.setblocking(False)
            try:
                await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 2)
            except (OSError, TimeoutError):
                sock.close()
                continue
            socks.append(sock)
            out["opened"] += 1
        began = time.monotonic()
        async with connect(f"ws://127.0.0.1:{port}", compression=None, open_timeout=10) as ws:
            await ws.send(p.encode({"type": "ping", "t": 1}))
            await ws.recv()
        out["honest_connect_s"] = time.monotonic() - began
        await asyncio.sleep(3600)
    finally:
        for sock in socks:
            sock.close()


async def flood_a_client(seconds: float) -> dict[str, Any]:
    """The same against the client: a server floods PINGs and never reads the PONGs."""
    out: dict[str, Any] = {}

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()
        ws.transport.pause_reading()
        with contextlib.suppress(Exception):
            while not ws.transport.is_closing():
                ws.transport.write(b"\x89\x7d" + b"x" * 125)
                if ws.transport.get_write_buffer_size() > 2**20:
                    await asyncio.sleep(0.001)
        await ws.wait_closed()

    server = await serve(handler, "127.0.0.1", 0, compression=None)
    port = server.sockets[0].getsockname()[1]
    before = rss_mb()
    peak = before
    conn = net.Connection(
        f"ws://127.0.0.1:{port}",
        on_message=lambda msg: None,
        on_status=lambda state, text: None,
        opening=lambda: [net.hello("T")],
    )
    began = time.monotonic()
    task = asyncio.create_task(conn.run())
    while not task.done() and time.monotonic() - began < seconds:
        await asyncio.sleep(0.1)
        peak = max(peak, rss_mb())
    out["left_after_s"] = time.monotonic() - began if task.done() else None
    out["reason"] = conn.fatal
    out["rss_growth_mb"] = peak - before
    out["pings_answered"] = conn.server_pings
    conn.stop()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    server.close()
    return out


def start_server(db: Path, log: Path) -> tuple[subprocess.Popen[str], int]:
    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))

    proc = subprocess.Popen(
        [sys.executable, "-m", "client.cli", "server", "--host", "127.0.0.1", "--port", "0"]
        + ["--db", str(db), "--workers", "1"],  # one process: the attacks' target
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
        preexec_fn=limits,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    port = int(line.rsplit(":", 1)[1])
    return proc, port


ATTACKS: dict[str, Callable[[int, dict[str, Any]], Awaitable[None]]] = {
    "ping-flood": ping_flood_never_reading,
    "ping-flood-reading": ping_flood_reading,
    "crowd": crowd,
    "host-loop": host_loop,
    "half-open": half_open,
}


async def main(args: argparse.Namespace) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    folder = Path(tempfile.mkdtemp(prefix="interlane-attacks-"))
    db, log = folder / "history.db", folder / "server.log"
    proc, port = start_server(db, log)
    failures: list[str] = []
    rates: dict[str, float] = {}
    try:
        honest = Honest(f"ws://127.0.0.1:{port}")
        await honest.start()
        await asyncio.sleep(2)
        base, _ = await honest.rate_during(min(5.0, args.seconds), asyncio.sleep(0))
        print(f"honest player alone: {base:.1f} snapshots/s")
        for name, attack in ATTACKS.items():
            if args.only and name not in args.only:
                continue
            out: dict[str, Any] = {}
            rss_before, db_before, log_before = rss_mb(proc.pid), _size(db), _size(log)
            rate, _ = await honest.rate_during(args.seconds, attack(port, out))
            rss_after, db_after = rss_mb(proc.pid), _size(db)
            rates[name] = rate
            print(f"{name}: honest player {rate:.1f} snapshots/s during {args.seconds:g} s")
            print(f"{name}: server RSS {rss_before:.0f} → {rss_after:.0f} MB")
            print(f"{name}: server log +{(_size(log) - log_before) / 1024:.0f} KiB")
            print(f"{name}: attacker {_fmt(out)}")
            if name == "host-loop":
                await asyncio.sleep(10)
                print(
                    f"{name}: history {db_before / 1e6:.2f} → {db_after / 1e6:.2f} MB during, "
                    f"{_size(db) / 1e6:.2f} MB 10 s after; RSS 10 s after {rss_mb(proc.pid):.0f} MB"
                )
                if rate < GOAL_HONEST_LOOP_HZ:
                    failures.append(f"{name} honest {rate:.1f}/s")
            elif rate < GOAL_HONEST_HZ:
                failures.append(f"{name} honest {rate:.1f}/s")
            if rss_after - rss_before > GOAL_RSS_MB:
                failures.append(f"{name} RSS +{rss_after - rss_before:.0f} MB")
            if name.startswith("ping-flood") and "closed_after_s" not in out:
                failures.append(f"{name} never closed")
            if name == "crowd" and out.get("closed"):
                failures.append("crowd closed the room")
            await asyncio.sleep(1)
        if not args.only or "client" in args.only:
            out = await flood_a_client(args.seconds)
            print(f"client ping flood: {_fmt(out)}")
            if out["left_after_s"] is None or out["rss_growth_mb"] > GOAL_RSS_MB:
                failures.append("client did not leave the flooding server")
    finally:
        proc.terminate()
        try:
            began = time.monotonic()
            proc.wait(60)
            print(f"server stopped {time.monotonic() - began:.1f} s after SIGTERM")
        except subprocess.TimeoutExpired:
            print("server did not stop within 60 s of SIGTERM; killed")
            failures.append("server slow to stop")
            proc.kill()
    worst = min(rates.values(), default=0.0)
    verdict = "PASS" if not failures else "FAIL (" + "; ".join(failures) + ")"
    print(
        f"SUMMARY attacks: {len(rates)} attacks, honest player's worst rate {worst:.1f} "
        f"snapshots/s (goal ≥ {GOAL_HONEST_HZ:g}, ≥ {GOAL_HONEST_LOOP_HZ:g} in the host loop): "
        f"{verdict}"
    )
    return 0 if not failures else 1


def _size(path: Path) -> int:
    total = 0
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            total += Path(str(path) + suffix).stat().st_size
    return total


def _fmt(out: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in out.items())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each attack")
    parser.add_argument(
        "--only", nargs="*", default=None, help=f"some of: {' '.join(ATTACKS)} client"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
