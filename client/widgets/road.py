"""The road around the player's car, drawn with Textual's Line API.

Lanes are rows (the leftmost lane at the top, traffic moving to the right); between them a
row of lane markings. Cars move smoothly because their ends are placed to half a column
(▐ ▌) and, while changing lanes, to half a row (▀ ▄). Meaning never rests on colour alone:
your car carries a diamond and an arrow, other players their initial, brake lights are a
bar (▮), signals are blinking arrows above (left) or below (right) the car, crashes are ╳.

The whole picture is computed once per frame as rows of cells (`compose_grid`, pure and
testable; `compose_frame` turns them into `Strip`s). The widget compares each row with the one
on screen and rebuilds and repaints only the rows that changed: most of the road (the verge,
the edges, the plain asphalt between lanes) is the same from one frame to the next, and a door
player's client draws on the host's CPU (docs/workshop.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from client.screens.roomview import plain
from client.state import CarView, wrap_delta
from shared.lanes import lane_name
from shared.protocol import (
    FLAG_AEB,
    FLAG_BRAKING,
    FLAG_CRASHED,
    FLAG_HAZARD,
    FLAG_PLAYER,
    FLAG_SIGNAL_LEFT,
    FLAG_SIGNAL_RIGHT,
    FLAG_TRUCK,
)

METRES_PER_COLUMN = 2.0
CAMERA_AT = 0.35  # your car sits at this fraction of the width: more road ahead than behind
CAR_LENGTH = 5.0
TRUCK_LENGTH = 12.0
DASH_METRES = 6.0  # lane-marking dash and gap length
MAX_WARN = 2000.0  # signs further ahead than this are not drawn
INCIDENT_LENGTH = 20.0  # metres of lane an incident blocks (shared/sim/road.py)
RAMP_FEEDER = 200.0  # metres of slip road before an acceleration lane opens (shared/sim/road.py)

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
ASPHALT = "#2b2b2b"
PALETTE = {
    "asphalt": Style(bgcolor=ASPHALT),
    "edge": Style(color="#d0d0d0", bgcolor=ASPHALT),
    "dash": Style(color="#9a9a9a", bgcolor=ASPHALT),
    "verge": Style(),
    "you": Style(color="#f0e442", bgcolor=ASPHALT, bold=True),
    "you_mark": Style(color="#000000", bgcolor="#f0e442", bold=True),
    "player": Style(color="#56b4e9", bgcolor=ASPHALT, bold=True),
    "player_mark": Style(color="#000000", bgcolor="#56b4e9", bold=True),
    "bot": Style(color="#c8c8c8", bgcolor=ASPHALT),
    "brake": Style(color="#ff5f3f", bgcolor=ASPHALT, bold=True),
    "signal": Style(color="#e69f00", bgcolor=ASPHALT, bold=True),
    "crash": Style(color="#cc79a7", bgcolor=ASPHALT, bold=True),
    "cone": Style(color="#e69f00", bgcolor=ASPHALT, bold=True),
    "hatch": Style(color="#8a6a20", bgcolor=ASPHALT),
    "sign": Style(color="#000000", bgcolor="#e69f00", bold=True),
    "limit": Style(color="#000000", bgcolor="#ffffff", bold=True),
    "gantry": Style(color="#ffffff", bgcolor=ASPHALT, bold=True),
    "gantry_faint": Style(color="#6a6a6a", bgcolor=ASPHALT),
    "verge_text": Style(color="#e69f00", bold=True),
    "fog": Style(color="#5a5a5a", bgcolor=ASPHALT),
}
_BLANK = (" ", "verge")


@dataclass(frozen=True)
class View:
    """Everything one frame depends on (no clock inside: blinking is a given phase)."""

    cars: tuple[CarView, ...]
    road: Mapping[str, Any]
    centre_x: float
    you: int | None
    names: Mapping[int, str]
    blink_on: bool
    lanes: int


def lanes_of(road: Mapping[str, Any], cars: Iterable[CarView]) -> int:
    """Lane count from the road description, else from the cars seen, else 3."""
    lanes = road.get("lanes")
    if isinstance(lanes, int) and 1 <= lanes <= 6:
        return lanes
    top = max((math.ceil(c.lane) for c in cars), default=2)
    return max(1, min(6, top + 1))


Row = list[tuple[str, str]]  # (glyph, PALETTE key) per cell


def compose_frame(view: View, width: int, height: int) -> list[Strip]:
    """The whole road picture as `height` strips of `width` cells."""
    return [_strip(row) for row in compose_grid(view, width, height)]


def compose_grid(view: View, width: int, height: int) -> list[Row]:
    """The whole road picture as `height` rows of `width` (glyph, style) cells."""
    if width <= 0 or height <= 0:
        return []
    grid: list[Row] = [[_BLANK] * width for _ in range(height)]
    lanes = view.lanes
    pitch = 4 if height >= 4 * lanes + 3 else 2  # rows per lane: roomier on tall terminals
    road_rows = pitch * lanes + 1
    top = max(0, (height - road_rows) // 2)
    length = float(view.road.get("length") or 0.0)
    cam_col = int(width * CAMERA_AT)
    left_x = view.centre_x - cam_col * METRES_PER_COLUMN

    def world_x(col: float) -> float:
        x = left_x + col * METRES_PER_COLUMN
        return x % length if length > 0 else x

    def column(x: float) -> float:
        return cam_col + _delta(x - view.centre_x, length) / METRES_PER_COLUMN

    def lane_row(lane: int) -> int:
        return top + pitch // 2 + pitch * (lanes - 1 - lane)

    # surface and markings
    for r in range(road_rows):
        y = top + r
        if y >= height:
            break
        row = grid[y]
        if r == 0 or r == road_rows - 1:
            for c in range(width):
                row[c] = ("━", "edge")
        elif r % pitch:
            for c in range(width):
                row[c] = (" ", "asphalt")
        else:
            for c in range(width):
                dash = math.floor(world_x(c + 0.5) / DASH_METRES) % 2 == 0
                row[c] = ("─" if dash else " ", "dash")

    _draw_features(grid, view, width, height, lanes, top, road_rows, column, lane_row, pitch)

    # a ring shorter than the view (the Sugiyama circle) shows each car more than once
    span = length / METRES_PER_COLUMN if length > 0 else 0.0
    images = [0.0]
    # (at least a column per image: a junk length cannot ask for millions of copies)
    if 1.0 <= span < width + 2 * TRUCK_LENGTH / METRES_PER_COLUMN:
        k = math.ceil(width / span) + 1
        images = [i * span for i in range(-k, k + 1)]

    # cars: the others first, you last so you are never hidden
    mine = [c for c in view.cars if c.id == view.you]
    others = [c for c in view.cars if c.id != view.you]
    for car in others + mine:
        for shift in images:
            _draw_car(grid, car, view, width, height, lanes, top, column, pitch, shift)

    sight = _sight_at(view.road, view.centre_x, length)
    if sight is not None:
        _fog(grid, width, top, road_rows, cam_col, sight)

    return grid


def _sight_at(road: Mapping[str, Any], x: float, length: float) -> float | None:
    """How far you see at x in fog (the shortest sight of the zones around you), else None."""
    best: float | None = None
    for zone in _items(road.get("fog")):
        start, end, sight = zone.get("start"), zone.get("end"), zone.get("sight")
        if not (
            isinstance(start, int | float)
            and isinstance(end, int | float)
            and isinstance(sight, int | float)
        ):
            continue
        inside = (x - start) % length < (end - start) % length if length > 0 else start <= x < end
        if inside and (best is None or sight < best):
            best = max(float(sight), 0.0)
    return best


def _fog(grid, width: int, top: int, road_rows: int, cam_col: int, sight: float) -> None:  # noqa: ANN001
    """Beyond `sight` metres the road fades to ░: what you cannot see is not drawn."""
    reach = sight / METRES_PER_COLUMN
    for y in range(top, min(top + road_rows, len(grid))):
        row = grid[y]
        for c in range(width):
            if abs(c - cam_col) > reach:
                row[c] = ("░", "fog")


def _delta(dx: float, length: float) -> float:
    return wrap_delta(dx, length) if length > 0 else dx


def _draw_features(
    grid, view, width, height, lanes, top, road_rows, column, lane_row, pitch
) -> None:  # noqa: ANN001
    road = view.road
    bottom = top + road_rows - 1
    spread = range(-(pitch // 2 - 1), pitch // 2)  # surface rows of a lane around its centre
    for closure in _items(road.get("closures")):
        lane = closure.get("lane")
        if not isinstance(lane, int) or not 0 <= lane < lanes:
            continue
        start, end = float(closure.get("start", 0)), float(closure.get("end", 0))
        warn = float(closure.get("warn", 500))
        c0, c1 = column(start), column(start) + (end - start) / METRES_PER_COLUMN
        for dy in spread:
            y = lane_row(lane) + dy
            if not 0 <= y < height:
                continue
            for c in range(max(0, math.floor(c0)), min(width, math.ceil(c1))):
                wx = start + (c - c0) * METRES_PER_COLUMN
                cone = int(wx // 10) != int((wx + METRES_PER_COLUMN) // 10) or c == math.floor(c0)
                grid[y][c] = ("▲", "cone") if cone and dy == 0 else ("╱", "hatch")
        edge = top if lane >= lanes / 2 else bottom
        sign_row = edge - 1 if edge == top else edge + 1
        if not 0 <= sign_row < height:
            sign_row = edge
        for k in range(1, int(min(max(warn, 0.0), MAX_WARN) // 100) + 1):
            c = round(column(start - k * 100))
            if -30 < c < width:
                _put_text(grid, sign_row, c, f"⚠ {lane_name(lane)} ends {k * 100} m", "sign", width)
    for ramp in _items(road.get("ramps")):
        lane = ramp.get("lane")
        if not isinstance(lane, int) or not 0 <= lane < lanes:
            continue
        start, end = float(ramp.get("start", 0)), float(ramp.get("end", 0))
        y = lane_row(lane)
        c0 = column(start)
        c1 = c0 + _ring_span(start, end, float(road.get("length") or 0)) / METRES_PER_COLUMN
        feeder = c0 - RAMP_FEEDER / METRES_PER_COLUMN
        inner, outer = (y - pitch // 2, y + pitch // 2)
        if lane >= lanes / 2:
            inner, outer = outer, inner
        for c in range(width):
            if c0 <= c + 0.5 <= c1:
                continue  # the acceleration lane: dashed, merging allowed
            if feeder <= c + 0.5 < c0:  # the slip road: separated by a solid line
                if 0 <= inner < height:
                    grid[inner][c] = ("━", "edge")
                continue
            for dy in spread:
                if 0 <= y + dy < height:
                    grid[y + dy][c] = (" ", "verge")
            if 0 <= outer < height:
                grid[outer][c] = (" ", "verge")
            if 0 <= inner < height:
                grid[inner][c] = ("━", "edge")
        end_col = math.floor(c1)
        if 0 <= end_col < width and 0 <= y < height:
            grid[y][end_col] = ("◣" if lane < lanes / 2 else "◤", "cone")
    for incident in _items(road.get("incidents")):
        lane = incident.get("lane")
        if not isinstance(lane, int) or not 0 <= lane < lanes:
            continue
        y = lane_row(lane)
        c = round(column(float(incident.get("x", 0))))
        blocked = max(1, round(INCIDENT_LENGTH / METRES_PER_COLUMN))
        cells = [(-5, "▲"), (-3, "▲"), (-1, "▲")] + [(k, "✖") for k in range(blocked)]
        for dc, glyph in cells:
            if 0 <= c + dc < width and 0 <= y < height:
                grid[y][c + dc] = (glyph, "cone")
    for zone in _items(road.get("speed_zones")):
        limit = zone.get("limit")
        if not isinstance(limit, int | float):
            continue
        c = round(column(float(zone.get("start", 0))))
        row = top - 1 if top > 0 else top
        _put_text(grid, row, c, f"({round(limit * 3.6)})", "limit", width)
    gantry = road.get("gantry")
    length = float(road.get("length") or 0.0)
    span = length / METRES_PER_COLUMN
    if isinstance(gantry, int | float):
        base = column(float(gantry))
        shifts = range(-3, 4) if 0 < span < width else range(1)
        for c in {round(base + k * span) for k in shifts}:
            if not 0 <= c < width:
                continue
            for r in range(road_rows):
                y = top + r
                if y < height:
                    glyph, style = grid[y][c]
                    if r % pitch and glyph == " ":
                        grid[y][c] = ("┊", "gantry_faint")
                    elif r % pitch == 0:
                        grid[y][c] = ("┃", "gantry")


def _ring_span(start: float, end: float, length: float) -> float:
    span = end - start
    if length > 0 and span < 0:
        span += length
    return span


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _put_text(grid, y: int, col: int, text: str, style: str, width: int) -> None:  # noqa: ANN001
    if not 0 <= y < len(grid):
        return
    for i, ch in enumerate(text):
        c = col + i
        if 0 <= c < width:
            grid[y][c] = (ch, style)


def _draw_car(
    grid, car: CarView, view: View, width, height, lanes, top, column, pitch, shift=0.0
) -> None:  # noqa: ANN001
    flags = car.flags
    length = TRUCK_LENGTH if flags & FLAG_TRUCK else CAR_LENGTH
    front = column(car.x) + shift
    rear = front - length / METRES_PER_COLUMN
    if front < -1 or rear > width + 1:
        return
    h_rear, h_front = round(rear * 2), round(front * 2)
    if h_front <= h_rear:
        h_front = h_rear + 1
    c_first, c_last = h_rear // 2, (h_front - 1) // 2
    if car.id == view.you:
        kind = "you"
    elif flags & FLAG_PLAYER:
        kind = "player"
    else:
        kind = "bot"
    crashed = bool(flags & FLAG_CRASHED)
    braking = bool(flags & (FLAG_BRAKING | FLAG_AEB))
    # half-rows: an aligned car covers half-rows 2r and 2r+1 of text row r
    lane = min(max(car.lane, -0.5), lanes - 0.5)
    half = round(2 * (top + pitch / 2 + pitch * (lanes - 1 - lane)))
    aligned = half % 2 == 0
    body_style = "crash" if crashed else kind
    if aligned:
        y = half // 2
        if not 0 <= y < height:
            return
        row = grid[y]
        cols = range(c_first, c_last + 1)
        cells: list[list[str]] = []  # [glyph, style] of each column in `cols`
        for c in cols:
            left_in = h_rear <= 2 * c < h_front
            right_in = h_rear <= 2 * c + 1 < h_front
            glyph = "█" if left_in and right_in else ("▐" if right_in else "▌")
            cells.append(["╳" if crashed else glyph, body_style])
        if not crashed:
            full = [cell for cell in cells if cell[0] == "█"]
            if braking:
                cells[0][0], cells[0][1] = "▮", "brake"
                full = [cell for cell in full if cell is not cells[0]]
            if kind == "you":
                if full:
                    full[0][0], full[0][1] = "◆", "you_mark"
                if cells[-1] is not (full[0] if full else None) and len(cells) > 1:
                    cells[-1][0] = "▶"
            elif kind == "player" and full:
                initial = plain(view.names.get(car.id) or "?").strip()[:1].upper() or "?"
                full[0][0], full[0][1] = initial, "player_mark"
        for c, (glyph, style) in zip(cols, cells, strict=True):
            if 0 <= c < width:
                row[c] = (glyph, style)
        signal_rows = (y - 1, y + 1)
    else:
        upper, lower = (half - 1) // 2, (half + 1) // 2
        style = "brake" if braking and not crashed else body_style
        for c in range(c_first, c_last + 1):
            if not 0 <= c < width:
                continue
            cell_style = style if c == c_first else body_style
            if 0 <= upper < height:
                grid[upper][c] = ("▄", cell_style)
            if 0 <= lower < height:
                grid[lower][c] = ("▀", cell_style)
        signal_rows = (upper - 1, lower + 1)
    if not view.blink_on or crashed:
        return
    hazard = bool(flags & FLAG_HAZARD)
    marks: list[tuple[int, int, str]] = []
    if hazard or flags & FLAG_SIGNAL_LEFT:
        marks.append((signal_rows[0], c_last, "▲"))
    if hazard or flags & FLAG_SIGNAL_RIGHT:
        marks.append((signal_rows[1], c_last, "▼"))
    if hazard:
        marks += [(signal_rows[0], c_first, "▲"), (signal_rows[1], c_first, "▼")]
    for y, c, glyph in marks:
        if 0 <= y < height and 0 <= c < width:
            bg = grid[y][c][1]
            grid[y][c] = (glyph, "signal" if bg != "verge" else "verge_text")


def _strip(row: list[tuple[str, str]]) -> Strip:
    """Merge runs of one style into segments: a 120-cell row is usually under 20 segments."""
    segments: list[Segment] = []
    run: list[str] = []
    current = row[0][1] if row else "verge"
    for glyph, style in row:
        if style != current:
            segments.append(Segment("".join(run), PALETTE[current]))
            run = []
            current = style
        run.append(glyph)
    if run:
        segments.append(Segment("".join(run), PALETTE[current]))
    return Strip(segments, len(row))


class RoadView(Widget):
    """The drive screen's road. Call `show(view)` each frame; only the rows that changed since
    the last frame are rebuilt and repainted."""

    DEFAULT_CSS = """
    RoadView { height: 1fr; min-height: 7; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._road_view: View | None = None
        self._road_rows: list[Row] = []  # the cells on screen, to compare the next frame with
        self._road_strips: list[Strip] = []
        self._frame_size: tuple[int, int] = (0, 0)
        self.frames = 0  # frames composed; the benchmark reads it

    def show(self, view: View) -> None:
        """Draw `view` — unless it is the picture already shown (a paused round, a frozen
        clock): then nothing is redrawn at all."""
        if view == self._road_view:
            return
        if self._road_view is None or view.lanes != self._road_view.lanes:
            # roomy lanes plus two rows each side for signs: more is empty verge to redraw
            self.styles.max_height = 4 * view.lanes + 5
        self._road_view = view
        width, height = self.size.width, self.size.height
        if (width, height) != self._frame_size or not self._road_strips:
            self._road_strips = []  # a new size: render_line composes the whole picture
            self.refresh()
            return
        rows = compose_grid(view, width, height)
        self.frames += 1
        changed = [y for y, row in enumerate(rows) if row != self._road_rows[y]]
        self._road_rows = rows
        for y in changed:
            self._road_strips[y] = _strip(rows[y])
        # one region per run of changed rows
        start = None
        for y in [*changed, -2]:
            if start is None:
                start = end = y
            elif y == end + 1:
                end = y
            else:
                self.refresh(Region(0, start, width, end - start + 1))
                start = end = y

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        if not self._road_strips or self._frame_size != (width, height):
            if self._road_view is None:
                return Strip.blank(width)
            self._road_rows = compose_grid(self._road_view, width, height)
            self._road_strips = [_strip(row) for row in self._road_rows]
            self._frame_size = (width, height)
            self.frames += 1
        if 0 <= y < len(self._road_strips):
            return self._road_strips[y]
        return Strip.blank(width)
