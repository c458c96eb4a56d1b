"""Counterfactual replays: what the road would have lost had one driver driven steadily.

The simulation is a pure function of (scenario, seed, input log), so the round can be branched
shortly before a wave root, the root's driver handed to a steady bot (their own inputs left
out of the log from then on), and the rest of the round's inputs replayed unchanged. The total
delay of every car over the following window, against the same window of the real round, is
what that one action cost the group. Delay is measured tick by tick with the same yardstick as
the round's own metrics (server.metrics.FreeFlow), so "41 vehicle-seconds" means the same in
both runs.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from server.metrics import FreeFlow
from server.recorder import Recording
from shared.sim.tuning import DT

LEAD_S = 2.0  # the branch starts this long before the root
WINDOW_S = 45.0  # and the delay is compared over this long


class Brancher:
    """Produces worlds at given ticks of the round, as cheaply as the recording allows.

    With checkpoints (world copies the recorder kept), a branch starts from the nearest copy
    at or before the tick and replays at most the gap. Without them (a round read back from
    the history file), the round is replayed once from the start, and copies are kept on the
    way for every tick asked for in `prepare`.
    """

    def __init__(
        self,
        scenario: Any,
        seed: int,
        rulebook: Mapping[str, str] | None,
        bots: int | None,
        mix: Mapping[str, float] | None,
        log: Sequence[Sequence[Any]],
        rec: Recording,
    ) -> None:
        self.args = (scenario, seed, dict(rulebook) if rulebook is not None else None, bots, mix)
        self.log = [tuple(e) for e in log]
        self.rec = rec
        self.copies: dict[int, Any] = dict(rec.checkpoints)

    def _fresh(self) -> Any:
        from shared.sim.world import World

        scenario, seed, rulebook, bots, mix = self.args
        return World(scenario, seed, rulebook, bots, mix)

    def prepare(self, ticks: Sequence[int]) -> None:
        """Make sure a cheap start exists for each tick (one pass from the start if needed)."""
        need = sorted(t for t in set(ticks) if not any(c <= t for c in self.copies))
        if not need:
            return
        world = self._fresh()
        for tick in need:
            world.run_log(self.log, until_tick=tick)
            self.copies[tick] = copy.deepcopy(world)

    def world_at(self, tick: int) -> Any:
        """A private copy of the world exactly as it was at `tick` (before that tick's inputs)."""
        starts = [c for c in self.copies if c <= tick]
        world = copy.deepcopy(self.copies[max(starts)]) if starts else self._fresh()
        world.run_log(self.log, until_tick=tick)
        return world


def run_window(
    world: Any,
    log: Sequence[Sequence[Any]],
    end_tick: int,
    free: FreeFlow,
    skip: frozenset[int] = frozenset(),
    per_car: dict[int, float] | None = None,
) -> float:
    """Step `world` to `end_tick` with the round's inputs (minus `skip` cars'), summing delay.

    World.run_log applies the inputs; this only measures. `per_car` collects each car's share
    of the delay.
    """
    total = 0.0

    def add_delay(stepped: Any, _events: list[Any]) -> None:
        nonlocal total
        total += free.tick_delay(stepped.cars.values(), per_car)

    world.run_log(log, until_tick=end_tick, skip_cars=skip, on_step=add_delay)
    return total


def window(rec: Recording, root_tick: int) -> tuple[int, int] | None:
    """Frames (start, end) of the comparison window for a root: from LEAD_S before it, for
    WINDOW_S, on sample ticks so the recording's per-car totals line up exactly."""
    if not rec.frames:
        return None
    step = rec.sample_ticks
    first = (root_tick - int(LEAD_S / DT) - rec.tick0) // step - 1
    start = max(0, first)
    end = min(len(rec.frames) - 1, start + int(WINDOW_S / DT) // step)
    if (end - start) * step < int(5 / DT):
        return None  # too close to the end of the round to say anything
    return start, end


def counterfactual(
    brancher: Brancher, car: int, root_tick: int, free: FreeFlow
) -> dict[str, Any] | None:
    """Replay the window around a root with `car` driven by a steady bot; None if impossible.

    Compared is the delay of everyone else: the driver's own time is theirs to spend, the
    question is what their action cost the others.
    """
    rec = brancher.rec
    frames = window(rec, root_tick)
    track = rec.tracks.get(car)
    if frames is None or track is None:
        return None
    fs, fe = frames
    start, end = rec.frames[fs], rec.frames[fe]
    world = brancher.world_at(start)
    if car not in world.cars:
        return None
    if world.cars[car].controller == "bot":
        # set_controller ignores a bot-to-bot change: hand the car over and back to swap the
        # personality (both inside this private branch)
        world.set_controller(car, "player")
    world.set_controller(car, "bot", "steady")
    own: dict[int, float] = {}
    cf_total = run_window(world, brancher.log, end, free, frozenset({car}), own)
    cf = cf_total - own.get(car, 0.0)
    factual_total = sum(rec.delay_ticks[start - rec.tick0 : end - rec.tick0])
    factual = factual_total - (track.delay_until(fe) - track.delay_until(fs))
    return {
        "from_t": round((start - rec.tick0) * DT, 2),
        "to_t": round((end - rec.tick0) * DT, 2),
        "factual_vs": round(factual, 1),
        "counterfactual_vs": round(cf, 1),
        "cost_vs": round(factual - cf, 1),
    }


def incident_cause(log: Sequence[Sequence[Any]], tick: int, lane: int) -> str:
    """Who blocked the lane: "host" or "shock" (a program's) when the input log holds the
    incident (World.inject_incident), else "scenario" (its schedule is not logged)."""
    for entry in log:
        if int(entry[0]) == tick and entry[1] == "incident" and int(entry[2][0]) == lane:
            args = entry[2]
            return str(args[3]) if len(args) > 3 else "host"
    return "scenario"


def without_incident(
    log: Sequence[Sequence[Any]], world: Any, tick: int, lane: int
) -> list[tuple[Any, ...]] | None:
    """The input log with the round's incident at (tick, lane) left out — or, for a
    scenario's incident, the branched `world` told to skip it. None if it was not found."""
    for i, entry in enumerate(log):
        if int(entry[0]) == tick and entry[1] == "incident" and int(entry[2][0]) == lane:
            return [tuple(e) for e in (*log[:i], *log[i + 1 :])]
    if world.cancel_scheduled_incident(tick, lane):
        return [tuple(e) for e in log]
    return None


def incident_counterfactual(
    brancher: Brancher, tick: int, lane: int, free: FreeFlow
) -> dict[str, Any] | None:
    """Replay the window around an incident without that incident; None if impossible.

    Compared is everyone's delay: no driver caused an incident, so nobody's own time is left
    out. The branch starts before the incident (LEAD_S), so only that one incident is dropped
    and every other input of the round is replayed as it came.
    """
    rec = brancher.rec
    frames = window(rec, tick)
    if frames is None:
        return None
    fs, fe = frames
    start, end = rec.frames[fs], rec.frames[fe]
    if start > tick:
        return None
    world = brancher.world_at(start)
    log = without_incident(brancher.log, world, tick, lane)
    if log is None:
        return None
    cf = run_window(world, log, end, free)
    factual = sum(rec.delay_ticks[start - rec.tick0 : end - rec.tick0])
    return {
        "from_t": round((start - rec.tick0) * DT, 2),
        "to_t": round((end - rec.tick0) * DT, 2),
        "factual_vs": round(factual, 1),
        "counterfactual_vs": round(cf, 1),
        "cost_vs": round(factual - cf, 1),
    }


def replay_delay(brancher: Brancher, start: int, end: int, free: FreeFlow) -> float:
    """The factual window re-simulated (no driver changed): equal to the recorded delay when
    the replay is exact, which the tests check."""
    world = brancher.world_at(start)
    return run_window(world, brancher.log, end, free)
