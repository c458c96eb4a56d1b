"""The cards of the other disciplines of a learning organisation (Senge): mental models, shared
vision, personal mastery and team learning.

Each detector returns a card only when this round's data shows its pattern (server/insights.py
says why), built from the round's Context (server/insight_context.py).
"""

from __future__ import annotations

import statistics
from typing import Any

from server.insight_context import Context, count, drivers_phrase, effect, make_card
from shared.conventions import CONVENTIONS, default_rulebook

UNSIGNALLED_MIN = 3  # "different pictures": at least this many lane changes without warning
MASTERY_RATIO = 1.5  # the roughest player varied speed this many times the smoothest's
SOLO_MASTERY_RATIO = 2.0  # a lone player against the steady bots: this far either way
LEARNING_CHANGE = 0.10  # a round-over-round change of at least 10 %


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
        f"{drivers_phrase(len(always))} signalled every lane change; {len(never)} never signalled"
        + (f" (among them {', '.join(named)})" if named else "")
        + f". Of {total} lane changes, {unsignalled} came without warning"
        + ("." if agreed else ", on a road where nothing had been agreed.")
    )
    return make_card(
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
    return make_card(
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
    return make_card(
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
    return make_card(
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
