"""The space-time diagram: where every car was, when, and how fast — the debrief's centrepiece.

Time runs left to right, position along the ring bottom to top, each pixel coloured by the
mean speed there (the debrief payload's `diagram`, see docs/debrief.md). A jam wave shows as
a slow stripe running down and to the right: it travels backwards while the cars drive
forwards. Two position bins share one terminal cell through the upper half block (foreground
= upper pixel, background = lower one), drawn with the Line API. The player's own path is
drawn in white, traced wave roots as ✕.

Before the reveal (ask first, reveal after: docs/debrief.md) the plot is an empty grid with a ✚
cursor the player moves to where they think the jam started; the guess stays marked after
the reveal so the player can compare it with the real cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.color import Color
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from client.widgets.ring_overview import distance_label, speed_colour

GUTTER = 7  # left margin for the position labels ("1.50km ")
EMPTY = "#303030"
PATH = "#ffffff"
GRID_DOT = Style(color="#5f5f5f")


@dataclass(frozen=True)
class Diagram:
    """The payload's `diagram`, checked: a times × cells grid of km/h (-1 = no car)."""

    t_bin_s: float
    x_bin_m: float
    kmh: list[list[int]]
    times: int
    cells: int

    @classmethod
    def from_payload(cls, data: Any) -> Diagram | None:
        """None when the map is missing or malformed (the screen then says so)."""
        if not isinstance(data, dict):
            return None
        t_bin, x_bin, rows = data.get("t_bin_s"), data.get("x_bin_m"), data.get("kmh")
        if not isinstance(t_bin, int | float) or not isinstance(x_bin, int | float):
            return None
        if t_bin <= 0 or x_bin <= 0 or not isinstance(rows, list) or not rows:
            return None
        grid: list[list[int]] = []
        for row in rows:
            if not isinstance(row, list):
                return None
            grid.append([int(v) if isinstance(v, int | float) else -1 for v in row])
        cells = max(len(row) for row in grid)
        return cls(float(t_bin), float(x_bin), grid, len(grid), cells)

    def at(self, t_index: int, cell: int) -> int:
        if 0 <= t_index < len(self.kmh) and 0 <= cell < len(self.kmh[t_index]):
            return self.kmh[t_index][cell]
        return -1


class SpaceTime(Widget, can_focus=True):
    """Position × time coloured by speed, with the player's path, wave roots and a guess."""

    DEFAULT_CSS = """
    SpaceTime { height: 1fr; min-height: 6; }
    SpaceTime:focus { background-tint: $foreground 3%; }
    """

    BINDINGS = [
        Binding("left", "move(-1, 0)", "Earlier", show=False),
        Binding("right", "move(1, 0)", "Later", show=False),
        Binding("up", "move(0, 1)", "Further on", show=False),
        Binding("down", "move(0, -1)", "Further back", show=False),
        Binding("enter", "reveal", "Reveal", show=False),
    ]

    revealed: reactive[bool] = reactive(False)

    class Revealed(Message):
        """The player asked to see the real diagram (their guess, if any, is attached)."""

        def __init__(self, guess: tuple[float, float] | None) -> None:
            super().__init__()
            self.guess = guess

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.diagram: Diagram | None = None
        self.length: float = 0.0
        self.path: list[int] = []
        self.roots: list[tuple[float, float]] = []
        self.cursor: tuple[int, int] | None = None  # (column, pixel row from the bottom)
        self.guess: tuple[float, float] | None = None  # (t seconds, x metres)
        self._lines: list[Strip] = []
        self._lines_key: tuple[Any, ...] | None = None
        self._styles: dict[tuple[str, str], Style] = {}
        self._dimmed: dict[str, str] = {}
        self.window: tuple[float, float, float, float] | None = None  # t0, t1, x0, x1

    # -- data ------------------------------------------------------------------------

    def set_data(
        self,
        diagram: Diagram | None,
        length: float,
        path: list[int] | None = None,
        roots: list[tuple[float, float]] | None = None,
    ) -> None:
        """The diagram, the ring length, my car's x per time bin, and (t, x) of wave roots."""
        self.diagram = diagram
        self.length = length if length > 0 else (diagram.cells * diagram.x_bin_m if diagram else 0)
        self.path = list(path or [])
        self.roots = list(roots or [])
        self._lines_key = None  # new data: draw the picture again
        self.refresh()

    def highlight(self, window: tuple[float, float, float, float] | None) -> None:
        """Dim everything outside a card's time/position window (x0 > x1 wraps the ring)."""
        self.window = window
        self._lines_key = None
        self.refresh()

    def _outside(self, t_index: int, pixel: int) -> bool:
        if self.window is None or self.diagram is None:
            return False
        t0, t1, x0, x1 = self.window
        t = (t_index + 0.5) * self.diagram.t_bin_s
        x = self.x_of_pixel(pixel)
        inside_x = x0 <= x <= x1 if x0 <= x1 else (x >= x0 or x <= x1)
        return not (t0 - self.diagram.t_bin_s <= t <= t1 + self.diagram.t_bin_s and inside_x)

    def _dim(self, colour: str) -> str:
        dimmed = self._dimmed.get(colour)
        if dimmed is None:
            dimmed = self._dimmed[colour] = Color.parse(colour).blend(Color(0, 0, 0), 0.7).hex
        return dimmed

    def watch_revealed(self, revealed: bool) -> None:
        self._lines_key = None
        self.refresh()

    # -- geometry --------------------------------------------------------------------

    @property
    def plot_width(self) -> int:
        return max(1, self.size.width - GUTTER)

    @property
    def plot_rows(self) -> int:
        return max(1, self.size.height - 1)  # the last row holds the time axis

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        cells = self.diagram.cells if self.diagram else 20
        return min(24, max(6, cells // 2 + 1))

    def _time_index(self, col: int) -> int:
        times = self.diagram.times if self.diagram else 1
        return min(times - 1, col * times // self.plot_width)

    def _pixel_cell(self, pixel_from_bottom: int) -> int:
        cells = self.diagram.cells if self.diagram else 1
        return min(cells - 1, pixel_from_bottom * cells // (2 * self.plot_rows))

    def _col_of_t(self, t: float) -> int:
        if not self.diagram:
            return 0
        span = self.diagram.times * self.diagram.t_bin_s
        return min(self.plot_width - 1, max(0, int(t / span * self.plot_width)))

    def _pixel_of_x(self, x: float) -> int:
        if self.length <= 0:
            return 0
        return min(2 * self.plot_rows - 1, max(0, int(x / self.length * 2 * self.plot_rows)))

    def t_of_col(self, col: int) -> float:
        if not self.diagram:
            return 0.0
        return (col + 0.5) / self.plot_width * self.diagram.times * self.diagram.t_bin_s

    def x_of_pixel(self, pixel: int) -> float:
        return (pixel + 0.5) / (2 * self.plot_rows) * self.length

    # -- the guess -------------------------------------------------------------------

    def action_move(self, dcol: int, dpixel: int) -> None:
        """Move the guess cursor (only before the reveal)."""
        if self.revealed:
            return
        col, pix = self.cursor or (self.plot_width // 2, self.plot_rows)
        step_col = max(1, self.plot_width // 40)
        col = min(self.plot_width - 1, max(0, col + dcol * step_col))
        pix = min(2 * self.plot_rows - 1, max(0, pix + dpixel))
        self.cursor = (col, pix)
        self.guess = (self.t_of_col(col), self.x_of_pixel(pix))
        self.refresh()

    def action_reveal(self) -> None:
        if not self.revealed:
            self.revealed = True
            self.post_message(self.Revealed(self.guess))

    # -- drawing ---------------------------------------------------------------------

    def _pixel_colour(self, t_index: int, pixel: int, path_pixel: int | None) -> str:
        if not self.revealed:
            return EMPTY
        if path_pixel is not None and pixel == path_pixel:
            return PATH
        kmh = self.diagram.at(t_index, self._pixel_cell(pixel)) if self.diagram else -1
        colour = EMPTY if kmh < 0 else speed_colour(kmh)
        return self._dim(colour) if self._outside(t_index, pixel) else colour

    def _path_pixel(self, t_index: int) -> int | None:
        if not self.revealed or t_index >= len(self.path):
            return None
        x = self.path[t_index]
        if not isinstance(x, int | float) or x < 0:
            return None
        return self._pixel_of_x(float(x))

    def _gutter(self, y: int) -> Segment:
        rows = self.plot_rows
        label = ""
        if self.length > 0 and y in (0, rows // 2, rows - 1):
            x = (rows - y - 0.5) / rows * self.length
            label = distance_label(x, self.length, decimals=2)
        return Segment(label.rjust(GUTTER - 1)[: GUTTER - 1] + "┤", Style(dim=True))

    def _axis(self) -> Strip:
        width = self.plot_width
        text = [" "] * width
        if self.diagram:
            span = self.diagram.times * self.diagram.t_bin_s
            marks = max(2, min(7, width // 12))
            for i in range(marks):
                col = i * (width - 1) // (marks - 1)
                seconds = int(span * col / width)
                label = f"{seconds // 60}:{seconds % 60:02d}"
                start = min(col, width - len(label))
                text[start : start + len(label)] = list(label)
        return Strip(
            [
                Segment(" " * (GUTTER - 1) + "└", Style(dim=True)),
                Segment("".join(text), Style(dim=True)),
            ]
        )

    def _style(self, fg: str, bg: str) -> Style:
        key = (fg, bg)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = Style(color=fg, bgcolor=bg)
        return style

    def render_line(self, y: int) -> Strip:
        key = (self.size, self.revealed, self.cursor, self.window)
        if self._lines_key != key:
            self._lines = [self._render_row(row) for row in range(self.size.height)]
            self._lines_key = key
        return self._lines[y] if 0 <= y < len(self._lines) else Strip.blank(self.size.width)

    def _render_row(self, y: int) -> Strip:
        width = self.size.width
        if width <= GUTTER:
            return Strip.blank(width)
        if y == self.plot_rows:
            return self._axis().crop(0, width)
        if y > self.plot_rows:
            return Strip.blank(width)
        segments = [self._gutter(y)]
        top_pixel = 2 * (self.plot_rows - y) - 1
        bottom_pixel = top_pixel - 1
        root_marks = {(self._col_of_t(t), self._pixel_of_x(x) // 2) for t, x in self.roots}
        cursor = self.cursor
        for col in range(self.plot_width):
            t_index = self._time_index(col)
            path_pixel = self._path_pixel(t_index)
            top = self._pixel_colour(t_index, top_pixel, path_pixel)
            bottom = self._pixel_colour(t_index, bottom_pixel, path_pixel)
            cell_row = bottom_pixel // 2
            if cursor is not None and cursor[0] == col and cursor[1] // 2 == cell_row:
                segments.append(Segment("✚", Style(color="#ffff00", bgcolor=bottom, bold=True)))
            elif self.revealed and (col, cell_row) in root_marks:
                segments.append(Segment("✕", Style(color="#ffffff", bgcolor=bottom, bold=True)))
            elif not self.revealed:
                dot = "·" if col % 8 == 0 and y % 2 == 0 else " "
                segments.append(Segment(dot, GRID_DOT))
            else:
                segments.append(Segment("▀", self._style(top, bottom)))
        return Strip(segments).crop(0, width)
