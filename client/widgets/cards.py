"""Insight cards: a pattern found in this round's data, the idea it shows, a question.

Each card pairs an observation with its numbers and where to look on the diagram with a
systems-thinking idea and one question for the group (docs/debrief.md, `cards[]`). The text comes from the
debrief payload (docs/debrief.md `cards[]`) and is always drawn as plain Text: it quotes
player names. The projector variant drops the idea's paragraph and enlarges the question,
because a room reads a question, not an essay.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Static

from client.screens.roomview import fmt_clock, plain

DISCIPLINE_MARK = {
    "systems thinking": "◎",
    "mental models": "◇",
    "shared vision": "△",
    "personal mastery": "○",
    "team learning": "□",
}


def where_text(where: Any) -> str | None:
    """ "1:32–1:44 at 1.30–1.48 km": the card's window on the diagram, or None."""
    if not isinstance(where, dict):
        return None
    t0, t1, x0, x1 = (where.get(k) for k in ("t0", "t1", "x0", "x1"))
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (t0, t1, x0, x1)):
        return None
    wrap = " (across the ring's end)" if x0 > x1 else ""  # type: ignore[operator]
    return (
        f"see {fmt_clock(t0)}–{fmt_clock(t1)} at "
        f"{x0 / 1000:.2f}–{x1 / 1000:.2f} km on the diagram{wrap}"  # type: ignore[operator]
    )


def _figure(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:.2f}".rstrip("0").rstrip(".")


def effect_text(effect: Any) -> str | None:
    """ "effect: 199 vehicle-seconds (a card from 60)": the card's size beside its threshold."""
    if not isinstance(effect, dict):
        return None
    value, threshold = effect.get("value"), effect.get("threshold")
    numbers = (value, threshold)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
        return None
    unit = plain(effect.get("unit"), 60)
    return f"effect: {_figure(value)} {unit} (a card from {_figure(threshold)})"  # type: ignore[arg-type]


def card_body(card: dict[str, Any], projector: bool = False) -> Text:
    """The card as one Text: heading, pattern, where, idea, question."""
    discipline = plain(card.get("discipline"), 40)
    text = Text()
    text.append(f"{DISCIPLINE_MARK.get(discipline, '•')} {discipline.upper()}\n", style="dim")
    text.append(plain(card.get("title"), 120), style="bold")
    text.append("\n\n")
    text.append(plain(card.get("pattern"), 600))
    where = where_text(card.get("where"))
    if where:
        text.append(f"\n{where}", style="italic dim")
    size = effect_text(card.get("effect"))
    if size:
        text.append(f"\n{size}", style="dim")
    if not projector and card.get("idea"):
        text.append("\n\n")
        text.append(plain(card.get("idea"), 600), style="italic")
    if card.get("question"):
        text.append("\n\n? ", style="bold")
        text.append(plain(card.get("question"), 300), style="bold")
    return text


class InsightCard(Widget):
    """One insight card in a bordered box."""

    DEFAULT_CSS = """
    InsightCard {
        height: auto;
        border: round $accent;
        padding: 0 1;
        margin: 0 0 1 0;
    }
    InsightCard.-projector { border: heavy $accent; padding: 1 2; }
    InsightCard Static { height: auto; }
    """

    def __init__(self, card: dict[str, Any], *, projector: bool = False) -> None:
        super().__init__(classes="-projector" if projector else None)
        self.card = card
        self.projector = projector

    def compose(self) -> ComposeResult:
        yield Static(card_body(self.card, self.projector))
