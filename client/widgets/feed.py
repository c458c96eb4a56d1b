"""The event feed: what just happened on the road, newest at the bottom.

Lines come from the server's events ("Ana merged without signalling"), from chat and from
the client's own reading of the ring ahead ("slow traffic 600 m ahead"). Each line is a
`Text` (plain, never markup) prefixed with the round time and a symbol for its kind, so a
player can scan it without colour.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    "error": ("!", "bold"),
}

REPEAT_MARK = re.compile(r" ×\d+$")
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


def repeat_base(text: str) -> str:
    """A line without the " ×N" the server adds to a repeat: "Ana braked hard"."""
    return REPEAT_MARK.sub("", text)


@dataclass
class FeedEntry:
    """One line of the feed; `count` > 1 when it stands for repeats of the same event."""

    text: str
    kind: str
    t: float | None
    car: int | None = None
    count: int = 1

    def shown(self) -> str:
        """The server puts "×N" in the lines it coalesces; repeats counted here get it added."""
        return f"{self.text} ×{self.count}" if self.count > 1 and self.car is None else self.text


class EventFeed(RichLog):
    """A scrolling log of plain-text event lines, repeats of one event merged into one line.

    Two ways a line stands for several: the server coalesces a player's bursts of one kind
    (server/feed.py) and sends the running line with `count`, which replaces this feed's
    recent line for that car and kind; and the same text twice in a row (a notice, a chat
    line, a warning) becomes one line with "×2". Either way the feed keeps its entries and
    redraws, since a written RichLog line cannot be edited in place.
    """

    DEFAULT_CSS = """
    EventFeed { height: 1fr; min-height: 2; scrollbar-size-vertical: 1; }
    """
    RECENT = 8  # a server-coalesced line replaces its car's line among the last RECENT
    MAX_ENTRIES = 200

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(
            id=id,
            classes=classes,
            markup=False,
            highlight=False,
            wrap=True,
            min_width=8,  # wrap to the widget's own width, however narrow (the default is 78)
            max_lines=self.MAX_ENTRIES * 2,
        )
        self.can_focus = False
        self.entries: list[FeedEntry] = []

    def add(
        self,
        text: str,
        kind: str = "notice",
        t: float | None = None,
        car: int | None = None,
        count: int | None = None,
    ) -> None:
        """Append one line, or merge it into the line it repeats."""
        text = plain(text, 400)
        if car is not None and count is not None and count > 1:
            base = repeat_base(text)
            for entry in reversed(self.entries[-self.RECENT :]):
                if entry.car == car and entry.kind == kind and repeat_base(entry.text) == base:
                    entry.text, entry.t, entry.count = text, t, count
                    self._redraw()
                    return
        last = self.entries[-1] if self.entries else None
        if (
            last is not None
            and car is None
            and last.car is None
            and (last.text, last.kind)
            == (
                text,
                kind,
            )
        ):
            last.count += 1
            if t is not None:
                last.t = t
            self._redraw()
            return
        entry = FeedEntry(text, kind, t, car, count or 1)
        self.entries.append(entry)
        if len(self.entries) > self.MAX_ENTRIES:
            del self.entries[: -self.MAX_ENTRIES]
            self._redraw()
            return
        self.write(self._line(entry))

    def add_events(self, events: Sequence[Any], t: float | None) -> None:
        for event in events:
            if isinstance(event, Mapping) and isinstance(event.get("text"), str):
                kind = event.get("kind")
                car, count = event.get("car"), event.get("count")
                self.add(
                    event["text"],
                    kind if isinstance(kind, str) else "notice",
                    t,
                    car if isinstance(car, int) and not isinstance(car, bool) else None,
                    count if isinstance(count, int) and not isinstance(count, bool) else None,
                )

    def _redraw(self) -> None:
        self.clear()
        for entry in self.entries:
            self.write(self._line(entry))

    @staticmethod
    def _line(entry: FeedEntry) -> Text:
        mark, style = KIND_MARKS.get(entry.kind, ("·", ""))
        line = Text()
        if entry.t is not None:
            line.append(clock_text(entry.t) + " ", style="dim")
        line.append(mark + " ", style=style or None)
        strong = entry.kind in ("crash", "wave", "incident_start")
        line.append(entry.shown(), style=style if strong else None)
        return line
