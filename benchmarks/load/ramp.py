"""`server_load.py --workers`: a real front door and worker processes, rooms added a step at
a time until a worker's room tick misses its goal (benchmarks/server_load.py's docstring has
the two-machine schedule). The workers are this benchmark's own server (benchmarks/load/
serve.py), started by running benchmarks/server_load.py --serve."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from benchmarks.load.figures import GOAL_P99_MS, cpu_seconds, load_cpu_text, step_line
from benchmarks.load.players import Load
from server.frontdoor import FrontDoor
from server.ticker import percentile
from server.workers import KEY_ENV, LocalWorker

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "server_load.py"  # its --serve is a worker


def _start_worker(
    index: int, key: str, report: Path, host: str = "127.0.0.1"
) -> tuple[subprocess.Popen, LocalWorker]:
    """A benchmark server (loose limits) as worker `index` on `host`, and the front door's
    handle."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--serve", str(report.with_suffix(".final")), "--report"]
        + [str(report), "--serve-host", host],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), KEY_ENV: key},
    )
    assert proc.stdout is not None
    handle = LocalWorker(index, [], key, host)
    handle.port, handle.alive = int(proc.stdout.readline()), True
    return proc, handle


async def _join_latency(door: str, worker: str, times: int = 20) -> tuple[float, float]:
    """Median ms from opening a socket to the welcome, through the front door and direct."""
    from tests.support.server_client import WireClient

    async def once(url: str) -> float:
        began = time.perf_counter()
        client = await WireClient.open(url)
        await client.send({"type": "hello", "protocol": 1})
        await client.until("welcome")
        took = time.perf_counter() - began
        await client.close()
        return took * 1000

    via, direct = [], []
    for _ in range(times):
        via.append(await once(f"{door}/new"))
        direct.append(await once(f"{worker}/new"))
    return percentile(via, 50), percentile(direct, 50)


class _Servers:
    """`count` benchmark workers behind a front door in this process, and their figures."""

    def __init__(self, count: int, tmp: Path, host: str = "127.0.0.1") -> None:
        """Start the workers (at this process's priority: before the load generator is
        niced, as the workers inherit it)."""
        import secrets

        self.count = count
        self.reports = [tmp / f"w{count}-{i}.json" for i in range(count)]
        self.key = secrets.token_urlsafe(16)
        started = [_start_worker(i, self.key, self.reports[i], host) for i in range(count)]
        self.procs = [p for p, _ in started]
        self.handles = [h for _, h in started]
        self.door: FrontDoor | None = None
        self._stop = asyncio.Event()
        self._serving: asyncio.Task | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start the front door; its URL (as this machine reaches it)."""
        self.door = FrontDoor(self.handles, None, self.key)
        self._serving = asyncio.create_task(self.door.serve(host, port, None, self._stop))
        while self.door.port is None:
            await asyncio.sleep(0.01)
        return f"ws://127.0.0.1:{self.door.port}"

    async def figures(self) -> list[dict]:
        """Each worker's figures since its last measurement began (SIGUSR2)."""
        for report in self.reports:
            report.unlink(missing_ok=True)
        for proc in self.procs:
            proc.send_signal(signal.SIGUSR2)
        while not all(r.exists() for r in self.reports):
            await asyncio.sleep(0.05)
        return [json.loads(r.read_text()) for r in self.reports]

    def measure(self) -> None:
        """The warm-up is over: the workers' figures start now (SIGUSR1)."""
        for proc in self.procs:
            proc.send_signal(signal.SIGUSR1)

    async def stop(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                await asyncio.to_thread(proc.wait, 60)
            except subprocess.TimeoutExpired:
                proc.kill()
        self._stop.set()
        if self._serving is not None:
            await self._serving


def _ramp_result(
    count: int, steps: list[dict[str, Any]], held: int, held_cpu_us: float, added: float
) -> dict[str, Any]:
    return {
        "workers": count,
        "held_per_worker": held,
        "cpu_us": held_cpu_us or (steps[0]["cpu_us"] if steps else 0.0),
        "join_added_ms": added,
        "load_cpu": max((s["load"] for s in steps), default=0.0),
        "load_cpu_per_room": max((s["load"] / s["rooms"] for s in steps), default=0.0),
        "capped": bool(steps) and steps[-1]["p99"] <= GOAL_P99_MS,
    }


async def _ramp_one(args: argparse.Namespace, servers: _Servers) -> dict:
    """`count` workers behind a front door in this process; rooms added `--step` per worker
    at a time until a worker's room tick p99 passes the goal or `--max-rooms` is reached."""
    count = servers.count
    url = await servers.start()
    assert servers.door is not None
    worker_url = f"ws://127.0.0.1:{servers.door.workers[0].port}"
    via_ms, direct_ms = await _join_latency(url, worker_url)
    print(
        f"workers {count}: join (socket to welcome) through the front door {via_ms:.1f} ms, "
        f"direct {direct_ms:.1f} ms (median of 20)",
        flush=True,
    )
    load = Load(args, url)
    steps: list[dict] = []
    held, held_cpu_us = 0, 0.0
    try:
        while len(load.hosts) < args.max_rooms:
            await load.add(args.step * count)
            await asyncio.sleep(args.warmup)
            servers.measure()
            cpu0, t0 = cpu_seconds(), time.monotonic()
            await asyncio.sleep(args.seconds)
            load_cpu = 100 * (cpu_seconds() - cpu0) / (time.monotonic() - t0)
            step = step_line(count, len(load.hosts), await servers.figures(), load_cpu)
            steps.append(step)
            if step["p99"] > GOAL_P99_MS:
                break
            held, held_cpu_us = len(load.hosts) // count, step["cpu_us"]
    finally:
        await load.close()
        await servers.stop()
    return _ramp_result(count, steps, held, held_cpu_us, via_ms - direct_ms)


# The two halves of --workers on two machines follow one step schedule, with no protocol
# between them beyond the game's own: see the module docstring.
HOLD_MARGIN_SECONDS = 4.0  # the load half holds a step this much past the server's window
RAMP_PAUSE_SECONDS = 2 * HOLD_MARGIN_SECONDS  # the server half's pause between ramps


async def _listen_ramp_one(args: argparse.Namespace, count: int, tmp: Path) -> dict:
    """The server half of one ramp: workers and front door on --listen; each step's window
    starts --warmup seconds after its rooms are all driving."""
    host, _, port = args.listen.rpartition(":")
    servers = _Servers(count, tmp, host or "0.0.0.0")
    await servers.start(host or "0.0.0.0", int(port))
    print(f"workers {count}: front door on {args.listen}, waiting for rooms", flush=True)
    steps: list[dict] = []
    held, held_cpu_us, rooms = 0, 0.0, 0
    try:
        while rooms < args.max_rooms:
            rooms += args.step * count
            while sum(f["driving"] for f in await servers.figures()) < rooms:
                await asyncio.sleep(0.25)
            await asyncio.sleep(args.warmup)
            servers.measure()
            await asyncio.sleep(args.seconds)
            step = step_line(count, rooms, await servers.figures(), None)
            steps.append(step)
            if step["p99"] > GOAL_P99_MS:
                break
            held, held_cpu_us = rooms // count, step["cpu_us"]
    finally:
        await asyncio.sleep(HOLD_MARGIN_SECONDS / 2)  # the load half ends its window too
        await servers.stop()
    return _ramp_result(count, steps, held, held_cpu_us, 0.0)


async def _connect_ramp_one(args: argparse.Namespace, count: int) -> dict:
    """The load half of one ramp: rooms added on the step schedule until the server half
    ends the ramp (a host's connection drops) or --max-rooms is reached."""
    url = args.connect.rstrip("/")
    from tests.support.server_client import WireClient

    for _ in range(int(120 / 0.5)):  # the server half starts (or restarts) its front door
        try:
            probe = await WireClient.open(f"{url}/new")
            await probe.send({"type": "hello", "protocol": 1})
            await probe.until("welcome")
            await probe.close()
            break
        except (OSError, InvalidHandshake, ConnectionClosed):
            await asyncio.sleep(0.5)
    load = Load(args, url)
    steps: list[dict] = []
    try:
        while len(load.hosts) < args.max_rooms and not load.server_gone():
            await load.add(args.step * count)
            await asyncio.sleep(args.warmup + 0.5)  # the server half sees them driving
            cpu0, t0 = cpu_seconds(), time.monotonic()
            await asyncio.sleep(args.seconds)
            load_cpu = 100 * (cpu_seconds() - cpu0) / (time.monotonic() - t0)
            gone = load.server_gone()
            if not gone:
                print(
                    f"workers {count}: {len(load.hosts)} rooms, "
                    f"{load_cpu_text(load_cpu, len(load.hosts))}",
                    flush=True,
                )
                steps.append({"rooms": len(load.hosts), "p99": 0.0, "cpu_us": 0.0})
                steps[-1]["load"] = load_cpu
            await asyncio.sleep(HOLD_MARGIN_SECONDS)
    finally:
        await load.close()
    return _ramp_result(count, steps, 0, 0.0, 0.0)


def ramp(args: argparse.Namespace) -> int:
    counts = [int(n) for n in args.workers.split(",")]
    where = "front door and load generator in this process"
    if args.listen:
        where = f"front door on {args.listen}, load generator elsewhere (--connect)"
    elif args.connect:
        where = f"load generator for the front door at {args.connect}"
    print(
        f"workers {counts}: rooms of {args.players} remote players + {args.bots} bots "
        f"({args.scenario}) added {args.step} per worker at a time, {args.seconds:g} s "
        f"measured per step after {args.warmup:g} s, up to {args.max_rooms} rooms; {where}"
        + (
            f", load generator at nice {args.load_nice}, {args.players_kind} players"
            if not args.listen
            else ""
        ),
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        local: list[_Servers] = []
        if not args.listen and not args.connect:
            # every ramp's workers start now, before the load generator (and the front door,
            # which only routes joins) is niced: a child inherits its parent's niceness
            local = [_Servers(count, Path(tmp)) for count in counts]
        if args.load_nice and not args.listen:
            os.nice(args.load_nice)
        for n, count in enumerate(counts):
            if args.listen:
                if n:
                    time.sleep(RAMP_PAUSE_SECONDS)  # the load half sees this ramp end
                results.append(asyncio.run(_listen_ramp_one(args, count, Path(tmp))))
            elif args.connect:
                results.append(asyncio.run(_connect_ramp_one(args, count)))
            else:
                results.append(asyncio.run(_ramp_one(args, local[n])))
    if args.connect:
        parts = [
            f"{r['workers']} worker(s): load generator ≤ {r['load_cpu']:.0f} % CPU "
            f"(≤ {r['load_cpu_per_room']:.2f} % per room)"
            for r in results
        ]
        print("SUMMARY (load side; rooms held on the server side): " + "; ".join(parts))
        return 0
    parts = []
    for r in results:
        more = "+" if r["capped"] else ""
        # what one core could tick by CPU alone: a figure a busy machine's scheduling
        # delays do not move, unlike the p99
        by_cpu = 1e6 / (r["cpu_us"] * 20) if r["cpu_us"] else 0.0
        load = ""
        if not args.listen:
            load = (
                f", load generator ≤ {r['load_cpu']:.0f} % CPU "
                f"(≤ {r['load_cpu_per_room']:.2f} % per room)"
            )
        parts.append(
            f"{r['workers']} worker(s): {r['held_per_worker']}{more} rooms per worker at p99 ≤ "
            f"{GOAL_P99_MS:.0f} ms, {r['cpu_us']:.0f} µs CPU per room-tick (≈ {by_cpu:.0f} "
            f"rooms per core by CPU){load}"
        )
    ok = all(r["held_per_worker"] > 0 for r in results)
    if len(results) >= 2 and results[0]["held_per_worker"]:
        one, most = results[0], results[-1]
        ratio = most["held_per_worker"] * most["workers"] / one["held_per_worker"]
        parts.append(f"rooms held {ratio:.2f}× one worker's (goal ≥ 1.6× with 2)")
        ok = ok and ratio >= 1.6
    if not args.listen:
        added = max(r["join_added_ms"] for r in results)
        ok = ok and added <= 10.0
        parts.append(f"front door adds {added:.1f} ms to a join (goal ≤ 10)")
    print(f"SUMMARY {'PASS' if ok else 'MISS'}: " + "; ".join(parts))
    return 0
