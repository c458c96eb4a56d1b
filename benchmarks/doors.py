"""What a door player costs the host: memory, CPU and key latency through each door.

Starts `interlane server --ssh 0 --web 0` as a subprocess, makes a room and starts its round
(20 Hz, real ticker), then lets N players in through the SSH door and, after they leave, N
through the browser door, each at 120×40. Every door player is a real client process on the
host (that is the cost measured); the players' side is played from here: SSH sessions with
asyncssh, browser tabs by speaking textual-serve's websocket the way its page does (a real
browser's cost is on the player's machine, not the host's).

For each door, over `--seconds` of driving: the host's PSS (the server and every process it
started, from /proc/PID/smaps_rollup) and CPU time, minus the same with nobody in, per
player (and, of that, the door clients' own CPU time and the screen-update bytes each
player receives: what the door relays); and the latency of a key: each player presses `h`
(hazards) every ~0.5 s and a spectator socket watches for its car's hazard flag to flip in a
snapshot (the server applies a key on its next tick, so up to 50 ms of that is the tick
rhythm).

    .venv/bin/python benchmarks/doors.py                    # 5 players per door, 20 s each
    .venv/bin/python benchmarks/doors.py --players 20 --seconds 30

Goals: ≤ 50 MiB and ≤ 0.1 core per player; key → car ≤ 100 ms p99. The load generator shares
the machine: on a busy or small machine say so next to the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncssh  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from server.ticker import percentile  # noqa: E402
from shared import protocol as p  # noqa: E402

GOAL_MIB = 50.0
GOAL_CORES = 0.1
GOAL_P99_MS = 100.0
COLS, ROWS = 120, 40
CLK = os.sysconf("SC_CLK_TCK")
_ESC = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")


# -- the host's processes ------------------------------------------------------------


def tree(root: int) -> list[int]:
    """`root` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def pss_mib(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total / 1024


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time of each process (its own, plus its reaped children's)."""
    out = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out[pid] = sum(int(f) for f in fields[11:15]) / CLK
    return out


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before.get(pid, 0.0) for pid in after)


# -- the room ------------------------------------------------------------------------


class Watcher:
    """The host's socket: makes the room, starts it, and sees every car's flags."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.code = ""
        self.cars: dict[str, int] = {}  # player name → car
        self.flags: dict[int, int] = {}
        self.changed: dict[int, asyncio.Event] = {}

    async def run(self) -> None:
        async for frame in self.ws:
            msg = p.parse_server_frame(frame)
            if msg["type"] == "room":
                for entry in msg["players"]:
                    if isinstance(entry, dict) and entry.get("car") is not None:
                        self.cars[str(entry.get("name"))] = int(entry["car"])
            elif msg["type"] == "snapshot":
                for row in msg["cars"]:
                    car, flags = row[0], row[4]
                    if (
                        self.flags.get(car) is not None
                        and (flags ^ self.flags[car]) & p.FLAG_HAZARD
                    ):
                        self.changed.setdefault(car, asyncio.Event()).set()
                    self.flags[car] = flags


async def open_room(url: str) -> tuple[Watcher, asyncio.Task[None]]:
    ws = await connect(url, max_size=p.MAX_FRAME_BYTES)
    watcher = Watcher(ws)
    await ws.send(
        p.encode({"type": "create", "protocol": 1, "name": "Host", "scenario": "open-road"})
    )
    while not watcher.code:
        msg = p.parse_server_frame(await ws.recv())
        if msg["type"] == "joined":
            watcher.code = msg["code"]
    task = asyncio.get_running_loop().create_task(watcher.run())
    return watcher, task


# -- players through the doors -------------------------------------------------------


class SshPlayer:
    def __init__(self, port: int, code: str, name: str) -> None:
        self.port, self.code, self.name = port, code, name
        self.seen = bytearray()
        self.received = 0  # bytes of screen updates: what the door relays for this player
        self.process: Any = None
        self.conn: Any = None

    async def start(self) -> None:
        self.conn = await asyncssh.connect(
            "127.0.0.1",
            self.port,
            username=self.code,
            known_hosts=None,
            client_keys=[asyncssh.generate_private_key("ssh-ed25519")],
            agent_path=None,
        )
        self.process = await self.conn.create_process(
            term_type="xterm-256color", term_size=(COLS, ROWS), encoding=None
        )
        asyncio.get_running_loop().create_task(self._read())
        await until(lambda: b"Your name" in _ESC.sub(b"", bytes(self.seen)))
        self.key(self.name + "\r")

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            while data := await self.process.stdout.read(65536):
                self.received += len(data)
                if len(self.seen) < 200_000:
                    self.seen.extend(data)

    def key(self, text: str) -> None:
        self.process.stdin.write(text.encode())

    async def stop(self) -> None:
        self.conn.close()
        await self.conn.wait_closed()


class WebPlayer:
    """A browser tab as textual-serve's page talks to the door: JSON text in, bytes out."""

    def __init__(self, port: int, code: str, name: str) -> None:
        self.url = f"ws://127.0.0.1:{port}/ws/{code}?width={COLS}&height={ROWS}"
        self.name = name
        self.seen = bytearray()
        self.received = 0
        self.ws: Any = None

    async def start(self) -> None:
        self.ws = await connect(self.url, max_size=None)
        asyncio.get_running_loop().create_task(self._read())
        await until(lambda: b"Your name" in _ESC.sub(b"", bytes(self.seen)))
        self.key(self.name + "\r")

    async def _read(self) -> None:
        with contextlib.suppress(Exception):
            async for frame in self.ws:
                self.received += len(frame)
                if isinstance(frame, bytes) and len(self.seen) < 200_000:
                    self.seen.extend(frame)

    def key(self, text: str) -> None:
        asyncio.get_running_loop().create_task(self.ws.send(json.dumps(["stdin", text])))

    async def stop(self) -> None:
        await self.ws.close()


async def until(check: Any, seconds: float = 60.0) -> None:
    end = time.monotonic() + seconds
    while not check():
        if time.monotonic() > end:
            raise TimeoutError("a door player never got there")
        await asyncio.sleep(0.05)


async def probe(player: Any, watcher: Watcher, seconds: float, out: list[float]) -> None:
    """Press h every ~0.5 s; time each press until the car's hazard flag flips."""
    car = watcher.cars[player.name]
    end = time.monotonic() + seconds
    await asyncio.sleep(random.uniform(0, 0.5))
    while time.monotonic() < end:
        event = watcher.changed.setdefault(car, asyncio.Event())
        event.clear()
        sent = time.perf_counter()
        player.key("h")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), 2.0)
            out.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(random.uniform(0.35, 0.65))


async def measure(
    label: str,
    players: list[Any],
    watcher: Watcher,
    server_pid: int,
    base: tuple[float, float, int],
    seconds: float,
) -> dict[str, float]:
    for player in players:
        await player.start()
    await until(lambda: all(pl.name in watcher.cars for pl in players))
    await asyncio.sleep(3.0)  # every client on its drive screen, drawing
    pids = tree(server_pid)
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    bytes0 = sum(pl.received for pl in players)
    latencies: list[float] = []
    await asyncio.gather(*(probe(pl, watcher, seconds, latencies) for pl in players))
    pids = tree(server_pid)
    cpu1, wall = cpu_seconds(pids), time.monotonic() - t0
    cores = cpu_spent(cpu0, cpu1) / wall
    # the door players' own clients (every process below the server), apart from the server
    clients = cpu_spent(cpu0, {pid: v for pid, v in cpu1.items() if pid != server_pid}) / wall
    kib_s = (sum(pl.received for pl in players) - bytes0) / 1024 / wall
    mib = pss_mib(pids)
    n = len(players)
    figures = {
        "mib": (mib - base[0]) / n,
        "cores": (cores - base[1]) / n,
        "p50": percentile(latencies, 50) if latencies else float("nan"),
        "p99": percentile(latencies, 99) if latencies else float("nan"),
        "keys": len(latencies),
    }
    print(
        f"{label}: {n} players, host PSS {mib:.0f} MiB ({figures['mib']:.1f} MiB per player), "
        f"CPU {cores:.2f} cores ({figures['cores']:.3f} per player)"
    )
    print(
        f"{label}: of which the clients {clients / n:.3f} cores per player (process CPU time), "
        f"screen updates {kib_s / n:.1f} KiB/s per player"
    )
    print(
        f"{label}: key → car p50 {figures['p50']:.0f} ms, p99 {figures['p99']:.0f} ms "
        f"({len(latencies)} keys)"
    )
    for player in players:
        await player.stop()
    await until(lambda: len(tree(server_pid)) <= base[2])
    return figures


async def bench(args: argparse.Namespace) -> int:
    data = tempfile.mkdtemp(prefix="interlane-doors-")
    env = dict(os.environ, XDG_DATA_HOME=data, PYTHONPATH=str(ROOT))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "client.cli",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--ssh",
            "0",
            "--web",
            "0",
            "--no-announce",
            "--db",
            f"{data}/h.db",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        ports: dict[str, int] = {}
        assert server.stdout is not None
        while len(ports) < 3:
            line = server.stdout.readline()
            if not line:
                print("the server did not start")
                return 1
            if m := re.search(r"ws://127\.0\.0\.1:(\d+)", line):
                ports["ws"] = int(m.group(1))
            if m := re.search(r"ssh -p (\d+)", line):
                ports["ssh"] = int(m.group(1))
            if m := re.search(r"http://[\d.]+:(\d+)", line):
                ports["web"] = int(m.group(1))
        watcher, task = await open_room(f"ws://127.0.0.1:{ports['ws']}")
        await watcher.ws.send(p.encode({"type": "host", "command": "extend", "seconds": 600}))
        await watcher.ws.send(p.encode({"type": "host", "command": "start"}))
        await asyncio.sleep(3.0)
        pids = tree(server.pid)
        cpu0, t0 = cpu_seconds(pids), time.monotonic()
        await asyncio.sleep(min(args.seconds, 10.0))
        idle_cores = cpu_spent(cpu0, cpu_seconds(tree(server.pid))) / (time.monotonic() - t0)
        base = (pss_mib(pids), idle_cores, len(pids))
        print(
            f"host alone (room driving, nobody through a door): PSS {base[0]:.0f} MiB, "
            f"CPU {idle_cores:.2f} cores"
        )
        n = args.players
        ssh = await measure(
            "SSH door",
            [SshPlayer(ports["ssh"], watcher.code, f"S{i}") for i in range(n)],
            watcher,
            server.pid,
            base,
            args.seconds,
        )
        web = await measure(
            "browser door",
            [WebPlayer(ports["web"], watcher.code, f"W{i}") for i in range(n)],
            watcher,
            server.pid,
            base,
            args.seconds,
        )
        task.cancel()
        await watcher.ws.close()
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(10)
    worst_mib = max(ssh["mib"], web["mib"])
    worst_cores = max(ssh["cores"], web["cores"])
    worst_p99 = max(ssh["p99"], web["p99"])
    ok = worst_mib <= GOAL_MIB and worst_cores <= GOAL_CORES and worst_p99 <= GOAL_P99_MS
    print(
        f"SUMMARY doors: {n} per door at {COLS}×{ROWS}: per player SSH {ssh['mib']:.1f} MiB "
        f"{ssh['cores']:.3f} cores, browser {web['mib']:.1f} MiB {web['cores']:.3f} cores; "
        f"key p99 SSH {ssh['p99']:.0f} ms, browser {web['p99']:.0f} ms "
        f"(goals ≤{GOAL_MIB:.0f} MiB, ≤{GOAL_CORES} core, ≤{GOAL_P99_MS:.0f} ms): "
        f"{'OK' if ok else 'MISSED'}"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--players", type=int, default=5, help="players per door")
    parser.add_argument(
        "--seconds", type=float, default=20.0, help="driving time measured per door"
    )
    return asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
