"""Helpers shared by the debrief tests (tests/test_debrief_*.py): play a scripted round.

A round here is what the server does, minus the network: a World stepped tick by tick with
scripted player controls, observed by RoundMetrics and the Recorder, then analysed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from server.debrief import analyse
from server.metrics import RoundMetrics
from server.recorder import Recorder, Recording
from server.report import gather
from server.store import Store
from shared.sim.scenario import Scenario, load_scenario
from shared.sim.world import World

Controls = Callable[[int, list[int]], dict[int, list[tuple[str, Any]]]]


def scenario_toml(
    name: str,
    length: float,
    lanes: int,
    cars: int,
    mix: dict[str, float],
    rulebook: dict[str, str] | None = None,
    drivers: dict[str, float] | None = None,
) -> str:
    """A scenario file's text (tests write it to tmp_path so stored rounds can load it)."""
    mix_text = ", ".join(f"{k} = {v}" for k, v in mix.items())
    lines = [
        f'name = "{name}"',
        "seconds = 240",
        "[road]",
        f"length = {length}",
        f"lanes = {lanes}",
        "gantry = 0",
        "[traffic]",
        f"cars = {cars}",
        f"mix = {{ {mix_text} }}",
    ]
    if drivers:
        lines.append("[drivers]")
        lines += [f"{k} = {v}" for k, v in drivers.items()]
    if rulebook:
        lines.append("[rulebook]")
        lines += [f'{k} = "{v}"' for k, v in rulebook.items()]
    return "\n".join(lines) + "\n"


def write_scenario(directory: Path, text: str) -> str:
    path = directory / "scenario.toml"
    path.write_text(text)
    return str(path)


@dataclass
class Played:
    scenario: Scenario
    scenario_ref: str
    seed: int
    world: World
    recording: Recording
    metrics: dict[str, Any]
    players: list[int]
    names: dict[int, str]
    payload: dict[str, Any] | None = None


def play(
    scenario_ref: str,
    seed: int,
    seconds: float,
    players: int = 0,
    controls: Controls | None = None,
    names: list[str] | None = None,
    previous: list[dict[str, Any]] | None = None,
    rulebook: dict[str, str] | None = None,
    analyse_it: bool = True,
    checkpoint_ticks: int = 400,
) -> Played:
    """Play a round of `seconds` with `players` player cars driven by `controls(tick, cars)`."""
    scenario = load_scenario(scenario_ref)
    world = World(scenario, seed=seed, rulebook=rulebook)
    cars = [world.add_player_car() for _ in range(players)]
    if controls is not None and hasattr(controls, "world"):
        controls.world = world  # a controller that watches the road (see CutIn in the tests)
    metrics = RoundMetrics(world)
    recorder = Recorder(checkpoint_ticks=checkpoint_ticks)
    for _ in range(round(seconds / 0.05)):
        ctl = controls(world.tick, cars) if controls else {}
        events = world.step(ctl)
        metrics.observe(world, events)
        recorder.observe(world, events)
    label = dict(zip(cars, names or [f"P{i}" for i in range(len(cars))], strict=False))
    played = Played(
        scenario, scenario_ref, seed, world, recorder.recording(), metrics.result(), cars, label
    )
    if analyse_it:
        played.payload = analyse(
            scenario,
            seed,
            rulebook,
            None,
            None,
            world.log,
            played.recording,
            played.metrics,
            {},
            label,
            previous or [],
        )
    return played


def brake_at(seconds: float, presses: int = 8) -> Controls:
    """Every player car presses brake `presses` times in a row from `seconds` on (a hard stop)."""
    first = round(seconds / 0.05)

    def controls(tick: int, cars: list[int]) -> dict[int, list[tuple[str, Any]]]:
        if first <= tick < first + presses * 5 and (tick - first) % 5 == 0:
            return {car: [("brake", None)] for car in cars}
        return {}

    return controls


def stored_report(played: Played, path: Path, code: str, program: str, host: str) -> dict[str, Any]:
    """Save `played` as round 1 of a new game in the history file at `path` and gather that
    game as `interlane report` does (what the report's renderers are given)."""
    assert played.payload is not None, "the round was not analysed"
    with Store(path) as store:
        game = store.create_game(code, program, host)
        store.save_round(
            game,
            1,
            played.scenario_ref,
            played.seed,
            None,
            None,
            None,
            played.world.log,
            played.metrics,
            played.recording.events,
            played.payload,
            names=played.names,
            ticks=played.world.tick,
        )
        return gather(store, game)
