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
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

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
    "coach": ("✎", "bold #009e73"),  # the solo damper's coach (server/damper.py)
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


class EventFeed(ScrollView, can_focus=False):
    """A scrolling log of plain-text event lines, repeats of one event merged into one line.

    Two ways a line stands for several: the server coalesces a player's bursts of one kind
    (server/feed.py) and sends the running line with `count`, which replaces this feed's
    recent line for that car and kind; and the same text twice in a row (a notice, a chat
    line, a warning) becomes one line with "×2". A merge rewrites an earlier line, which a
    RichLog cannot do (it re-rendered all 200 lines, ~0.2 s on a busy machine), so this is a
    small Line API log: each entry is wrapped to the width once and kept as strips, only a
    changed entry is wrapped again, and a new width re-wraps everything (older lines too).
    """

    DEFAULT_CSS = """
    EventFeed {
        height: 1fr; min-height: 2; overflow-x: hidden;
        scrollbar-size-vertical: 1; scrollbar-gutter: stable;
    }
    """
    RECENT = 8  # a server-coalesced line replaces its car's line among the last RECENT
    MAX_ENTRIES = 200

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.entries: list[FeedEntry] = []
        self._wrapped: list[list[Strip]] = []  # each entry's strips at `_width`
        self._width = 0
        self.lines: list[Strip] = []  # every entry's strips, oldest first (what is drawn)

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
            first = max(0, len(self.entries) - self.RECENT)
            for index in range(len(self.entries) - 1, first - 1, -1):
                entry = self.entries[index]
                if entry.car == car and entry.kind == kind and repeat_base(entry.text) == base:
                    entry.text, entry.t, entry.count = text, t, count
                    self._changed(index)
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
            self._changed(len(self.entries) - 1)
            return
        self.entries.append(FeedEntry(text, kind, t, car, count or 1))
        self._wrapped.append(self._wrap(self.entries[-1]))
        if len(self.entries) > self.MAX_ENTRIES:
            del self.entries[0], self._wrapped[0]
        self._relayout()

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

    # -- drawing ------------------------------------------------------------------------

    def _changed(self, index: int) -> None:
        self._wrapped[index] = self._wrap(self.entries[index])
        self._relayout()

    def _wrap(self, entry: FeedEntry) -> list[Strip]:
        """One entry's line(s) at the current width; none before the width is known."""
        if self._width <= 0 or not self.is_attached:
            return []
        console = self.app.console
        options = console.options.update_width(self._width)
        return [Strip(line) for line in console.render_lines(_line(entry), options, pad=False)]

    def _relayout(self) -> None:
        self.lines = [strip for strips in self._wrapped for strip in strips]
        self.virtual_size = Size(self._width, len(self.lines))
        self.scroll_end(animate=False, immediate=False, x_axis=False)
        self.refresh()

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width:
            self._width = width
            self._wrapped = [self._wrap(entry) for entry in self.entries]
            self._relayout()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        style = self.rich_style
        if 0 <= index < len(self.lines):
            return (
                self.lines[index].crop_extend(scroll_x, scroll_x + width, style).apply_style(style)
            )
        return Strip.blank(width, style)


def _line(entry: FeedEntry) -> Text:
    mark, style = KIND_MARKS.get(entry.kind, ("·", ""))
    line = Text()
    if entry.t is not None:
        line.append(clock_text(entry.t) + " ", style="dim")
    line.append(mark + " ", style=style or None)
    strong = entry.kind in ("crash", "wave", "incident_start")
    line.append(entry.shown(), style=style if strong else None)
    return line
