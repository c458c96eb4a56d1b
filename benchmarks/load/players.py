"""The load process of the load benchmark (benchmarks/server_load.py): the rooms' hosts and
remote players (light ones, benchmarks/load/light_player.py, or websockets' ones), for one
server (run_load) or for a --workers ramp through a front door (Load)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import subprocess
import time
from typing import TYPE_CHECKING, Any

from benchmarks.load.figures import cpu_seconds
from benchmarks.load.light_player import drain_forever, drive_light
from benchmarks.load.light_socket import LightSocket
from server.remote_bots import BotStats, drive_bot
from shared.protocol import encode

if TYPE_CHECKING:
    from tests.support.server_client import WireClient


PLAYER_KINDS = ("light", "websockets")


async def open_room(
    url: str, scenario: str, bots: int, seed: int, kind: str = "light"
) -> tuple[LightSocket | WireClient, str]:
    """A room's host connection (light or websockets, as the players) and the room's code."""
    from tests.support.server_client import WireClient

    create = {
        "type": "create",
        "protocol": 1,
        "name": "Host",
        "scenario": scenario,
        "bots": bots,
        "seed": seed,
    }
    if kind == "light":
        light = await LightSocket.open(url)
        light.send(encode(create))
        return light, (await asyncio.wait_for(light.until("joined"), 60))["code"]
    host = await WireClient.open(url)
    await host.send(create)
    return host, (await host.until("joined"))["code"]


async def start_room(host: Any, kind: str) -> asyncio.Task[None]:
    """Start a host's room; the task that drains its connection from then on."""
    start = {"type": "host", "command": "start"}
    if kind == "light":
        host.send(encode(start))
        return asyncio.create_task(drain_forever(host))
    await host.send(start)
    return asyncio.create_task(_drain(host))


def start_player(
    kind: str, url: str, code: str, name: str, stats: BotStats, seed: int, stop: asyncio.Event
) -> asyncio.Task[Any]:
    """One remote player of room `code`, light or on websockets' client."""
    if kind == "light":
        return asyncio.create_task(drive_light(url, code, name, stats, seed, stop))
    return asyncio.create_task(drive_bot(url, code, name, stats, None, seed, stop))


async def _drain(host: WireClient) -> None:
    """Hosts read (and drop) their full-ring snapshots so they are not the slow clients."""
    try:
        async for _ in host.ws:
            pass
    except Exception:
        pass


async def run_load(args: argparse.Namespace, url: str, server: subprocess.Popen | None) -> dict:
    """Open the rooms, start them, measure what the players receive; with `server` None the
    server (elsewhere) times its own figures over the same window."""
    kind = args.players_kind
    rooms = [await open_room(url, args.scenario, args.bots, i, kind) for i in range(args.rooms)]
    stats = BotStats()
    stop = asyncio.Event()
    tasks = []
    for r, (_, code) in enumerate(rooms):
        for i in range(args.players):
            tasks.append(start_player(kind, url, code, f"Bot {i}", stats, r * 100 + i, stop))
    while stats.joined < args.rooms * args.players:
        await asyncio.sleep(0.1)
    drains = [await start_room(host, kind) for host, _ in rooms]
    await asyncio.sleep(args.warmup)
    if server is not None:
        server.send_signal(signal.SIGUSR1)
    snaps0, bytes0, t0 = stats.snapshots, stats.snapshot_bytes, time.monotonic()
    cpu0 = cpu_seconds()
    await asyncio.sleep(args.seconds)
    snaps, nbytes = stats.snapshots - snaps0, stats.snapshot_bytes - bytes0
    wall = time.monotonic() - t0
    load_cpu = 100 * (cpu_seconds() - cpu0) / wall
    if server is not None:
        server.send_signal(signal.SIGTERM)
    else:
        await asyncio.sleep(2.0)  # the server's own window started a little later
    stop.set()
    for task in drains:
        task.cancel()
    await asyncio.wait(tasks, timeout=15)
    return {
        "snapshots": snaps,
        "snapshot_bytes": nbytes,
        "per_client_hz": snaps / wall / (args.rooms * args.players),
        "load_cpu_percent": load_cpu,
        "rooms": args.rooms,
        "controls": stats.controls,
        "errors": dict(stats.errors),
    }


class Load:
    """The load half of a ramp: rooms opened through a front door, their players and hosts."""

    def __init__(self, args: argparse.Namespace, url: str) -> None:
        self.args, self.url = args, url
        self.stats, self.stop = BotStats(), asyncio.Event()
        self.hosts: list = []
        self.tasks: list[asyncio.Task] = []
        self.drains: list[asyncio.Task] = []

    async def add(self, rooms: int) -> None:
        """Open `rooms` more rooms, join their players, start them."""
        args, new = self.args, []
        for _ in range(rooms):
            new.append(
                await open_room(
                    f"{self.url}/new", args.scenario, args.bots, len(self.hosts), args.players_kind
                )
            )
            self.hosts.append(new[-1])
        want = self.stats.joined + len(new) * args.players
        for r, (_, code) in enumerate(new):
            for i in range(args.players):
                seed = (len(self.hosts) - len(new) + r) * 100 + i
                self.tasks.append(
                    start_player(
                        args.players_kind, self.url, code, f"Bot {i}", self.stats, seed, self.stop
                    )
                )
        while self.stats.joined < want:
            await asyncio.sleep(0.1)
        for host, _ in new:
            self.drains.append(await start_room(host, args.players_kind))

    def server_gone(self) -> bool:
        """Whether a host's connection ended (the server half stopped this ramp)."""
        return any(task.done() for task in self.drains)

    async def close(self) -> None:
        self.stop.set()
        for task in self.tasks + self.drains:
            task.cancel()
        await asyncio.gather(*self.tasks, *self.drains, return_exceptions=True)
        for host, _ in self.hosts:
            with contextlib.suppress(Exception):
                await host.close()
