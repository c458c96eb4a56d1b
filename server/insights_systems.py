"""The systems-thinking cards: one action's cost to everyone, braking that amplifies
backwards, late reactions, a cause far away, faster is slower, the passing lane as a commons.

Each detector returns a card only when this round's data shows its pattern (server/insights.py
says why), built from the round's Context (server/insight_context.py).
"""

from __future__ import annotations

import statistics
from typing import Any

from server.insight_context import (
    CUT_IN,
    Context,
    cars_phrase,
    chain_span,
    clock,
    diagram_window,
    drivers_phrase,
    effect,
    longest_chain,
    make_card,
    sentence,
)
from server.wave_chains import Root
from server.waves import ring_distance

GROWTH = 1.25  # the hardest braking behind must be this much harder than the first
DISTANT_M = 150.0  # "the cause was far away": at least this far up the road ...
DISTANT_S = 8.0  # ... and this long before
WAVE_REACH = 3  # a wave card needs a wave that reached this many cars
COMMONS_SHARE = 1.2  # the passing lane held this many times its fair share of the cars


def wave_root(ctx: Context) -> dict[str, Any] | None:
    root = ctx.costliest()
    if root is None:
        return None
    cf = root.counterfactual or {}
    total = float(ctx.team.get("delay_vs") or 0.0)
    share = f" ({cf['cost_vs'] / total:.0%} of the round's delay)" if total > 0 else ""
    start = f"{sentence(ctx.origin(root))} at {clock(ctx.t(root.frames[0]))} ({root.x:.0f} m)"
    over = f"over the next {cf['to_t'] - cf['from_t']:.0f} s"
    if root.kind == "incident":
        pattern = (
            f"{start} made {cars_phrase(root.reached)} brake in turn. Replayed without it, the "
            f"road lost {cf['counterfactual_vs']:.0f} vehicle-seconds {over} instead of "
            f"{cf['factual_vs']:.0f}: the incident cost the road {cf['cost_vs']:.0f} "
            f"vehicle-seconds{share}."
        )
    else:
        pattern = (
            f"{start} made {cars_phrase(root.reached)} brake in turn. Replayed with that "
            f"driver driving steadily instead, the other drivers lost "
            f"{cf['counterfactual_vs']:.0f} vehicle-seconds {over} instead of "
            f"{cf['factual_vs']:.0f}: this one action cost them {cf['cost_vs']:.0f} "
            f"vehicle-seconds{share}."
        )
    return make_card(
        "wave_root",
        "systems thinking",
        "One action, everyone's cost",
        pattern,
        "Interdependence: on a shared road the cost of one driver's action is paid by others, "
        "mostly by people who never saw it happen.",
        "Who paid for this action, and could any of them have known where it came from?",
        {
            "car": None if root.kind == "incident" else root.car,
            "reached": root.reached,
            "cost_vs": cf["cost_vs"],
        },
        diagram_window(ctx, root),
        effect(cf["cost_vs"], ctx.material_vs, "vehicle-seconds"),
    )


def _growth(root: Root) -> tuple[float, int]:
    """How much harder the hardest braking behind the start was, and where (chain index)."""
    first = 1 if root.kind in (CUT_IN, "incident") else 0
    if len(root.decel) < first + 3 or root.decel[first] <= 0.1:
        return 0.0, first
    peak = max(range(first + 2, len(root.decel)), key=lambda i: (root.decel[i], -i))
    return root.decel[peak] / root.decel[first], peak


def reinforcing_loop(ctx: Context) -> dict[str, Any] | None:
    grown = [
        (g, peak, r)
        for r in ctx.chains
        if r.reached >= WAVE_REACH and (r.amplification() or 0) > 1.0
        for g, peak in [_growth(r)]
        if g >= GROWTH
    ]
    if not grown:
        return None
    growth, peak, root = max(grown, key=lambda item: (item[0], item[2].reached))
    first = 1 if root.kind in (CUT_IN, "incident") else 0
    ratio = root.amplification() or 0
    pattern = (
        f"At {clock(ctx.t(root.frames[first]))}, {ctx.label(root.chain[first])} braked at "
        f"{root.decel[first]:.1f} m/s²; {cars_phrase(peak - first)} further back, "
        f"{ctx.label(root.chain[peak])} had to brake at {root.decel[peak]:.1f} m/s² — "
        f"{growth:.1f}× as hard. On average each driver braked {ratio:.2f}× as hard as the one "
        "ahead."
    )
    return make_card(
        "reinforcing_loop",
        "systems thinking",
        "Braking amplifies backwards",
        pattern,
        "A reinforcing loop: each driver sees the brake late and has less room, so brakes a "
        "little harder than the car ahead; the loop turns a tap into a stop further back.",
        "What could the second or third driver have done to damp the wave instead of passing "
        "it on, stronger?",
        {
            "ratio": round(ratio, 2),
            "growth": round(growth, 2),
            "reached": root.reached,
            "decel": [round(d, 2) for d in root.decel[:12]],
            "delay_vs": round(root.delay_vs, 1),
        },
        diagram_window(ctx, root),
        effect(growth, GROWTH, "times as hard"),
    )


def delay(ctx: Context) -> dict[str, Any] | None:
    chains = [r for r in ctx.chains if r.reached >= WAVE_REACH]
    root = longest_chain(chains)
    if root is None:
        return None
    lags = [ctx.t(b) - ctx.t(a) for a, b in zip(root.frames[1:], root.frames[2:], strict=False)]
    lag = sum(lags) / len(lags) if lags else 0.0
    dx, dt = chain_span(ctx, root)
    if dt <= 0 or lag <= 0:
        return None
    kmh = dx / dt * 3.6
    pattern = (
        f"In the wave that started at {clock(ctx.t(root.frames[0]))} and reached "
        f"{cars_phrase(root.reached)}, each driver began braking on average {lag:.1f} s after "
        f"the car ahead; the braking spread {dx:.0f} m back up the road, against the traffic, "
        f"in {dt:.0f} s."
    )
    return make_card(
        "delay",
        "systems thinking",
        "Every reaction comes late",
        pattern,
        "Delays in a feedback loop: each driver reacts to what the car ahead did a moment ago, "
        "so everyone corrects too late and then too hard, the way stocks swing in the Beer Game.",
        "What would let you react to the car two or three ahead instead of the one in front?",
        {
            "lag_s": round(lag, 2),
            "span_m": round(dx),
            "span_s": round(dt, 1),
            "wave_kmh": round(kmh),
            "delay_vs": round(root.delay_vs, 1),
        },
        diagram_window(ctx, root),
        effect(root.reached, WAVE_REACH, "cars reached"),
    )


def distant_cause(ctx: Context) -> dict[str, Any] | None:
    best: tuple[int, float, Root, int] | None = None
    for root in ctx.chains:
        for k in range(1, len(root.chain)):
            dx = ring_distance(root.xs[0], root.xs[k], ctx.rec.length)
            dt = ctx.t(root.frames[k]) - ctx.t(root.frames[0])
            if dx < DISTANT_M or dt < DISTANT_S:
                continue
            player = 1 if ctx.rec.kinds.get(root.chain[k]) == "player" else 0
            key = (player, dx)
            if best is None or key > (best[0], best[1]):
                best = (player, dx, root, k)
    if best is None:
        return None
    _, dx, root, k = best
    dt = ctx.t(root.frames[k]) - ctx.t(root.frames[0])
    victim = root.chain[k]
    pattern = (
        f"The braking that reached {ctx.label(victim)} at {clock(ctx.t(root.frames[k]))} "
        f"({root.xs[k]:.0f} m) started with {ctx.origin(root)} "
        f"{dx:.0f} m further up the road and {dt:.0f} s earlier, passed on by "
        f"{cars_phrase(k - 1)} in between."
    )
    return make_card(
        "distant_cause",
        "systems thinking",
        "The cause was far away",
        pattern,
        "Cause and effect are not close in time and space: the jam you are stuck in was started "
        "by someone you cannot see, a while ago.",
        f"Who did {ctx.label(victim)} blame at that moment? Where should the group look for "
        "causes next time?",
        {
            "distance_m": round(dx),
            "seconds": round(dt, 1),
            "between": k - 1,
            "delay_vs": round(root.delay_vs, 1),
        },
        diagram_window(ctx, root, k),
        effect(dx, DISTANT_M, "metres away"),
    )


def faster_is_slower(ctx: Context) -> dict[str, Any] | None:
    rows = [d for d in ctx.drivers if d.get("mean_kmh")]
    if len(rows) < 4:
        return None
    median = statistics.median(d["lane_changes"] for d in rows)
    weavers = [d for d in rows if d["lane_changes"] >= max(4, 3 * median)]
    steady = [d for d in rows if d["lane_changes"] <= 1]
    if not weavers or len(steady) < 3:
        return None
    vw = statistics.fmean(d["mean_kmh"] for d in weavers)
    vs = statistics.fmean(d["mean_kmh"] for d in steady)
    if vs <= 0 or vw > vs:
        return None  # weaving paid off this round: no "faster is slower" to show
    weaver_ids = {d["car"] for d in weavers}
    forced = sum(r.reached for r in ctx.roots if r.kind == CUT_IN and r.car in weaver_ids)
    changes = sum(d["lane_changes"] for d in weavers)
    gain = (vw / vs - 1) * 100
    pattern = (
        f"The {drivers_phrase(len(weavers))} who changed lanes most "
        f"({changes / len(weavers):.0f} changes{' each' if len(weavers) > 1 else ''}) averaged "
        f"{vw:.0f} km/h; the "
        f"{len(steady)} who stayed in lane averaged {vs:.0f} km/h ({gain:+.0f}%)."
    )
    if forced:
        pattern += f" Their cut-ins made {cars_phrase(forced)} brake in turn."
    return make_card(
        "faster_is_slower",
        "systems thinking",
        "Faster is slower",
        pattern,
        "Faster is slower: the move that looks quickest for one driver adds disturbances that "
        "slow the whole road, the weaver included.",
        "Was the weaving worth it? What did it cost the drivers around the weavers?",
        {
            "weavers": len(weavers),
            "weaver_kmh": round(vw, 1),
            "steady": len(steady),
            "steady_kmh": round(vs, 1),
            "forced": forced,
        },
        None,
        effect(-gain, 0.0, "% slower than the steady drivers"),
    )


def commons(ctx: Context) -> dict[str, Any] | None:
    rec = ctx.rec
    if rec.lanes < 2:
        return None
    passing = 0 if ctx.rulebook.get("passing") == "left" else rec.lanes - 1
    occ = [0] * rec.lanes
    vsum = [0.0] * rec.lanes
    for track in rec.tracks.values():
        for lane, v, x in zip(track.lane, track.v, track.x, strict=True):
            if 0 <= lane < rec.lanes and x >= 0:
                occ[lane] += 1
                vsum[lane] += v
    total = sum(occ)
    others = total - occ[passing]
    if total == 0 or occ[passing] == 0 or others == 0:
        return None
    share = occ[passing] / total
    v_pass = vsum[passing] / occ[passing] * 3.6
    v_other = (sum(vsum) - vsum[passing]) / others * 3.6
    if share < COMMONS_SHARE / rec.lanes or v_pass > v_other * 1.10:
        return None
    side = "left" if passing == rec.lanes - 1 else "right"
    pattern = (
        f"The passing lane (the {side}most) held {share:.0%} of the cars — its fair share on "
        f"{rec.lanes} lanes would be {1 / rec.lanes:.0%} — and moved at {v_pass:.0f} km/h "
        f"against {v_other:.0f} km/h in the other lanes."
    )
    return make_card(
        "commons",
        "systems thinking",
        "The passing lane as a commons",
        pattern,
        "The tragedy of the commons: each driver gains by moving into the fast lane; when "
        "everyone does, it is fast for nobody.",
        "What habit would keep the passing lane worth having, for you and for the bots?"
        if ctx.solo
        else "What agreement would keep the passing lane worth having, and how would you hold "
        "each other to it?",
        {"share": round(share, 3), "passing_kmh": round(v_pass, 1), "other_kmh": round(v_other, 1)},
        None,
        effect(share * rec.lanes, COMMONS_SHARE, "times its fair share"),
    )
