"""The load benchmark's goals and how its figures are printed (benchmarks/server_load.py):
the server's tick figures, what the players received, one line per step of a --workers ramp.
Each report returns whether its goals are met and its part of the summary line."""

from __future__ import annotations

import resource

from server.net import TICK_GROUPS

GOAL_P99_MS = 20.0
GOAL_LATE_MS = 100.0
GOAL_BYTES = 800
GOAL_HZ = 19.8  # every room keeps (nearly) its 20 ticks a second


def cpu_seconds() -> float:
    """This process's CPU time (user and system): a CPU percentage is its change over a
    window divided by the window's wall time."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def report_server(srv: dict) -> tuple[bool, str]:
    """Print the server's figures; whether they meet the goals, and their summary."""
    print(
        f"rooms {srv['rooms']} (driving {srv['driving']}), cars {srv['cars']}, "
        f"connections {srv['clients']}"
    )
    wall = max(srv["wall_s"], 1e-9)
    room_hz = srv["room_ticks"] / wall / max(srv["rooms"], 1)
    print(
        f"scheduler steps {srv['ticks']} in {wall:.1f} s ({srv['ticks'] / wall:.1f} Hz, "
        f"{TICK_GROUPS} groups of rooms), dropped {srv['dropped']}, late {srv['late']}; "
        f"each room ticked at {room_hz:.2f} Hz"
    )
    print(
        f"room tick (deadline → snapshots written) p50 {srv['latency_p50_ms']:.1f} ms, "
        f"p99 {srv['latency_p99_ms']:.1f} ms, max {srv['latency_max_ms']:.1f} ms"
    )
    print(f"room tick work alone p50 {srv['room_p50_ms']:.2f} ms, p99 {srv['room_p99_ms']:.2f} ms")
    print(
        f"scheduler step (one group) p50 {srv['p50_ms']:.1f} ms, p99 {srv['p99_ms']:.1f} ms, "
        f"max {srv['max_ms']:.1f} ms; CPU time p50 {srv['cpu_p50_ms']:.1f} ms, "
        f"p99 {srv['cpu_p99_ms']:.1f} ms"
    )
    print(f"max lateness of a step {srv['max_late_ms']:.1f} ms")
    print(f"skipped sends (slow clients) {srv['skipped']}")
    print(f"server CPU {srv['cpu_percent']:.0f}% of one core, RSS {srv['rss_mb']:.0f} MB")
    ok = (
        srv["latency_p99_ms"] <= GOAL_P99_MS
        and srv["latency_max_ms"] <= GOAL_LATE_MS
        and srv["max_late_ms"] <= GOAL_LATE_MS
        and srv["dropped"] == 0
        and room_hz >= GOAL_HZ
    )
    summary = (
        f"{srv['rooms']} rooms/{srv['clients']} clients, room tick p99 "
        f"{srv['latency_p99_ms']:.1f} ms (goal ≤ {GOAL_P99_MS:.0f}), latest "
        f"{srv['latency_max_ms']:.0f} ms (goal ≤ {GOAL_LATE_MS:.0f}), {room_hz:.2f} Hz per room "
        f"(goal ≥ {GOAL_HZ}), step CPU p99 {srv['cpu_p99_ms']:.1f} ms, server CPU "
        f"{srv['cpu_percent']:.0f}%, RSS {srv['rss_mb']:.0f} MB"
    )
    return ok, summary


def report_load(client: dict) -> tuple[bool, str]:
    """Print what the players received; whether it meets the size goal, and its summary."""
    snaps = client["snapshots"]
    mean_bytes = client["snapshot_bytes"] / snaps if snaps else 0.0
    print(f"snapshots per client {client['per_client_hz']:.1f}/s, mean {mean_bytes:.0f} B")
    print(load_cpu_text(client["load_cpu_percent"], client["rooms"]))
    print(f"controls sent {client['controls']}, errors {client['errors'] or 'none'}")
    ok = 0 < mean_bytes <= GOAL_BYTES
    return ok, f"{mean_bytes:.0f} B/snapshot (goal ≤ {GOAL_BYTES})"


def step_line(count: int, rooms: int, figures: list[dict], load_cpu: float | None) -> dict:
    """Print one step of a ramp (the workers' figures); the step's figures."""
    p99 = max(f["latency_p99_ms"] for f in figures)
    cpu_us = 1e6 * sum(f["cpu_s"] for f in figures) / max(sum(f["room_ticks"] for f in figures), 1)
    per_worker = "/".join(str(f["rooms"]) for f in figures)
    worker_cpu = "/".join(f"{f['cpu_percent']:.0f}" for f in figures)
    load = "" if load_cpu is None else f", {load_cpu_text(load_cpu, rooms)}"
    print(
        f"workers {count}: {rooms} rooms ({per_worker} per worker), room tick p99 "
        f"{p99:.1f} ms (worst worker), server CPU {cpu_us:.0f} µs per room-tick, "
        f"worker CPU {worker_cpu} %{load}",
        flush=True,
    )
    return {"rooms": rooms, "p99": p99, "cpu_us": cpu_us, "load": load_cpu or 0.0}


def load_cpu_text(load_cpu: float, rooms: int) -> str:
    return f"load generator CPU {load_cpu:.1f} % ({load_cpu / max(rooms, 1):.3f} % per room)"
