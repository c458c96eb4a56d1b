"""Load test of the game server: many rooms, remote players over real websockets, bots.

One server process (started here as a subprocess) hosts `--rooms` rooms, each with
`--bots` server-side bots; this process connects `--players` remote bot players per room
through the protocol (server.remote_bots, the same code as `interlane bots`) plus one
host per room. After a warm-up the server's tick statistics are reset, the load runs for
`--seconds`, and the figures are printed one per line, the summary last.

    .venv/bin/python benchmarks/server_load.py                      # the issue's load
    .venv/bin/python benchmarks/server_load.py --rooms 10 --seconds 15

The players are light ones by default (benchmarks/load/light_player.py: the same handshake,
join, controls and reading of every frame as server.remote_bots' websockets players, for a
tenth of the CPU, so that the load generator leaves the cores to the server it measures);
`--players-kind websockets` uses the websockets ones. The hosts follow the same choice.

On a small machine the load generator takes a core of its own (benchmarks/network_floor.py
shows what moving the snapshots costs there, before any game). To put it on another machine,
run the server half with `--listen HOST:PORT` (it times its own window: from `--warmup`
seconds after `--rooms` rooms are driving, for `--seconds`) and the load half with
`--connect ws://SERVER:PORT` and the same `--rooms --players --bots --seconds --warmup`;
each half prints its own figures and a summary.

`--workers 1,2` ramps rooms through a real front door onto worker processes (`--step` rooms
per worker at a time, `--warmup` then `--seconds` measured per step) until a worker's room
tick p99 passes 20 ms or `--max-rooms` is reached, then does the same with the next count.
Its two halves run apart too, with no protocol between them: both follow one step schedule.

    benchmarks/server_load.py --workers 1,2 --listen 0.0.0.0:8765 --step 5 --max-rooms 80
    benchmarks/server_load.py --workers 1,2 --connect ws://SERVER:8765 --step 5 --max-rooms 80

(with the same --players --bots --step --seconds --warmup --max-rooms on both). For each
count the server half starts the workers and the front door on --listen; step k's window
starts --warmup seconds after k·step·count rooms are driving, lasts --seconds, and it prints
the step's figures; after a step over the goal (or at --max-rooms) it holds 2 s, stops the
workers and the door, and 8 s later starts the next count on the same port. The load half
waits for the door to answer, opens step·count rooms and starts them, holds --warmup +
0.5 + --seconds (its own CPU measured over the last --seconds) + 4 s, and goes on until
--max-rooms or until a host's connection drops (the server half ended the ramp); then it
waits for the door of the next count. The server half's summary has the rooms held and
their ratio, the load half's the load generator's CPU.

The server ticks its rooms in groups (server.net.TICK_GROUPS), one group every 10 ms, so
each room ticks at 20 Hz. A room's tick time, the goal's figure, is wall-clock from the tick's
deadline until its snapshots are written: what a player waits beyond the 50 ms rhythm (the
step starting late, the rooms ticked before it in the step, its own tick). Lateness is how
late a step started. The scheduler's steps (a group of rooms each) and their CPU time are
printed too; "CPU time" is the server thread's own, which is what the server costs when the
machine is shared (the load generator runs on the same two cores).

This file is the command line; the parts are in benchmarks/load/: serve.py (the server
process), players.py (the load process), ramp.py (--workers), figures.py (the goals and what
is printed) and the light players (light_player.py on light_socket.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.load.figures import report_load, report_server  # noqa: E402
from benchmarks.load.players import PLAYER_KINDS, run_load  # noqa: E402
from benchmarks.load.ramp import ramp  # noqa: E402
from benchmarks.load.serve import serve  # noqa: E402


def _listen(args: argparse.Namespace) -> int:
    """The server half of a two-machine run: serve on --listen, time its own window."""
    host, _, port = args.listen.rpartition(":")
    print(
        f"serving on {host or '0.0.0.0'}:{port}; on the load machine run: "
        f"benchmarks/server_load.py --connect ws://THIS_MACHINE:{port} --rooms {args.rooms} "
        f"--players {args.players} --bots {args.bots} --seconds {args.seconds:g} "
        f"--warmup {args.warmup:g}",
        flush=True,
    )
    window = (args.rooms, args.warmup, args.seconds)
    srv = asyncio.run(serve(host or "0.0.0.0", int(port), window))
    ok, summary = report_server(srv)
    print(f"SUMMARY {'PASS' if ok else 'MISS'} (server side; sizes on the load side): {summary}")
    return 0


def _connect(args: argparse.Namespace) -> int:
    """The load half of a two-machine run: players and hosts for a server elsewhere."""
    print(
        f"{args.rooms} rooms × {args.players} remote players + {args.bots} bots on "
        f"{args.connect}, {args.seconds:g} s measured, {args.players_kind} players",
        flush=True,
    )
    client = asyncio.run(run_load(args, args.connect, None))
    ok, summary = report_load(client)
    print(f"SUMMARY {'PASS' if ok else 'MISS'} (load side; ticks on the server side): {summary}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=100)
    parser.add_argument("--players", type=int, default=10, help="remote players per room")
    parser.add_argument("--bots", type=int, default=20, help="server-side bots per room")
    parser.add_argument("--scenario", default="rush-hour")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument(
        "--players-kind",
        choices=PLAYER_KINDS,
        default="light",
        help="light: players (and hosts) on benchmarks/load/light_player.py, a tenth of the CPU; "
        "websockets: server.remote_bots' players, as `interlane bots`",
    )
    parser.add_argument(
        "--load-nice",
        type=int,
        default=10,
        help="CPU niceness of the load generator (0: same priority as the server)",
    )
    two = parser.add_mutually_exclusive_group()
    two.add_argument(
        "--listen", metavar="HOST:PORT", help="only the server, for a load from another machine"
    )
    two.add_argument("--connect", metavar="URL", help="only the load, for a server elsewhere")
    parser.add_argument(
        "--workers",
        default=None,
        metavar="N[,M…]",
        help="front door and N worker processes, rooms added until the tick goal is missed",
    )
    parser.add_argument("--step", type=int, default=5, help="rooms added per worker per step")
    parser.add_argument("--max-rooms", type=int, default=200, help="stop the ramp here")
    parser.add_argument("--serve", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--report", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve-host", default="127.0.0.1", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers:
        return ramp(args)
    if args.listen:
        return _listen(args)
    if args.connect:
        return _connect(args)
    if args.serve:
        if os.environ.get("SERVER_LOAD_PROFILE"):  # where the server's time goes
            import cProfile
            import pstats

            profile = cProfile.Profile(time.thread_time)
            srv = profile.runcall(asyncio.run, serve())
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(30)
        else:
            report = Path(args.report) if args.report else None
            srv = asyncio.run(serve(args.serve_host, report_to=report))
        Path(args.serve).write_text(json.dumps(srv))
        return 0
    fd, stats_name = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", stats_name],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"ws://127.0.0.1:{port}"
        print(
            f"server pid {server.pid} on {url}; {args.rooms} rooms × {args.players} remote "
            f"players + {args.bots} bots ({args.scenario}), {args.seconds:.0f} s measured, "
            f"load generator at nice {args.load_nice}, {args.players_kind} players",
            flush=True,
        )
        if args.load_nice:
            # the players stand in for other people's machines: on a shared 2-core box they
            # run at a lower priority so that they do not take the server's core; if they
            # fall behind, the server skips their sends and the snapshot rate below says so
            os.nice(args.load_nice)
        client = asyncio.run(run_load(args, url, server))
        server.wait(60)
        srv = json.loads(Path(stats_name).read_text())
    finally:
        if server.poll() is None:
            server.kill()
        os.unlink(stats_name)
    server_ok, server_summary = report_server(srv)
    load_ok, load_summary = report_load(client)
    ok = server_ok and load_ok
    print(f"SUMMARY {'PASS' if ok else 'MISS'}: {server_summary}, {load_summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
