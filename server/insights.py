"""Insight cards: a detected pattern in this round's data, paired with a systems-thinking idea.

Each detector looks for one pattern and returns a card only when the round shows it, with the
numbers that show it and where to look on the space-time diagram; otherwise it returns None.
That is the rule that keeps the debrief honest: no card is shown "because it is always shown".
The ideas and questions are fixed per card (they are the lesson); the pattern is always built
from the figures of this round.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.recorder import Recording
from server.waves import Root, ring_box, ring_distance
from shared.conventions import CONVENTIONS, default_rulebook
from shared.lanes import lane_name

CUT_IN = "cut_in"
WHAT = {
    "brake": "brake",
    "cut_in": "lane change",
    "tap": "light braking",
    "crash": "crash",
    "incident": "incident",
}
INCIDENT_CAUSES = {"host": "the host's", "scenario": "the scenario's", "shock": "the shock's"}
GROWTH = 1.25  # the hardest braking behind must be this much harder than the first
# What counts as material (docs/debrief.md, "Thresholds"): a root's counterfactual cost, or a
# traced wave's delay, of at least MATERIAL_VS vehicle-seconds or MATERIAL_SHARE of the
# round's whole delay, whichever is less — but never below MATERIAL_FLOOR_VS, so a tiny round
# does not headline noise.
MATERIAL_VS = 60.0
MATERIAL_SHARE = 0.02
MATERIAL_FLOOR_VS = 10.0
DISTANT_M = 150.0  # "the cause was far away": at least this far up the road ...
DISTANT_S = 8.0  # ... and this long before
WAVE_REACH = 3  # a wave card needs a wave that reached this many cars
COMMONS_SHARE = 1.2  # the passing lane held this many times its fair share of the cars
UNSIGNALLED_MIN = 3  # "different pictures": at least this many lane changes without warning
MASTERY_RATIO = 1.5  # the roughest player varied speed this many times the smoothest's
SOLO_MASTERY_RATIO = 2.0  # a lone player against the steady bots: this far either way
LEARNING_CHANGE = 0.10  # a round-over-round change of at least 10 %


def material_vs(round_delay_vs: float | None) -> float:
    """The smallest cost (vehicle-seconds) worth a card or a reveal in a round with this
    total delay: see MATERIAL_VS."""
    share = MATERIAL_SHARE * max(0.0, float(round_delay_vs or 0.0))
    return round(max(MATERIAL_FLOOR_VS, min(MATERIAL_VS, share)), 1)


def effect(value: float, threshold: float, unit: str) -> dict[str, Any]:
    """A card's effect size beside the threshold it passed (docs/debrief.md, `effect`)."""
    return {"value": round(float(value), 3), "threshold": round(float(threshold), 3), "unit": unit}


def sentence(text: str) -> str:
    """Text that starts a sentence, with its first letter capitalised ("a hurried bot …")."""
    return text[:1].upper() + text[1:] if text else text


def count(n: int, noun: str) -> str:
    """'1 hard brake', '3 hard brakes': card text reads as written by a person."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def cars_phrase(n: int) -> str:
    return count(n, "car")


def _drivers(n: int) -> str:
    return count(n, "driver")


def clock(t: float) -> str:
    t = max(0, int(round(t)))
    return f"{t // 60}:{t % 60:02d}"


@dataclass
class Context:
    """Everything the detectors read, assembled once by the debrief."""

    rec: Recording
    roots: list[Root]
    drivers: list[dict[str, Any]]
    team: dict[str, Any]
    rulebook: Mapping[str, str]
    previous: list[dict[str, Any]]  # earlier rounds' rows (see debrief.round_row)
    round_no: int
    names: Mapping[int, str]
    taps: list[Root] = field(default_factory=list)  # growing waves from gentle braking
    material_vs: float = 0.0  # the round's threshold (material_vs); 0 in unit tests
    solo: bool = False  # one player, nobody to agree with: wording says "the rulebook"
    by_car: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_car = {d["car"]: d for d in self.drivers}
        # when a bot drove a player's car for its disconnected player: car -> [(from, to)]
        self.stand_ins: dict[int, list[tuple[int, int]]] = {}
        began: dict[int, int] = {}
        for ev in getattr(self.rec, "events", ()):
            if ev.kind == "takeover" and ev.car is not None:
                began.setdefault(ev.car, ev.tick)
            elif ev.kind == "handback" and ev.car in began:
                self.stand_ins.setdefault(ev.car, []).append((began.pop(ev.car), ev.tick))
        for car, tick in began.items():
            self.stand_ins.setdefault(car, []).append((tick, 10**12))

    @property
    def chains(self) -> list[Root]:
        """Every traced wave that mattered: the roots, then the waves that grew out of a tap,
        each with a delay of at least the round's material threshold."""
        return [r for r in (*self.roots, *self.taps) if r.delay_vs >= self.material_vs]

    def costliest(self) -> Root | None:
        """The root the Waves tab lists first, when its counterfactual cost is material
        (debrief.rank_roots puts such a root first)."""
        root = self.roots[0] if self.roots else None
        cf = root.counterfactual if root is not None else None
        if root is None or cf is None or cf["cost_vs"] < max(self.material_vs, 1.0):
            return None
        return root

    def stand_in(self, car: int, tick: int | None) -> bool:
        """Whether a bot drove this player's car at `tick` (its player had dropped)."""
        return tick is not None and any(a <= tick < b for a, b in self.stand_ins.get(car, ()))

    def label(self, car: int, tick: int | None = None) -> str:
        """A driver as people will read it: the player's name, or which bot it was — at
        `tick`, the bot standing in for a dropped player is not named as the player."""
        name = self.names.get(car)
        if name and self.stand_in(car, tick):
            return f"the bot driving for {name} (car {car})"
        if name:
            return name
        personality = self.rec.personalities.get(car) or "bot"
        return f"a {personality} bot (car {car})"

    def origin(self, root: Root) -> str:
        """What started a root, lower case: "Ana's lane change", or for an incident "the
        host's incident in lane 2" — an incident is named by its cause, never a driver."""
        if root.kind == "incident":
            whose = INCIDENT_CAUSES.get(root.cause, "the")
            return f"{whose} incident in {lane_name(root.lane)}"
        return f"{self.label(root.car, root.tick)}'s {WHAT[root.kind]}"

    def t(self, frame: int) -> float:
        return self.rec.frame_time(frame)


def _card(
    cid: str,
    discipline: str,
    title: str,
    pattern: str,
    idea: str,
    question: str,
    figures: dict[str, Any],
    where: dict[str, float] | None = None,
    size: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": cid,
        "discipline": discipline,
        "title": title,
        "pattern": sentence(pattern),
        "where": where,
        "idea": idea,
        "question": question,
        "figures": figures,
        "effect": size,
    }


def _where(ctx: Context, root: Root, upto: int | None = None) -> dict[str, float]:
    """The window on the diagram from the root to the last car it reached (or chain[upto]):
    the shortest stretch of the ring holding all their places (waves.ring_box)."""
    last = len(root.chain) - 1 if upto is None else upto
    x0, x1 = ring_box(root.xs[: last + 1], ctx.rec.length)
    return {
        "t0": round(ctx.t(root.frames[0]), 1),
        "t1": round(ctx.t(root.frames[last]), 1),
        "x0": round(x0, 1),
        "x1": round(x1, 1),
    }


def _span(ctx: Context, root: Root) -> tuple[float, float]:
    """How far (m, the shorter way round the ring) and how long after the root (s) its last
    reached car braked."""
    dx = ring_distance(root.xs[0], root.xs[-1], ctx.rec.length)
    dt = ctx.t(root.frames[-1]) - ctx.t(root.frames[0])
    return dx, dt


def _longest(roots: Sequence[Root]) -> Root | None:
    best = max(roots, key=lambda r: (r.reached, r.delay_vs), default=None)
    return best


# ---- detectors -------------------------------------------------------------------------------


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
    return _card(
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
        _where(ctx, root),
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
    return _card(
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
        _where(ctx, root),
        effect(growth, GROWTH, "times as hard"),
    )


def delay(ctx: Context) -> dict[str, Any] | None:
    chains = [r for r in ctx.chains if r.reached >= WAVE_REACH]
    root = _longest(chains)
    if root is None:
        return None
    lags = [ctx.t(b) - ctx.t(a) for a, b in zip(root.frames[1:], root.frames[2:], strict=False)]
    lag = sum(lags) / len(lags) if lags else 0.0
    dx, dt = _span(ctx, root)
    if dt <= 0 or lag <= 0:
        return None
    kmh = dx / dt * 3.6
    pattern = (
        f"In the wave that started at {clock(ctx.t(root.frames[0]))} and reached "
        f"{cars_phrase(root.reached)}, each driver began braking on average {lag:.1f} s after "
        f"the car ahead; the braking spread {dx:.0f} m back up the road, against the traffic, "
        f"in {dt:.0f} s."
    )
    return _card(
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
        _where(ctx, root),
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
    return _card(
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
        _where(ctx, root, k),
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
        f"The {_drivers(len(weavers))} who changed lanes most "
        f"({changes / len(weavers):.0f} changes{' each' if len(weavers) > 1 else ''}) averaged "
        f"{vw:.0f} km/h; the "
        f"{len(steady)} who stayed in lane averaged {vs:.0f} km/h ({gain:+.0f}%)."
    )
    if forced:
        pattern += f" Their cut-ins made {cars_phrase(forced)} brake in turn."
    return _card(
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
    return _card(
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


def mental_models(ctx: Context) -> dict[str, Any] | None:
    movers = [d for d in ctx.drivers if d["lane_changes"] >= 2]
    always = [d for d in movers if d["unsignalled_changes"] == 0]
    never = [d for d in movers if d["unsignalled_changes"] == d["lane_changes"]]
    total = ctx.team.get("lane_changes", 0)
    unsignalled = ctx.team.get("unsignalled_changes", 0)
    if not always or not never or total < 6 or unsignalled < UNSIGNALLED_MIN:
        return None
    agreed = dict(ctx.rulebook) != default_rulebook()
    named = [ctx.label(d["car"]) for d in never if d["kind"] == "player"][:3]
    pattern = (
        f"{_drivers(len(always))} signalled every lane change; {len(never)} never signalled"
        + (f" (among them {', '.join(named)})" if named else "")
        + f". Of {total} lane changes, {unsignalled} came without warning"
        + ("." if agreed else ", on a road where nothing had been agreed.")
    )
    return _card(
        "mental_models",
        "mental models",
        "Different pictures of the same road",
        pattern,
        "Mental models: each driver acts on their own picture of how the road works. Where the "
        "pictures differ, one driver's normal move is another's surprise.",
        "Which rule did you assume everyone else was following? When did you find out they "
        "were not?",
        {"always": len(always), "never": len(never), "unsignalled": unsignalled, "changes": total},
        None,
        effect(unsignalled, UNSIGNALLED_MIN, "lane changes without warning"),
    )


def shared_vision(ctx: Context) -> dict[str, Any] | None:
    default = default_rulebook()
    agreed = {k: v for k, v in ctx.rulebook.items() if default.get(k) != v and k in CONVENTIONS}
    if not agreed:
        return None
    parts = [CONVENTIONS[k].option(v).label.lower() for k, v in agreed.items()]
    book = "The rulebook of this road" if ctx.solo else "The rulebook you agreed"
    adherence = ctx.team.get("adherence")
    scored = [d for d in ctx.drivers if d.get("adherence") is not None]
    figures: dict[str, Any] = {"agreed": agreed, "adherence": adherence}
    if adherence is not None and scored:
        low = min(scored, key=lambda d: d["adherence"])
        high = max(scored, key=lambda d: d["adherence"])
        if low["adherence"] == high["adherence"]:
            pattern = (
                f"{book} ({', '.join(parts)}) was kept at "
                f"{high['adherence']}/100 by every one of the {count(len(scored), 'driver')}."
            )
        else:
            pattern = (
                f"{book} ({', '.join(parts)}) was kept at {adherence}/100 on "
                f"average, from {low['adherence']} ({ctx.label(low['car'])}) to "
                f"{high['adherence']} ({ctx.label(high['car'])})."
            )
    elif agreed.get("signal") == "required" and ctx.team.get("lane_changes"):
        total, bad = ctx.team["lane_changes"], ctx.team.get("unsignalled_changes", 0)
        pattern = (
            f"{book} ({', '.join(parts)}) asked for a signal before every "
            f"lane change: {total - bad} of {total} changes had one."
        )
    else:
        return None
    if ctx.previous:
        before = ctx.previous[-1]
        if before.get("lane_changes") and ctx.team.get("lane_changes"):
            share_then = before.get("unsignalled_changes", 0) / before["lane_changes"]
            share_now = ctx.team.get("unsignalled_changes", 0) / ctx.team["lane_changes"]
            pattern += (
                f" Unsignalled lane changes went from {share_then:.0%} in round "
                f"{before.get('round')} to {share_now:.0%}."
            )
    return _card(
        "shared_vision",
        "shared vision",
        "A rulebook everyone holds",
        pattern,
        "Shared vision: a rule helps only when everyone holds the same picture of it and wants "
        "what it is for, not because it is written down.",
        "Which rule was hardest to keep, and what would make it easier?"
        if ctx.solo
        else "Which agreed rule was hardest to keep, and what would make it easier?",
        figures,
        None,
        effect(len(agreed), 1, "conventions set"),
    )


def personal_mastery(ctx: Context) -> dict[str, Any] | None:
    players = [d for d in ctx.drivers if d["kind"] == "player" and d.get("accel_rms") is not None]
    started: dict[int, int] = {}
    for r in ctx.roots:
        if r.kind != "incident":  # nobody at the wheel started an incident's wave
            started[r.car] = started.get(r.car, 0) + 1
    if len(players) >= 2:
        smooth = min(players, key=lambda d: d["accel_rms"])
        rough = max(players, key=lambda d: d["accel_rms"])
        if (
            rough["accel_rms"] < MASTERY_RATIO * smooth["accel_rms"]
            or rough["accel_rms"] - smooth["accel_rms"] < 0.1
        ):
            return None
        pattern = (
            f"The smoothest driver, {ctx.label(smooth['car'])}, varied speed at "
            f"{smooth['accel_rms']:.2f} m/s² (RMS) with {count(smooth['hard_brakes'], 'hard brake')}; "
            f"the roughest, {ctx.label(rough['car'])}, at {rough['accel_rms']:.2f} m/s² with "
            f"{count(rough['hard_brakes'], 'hard brake')} and "
            f"{count(started.get(rough['car'], 0), 'wave')} started."
        )
        figures = {"smooth": smooth["accel_rms"], "rough": rough["accel_rms"]}
        size = effect(
            rough["accel_rms"] / max(smooth["accel_rms"], 1e-9), MASTERY_RATIO, "times as rough"
        )
    elif len(players) == 1:
        me = players[0]
        bots = [
            d["accel_rms"]
            for d in ctx.drivers
            if d["kind"] == "bot" and d.get("personality") == "steady" and d.get("accel_rms")
        ]
        if len(bots) < 3:
            return None
        ref = statistics.median(bots)
        ratio = me["accel_rms"] / ref if ref > 0 else 0
        if 1 / SOLO_MASTERY_RATIO < ratio < SOLO_MASTERY_RATIO:  # assisted cars are livelier
            return None
        word = "rougher" if ratio >= 2.0 else "smoother"
        pattern = (
            f"{ctx.label(me['car'])} varied speed at {me['accel_rms']:.2f} m/s² (RMS), "
            f"{ratio:.1f}× the steady bots' {ref:.2f} m/s² — {word} than them — with "
            f"{count(me['hard_brakes'], 'hard brake')} and "
            f"{count(started.get(me['car'], 0), 'wave')} started."
        )
        figures = {"you": me["accel_rms"], "steady_bots": round(ref, 3), "ratio": round(ratio, 2)}
        spread = max(ratio, 1 / ratio) if ratio > 0 else SOLO_MASTERY_RATIO
        size = effect(spread, SOLO_MASTERY_RATIO, "times the steady bots' (either way)")
    else:
        return None
    return _card(
        "personal_mastery",
        "personal mastery",
        "Smoothness is a skill",
        pattern,
        "Personal mastery: smooth driving is a skill each person can practise, and one smooth "
        "driver can damp the waves for everyone behind (Stern et al., 2018).",
        "What did the smoothest driver watch or do that others could try next round?",
        figures,
        None,
        size,
    )


def team_learning(ctx: Context) -> dict[str, Any] | None:
    if not ctx.previous:
        return None
    before, now = ctx.previous[-1], ctx.team
    changes = []
    sizes: list[float] = []
    better = worse = 0
    d0, d1 = before.get("delay_per_car_s"), now.get("delay_per_car_s")
    if d0 and d1 is not None and abs(d1 - d0) >= LEARNING_CHANGE * d0:
        sizes.append(abs(d1 - d0) / d0 * 100)
        changes.append(f"delay per car {d0:.0f} s → {d1:.0f} s ({(d1 / d0 - 1) * 100:+.0f}%)")
        better, worse = better + (d1 < d0), worse + (d1 > d0)
    for key, label in (
        ("hard_brakes", "hard brakes"),
        ("crashes", "crashes"),
        ("near_misses", "near misses"),
    ):
        a, b = before.get(key), now.get(key)
        if a is None or b is None or a == b:
            continue
        if key == "hard_brakes" and abs(b - a) < max(3, 0.2 * a):
            continue
        if abs(b - a) < LEARNING_CHANGE * max(a, b):
            continue
        sizes.append(abs(b - a) / max(a, b) * 100)
        changes.append(f"{label} {a} → {b}")
        better, worse = better + (b < a), worse + (b > a)
    if not changes:
        return None
    f0, f1 = before.get("flow_vph"), now.get("flow_vph")
    if f0 and f1 is not None and f0 != f1:
        changes.append(f"flow {f0:,} → {f1:,} veh/h")
    same = before.get("scenario") in (None, ctx.rec.road.get("scenario"), now.get("scenario"))
    pattern = f"Since round {before.get('round', ctx.round_no - 1)}: " + "; ".join(changes) + "."
    if not same:
        pattern += " (The road was not the same, so compare with care.)"
    if ctx.solo:
        question = (
            "What did you do differently this round, and what will you keep?"
            if better >= worse
            else "Things got worse on some counts: what changed, and what did you not see coming?"
        )
    else:
        question = (
            "What did you do differently as a group this round, and what will you keep?"
            if better >= worse
            else "Things got worse on some counts: what changed, and what did the group not see "
            "coming?"
        )
    return _card(
        "team_learning",
        "team learning",
        "Round over round",
        pattern,
        "Team learning: a group improves when it reflects together and changes how it acts "
        "together, not when each person simply tries harder alone.",
        question,
        {"better": better, "worse": worse},
        None,
        effect(max(sizes), LEARNING_CHANGE * 100, "% change, the largest"),
    )


DETECTORS: tuple[Callable[[Context], dict[str, Any] | None], ...] = (
    wave_root,
    reinforcing_loop,
    delay,
    distant_cause,
    faster_is_slower,
    commons,
    mental_models,
    shared_vision,
    personal_mastery,
    team_learning,
)


def cards(ctx: Context) -> list[dict[str, Any]]:
    """Every card whose detector fires on this round, in teaching order."""
    out = []
    for detector in DETECTORS:
        card = detector(ctx)
        if card is not None:
            out.append(card)
    return out
