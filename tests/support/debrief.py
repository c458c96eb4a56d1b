"""Helpers shared by the debrief tests (tests/debrief/): play a scripted round, check its payload.

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
from server.played import RoundInputs, RoundOutcome
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

    @property
    def debrief(self) -> dict[str, Any]:
        """The debrief payload of a round played with `analyse_it` (the default)."""
        assert self.payload is not None, "the round was played without its analysis"
        return self.payload

    @property
    def stored_inputs(self) -> RoundInputs:
        """The round's inputs as the tests store them: its scenario by file, default rules."""
        return RoundInputs(
            self.scenario_ref, self.seed, None, None, None, self.world.log, self.world.tick
        )

    @property
    def outcome(self) -> RoundOutcome:
        """What the round measured, as the store takes it."""
        return RoundOutcome(self.metrics, names=self.names, events=self.recording.events)


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
            RoundInputs(scenario, seed, rulebook, None, None, world.log),
            RoundOutcome(played.metrics, {}, played.recording, label),
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
        store.save_round(game, 1, played.stored_inputs, played.outcome, played.debrief)
        return gather(store, game)


# the host's incident round (tests/debrief/test_incident.py, tests/client/test_debrief_incident.py)
INCIDENT_TICK = 400  # 20 s into the round
SECONDS = 60.0


class InjectIncident:
    """Scripted controls that block a lane at a known tick, as the host's `i` does."""

    world: World | None = None

    def __init__(self, tick: int, lane: int, x: float, seconds: float, source: str = "host"):
        self.tick, self.lane, self.x, self.seconds, self.source = tick, lane, x, seconds, source

    def __call__(self, tick: int, cars: list[int]) -> dict[int, list[tuple[str, Any]]]:
        if tick == self.tick and self.world is not None:
            self.world.inject_incident(self.lane, self.x, self.seconds, self.source)
        return {}


# the wave cards whose figures carry the wave's delay, which must be material
WAVE_DELAY_CARDS = {"reinforcing_loop", "delay", "distant_cause"}


def check_payload(payload: dict[str, Any]) -> None:
    """Everything a debrief claims passes its threshold; the first root is the costliest."""
    length = payload["road"]["length"]
    threshold = payload["material_vs"]
    assert threshold >= 10.0
    roots = payload["roots"]
    for card in payload["cards"]:
        size = card["effect"]
        assert size is not None and size["value"] >= size["threshold"], card
        if card["id"] in WAVE_DELAY_CARDS:
            assert card["figures"]["delay_vs"] >= threshold, card
        if card["id"] == "distant_cause":
            assert card["figures"]["distance_m"] <= length / 2
        if card["id"] == "wave_root":
            assert roots and roots[0]["material"] and card["figures"]["car"] == roots[0]["car"]
            assert card["figures"]["cost_vs"] == roots[0]["counterfactual"]["cost_vs"]
    costs = [r["counterfactual"]["cost_vs"] for r in roots if r["material"]]
    assert costs == sorted(costs, reverse=True)
    flags = [r["material"] for r in roots]
    assert flags == sorted(flags, reverse=True)  # the material roots come first
    for root in roots:
        assert root["span_m"] <= length / 2 + 0.1
        if root["kind"] == "incident":  # named by its cause, never blamed on a driver
            assert root["car"] is None and root["name"] is None
            assert root["cause"] in ("host", "shock", "scenario")
        if root["material"]:
            assert root["counterfactual"]["cost_vs"] >= threshold
    has_wave_card = any(c["id"] == "wave_root" for c in payload["cards"])
    assert has_wave_card == bool(roots and roots[0]["material"])
