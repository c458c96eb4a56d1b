"""Simulation speed: car-ticks per second on a 3-lane ring with 200 bots.

Lane-change decisions (MOBIL), signals, yielding, AEB, crash checks and gantry counting are all
included: this is the world the server ticks at 20 Hz. A small room as the server runs it is
measured too (rush-hour with 20 bots and 10 players' cars, and the HUD's leader_of per player
per tick): there the cost of a step, not of a car, counts. Run with `.venv/bin/python
benchmarks/sim_speed.py [--ticks N] [--seed S]`; the last line is the summary.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter

from shared.sim.scenario import load_scenario, parse_scenario
from shared.sim.world import World

GOAL = 200_000


def build_world(seed: int, cars: int, length: float) -> World:
    scenario = parse_scenario(
        {
            "name": "bench",
            "road": {"length": length, "lanes": 3},
            "traffic": {
                "cars": cars,
                "mix": {"steady": 0.6, "hurried": 0.15, "distracted": 0.2, "local": 0.05},
            },
            "rulebook": {"passing": "right", "signal": "required"},
        },
        source="benchmark",
    )
    return World(scenario, seed=seed)


def measure(seed: int, cars: int, length: float, ticks: int) -> float:
    """Print one configuration's figures; return its car-ticks per CPU second."""
    world = build_world(seed, cars, length)
    for _ in range(200):  # warm up: let the initial order settle
        world.step()
    kinds: Counter[str] = Counter()
    start = time.perf_counter()
    cpu_start = time.process_time()
    for _ in range(ticks):
        for event in world.step():
            kinds[event.kind] += 1
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    car_ticks = ticks * len(world.cars)
    # CPU time, not wall time: on a shared machine the wall clock counts other processes' turns
    rate = car_ticks / cpu
    density = len(world.cars) / (3 * length / 1000)
    print(f"cars: {len(world.cars)}, lanes: 3, ring: {length:.0f} m ({density:.0f} veh/km/lane)")
    print(f"  wall: {elapsed:.2f} s ({car_ticks / elapsed:,.0f} car-ticks/s by the wall clock)")
    print(f"  cpu: {cpu:.2f} s, {cpu / ticks * 1000:.3f} ms per tick, {rate:,.0f} car-ticks/s")
    print(f"  real-time factor at 20 Hz: {DT_MS / (cpu / ticks * 1000):.0f}x")
    print(f"  events: {dict(sorted(kinds.items()))}")
    return rate


DT_MS = 50.0
ROOM_ACTIONS = ["faster", "slower", "brake", "left", "right", "signal_left", "signal_right"]


def measure_room(seed: int, ticks: int, players: int = 10) -> None:
    """Print a small room's CPU per step and per leader_of call (thread time, so that other
    processes' turns do not count; the best of three runs, as a shared machine adds noise)."""
    best_step = best_leader = float("inf")
    cars = 0
    for run in range(3):
        world = World(load_scenario("rush-hour"), seed=seed + run, bots=20)
        ids = [world.add_player_car() for _ in range(players)]
        script = random.Random(seed + run)
        plan = [
            {p: [(script.choice(ROOM_ACTIONS), None)] for p in ids if script.random() < 0.03}
            for _ in range(ticks + 200)
        ]
        step_cpu = leader_cpu = 0.0
        for t in range(ticks + 200):
            t0 = time.thread_time()
            world.step(plan[t])
            t1 = time.thread_time()
            for p in ids:
                world.leader_of(p)
            if t >= 200:  # after the warm-up
                step_cpu += t1 - t0
                leader_cpu += time.thread_time() - t1
        best_step = min(best_step, step_cpu / ticks)
        best_leader = min(best_leader, leader_cpu / ticks / players)
        cars = len(world.cars)
    print(f"room: rush-hour, 20 bots + {players} players ({cars} cars)")
    print(
        f"  cpu: {best_step * 1e6:.1f} µs per step ({best_step * 1e6 / cars:.2f} µs per car), "
        f"leader_of {best_leader * 1e6:.2f} µs per call"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ticks", type=int, default=3000)
    parser.add_argument("--cars", type=int, default=200)
    parser.add_argument("--length", type=float, default=3000.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    light = measure(args.seed, args.cars, args.length, args.ticks)
    dense = measure(args.seed, args.cars, args.length * 2 / 3, args.ticks)  # stop-and-go
    measure_room(args.seed, args.ticks)
    rate = min(light, dense)
    verdict = "meets" if rate >= GOAL else "below"
    print(
        f"sim_speed: {rate:,.0f} car-ticks/s per core of CPU time, the slower of the two "
        f"({verdict} the {GOAL:,} goal)"
    )


if __name__ == "__main__":
    main()
