"""The event feed: what just happened on the road, newest at the bottom.

Lines come from the server's events ("Ana merged without signalling"), from chat and from
the client's own reading of the ring ahead ("slow traffic 600 m ahead"). Each line is a
`Text` (plain, never markup) prefixed with the round time and a symbol for its kind, so a
player can scan it without colour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from client.screens.roomview import plain
from client.widgets.hud import clock_text

KIND_MARKS: dict[str, tuple[str, str]] = {
    "crash": ("╳", "bold #cc79a7"),
    "near_miss": ("!", "bold #ff5f3f"),
    "hard_brake": ("▮", "#ff5f3f"),
    "wave": ("≈", "bold #e69f00"),
    "lane_change": ("↕", ""),
    "merge": ("⇢", ""),
    "violation": ("⚑", "#e69f00"),
    "incident_start": ("⚠", "bold #e69f00"),
    "incident_clear": ("✓", "#56b4e9"),
    "chat": ("»", "#56b4e9"),
    "connection": ("⇄", "bold"),
    "notice": ("›", "bold"),
    "coach": ("✎", "bold #009e73"),  # the solo damper's coach (server/damper.py)
}

SLOW_KMH = 40
AHEAD_SEGMENTS = 6  # how far the look-ahead reaches, in ring segments


def slow_ahead(
    ring: Sequence[int | float], length: float, you_x: float, you_kmh: float
) -> tuple[float, int] | None:
    """(metres ahead, km/h) of the nearest slow segment ahead while you are still fast.

    This is the "a braking wave is coming" warning: the minimap knows a jam is ahead before
    the driver can see it.
    """
    n = len(ring)
    if n == 0 or length <= 0 or you_kmh < SLOW_KMH + 20:
        return None
    seg_len = length / n
    mine = int((you_x % length) / seg_len)
    for k in range(1, min(AHEAD_SEGMENTS, n - 1) + 1):
        value = ring[(mine + k) % n]
        if isinstance(value, int | float) and value < SLOW_KMH:
            ahead = (mine + k) * seg_len - (you_x % length)
            return (ahead if ahead > 0 else ahead + length), int(value)
    return None


class EventFeed(RichLog):
    """A scrolling log of plain-text event lines."""

    DEFAULT_CSS = """
    EventFeed { height: 1fr; min-height: 2; scrollbar-size-vertical: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False, highlight=False, wrap=True, max_lines=200)
        self.can_focus = False
        self._last_line = ""

    def add(self, text: str, kind: str = "notice", t: float | None = None) -> None:
        """Append one line; the same line twice in a row is shown once."""
        if text == self._last_line:
            return
        self._last_line = text
        mark, style = KIND_MARKS.get(kind, ("·", ""))
        line = Text()
        if t is not None:
            line.append(clock_text(t) + " ", style="dim")
        line.append(mark + " ", style=style or None)
        line.append(
            plain(text, 400), style=style if kind in ("crash", "wave", "incident_start") else None
        )
        self.write(line)

    def add_events(self, events: Sequence[Any], t: float | None) -> None:
        for event in events:
            if isinstance(event, Mapping) and isinstance(event.get("text"), str):
                kind = event.get("kind")
                self.add(event["text"], kind if isinstance(kind, str) else "notice", t)
