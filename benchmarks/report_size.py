"""How big the exported reports of a 3-round workshop are (aim: HTML ≤ 400 KB).

Plays the `workshop` program's three rounds the way the server does (rush-hour twice, then
lane-closure; 4 minutes each, the scenarios' own traffic, 3 players who brake hard now and
then), stores them in a temporary history file, and renders every report format. Prints each
format's size, and a one-line summary last.

    .venv/bin/python benchmarks/report_size.py [seconds-per-round]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from server.debrief import analyse
from server.metrics import RoundMetrics
from server.played import RoundInputs, RoundOutcome
from server.recorder import Recorder
from server.report import gather, render
from server.store import Store
from shared.sim.scenario import load_scenario
from shared.sim.world import World

ROUNDS = (("rush-hour", 1), ("rush-hour", 2), ("lane-closure", 3))
BRAKES = (45.0, 100.0, 170.0, 215.0)


def controls(tick: int, cars: list[int]) -> dict:
    for t in BRAKES:
        first = round(t / 0.05)
        if first <= tick < first + 30 and (tick - first) % 5 == 0:
            return {cars[(tick // 2000) % len(cars)]: [("brake", None)]}
    return {}


def play(scenario_name: str, seed: int, seconds: float, previous: list[dict]) -> tuple:
    """One round as the server plays it: stepped, observed, analysed."""
    scenario = load_scenario(scenario_name)
    world = World(scenario, seed=seed)
    cars = [world.add_player_car() for _ in range(3)]
    metrics, recorder = RoundMetrics(world), Recorder()
    for _ in range(round(seconds / 0.05)):
        events = world.step(controls(world.tick, cars))
        metrics.observe(world, events)
        recorder.observe(world, events)
    names = dict(zip(cars, ["Ana", "Bo", "Cy"], strict=True))
    result = metrics.result()
    recording = recorder.recording()
    payload = analyse(
        RoundInputs(scenario, seed, None, None, None, world.log),
        RoundOutcome(result, {}, recording, names),
        previous,
    )
    return world, result, recorder.recording(), names, payload


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 240.0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite3"
        with Store(path) as store:
            game = store.create_game("BENCH", "workshop", "Facilitator")
            previous: list[dict] = []
            for number, (scenario, seed) in enumerate(ROUNDS, start=1):
                world, metrics, recording, names, payload = play(scenario, seed, seconds, previous)
                payload["round"] = number
                previous.append(payload)
                store.save_round(
                    game,
                    number,
                    RoundInputs(scenario, seed, None, None, None, world.log, world.tick),
                    RoundOutcome(metrics, names=names, events=recording.events),
                    payload,
                )
                print(
                    f"round {number}: {scenario}, {seconds:.0f} s, {payload['team']['cars']} cars"
                )
            data = gather(store, game)
        sizes = {fmt: len(render(data, fmt).encode()) for fmt in ("html", "md", "json", "csv")}
    for fmt, size in sizes.items():
        print(f"{fmt:5s} {size / 1024:8.1f} KB")
    verdict = "within" if sizes["html"] <= 400 * 1024 else "OVER"
    print(
        f"SUMMARY: 3-round workshop report, HTML {sizes['html'] / 1024:.0f} KB "
        f"({verdict} the 400 KB aim), Markdown {sizes['md'] / 1024:.0f} KB"
    )


if __name__ == "__main__":
    main()
