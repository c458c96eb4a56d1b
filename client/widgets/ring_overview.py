"""The whole ring at a glance: every lane unrolled into rows, coloured by speed.

The host and the projector need to see where the road is jammed, not where one car is, so
this draws the full ring as a strip: one row per lane with each car as a block coloured by
its own speed, then a row of bars whose height *and* colour give the mean speed of each
ring segment (height carries the meaning for readers who cannot tell red from green), then
a distance scale. It only draws what the last snapshot said; it keeps no clock.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from shared.protocol import FLAG_CRASHED, FLAG_PLAYER, unpack_car

# Speed bands (upper bound in km/h, colour). Chosen to stay distinct on dark and light themes.
SPEED_BANDS: tuple[tuple[float, str], ...] = (
    (10, "#d7263d"),  # stopped
    (30, "#f46036"),  # crawling
    (55, "#f4b400"),  # slow
    (80, "#2e86ab"),  # moving
    (1e9, "#1b998b"),  # free flow
)
BAR_GLYPHS = "▁▂▃▄▅▆▇█"
FREE_FLOW_KMH = 120.0


def distance_label(metres: float, road_length: float, decimals: int = 1) -> str:
    """A position along the road for an axis: metres on a short ring (the 230 m Sugiyama ring
    would read 0.0km, 0.0km, 0.1km…), kilometres on a long one."""
    if road_length < 2000:
        return f"{metres:.0f}m"
    return f"{metres / 1000:.{decimals}f}km"


def speed_colour(kmh: float) -> str:
    """The colour of a speed band: red for stopped through teal for free flow."""
    for bound, colour in SPEED_BANDS:
        if kmh < bound:
            return colour
    return SPEED_BANDS[-1][1]


def speed_bar(kmh: float) -> str:
    """A bar whose height grows with speed, so the picture reads without colour too."""
    share = max(0.0, min(1.0, kmh / FREE_FLOW_KMH))
    return BAR_GLYPHS[min(len(BAR_GLYPHS) - 1, int(share * len(BAR_GLYPHS)))]


class RingOverview(Widget):
    """Lanes as rows, cars as speed-coloured blocks, and a per-segment speed bar row."""

    DEFAULT_CSS = """
    RingOverview {
        height: auto;
        min-height: 4;
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.ring: list[float] = []
        self.cars: list[tuple[int, float, float, float, int]] = []
        self.length: float = 0.0
        self.lanes: int = 1
        self.you: int | None = None

    def set_road(self, road: Mapping[str, Any] | None) -> None:
        """Take the ring length and lane count from a `room` message's `ring` (world.road())."""
        if not isinstance(road, dict):
            return
        length = road.get("length")
        lanes = road.get("lanes")
        if isinstance(length, int | float) and length > 0:
            self.length = float(length)
        if isinstance(lanes, int) and 1 <= lanes <= 8:
            self.lanes = lanes
        self.refresh(layout=True)

    def update_snapshot(self, snapshot: dict[str, Any], you: int | None = None) -> None:
        """Keep the ring summary and cars of one `snapshot` message; malformed rows are skipped."""
        ring = snapshot.get("ring")
        if isinstance(ring, list):
            self.ring = [float(v) for v in ring if isinstance(v, int | float)]
        cars = []
        for row in snapshot.get("cars") or []:
            valid = isinstance(row, list | tuple) and len(row) >= 5
            if valid and all(isinstance(v, int | float) for v in row[:5]):
                cars.append(unpack_car(row))
        self.cars = cars
        self.you = you
        if cars and self.length <= 0:
            # No road description yet: the furthest car bounds the ring well enough to draw.
            self.length = max(c[2] for c in cars) + 1.0
        top_lane = max((int(round(c[1])) for c in cars), default=0)
        if top_lane + 1 > self.lanes:
            self.lanes = min(8, top_lane + 1)
            self.refresh(layout=True)
        self.refresh()

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return self.lanes + 2

    def _lane_row(self, lane: int, width: int) -> Strip:
        cells: list[tuple[str, Style]] = [("·", Style(color="#808080")) for _ in range(width)]
        length = self.length if self.length > 0 else 1.0
        for car_id, car_lane, x, v, flags in self.cars:
            if int(round(car_lane)) != lane:
                continue
            col = min(width - 1, max(0, int(x / length * width)))
            kmh = v * 3.6
            if flags & FLAG_CRASHED:
                cells[col] = ("✖", Style(color="#ffffff", bgcolor="#d7263d", bold=True))
            elif car_id == self.you:
                cells[col] = ("◆", Style(color="#ffffff", bold=True))
            elif flags & FLAG_PLAYER:
                cells[col] = ("▲", Style(color=speed_colour(kmh), bold=True))
            else:
                cells[col] = ("■", Style(color=speed_colour(kmh)))
        return Strip([Segment(ch, style) for ch, style in cells])

    def _bar_row(self, width: int) -> Strip:
        if not self.ring:
            return Strip([Segment(" " * width)])
        segs = []
        n = len(self.ring)
        for col in range(width):
            kmh = self.ring[min(n - 1, col * n // width)]
            segs.append(Segment(speed_bar(kmh), Style(color=speed_colour(kmh))))
        return Strip(segs)

    def _scale_row(self, width: int) -> Strip:
        text = [" "] * width
        if self.length > 0 and width >= 10:
            marks = max(2, min(6, width // 14))
            for i in range(marks):
                col = i * (width - 1) // (marks - 1) if marks > 1 else 0
                label = distance_label(self.length * col / width, self.length)
                start = min(col, width - len(label))
                for j, ch in enumerate(label):
                    text[start + j] = ch
        return Strip([Segment("".join(text), Style(dim=True))])

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if width <= 0:
            return Strip.blank(0)
        if y < self.lanes:
            # lane 0 is the rightmost: draw it at the bottom, like a road seen from above
            return self._lane_row(self.lanes - 1 - y, width)
        if y == self.lanes:
            return self._bar_row(width)
        if y == self.lanes + 1:
            return self._scale_row(width)
        return Strip.blank(width)


def legend_text() -> list[tuple[str, str]]:
    """(label, colour) pairs for a legend beside the overview."""
    names = ("stopped", "crawl", "slow", "moving", "free")
    return [(name, colour) for name, (_, colour) in zip(names, SPEED_BANDS, strict=True)]


def ring_mean(ring: Sequence[float]) -> float:
    """Mean of the segment speeds, for a headline figure when the team figures are absent."""
    return sum(ring) / len(ring) if ring else 0.0
