"""Insight cards: a detected pattern in this round's data, paired with a systems-thinking idea.

Each detector looks for one pattern and returns a card only when the round shows it, with the
numbers that show it and where to look on the space-time diagram; otherwise it returns None.
That is the rule that keeps the debrief honest: no card is shown "because it is always shown".
The ideas and questions are fixed per card (they are the lesson); the pattern is always built
from the figures of this round.

This module is the deck: the detectors in teaching order (the systems-thinking cards of
server/insights_systems.py, then the other disciplines' of server/insights_disciplines.py) and
the cards that fire. The Context they read and the wording they share are in
server/insight_context.py; the names the debrief uses from there are listed in `__all__`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.insight_context import Context, cars_phrase, clock, material_vs, sentence
from server.insights_disciplines import (
    mental_models,
    personal_mastery,
    shared_vision,
    team_learning,
)
from server.insights_systems import (
    commons,
    delay,
    distant_cause,
    faster_is_slower,
    reinforcing_loop,
    wave_root,
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


__all__ = ["DETECTORS", "Context", "cards", "cars_phrase", "clock", "material_vs", "sentence"]
