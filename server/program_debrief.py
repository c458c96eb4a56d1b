"""The end-of-program debrief: every round of the game side by side, what changed when the
rules changed, and what the group learnt across the rounds.

It is built from the rounds' own rows (`server.debrief.round_row`: the team figures and the
rulebook of each round), so it says nothing a round did not measure. The last round of a
program carries it as the `program` map of its debrief payload (docs/debrief.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shared.conventions import CATALOGUE

# the figures compared between rounds: key, words, unit, whether lower is better
FIGURES: tuple[tuple[str, str, str, bool], ...] = (
    ("delay_per_car_s", "delay per car", " s", True),
    ("flow_vph", "flow", " veh/h", False),
    ("hard_brakes", "hard brakes", "", True),
    ("crashes", "crashes", "", True),
    ("adherence", "adherence", "/100", False),
)
CHANGE = 0.10  # a change of a figure is worth naming from 10 % (or one crash) on


def rule_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> list[str]:
    """The conventions that differ between two rulebooks, as "Passing side: Free → Keep
    right" (a missing rulebook is "nothing known", so it is compared with nothing)."""
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return []
    changes = []
    for convention in CATALOGUE:
        a = before.get(convention.key, convention.default)
        b = after.get(convention.key, convention.default)
        if a == b:
            continue
        try:
            labels = convention.option(a).label, convention.option(b).label
        except KeyError:
            continue
        changes.append(f"{convention.title}: {labels[0]} → {labels[1]}")
    return changes


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def figure_changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Each compared figure that moved by at least CHANGE, with its direction."""
    out = []
    for key, words, unit, lower_better in FIGURES:
        a, b = _num(before.get(key)), _num(after.get(key))
        if a is None or b is None or a == b:
            continue
        top = max(abs(a), abs(b))
        share = abs(b - a) / top if top else 0.0
        if share < CHANGE and not (key == "crashes" and abs(b - a) >= 1):
            continue
        better = (b < a) == lower_better
        out.append(
            {
                "key": key,
                "from": a,
                "to": b,
                "better": better,
                "text": f"{words} {a:,.0f}{unit} → {b:,.0f}{unit}",
            }
        )
    return out


def learning_card(rows: Sequence[Mapping[str, Any]], solo: bool = False) -> dict[str, Any] | None:
    """The team-learning card across the whole program: each figure round by round, and how
    the last round compares with the first. None when nothing moved by CHANGE or more."""
    if len(rows) < 2:
        return None
    first, last = rows[0], rows[-1]
    moved = figure_changes(first, last)
    if not moved:
        return None
    series = []
    for key, words, unit, _ in FIGURES:
        values = [_num(r.get(key)) for r in rows]
        if all(v is not None for v in values) and any(m["key"] == key for m in moved):
            series.append(
                f"{words}: " + ", ".join(f"{v:,.0f}{unit}" for v in values if v is not None)
            )
    better = sum(1 for m in moved if m["better"])
    worse = len(moved) - better
    size = max(abs(m["to"] - m["from"]) / max(abs(m["from"]), abs(m["to"])) for m in moved)
    pattern = (
        f"From round {first.get('round')} to round {last.get('round')}: "
        + "; ".join(m["text"] for m in moved)
        + ". Round by round — "
        + "; ".join(series)
        + "."
    )
    who = "you" if solo else "the group"
    question = (
        f"What did {who} change between the rounds, and which of it will you keep?"
        if better >= worse
        else f"Some figures got worse over the program: what did {who} not see coming?"
    )
    return {
        "id": "team_learning",
        "discipline": "team learning",
        "title": "What you learnt, round by round"
        if solo
        else "What the group learnt, round by round",
        "pattern": pattern,
        "where": None,
        "idea": "Team learning: a group improves when it reflects together and changes how it "
        "acts together, not when each person simply tries harder alone.",
        "question": question,
        "figures": {"better": better, "worse": worse, "rounds": len(rows)},
        "effect": {"value": round(size * 100, 1), "threshold": CHANGE * 100, "unit": "% change"},
    }


def summary(rows: Sequence[Mapping[str, Any]], solo: bool = False) -> dict[str, Any]:
    """The `program` map of the last round's payload (docs/debrief.md)."""
    rows = [dict(r) for r in rows]
    changes = []
    for before, after in zip(rows, rows[1:], strict=False):
        rules = rule_changes(before.get("rulebook"), after.get("rulebook"))
        if not rules:
            continue
        moved = figure_changes(before, after)
        changes.append(
            {
                "round": after.get("round"),
                "rules": rules,
                "figures": moved,
                "text": f"Round {after.get('round')} changed the rules ("
                + "; ".join(rules)
                + "): "
                + ("; ".join(m["text"] for m in moved) if moved else "no figure moved by 10 %")
                + ".",
            }
        )
    return {"rounds": rows, "changes": changes, "learning": learning_card(rows, solo)}
