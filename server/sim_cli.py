"""`interlane sim`: run a scenario headless with bots only, as fast as the CPU allows.

It writes a trajectory CSV (`t,car,lane,x,v`) for plotting and checking, and prints one
summary line, so a facilitator or a test can see what a scenario does without a terminal UI.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from typing import TextIO

from shared.conventions import parse_rulebook
from shared.sim.bots import parse_mix
from shared.sim.scenario import ScenarioError, load_scenario
from shared.sim.world import DT, World


def _fail(message: str) -> int:
    print(f"interlane sim: {message}", file=sys.stderr)
    return 2


def run_sim(args: argparse.Namespace) -> int:
    """Run the simulation the arguments describe; returns the exit code."""
    try:
        scenario = load_scenario(args.scenario)
        scenario = scenario.with_overrides(
            lanes=getattr(args, "lanes", None),
            length=getattr(args, "length", None),
            cars=getattr(args, "bots", None),
        )
    except ScenarioError as exc:
        return _fail(str(exc))
    try:
        mix = parse_mix(args.mix) if getattr(args, "mix", None) else None
    except ValueError as exc:
        return _fail(f"--mix: {exc}")
    try:
        rulebook = parse_rulebook(args.rulebook) if getattr(args, "rulebook", None) else None
    except ValueError as exc:
        return _fail(f"--rulebook: {exc}")
    every = getattr(args, "every", None)
    every = 1 if every is None else int(every)
    if every < 1:
        return _fail("--every must be at least 1")
    seconds = float(args.seconds)
    if not 0 < seconds <= 7 * 24 * 3600:
        return _fail("--seconds must be between 0 and a week")
    world = World(scenario, seed=int(args.seed), rulebook=rulebook, mix=mix)
    trace_path = getattr(args, "trace", None)
    out: TextIO | None = None
    try:
        if trace_path:
            try:
                out = open(trace_path, "w", newline="", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                return _fail(f"cannot write {trace_path}: {exc.strerror or exc}")
        summary = _run(world, round(seconds / DT), every, out)
    finally:
        if out is not None:
            out.close()
    print(summary)
    return 0


def _run(world: World, ticks: int, every: int, out: TextIO | None) -> str:
    writer = csv.writer(out) if out is not None else None
    if writer is not None:
        writer.writerow(("t", "car", "lane", "x", "v"))
    counts: Counter[str] = Counter()
    speed_sum = 0.0
    samples = 0
    for _ in range(ticks):
        for event in world.step():
            counts[event.kind] += 1
        cars = world.cars.values()
        for car in cars:
            speed_sum += car.v
        samples += len(world.cars)
        if writer is not None and world.tick % every == 0:
            t = f"{world.t:.2f}"
            writer.writerows((t, c.id, c.lane_index, f"{c.x:.2f}", f"{c.v:.3f}") for c in cars)
    seconds = ticks * DT
    flow = counts["gantry"] * 3600.0 / seconds if seconds > 0 else 0.0
    mean_kmh = speed_sum / samples * 3.6 if samples else 0.0
    return (
        f"{world.scenario.name}: {len(world.cars)} cars, {seconds:g} s: "
        f"flow {flow:.0f} veh/h, mean speed {mean_kmh:.1f} km/h, "
        f"crashes {counts['crash']}, near misses {counts['near_miss']}"
    )
