"""The solo debrief's own lines: the challenge's verdict, the coach, progress, the next rung.

The server adds a `solo` block to the debrief of a room whose only member drives (server/solo.py,
docs/debrief.md); this turns it into plain text for the top of the debrief screen. Everything
in it comes from the server, so every string is shown literally and cut to a sane length.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from client.state import finite


def _plain(value: Any, limit: int = 300) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in str(value))
    return text[:limit]


def solo_text(payload: Mapping[str, Any]) -> Text | None:
    """The solo lines of a debrief payload, or None when it is not a solo round."""
    solo = payload.get("solo")
    if not isinstance(solo, Mapping):
        return None
    text = Text()
    title = solo.get("title")
    if isinstance(title, str) and title:
        text.append(f"{_plain(title, 60)}: ", style="bold")
    verdict = solo.get("verdict")
    score, label = finite(solo.get("score")), solo.get("score_label")
    if isinstance(verdict, str) and verdict:
        text.append(_plain(verdict))
    elif solo.get("challenge") == "warm-up":
        text.append("warm-up done. Did you see the waves travel backwards on the minimap?")
    elif score is not None and isinstance(label, str):
        state = "won" if solo.get("won") else "not won yet"
        text.append(f"{score:.0f} {_plain(label, 30)} ({state})")
    else:
        text.append("round done.")
    coach = solo.get("coach")
    if isinstance(coach, str) and coach:
        text.append("\nCoach: ", style="bold #009e73")
        text.append(_plain(coach))
    attempt, best = finite(solo.get("attempt")), finite(solo.get("best"))
    if attempt is not None and attempt > 1:
        text.append(f"\nAttempt {attempt:.0f} on this road")
        if best is not None:
            text.append(f"; your best: {best:.0f}")
            if isinstance(label, str) and label:
                text.append(f" {_plain(label, 30)}")
        text.append(".")
    nxt = solo.get("next")
    if isinstance(nxt, Mapping) and isinstance(nxt.get("title"), str):
        text.append("\nNext challenge: ", style="bold")
        text.append(_plain(nxt["title"], 60))
        how = nxt.get("how")
        if isinstance(how, str) and how:
            text.append(f" ({_plain(how, 80)})")
    elif "next" in solo:
        text.append("\nYou have climbed the whole solo ladder.", style="bold")
    return text
