"""What this machine spends only to move the server-load benchmark's snapshot traffic.

No game, no websockets library, no msgpack: one process writes a ready-made frame of the
snapshots' size to each of `--connections` loopback TCP connections 20 times a second (in
five groups 10 ms apart, as the game server does), and another process, at the load
generator's niceness, reads and counts the bytes. Whatever the game server and its load
generator do beyond this is their own work; this is the floor under them on this machine.

    .venv/bin/python benchmarks/network_floor.py                      # 100 rooms' worth
    .venv/bin/python benchmarks/network_floor.py --connections 440    # 40 rooms' worth

The summary says how much of one core the two floors leave for the game's own work (the
simulation, observers and snapshot building) when the server and the load generator share
the machine, and what that is per room tick. One server process runs on one core, and the
load generator takes the other share of a two-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time

GROUPS = 5  # as server.net.TICK_GROUPS: a step every 10 ms, each room ticked every 50 ms
HZ = 20


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _writer(args: argparse.Namespace, port_pipe: int, out_pipe: int) -> None:
    transports: list[asyncio.Transport] = []

    class Sink(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            assert isinstance(transport, asyncio.Transport)
            transports.append(transport)

    loop = asyncio.get_running_loop()
    server = await loop.create_server(Sink, "127.0.0.1", 0)
    os.write(port_pipe, f"{server.sockets[0].getsockname()[1]}\n".encode())
    while len(transports) < args.connections:
        await asyncio.sleep(0.05)
    # a binary websocket frame header for a payload of `bytes` (under 64 KiB), then the payload
    frame = bytes([0x82, 126]) + args.bytes.to_bytes(2, "big") + b"\0" * args.bytes
    step_s = 1 / (HZ * GROUPS)
    steps = int(round((args.warmup + args.seconds) * HZ * GROUPS))
    measured_from = int(round(args.warmup * HZ * GROUPS))
    began = time.monotonic()
    cpu0 = wall0 = 0.0
    writes, write_s, late = 0, 0.0, 0
    for step in range(steps):
        if step == measured_from:
            cpu0, wall0, writes, write_s, late = _cpu_seconds(), time.monotonic(), 0, 0.0, 0
        due = began + step * step_s
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        elif wait < -0.05:
            late += 1
        t = time.perf_counter()
        for transport in transports[step % GROUPS :: GROUPS]:
            transport.write(frame)
        write_s += time.perf_counter() - t
        writes += len(transports[step % GROUPS :: GROUPS])
    wall = time.monotonic() - wall0
    cpu = _cpu_seconds() - cpu0
    result = f"{writes} {write_s} {cpu} {wall} {late}\n"
    os.write(out_pipe, result.encode())
    server.close()


async def _reader(args: argparse.Namespace, port: int) -> tuple[int, float, float]:
    received = [0]

    class Counter(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            received[0] += len(data)

    loop = asyncio.get_running_loop()
    for _ in range(args.connections):
        await loop.create_connection(Counter, "127.0.0.1", port)
    await asyncio.sleep(args.warmup)
    bytes0, cpu0, t0 = received[0], _cpu_seconds(), time.monotonic()
    await asyncio.sleep(args.seconds)
    return received[0] - bytes0, _cpu_seconds() - cpu0, time.monotonic() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1100, help="100 rooms × 11")
    parser.add_argument("--bytes", type=int, default=324, help="payload per frame")
    parser.add_argument("--rooms", type=int, default=100, help="rooms the connections stand for")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--load-nice", type=int, default=10)
    args = parser.parse_args()
    port_r, port_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer: the game server's sockets, nothing else
        try:
            asyncio.run(_writer(args, port_w, out_w))
        finally:
            os._exit(0)
    port = int(os.read(port_r, 64).decode())
    os.nice(args.load_nice)
    nbytes, read_cpu, read_wall = asyncio.run(_reader(args, port))
    writer_line = b""
    while not writer_line.endswith(b"\n"):
        writer_line += os.read(out_r, 256)
    os.waitpid(pid, 0)
    writes_s, write_s_s, cpu_s, wall_s, late_s = writer_line.split()
    writes, write_s, write_cpu, write_wall = (
        int(writes_s),
        float(write_s_s),
        float(cpu_s),
        float(wall_s),
    )
    frame_bytes = args.bytes + 4
    frames = nbytes / frame_bytes
    server_pct = 100 * write_cpu / write_wall
    reader_pct = 100 * read_cpu / read_wall
    print(
        f"{args.connections} connections × {HZ} frames/s of {args.bytes} B "
        f"(as {args.rooms} rooms), {args.seconds:.0f} s measured"
    )
    print(
        f"writer (the server's sockets): CPU {server_pct:.0f}% of one core, "
        f"{1e6 * write_s / max(writes, 1):.1f} µs per write, {int(late_s)} steps late by 50 ms+"
    )
    print(
        f"reader (the players' sockets, nice {args.load_nice}): CPU {reader_pct:.0f}% of one "
        f"core, {1e6 * read_cpu / max(frames, 1):.1f} µs per frame, "
        f"{frames / read_wall / args.connections:.1f} frames/s per connection"
    )
    cores = os.cpu_count() or 1
    # the game server is one thread: it has at most one core, and on this machine the
    # load generator needs at least the reader's share of what is left
    left_pct = max(0.0, min(100.0, 100.0 * cores - reader_pct) - server_pct)
    per_tick_us = 1e4 * left_pct / (args.rooms * HZ)
    print(
        f"SUMMARY floor: writing {server_pct:.0f}% + reading {reader_pct:.0f}% of a core on "
        f"{cores} cores; left for the game's own work: {left_pct:.0f}% of a core = "
        f"{per_tick_us:.0f} µs per room tick at {args.rooms} rooms (at 100% busy)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
