"""The debrief's small words and numbers: table cells, plurals, agreed rules, the braking chain.

The debrief screen (client/screens/debrief.py) and its tables and texts
(client/widgets/debrief_tables.py, client/widgets/debrief_text.py) show figures from the
`debrief` message (docs/debrief.md); these pure functions turn one payload value into what is
drawn, with a dash for anything missing or malformed, so that every place says it the same way.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from client.widgets.ring_overview import legend_text
from shared.conventions import CATALOGUE


def number(value: Any, fmt: str = "0") -> str:
    """A payload number for a table cell; a dash when it is missing."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return "–"
    if fmt == "km":
        return f"{value / 1000:.2f}"
    if fmt == "2":
        return f"{value:.2f}"
    return f"{value:.0f}"


def agreed(rulebook: Any) -> str:
    """The conventions a round's rulebook set away from "nobody agreed anything"."""
    if not isinstance(rulebook, dict):
        return "–"
    labels = []
    for convention in CATALOGUE:
        choice = rulebook.get(convention.key)
        if choice in convention.option_keys() and choice != convention.default:
            labels.append(convention.option(choice).label)
    return ", ".join(labels) if labels else "none agreed"


def numbers(values: Any) -> list[float]:
    """A numeric series from the payload, non-numbers dropped."""
    if not isinstance(values, list):
        return []
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


KIND_WORDS = {"brake": "brake", "cut_in": "cut-in", "crash": "crash", "incident": "incident"}
CAUSE_WORDS = {"host": "the host", "scenario": "the scenario", "shock": "the shock"}


def plural(n: Any, noun: str) -> str:
    """'1 car', '3 cars' (a missing number reads as a dash)."""
    return f"{number(n)} {noun}" if n == 1 else f"{number(n)} {noun}s"


def kind_word(root: dict[str, Any]) -> str:
    return KIND_WORDS.get(str(root.get("kind")), "brake")


def ring_distance(a: float, b: float, length: float) -> float:
    """Signed shortest distance from a to b along a ring (positive: b is ahead of a)."""
    if length <= 0:
        return b - a
    d = (b - a) % length
    return d - length if d > length / 2 else d


def chain_text(root: dict[str, Any]) -> Text:
    """The amplification chart of one root: each follower's braking as a bar, root first.

    Bars that grow from left to right are the bullwhip: braking got harder as the wave
    travelled back (docs/debrief.md, "The bullwhip"). Heights and numbers carry it, not colour.
    """
    decel = numbers(root.get("decel"))
    text = Text("Braking down the chain (m/s², the root first): ", style="bold")
    if not decel:
        text.append("not recorded", style="dim")
        return text
    top = max(decel) or 1.0
    glyphs = "▁▂▃▄▅▆▇█"
    text.append("\n")
    for value in decel:
        text.append(glyphs[min(7, int(value / top * 7.999))] * 2 + " ", style="bold")
    text.append("\n")
    text.append("  ".join(f"{v:.1f}" for v in decel))
    amp = root.get("amplification")
    if isinstance(amp, int | float) and not isinstance(amp, bool):
        grew = "grew" if amp > 1 else "faded"
        text.append(f"\nEach follower braked ×{amp:.2f} as hard as the car ahead: the wave {grew}.")
    return text


def roots_of(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The payload's traced wave roots (docs/debrief.md `roots[]`), malformed entries dropped."""
    return [r for r in payload.get("roots") or [] if isinstance(r, dict)]


def root_points(roots: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """Where the roots are on the space-time diagram: (t, x) of each that has both."""
    points = []
    for root in roots:
        t, x = root.get("t"), root.get("x")
        if isinstance(t, int | float) and isinstance(x, int | float):
            points.append((float(t), float(x)))
    return points


def path_of(payload: dict[str, Any], car: int | None) -> list[int]:
    """A car's path on the diagram (docs/debrief.md `paths[]`): its mean position (m) in each
    time bin, -1 where it was not on the road; empty for a viewer without a car."""
    for entry in payload.get("paths") or []:
        if isinstance(entry, dict) and entry.get("car") == car and car is not None:
            xs = entry.get("x")
            return [int(v) if isinstance(v, int | float) else -1 for v in xs or []]
    return []


def legend() -> Text:
    """The diagram's key: the speed colours, the player's path, the roots, the guess."""
    text = Text("speed: ", style="dim")
    for label, colour in legend_text():
        text.append("█", style=colour)
        text.append(f" {label}  ")
    text.append("█", style="#ffffff")
    text.append(" your path  ✕ wave root  ✚ your guess")
    return text


def road_length(payload: dict[str, Any]) -> float:
    """The ring's length in metres, from the payload's `road` (0 when it is missing)."""
    road = given if isinstance(given := payload.get("road"), dict) else {}
    length = size if isinstance(size := road.get("length"), int | float) else 0.0
    return float(length)
