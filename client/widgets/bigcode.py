"""The join code in letters big enough to read from the back of a room.

Textual's Digits only knows digits and A–F, but join codes use most of the alphabet, so this
draws each character from a 5×5 pixel font, two pixel rows per terminal row with half blocks
(3 rows high). Unknown characters draw as a blank box, so a bad code never crashes the screen.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

_FONT_ROWS = {
    "A": (".###.", "#...#", "#####", "#...#", "#...#"),
    "B": ("####.", "#...#", "####.", "#...#", "####."),
    "C": (".####", "#....", "#....", "#....", ".####"),
    "D": ("####.", "#...#", "#...#", "#...#", "####."),
    "E": ("#####", "#....", "####.", "#....", "#####"),
    "F": ("#####", "#....", "####.", "#....", "#...."),
    "G": (".####", "#....", "#..##", "#...#", ".###."),
    "H": ("#...#", "#...#", "#####", "#...#", "#...#"),
    "J": ("..###", "...#.", "...#.", "#..#.", ".##.."),
    "K": ("#...#", "#..#.", "###..", "#..#.", "#...#"),
    "M": ("#...#", "##.##", "#.#.#", "#...#", "#...#"),
    "N": ("#...#", "##..#", "#.#.#", "#..##", "#...#"),
    "P": ("####.", "#...#", "####.", "#....", "#...."),
    "Q": (".###.", "#...#", "#.#.#", "#..#.", ".##.#"),
    "R": ("####.", "#...#", "####.", "#..#.", "#...#"),
    "S": (".####", "#....", ".###.", "....#", "####."),
    "T": ("#####", "..#..", "..#..", "..#..", "..#.."),
    "U": ("#...#", "#...#", "#...#", "#...#", ".###."),
    "V": ("#...#", "#...#", "#...#", ".#.#.", "..#.."),
    "W": ("#...#", "#...#", "#.#.#", "##.##", "#...#"),
    "X": ("#...#", ".#.#.", "..#..", ".#.#.", "#...#"),
    "Y": ("#...#", ".#.#.", "..#..", "..#..", "..#.."),
    "Z": ("#####", "...#.", "..#..", ".#...", "#####"),
    "0": (".###.", "#..##", "#.#.#", "##..#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "..##.", ".#...", "#####"),
    "3": ("####.", "....#", ".###.", "....#", "####."),
    "4": ("#..#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "####."),
    "6": (".###.", "#....", "####.", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", "..#.."),
    "8": (".###.", "#...#", ".###.", "#...#", ".###."),
    "9": (".###.", "#...#", ".####", "....#", ".###."),
    "-": (".....", ".....", "#####", ".....", "....."),
    " ": (".....", ".....", ".....", ".....", "....."),
}
_UNKNOWN = ("#####", "#...#", "#...#", "#...#", "#####")
GLYPH_WIDTH = 5
GAP = 1
ROWS = 3  # five pixel rows, two per terminal row, the last half empty


def _pixel(rows: tuple[str, ...], px_row: int, col: int) -> bool:
    return px_row < len(rows) and rows[px_row][col] == "#"


def render_rows(text: str) -> list[str]:
    """The big text as plain rows of half-block characters (used by the widget and tests)."""
    lines = []
    for row in range(ROWS):
        parts = []
        for ch in text.upper():
            rows = _FONT_ROWS.get(ch, _UNKNOWN)
            cells = []
            for col in range(GLYPH_WIDTH):
                top = _pixel(rows, 2 * row, col)
                bottom = _pixel(rows, 2 * row + 1, col)
                cells.append("█" if top and bottom else "▀" if top else "▄" if bottom else " ")
            parts.append("".join(cells))
        lines.append((" " * GAP).join(parts))
    return lines


class BigCode(Widget):
    """A short text (the room code) drawn three rows high, centred."""

    DEFAULT_CSS = """
    BigCode {
        height: 3;
        width: 1fr;
        color: $text;
    }
    """

    code: reactive[str] = reactive("", layout=True)

    def __init__(self, code: str = "", *, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.set_reactive(BigCode.code, code[:8])

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return max(1, len(self.code) * (GLYPH_WIDTH + GAP) - GAP)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return ROWS

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        rows = render_rows(self.code[:8])
        if y >= len(rows):
            return Strip.blank(width)
        line = rows[y]
        pad = max(0, (width - len(line)) // 2)
        style = self.rich_style + Style(bold=True)
        text = (" " * pad + line)[:width]
        return Strip([Segment(text.ljust(width), style)])
