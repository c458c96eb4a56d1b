"""The debrief: from a round's own data to the payload every screen and report draws.

`analyse` is called once per round, off the tick thread, after the round ended: it traces the
waves to their roots, replays the costliest ones with their driver as a steady bot, builds the
space-time diagram and the behaviour-over-time series, and asks each insight detector whether
its pattern is in this round. The result is a plain, msgpack-able dict documented in
docs/debrief.md; the server sends it as the `debrief` message and stores it with the round.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgpack

from server import insights, program_debrief, waves
from server.counterfactual import Brancher, counterfactual, incident_cause, incident_counterfactual
from server.counterfactual import window as cf_window
from server.metrics import STOPPED_MPS, FreeFlow, RoundMetrics, mean_adherence
from server.played import RoundInputs, RoundOutcome
from server.recorder import CHECKPOINT_TICKS, Recorder, Recording
from shared.lanes import lane_name
from shared.sim.tuning import DT

PAYLOAD_VERSION = 1
ROOT_WORDS = {"brake": "brake", "cut_in": "cut-in", "crash": "crash", "incident": "incident"}
CAUSE_WORDS = {"host": "The host's", "scenario": "The scenario's", "shock": "The shock's"}
MAX_TIME_BINS = 150
SERIES_BINS = 48
MAX_ROOTS = 8
COUNTERFACTUALS = 3
PAYLOAD_BUDGET = 60_000  # bytes of msgpack; the frame limit is 64 KiB
TEAM_KEYS = (
    "flow_vph",
    "mean_kmh",
    "delay_vs",
    "delay_per_car_s",
    "crashes",
    "near_misses",
    "hard_brakes",
    "lane_changes",
    "unsignalled_changes",
    "adherence",
)


def _scenario(scenario: Any) -> Any:
    if isinstance(scenario, str):
        from shared.sim.scenario import load_scenario

        return load_scenario(scenario)
    return scenario


def rerun(
    scenario: Any,
    seed: int,
    rulebook: Mapping[str, str] | None,
    bots: int | None,
    mix: Mapping[str, float] | None,
    log: Sequence[Sequence[Any]],
    ticks: int,
    checkpoint_ticks: int = 0,
) -> tuple[Any, Recording, dict[str, Any]]:
    """Replay a round from its inputs with a fresh recorder and metrics, tick by tick.

    This is how a stored round is analysed again (the recording is not stored: the log and
    the seed are enough to rebuild it exactly). Returns (world, recording, metrics result).
    """
    from shared.sim.world import World

    world = World(_scenario(scenario), seed, dict(rulebook) if rulebook else None, bots, mix)
    recorder = Recorder(checkpoint_ticks=checkpoint_ticks)
    metrics = RoundMetrics(world)

    def observe(stepped: Any, events: list[Any]) -> None:
        metrics.observe(stepped, events)
        recorder.observe(stepped, events)

    world.run_log(log, until_tick=ticks, on_step=observe)
    return world, recorder.recording(), metrics.result()


def analyse(
    inputs: RoundInputs,
    outcome: RoundOutcome,
    previous: Sequence[Mapping[str, Any]] | None = None,
    *,
    round_no: int | None = None,
    counterfactuals: int = COUNTERFACTUALS,
    solo: bool | None = None,
    final: bool = False,
) -> dict[str, Any]:
    """The debrief payload of one round (docs/debrief.md).

    `outcome.recording` and `outcome.metrics` come from the round's Recorder and RoundMetrics;
    when either is None the round is replayed from its inputs (then `inputs.ticks`, the
    round's length, is needed). `outcome.adherence` is the AdherenceTracker's per-car result;
    `outcome.names` maps player cars to names; `previous` holds the earlier rounds of the
    game, oldest first — their metrics results or their debrief payloads (anything with a
    "team" map). `solo` (default: at most one named player) words the cards for a driver
    alone, who agreed nothing with anyone. `final` marks the last round of a program: its
    payload carries the end-of-program debrief (`program`).
    """
    scenario, seed, rulebook = inputs.scenario, inputs.seed, inputs.rulebook
    bots, mix, log, ticks = inputs.bots, inputs.mix, inputs.log, inputs.ticks
    recording, metrics = outcome.recording, outcome.metrics
    adherence, names = outcome.adherence, outcome.names
    scenario = _scenario(scenario)
    if recording is None or metrics is None:
        if ticks is None:
            raise ValueError("analysing a round without its recording needs its length in ticks")
        _, rec2, met2 = rerun(scenario, seed, rulebook, bots, mix, log, ticks, CHECKPOINT_TICKS)
        recording = recording or rec2
        metrics = metrics or met2
    rec = recording
    if rec.length <= 0:  # the round ended before its first tick: take the road from the plan
        rec.length, rec.lanes = float(scenario.length), int(scenario.lanes)
        rec.road = {"length": rec.length, "lanes": rec.lanes, "gantry": scenario.gantry}
    previous = list(previous or [])
    round_no = round_no if round_no is not None else len(previous) + 1
    names = {int(k): str(v) for k, v in (names or {}).items() if v}
    book = dict(rulebook) if rulebook is not None else dict(rec.rulebook or {})
    team, drivers = _figures(metrics, adherence or {}, names)

    free = FreeFlow(rec.road, rec.rulebook)
    free.desired.update(rec.desired)
    all_roots = waves.trace_roots(rec)
    taps = waves.trace_taps(rec, all_roots)[:MAX_ROOTS]
    # incidents are few and chosen by nobody at the wheel: every one is kept and replayed
    incidents = [r for r in all_roots if r.kind == "incident"][:MAX_ROOTS]
    roots = [*incidents, *(r for r in all_roots if r.kind != "incident")][:MAX_ROOTS]
    for root in incidents:  # without the log, who blocked the lane is not known ("")
        root.cause = incident_cause(log, root.tick, root.lane) if log is not None else ""
    if counterfactuals and roots and log is not None:
        brancher = Brancher(scenario, seed, rulebook, bots, mix, log, rec)
        # a steady bot already drives like the replacement: nothing to compare; crashes first
        drivers_roots = sorted(
            (r for r in roots if r.kind != "incident" and not _steady_bot(rec, r.car)),
            key=lambda r: r.kind != "crash",
        )
        chosen = [*incidents, *drivers_roots][: max(counterfactuals, len(incidents))]
        brancher.prepare(
            [rec.frames[w[0]] for r in chosen if (w := cf_window(rec, r.tick)) is not None]
        )
        for root in chosen:
            if root.kind == "incident":
                root.counterfactual = incident_counterfactual(brancher, root.tick, root.lane, free)
            else:
                root.counterfactual = counterfactual(brancher, root.car, root.tick, free)

    threshold = insights.material_vs(team.get("delay_vs"))
    roots = rank_roots(roots, threshold)
    solo = len(names) <= 1 if solo is None else bool(solo)
    rows = [round_row(p, i + 1) for i, p in enumerate(previous)]
    this_row = round_row({"team": team, "scenario": scenario.name, "rulebook": book}, round_no)
    ctx = insights.Context(
        rec, roots, drivers, team, book, rows, round_no, names, taps, threshold, solo
    )
    diagram, paths = space_time(rec, names)
    payload = {
        "version": PAYLOAD_VERSION,
        "round": round_no,
        "scenario": scenario.name,
        "seed": int(seed),
        "rulebook": book,
        "duration_s": round(rec.duration, 2),
        "ticks": rec.last_tick - rec.tick0,
        "road": {
            "length": rec.length,
            "lanes": rec.lanes,
            "gantry": float(rec.road.get("gantry", 0.0) or 0.0),
        },
        "team": team,
        "drivers": drivers,
        "diagram": diagram,
        "paths": paths,
        "series": series(rec),
        "material_vs": threshold,
        "one_player": solo,
        "jam": jam(diagram),
        "roots": [root_payload(ctx, r) for r in roots],
        "cards": insights.cards(ctx),
        "rounds": [*rows, this_row],
        "program": program_debrief.summary([*rows, this_row], solo) if final else None,
    }
    return fit(payload)


def rank_roots(roots: list[waves.Root], threshold: float) -> list[waves.Root]:
    """Roots as the Waves tab and the reveal show them: those whose counterfactual cost is
    material first, costliest first; then the rest by cost when replayed, else by the delay
    of the cars they reached. So the first root is the one the reveal and the wave_root card
    name — the same root everywhere."""

    def key(root: waves.Root) -> tuple[bool, float, int, int]:
        cf = root.counterfactual
        size = cf["cost_vs"] if cf is not None else root.delay_vs
        return (not _material(root, threshold), -size, root.tick, root.car)

    return sorted(roots, key=key)


def _material(root: waves.Root, threshold: float) -> bool:
    cf = root.counterfactual
    return cf is not None and cf["cost_vs"] >= max(threshold, 1.0)


JAM_KMH = 30.0  # a jam: a stretch of road whose mean speed fell below this ...
JAM_SHARE = 1 / 3  # ... and below this share of the round's usual top speed (vmax_kmh)


def jam(diagram: Mapping[str, Any]) -> dict[str, Any]:
    """Whether the round had a real jam, where it first showed, and the slowest moment.

    `found` when a cell of the space-time diagram fell below the jam speed; `start` is the
    first such cell (time, then the slowest), `slowest` the slowest cell of the round. A
    round without a jam asks a different question in the debrief ("where was traffic
    slowest?") instead of where a jam started.
    """
    grid = diagram.get("kmh") or []
    limit = min(JAM_KMH, float(diagram.get("vmax_kmh") or 0) * JAM_SHARE)
    t_bin, x_bin = float(diagram.get("t_bin_s") or 0), float(diagram.get("x_bin_m") or 0)

    def cell(i: int, j: int) -> dict[str, float]:
        return {
            "t": round((i + 0.5) * t_bin, 1),
            "x": round((j + 0.5) * x_bin, 1),
            "kmh": grid[i][j],
        }

    cells = [(v, i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if v >= 0]
    if not cells:
        return {"found": False, "limit_kmh": round(limit, 1), "start": None, "slowest": None}
    slow = min(cells)
    first = min(((i, v, j) for v, i, j in cells if v < limit), default=None)
    return {
        "found": first is not None,
        "limit_kmh": round(limit, 1),
        "start": None if first is None else cell(first[0], first[2]),
        "slowest": cell(slow[1], slow[2]),
    }


def _steady_bot(rec: Recording, car: int) -> bool:
    return rec.kinds.get(car) == "bot" and rec.personalities.get(car) == "steady"


# ---- figures ---------------------------------------------------------------------------------


def _figures(
    metrics: Mapping[str, Any], adherence: Mapping[Any, Any], names: Mapping[int, str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Team and per-driver rows from the metrics, with names and adherence scores joined in."""
    team = dict(metrics.get("team", {}))
    drivers = []
    for row in metrics.get("drivers", ()):
        d = dict(row)
        car = int(d["car"])
        d["name"] = names.get(car) if d.get("kind") == "player" or car in names else None
        entry = adherence.get(car) or adherence.get(str(car))
        if d.get("adherence") is None and isinstance(entry, Mapping):
            score = entry.get("score")
            d["adherence"] = None if score is None else round(float(score))
        drivers.append(d)
    if team.get("adherence") is None and adherence:
        value = mean_adherence(adherence)
        team["adherence"] = None if value is None else round(value)
    return team, drivers


def round_row(item: Mapping[str, Any], number: int) -> dict[str, Any]:
    """One row of the round-by-round comparison, from a metrics result or a debrief payload."""
    team = item.get("team", {}) or {}
    return {
        "round": int(item.get("round", number) or number),
        "scenario": item.get("scenario"),
        "rulebook": item.get("rulebook"),
        **{k: team.get(k) for k in TEAM_KEYS},
    }


# ---- the space-time diagram and the series ----------------------------------------------------


def _frames_per(rec: Recording, bins: int) -> int:
    return max(1, math.ceil(len(rec.frames) / bins))


def space_time(
    rec: Recording, names: Mapping[int, str]
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Mean speed per (time bin, position bin), and each player car's position per time bin."""
    k = _frames_per(rec, MAX_TIME_BINS)
    times = math.ceil(len(rec.frames) / k) if rec.frames else 0
    cells = min(64, max(16, round(rec.length / 25)))
    x_bin = rec.length / cells
    sums = [[0.0] * cells for _ in range(times)]
    counts = [[0] * cells for _ in range(times)]
    vmax = 0.0
    for track in rec.tracks.values():
        start = track.start
        for i, (x, v) in enumerate(zip(track.x, track.v, strict=True)):
            if x < 0:
                continue
            t = (start + i) // k
            j = min(cells - 1, int(x / x_bin))
            sums[t][j] += v
            counts[t][j] += 1
            if v > vmax:
                vmax = v
    grid = [
        [round(s / c * 3.6) if c else -1 for s, c in zip(srow, crow, strict=True)]
        for srow, crow in zip(sums, counts, strict=True)
    ]
    diagram = {
        "t_bin_s": round(k * rec.sample_ticks * DT, 3),
        "x_bin_m": round(x_bin, 3),
        "times": times,
        "cells": cells,
        "vmax_kmh": _scale_top(grid, vmax),
        "kmh": grid,
    }
    paths = []
    for car in sorted(c for c, kind in rec.kinds.items() if kind == "player"):
        path_track = rec.tracks.get(car)
        if path_track is None:
            continue
        xs = []
        for t in range(times):
            at = path_track.at(min(len(rec.frames) - 1, t * k + k // 2))
            ok = at is not None and path_track.x[at] >= 0
            xs.append(round(path_track.x[at]) if at is not None and ok else -1)
        paths.append({"car": car, "name": names.get(car) or f"car {car}", "x": xs})
    return diagram, paths


def _scale_top(grid: list[list[int]], vmax: float) -> int:
    """Top of the colour scale: the speed most of the road reached (90th percentile of the
    cells), so that this round's normal flow reads as free and its waves stand out."""
    values = sorted(v for row in grid for v in row if v >= 0)
    if not values:
        return 30
    top = values[min(len(values) - 1, int(len(values) * 0.9))]
    return max(30, min(int(math.ceil(vmax * 3.6 / 10) * 10), int(math.ceil(top / 10) * 10)))


def series(rec: Recording) -> dict[str, Any]:
    """Mean speed, flow past the gantry, stopped cars and hard brakes per time bin."""
    k = _frames_per(rec, SERIES_BINS)
    n = math.ceil(len(rec.frames) / k) if rec.frames else 0
    v_sum = [0.0] * n
    v_cnt = [0] * n
    stopped = [0] * n
    for track in rec.tracks.values():
        for i, (x, v) in enumerate(zip(track.x, track.v, strict=True)):
            if x < 0:
                continue
            b = (track.start + i) // k
            v_sum[b] += v
            v_cnt[b] += 1
            if v < STOPPED_MPS:
                stopped[b] += 1
    frames_in = [min(k, len(rec.frames) - b * k) for b in range(n)]
    bin_s = k * rec.sample_ticks * DT
    flow = [0] * n
    brakes = [0] * n
    ticks_per_bin = k * rec.sample_ticks
    for ev in rec.events:
        b = (ev.tick - rec.tick0) // ticks_per_bin  # event of step e: state e + 1
        if not 0 <= b < n:
            continue
        if ev.kind == "gantry":
            flow[b] += 1
        elif ev.kind == "hard_brake":
            brakes[b] += 1
    return {
        "t_bin_s": round(bin_s, 3),
        "t": [round(b * bin_s, 2) for b in range(n)],
        "mean_kmh": [
            round(s / c * 3.6, 1) if c else 0.0 for s, c in zip(v_sum, v_cnt, strict=True)
        ],
        "flow_vph": [
            round(f * 3600 / (frames_in[b] * rec.sample_ticks * DT)) for b, f in enumerate(flow)
        ],
        "stopped": [round(s / frames_in[b], 1) for b, s in enumerate(stopped)],
        "hard_brakes": brakes,
    }


# ---- roots -----------------------------------------------------------------------------------


def root_subject(ctx: insights.Context, root: waves.Root) -> str:
    """Who or what started a root, as a sentence's subject: "Ana's cut-in at 1:10", or for
    an incident "The host's incident in lane 2 at 1:10" — an incident is never a driver's."""
    when = insights.clock(ctx.t(root.frames[0]))
    what = ROOT_WORDS.get(root.kind, root.kind)
    if root.kind == "incident":
        whose = CAUSE_WORDS.get(root.cause, "The")
        return f"{whose} incident in {lane_name(root.lane)} at {when}"
    return f"{ctx.label(root.car, root.tick)}'s {what} at {when}"


def root_payload(ctx: insights.Context, root: waves.Root) -> dict[str, Any]:
    subject = root_subject(ctx, root)
    incident = root.kind == "incident"
    cf = root.counterfactual
    if cf is None:
        text = f"{subject} made {insights.cars_phrase(root.reached)} brake in turn"
    elif cf["cost_vs"] >= 0.5:
        text = f"{subject} cost the road {cf['cost_vs']:.0f} vehicle-seconds"
        if not _material(root, ctx.material_vs):
            text += f", below the {ctx.material_vs:.0f} that would make it matter"
    else:
        text = (
            f"{subject} made {insights.cars_phrase(root.reached)} brake, but the road lost no "
            f"time overall from it (replayed: {-cf['cost_vs']:.0f} vehicle-seconds the other way)"
        )
    dx = waves.ring_distance(root.xs[0], root.xs[-1], ctx.rec.length)
    amp = root.amplification()
    return {
        "car": None if incident else root.car,
        "name": None if incident or ctx.stand_in(root.car, root.tick) else ctx.names.get(root.car),
        "kind": root.kind,
        "cause": (root.cause or None) if incident else None,
        "t": round(ctx.t(root.frames[0]), 2),
        "x": round(root.x, 1),
        "lane": root.lane,
        "reached": root.reached,
        "chain": root.chain[:40],
        "decel": [round(d, 2) for d in root.decel[:40]],
        "amplification": None if amp is None else round(amp, 3),
        "delay_vs": round(root.delay_vs, 1),
        "span_m": round(dx, 1),
        "span_s": round(ctx.t(root.frames[-1]) - ctx.t(root.frames[0]), 2),
        "counterfactual": cf,
        "material": _material(root, ctx.material_vs),
        "text": insights.sentence(text),
    }


def fit(payload: dict[str, Any]) -> dict[str, Any]:
    """Keep the payload under the frame budget: bots' rows go first, then diagram detail."""
    size = len(msgpack.packb(payload, use_bin_type=True))
    if size <= PAYLOAD_BUDGET:
        return payload
    payload["drivers"] = [d for d in payload["drivers"] if d.get("kind") == "player"]
    while len(msgpack.packb(payload, use_bin_type=True)) > PAYLOAD_BUDGET:
        diagram = payload["diagram"]
        if diagram["times"] < 20:
            payload["paths"] = payload["paths"][:20]
            break
        diagram["kmh"] = diagram["kmh"][::2]
        diagram["times"] = len(diagram["kmh"])
        diagram["t_bin_s"] = diagram["t_bin_s"] * 2
        for path in payload["paths"]:
            path["x"] = path["x"][::2]
    return payload
