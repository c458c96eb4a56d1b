"""`interlane server`: the headless game server, until SIGINT/SIGTERM.

On a signal every client is told `bye`, connections are closed with 1001 and the process
exits 0, so a facilitator's Ctrl-C never leaves clients hanging on a dead socket.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
from typing import Any

from server.net import GameServer, Limits

log = logging.getLogger("interlane.server")


def ssl_context(certfile: str | None, keyfile: str | None) -> ssl.SSLContext | None:
    """A server TLS context from PEM files, or None for plain ws://. Raises ValueError."""
    if not certfile and not keyfile:
        return None
    if not certfile or not keyfile:
        raise ValueError("TLS needs both --certfile and --keyfile")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(f"cannot load the certificate/key: {exc}") from None
    return context


def open_store(db: str | None) -> Any | None:
    """The history store, or None when this build has none. Raises ValueError on a bad file."""
    try:
        from server.store import Store, StoreError
    except ImportError:
        return None
    try:
        return Store(db)
    except StoreError as exc:
        raise ValueError(str(exc)) from None


async def serve_until_signal(
    host: str,
    port: int,
    *,
    store: Any | None = None,
    context: ssl.SSLContext | None = None,
    limits: Limits | None = None,
    ready: Any = None,
    worker: Any = None,
    doors: Any = None,
) -> GameServer:
    """Run a GameServer until SIGINT/SIGTERM; `ready(server)` is called once it listens.

    `worker` (a server.workers.WorkerAgent) makes it a worker behind a front door; `doors` (a
    server.doors.runner.DoorConfig) opens the SSH/browser doors and the LAN announcement
    beside it."""
    server = GameServer(store=store, limits=limits)
    if worker is not None:
        worker.attach(server)
    await server.start(host, port, context)
    opened = None
    if doors is not None:
        from server.doors.runner import start_doors

        try:
            opened = await start_doors(server, host, doors)
        except BaseException:
            await server.stop()
            raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if worker is not None:  # registered before it says it listens: a front door relies on it
        worker.url = worker.url.format(port=server.port)
        await worker.refresh()
    if ready is not None:
        ready(server)
    reporter = loop.create_task(_report_health(server))
    agent = loop.create_task(worker.run(stop)) if worker is not None else None
    try:
        await stop.wait()
    finally:
        reporter.cancel()
        if agent is not None:
            await agent
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if opened is not None:
            await opened.close()
        await server.stop()
    return server


async def _report_health(server: GameServer, every: float = 60.0) -> None:
    """A line a minute for whoever watches the log: load, and whether ticks keep time."""
    while True:
        await asyncio.sleep(every)
        stats = server.ticker.stats.summary()
        log.info(
            "rooms %d, connections %d, ticks %d (late %d, dropped %d), tick p99 %.1f ms",
            len(server.registry),
            len(server.clients),
            stats["ticks"],
            stats["late"],
            stats["dropped"],
            stats["p99_ms"],
        )


def door_config(args: argparse.Namespace) -> Any:
    """The doors `--ssh PORT`, `--web PORT` and `--no-announce` ask for (docs/workshop.md)."""
    from server.doors.runner import DoorConfig

    return DoorConfig(
        ssh_port=getattr(args, "ssh", None),
        web_port=getattr(args, "web", None),
        announce=not getattr(args, "no_announce", False),
    )


def door_lines(doors: list[dict[str, Any]]) -> list[str]:
    """What a player types, one line per open door, for the server's log."""
    lines = []
    for door in doors:
        if door["kind"] == "ssh":
            lines.append(f"SSH door: ssh -p {door['port']} CODE@{door['host']}")
            lines.append(f"  host key {door['fingerprint']}")
        elif door["kind"] == "web":
            lines.append(f"browser door: http://{door['host']}:{door['port']}/")
        elif door["kind"] == "ws" and door.get("announced"):
            lines.append("announced on the LAN: interlane join CODE finds it")
    return lines


def run_server(args: argparse.Namespace) -> int:
    """Entry point of `interlane server`: one process, or a front door and its workers."""
    spec = getattr(args, "worker", None)
    who = f"[worker {spec.split('/')[0]}] " if spec else ""  # its lines share the terminal
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s {who}%(message)s")
    doors_wanted = getattr(args, "ssh", None) is not None or getattr(args, "web", None) is not None
    if getattr(args, "workers", None) is None:
        # the doors' sessions are children of the process that holds the rooms' server
        args.workers = 1 if doors_wanted else (os.cpu_count() or 1)
    if spec is None and doors_wanted and (args.workers != 1 or args.redis):
        print(
            "interlane server: the SSH and browser doors run beside a single server process; "
            "use --workers 1 (without --redis) with --ssh or --web",
            file=sys.stderr,
        )
        return 2
    if spec is None and (args.workers != 1 or args.redis):
        from server.frontdoor import run_front_door

        return run_front_door(args)
    # one line per connection is noise with a room full of players; keep warnings and errors
    logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        context = ssl_context(args.certfile, args.keyfile)
        store = open_store(args.db)
    except ValueError as exc:
        print(f"interlane server: {exc}", file=sys.stderr)
        return 2
    scheme = "wss" if context else "ws"
    doors = door_config(args) if spec is None else None  # a worker opens no doors

    def ready(server: GameServer) -> None:
        print(f"Interlane server on {scheme}://{args.host}:{server.port}", flush=True)
        for line in door_lines(server.doors):
            print(line, flush=True)
        if store is not None:
            print(f"history: {store.path}", flush=True)

    try:
        worker = _worker_agent(args, scheme)
    except ValueError as exc:
        print(f"interlane server: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(
            serve_until_signal(
                args.host,
                args.port,
                store=store,
                context=context,
                ready=ready,
                worker=worker,
                doors=doors,
            )
        )
    except OSError as exc:
        print(
            f"interlane server: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    finally:
        if store is not None:
            store.close()
    print("Interlane server stopped.", flush=True)
    return 0


def _worker_agent(args: argparse.Namespace, scheme: str) -> Any:
    """The worker hooks when started by a front door (`--worker`), else None."""
    spec = getattr(args, "worker", None)
    if spec is None:
        return None
    import os

    from server.directory import RedisDirectory
    from server.workers import KEY_ENV, WorkerAgent, parse_worker_spec

    index, count, parent = parse_worker_spec(spec)
    directory = RedisDirectory(args.redis) if args.redis else None
    host = args.public_host or args.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return WorkerAgent(
        key=os.environ.get(KEY_ENV, ""),
        url=f"{scheme}://{host}:{{port}}",
        directory=directory,
        shard=(index, count),
        parent_pid=parent,
    )
