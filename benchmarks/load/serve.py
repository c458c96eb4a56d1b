"""The server process of the load benchmark (benchmarks/server_load.py): a GameServer with
loose limits that measures its own ticks between signals, or over a window of its own when
the load generator is on another machine; also a --workers ramp's worker."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import signal
import time
from pathlib import Path

from benchmarks.load.figures import cpu_seconds
from server.net import GameServer, Limits
from server.ticker import percentile
from server.workers import KEY_ENV, WorkerAgent


def _rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def serve(
    host: str = "127.0.0.1",
    port: int = 0,
    window: tuple[int, float, float] | None = None,
    report_to: Path | None = None,
) -> dict:
    """Serve until SIGTERM (measuring from SIGUSR1), or with `window` = (rooms, warm-up,
    seconds) by itself: from `warm-up` seconds after that many rooms are driving, for
    `seconds` (the load generator is then on another machine). Returns the figures.
    As a worker behind a front door (`--workers`), SIGUSR2 writes the figures so far to
    `report_to` and serving goes on."""
    limits = Limits(
        join_burst=100_000,
        joins_per_second=1000.0,
        max_rooms=10_000,
        connections_per_address=100_000,  # every remote player comes from 127.0.0.1 here
        costly_burst=100_000,  # …and every host starts its room from there
        costly_total_burst=100_000,
        driving_rooms_per_address=100_000,
    )
    server = GameServer(limits=limits)
    if os.environ.get(KEY_ENV):  # a worker of the --workers ramp: the front door polls it
        WorkerAgent(key=os.environ[KEY_ENV], url="").attach(server)
    await server.start(host, port)
    if window is None:
        print(server.port, flush=True)  # to the benchmark that started this process
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    mark: dict[str, float] = {}

    def measure() -> None:  # SIGUSR1: the warm-up is over
        server.ticker.stats.reset()
        server.room_tick_times.clear()
        server.room_latencies.clear()
        server.tick_cpu_times.clear()
        for client in server.clients:
            client.skipped = 0
        mark["cpu"], mark["wall"] = cpu_seconds(), time.monotonic()

    async def by_itself(rooms: int, warmup: float, seconds: float) -> None:
        while sum(1 for r in server.registry if r.phase == "driving") < rooms:
            await asyncio.sleep(0.2)
        await asyncio.sleep(warmup)
        measure()
        await asyncio.sleep(seconds)
        done.set()

    def summarise() -> dict:
        wall = time.monotonic() - mark.get("wall", time.monotonic())
        cpu = cpu_seconds() - mark.get("cpu", cpu_seconds())
        rooms = list(server.registry)
        summary = server.ticker.stats.summary()
        latencies = list(server.room_latencies)
        summary.update(
            latency_p50_ms=percentile(latencies, 50) * 1000,
            latency_p99_ms=percentile(latencies, 99) * 1000,
            latency_max_ms=max(latencies, default=0.0) * 1000,
            room_ticks=len(latencies),
            room_p99_ms=percentile(list(server.room_tick_times), 99) * 1000,
            room_p50_ms=percentile(list(server.room_tick_times), 50) * 1000,
            cpu_p99_ms=percentile(list(server.tick_cpu_times), 99) * 1000,
            cpu_p50_ms=percentile(list(server.tick_cpu_times), 50) * 1000,
            cpu_percent=100 * cpu / wall if wall > 0 else 0.0,
            rss_mb=_rss_mb(),
            rooms=len(rooms),
            driving=sum(1 for r in rooms if r.phase == "driving"),
            cars=sum(len(r.world.cars) for r in rooms if r.world is not None),
            clients=len(server.clients),
            skipped=sum(c.skipped for c in server.clients),
            wall_s=wall,
            sim_seconds=min((r.world.tick * 0.05 for r in rooms if r.world is not None), default=0),
            cpu_s=cpu,
        )
        return summary

    def report() -> None:  # SIGUSR2: the figures of this step, to the ramp
        if report_to is not None:
            partial = report_to.with_suffix(".part")
            partial.write_text(json.dumps(summarise()))
            partial.replace(report_to)

    loop.add_signal_handler(signal.SIGUSR1, measure)
    loop.add_signal_handler(signal.SIGUSR2, report)
    loop.add_signal_handler(signal.SIGTERM, done.set)
    if window is not None:
        timer = asyncio.create_task(by_itself(*window))
    await done.wait()
    if window is not None:
        timer.cancel()
    summary = summarise()
    await server.stop()
    return summary
