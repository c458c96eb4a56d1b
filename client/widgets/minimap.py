"""A strip of the whole ring, coloured and shaped by speed, with your place marked.

The road widget shows 200 metres; a jam 2 km ahead matters too, because it is coming. The
server sends the mean speed of each of RING_SEGMENTS segments; each column here shows its
segment as a bar whose height is the speed (so the strip reads without colour) and whose
colour runs from vermilion (stopped) to blue (fast), a colour-blind safe scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

BARS = "▁▂▃▄▅▆▇█"
FAST_KMH = 120.0
SCALE = ("#d55e00", "#e69f00", "#f0e442", "#56b4e9", "#0072b2")
_SPEED_STYLES = [Style(color=c, bgcolor="#1c1c1c") for c in SCALE]
_MARK = Style(color="#f0e442", bold=True)
_FEATURE = Style(color="#e69f00", bold=True)
_GANTRY = Style(color="#ffffff", bold=True)
_LABEL = Style(dim=True)
_EMPTY = Style(bgcolor="#1c1c1c")


def speed_cell(kmh: float) -> tuple[str, Style]:
    """Glyph and colour for a segment's mean speed."""
    frac = min(max(kmh / FAST_KMH, 0.0), 1.0)
    glyph = BARS[min(len(BARS) - 1, int(frac * len(BARS)))]
    style = _SPEED_STYLES[min(len(SCALE) - 1, int(frac * len(SCALE)))]
    return glyph, style


def minimap_rows(
    ring: Sequence[int | float],
    width: int,
    length: float,
    you_x: float | None,
    road: Mapping[str, Any],
    height: int = 2,
) -> list[Strip]:
    """A row of markers (you ▼, closures ▲, gantry ┃) over the speed bars; with `height`
    above 2 the bars stack over height − 1 rows, a taller chart for a tall terminal."""
    if width <= 0:
        return []
    marks: list[tuple[str, Style]] = [(" ", _LABEL)] * width
    legend = " ▁ slow  █ fast "
    if width >= 60:
        for i, ch in enumerate(legend):
            marks[width - len(legend) + i] = (ch, _LABEL)
    if length > 0:

        def col(x: float) -> int:
            return min(width - 1, max(0, int((x % length) / length * width)))

        for closure in road.get("closures") or ():
            if isinstance(closure, Mapping) and isinstance(closure.get("start"), int | float):
                marks[col(closure["start"])] = ("▲", _FEATURE)
        for incident in road.get("incidents") or ():
            if isinstance(incident, Mapping) and isinstance(incident.get("x"), int | float):
                marks[col(incident["x"])] = ("✖", _FEATURE)
        gantry = road.get("gantry")
        if isinstance(gantry, int | float):
            marks[col(gantry)] = ("┃", _GANTRY)
        if you_x is not None:
            marks[col(you_x)] = ("▼", _MARK)
    rows = max(1, height - 1)
    bars: list[list[tuple[str, Style]]] = [[] for _ in range(rows)]
    n = len(ring)
    for c in range(width):
        seg = min(n - 1, c * n // width) if n else 0
        value = ring[seg] if n else None
        if not isinstance(value, int | float):
            for r in range(rows):
                bars[r].append(("·" if n == 0 else "?", _EMPTY) if r == rows - 1 else (" ", _EMPTY))
            continue
        glyph, style = speed_cell(float(value))
        if rows == 1:
            bars[0].append((glyph, style))
            continue
        eighths = round(min(max(float(value) / FAST_KMH, 0.0), 1.0) * rows * 8)
        eighths = max(eighths, 1)  # a standing jam still shows, as the lowest bar
        for r in range(rows):  # r = 0 is the top row
            level = eighths - (rows - 1 - r) * 8
            cell = " " if level <= 0 else "█" if level >= 8 else BARS[level - 1]
            bars[r].append((cell, style))
    return [_strip(marks), *(_strip(row) for row in bars)]


def _strip(cells: list[tuple[str, Style]]) -> Strip:
    segments: list[Segment] = []
    run: list[str] = []
    current = cells[0][1]
    for glyph, style in cells:
        if style is not current:
            segments.append(Segment("".join(run), current))
            run, current = [], style
        run.append(glyph)
    segments.append(Segment("".join(run), current))
    return Strip(segments, len(cells))


class Minimap(Widget):
    """The ring at a glance; `show()` with the latest ring summary and your position."""

    DEFAULT_CSS = """
    Minimap { height: 2; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._map_args: tuple[Sequence[int | float], float, float | None, Mapping[str, Any]] = (
            (),
            0.0,
            None,
            {},
        )
        self._map_strips: list[Strip] = []
        self._map_width = -1

    def show(
        self,
        ring: Sequence[int | float],
        length: float,
        you_x: float | None,
        road: Mapping[str, Any],
    ) -> None:
        """Take the latest ring summary; repaint only the rows it changes (a speed bar
        that moved, your marker), not the whole map at every snapshot."""
        args = (tuple(ring), length, None if you_x is None else round(you_x, -1), road)
        if args[:3] == self._map_args[:3] and road is self._map_args[3]:
            return
        self._map_args = args
        width, height = self.size.width, max(2, self.size.height)
        if not self._map_strips or self._map_width != width or len(self._map_strips) != height:
            self._map_strips = []  # a new size: render_line draws the whole map
            self.refresh()
            return
        strips = minimap_rows(args[0], width, length, args[2], road, self.size.height)
        for y, (new, old) in enumerate(zip(strips, self._map_strips, strict=False)):
            if new != old:
                self.refresh(Region(0, y, width, 1))
        self._map_strips = strips

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if (
            not self._map_strips
            or self._map_width != width
            or len(self._map_strips) != max(2, self.size.height)
        ):
            ring, length, you_x, road = self._map_args
            self._map_strips = minimap_rows(ring, width, length, you_x, road, self.size.height)
            self._map_width = width
        return self._map_strips[y] if 0 <= y < len(self._map_strips) else Strip.blank(width)
