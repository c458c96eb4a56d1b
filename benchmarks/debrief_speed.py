"""How long the debrief takes: a 4-minute round with 60 cars, counterfactuals included.

The round is played first (rush-hour, 58 bots and 2 players who brake hard now and then),
observed by the metrics and the recorder as the server does; then `analyse` is timed, once
as the server runs it (with the recorder's world copies) and once as `interlane report`
runs it on a round read back from the history file (replayed from its log). Goal: ≤ 3 s on
one core for the first. Prints its figures, and a one-line summary last.

    .venv/bin/python benchmarks/debrief_speed.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import msgpack

from server.debrief import analyse
from server.metrics import RoundMetrics
from server.played import RoundInputs, RoundOutcome
from server.recorder import Recorder
from shared.sim.scenario import load_scenario
from shared.sim.world import World

T = TypeVar("T")

SECONDS = 240
SEED = 7
BRAKES = (45.0, 100.0, 170.0, 215.0)  # when the players stamp on the brake


def play() -> tuple:
    scenario = load_scenario("rush-hour")
    world = World(scenario, seed=SEED, bots=58)
    players = [world.add_player_car(), world.add_player_car()]
    metrics = RoundMetrics(world)
    recorder = Recorder()
    brake_ticks = {round(t / 0.05) + k * 5 for t in BRAKES for k in range(6)}
    began = time.perf_counter()
    for _ in range(round(SECONDS / 0.05)):
        controls = {}
        if world.tick in brake_ticks:
            who = players[(world.tick // 2000) % 2]
            controls = {who: [("brake", None)]}
        events = world.step(controls)
        metrics.observe(world, events)
        recorder.observe(world, events)
    played = time.perf_counter() - began
    names = {players[0]: "Ana", players[1]: "Bo"}
    return scenario, world, metrics.result(), recorder.recording(), names, played


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    scenario, world, metrics, recording, names, played = play()
    cars = len(world.cars)
    print(f"round: rush-hour, {cars} cars, {SECONDS} s, seed {SEED} (played in {played:.1f} s)")
    live, live_wall, live_cpu = timed(
        lambda: analyse(
            RoundInputs(scenario, SEED, None, 58, None, world.log),
            RoundOutcome(metrics, {}, recording, names),
            [],
        )
    )
    with_cf = sum(1 for r in live["roots"] if r["counterfactual"] is not None)
    size = len(msgpack.packb({"type": "debrief", **live}, use_bin_type=True))
    print(
        f"analyse as the server runs it: {live_wall:.2f} s wall, {live_cpu:.2f} s CPU; "
        f"{len(live['roots'])} roots, {with_cf} counterfactuals, {len(live['cards'])} cards, "
        f"payload {size / 1024:.1f} KiB"
    )
    for root in live["roots"][:3]:
        print(f"  {root['text']} (reached {root['reached']})")
    _, stored_wall, stored_cpu = timed(
        lambda: analyse(
            RoundInputs(scenario, SEED, None, 58, None, world.log, world.tick),
            RoundOutcome(adherence={}, names=names),
            [],
        )
    )
    print(
        f"analyse a stored round (replayed from its log): {stored_wall:.2f} s wall, "
        f"{stored_cpu:.2f} s CPU"
    )
    verdict = "meets" if live_cpu <= 3.0 else "misses"
    print(
        f"debrief_speed: {cars} cars × {SECONDS} s analysed with {with_cf} counterfactuals in "
        f"{live_cpu:.2f} s CPU ({verdict} the 3 s goal); stored round {stored_cpu:.2f} s"
    )


if __name__ == "__main__":
    main()
