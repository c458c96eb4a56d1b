"""Team figures as a panel: small for the host's desk, huge (Digits) for the projector;
and the debrief's series charts, drawn against a stated axis that starts at zero.

The team score is what the game wants people to watch, so the same figures
(snapshot['team'], from server.metrics.RoundMetrics.live()) appear on the host dashboard,
the spectator view and the debrief, always in the same order and units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widget import Widget
from textual.widgets import Digits, Label, Sparkline, Static

# key in snapshot['team'], label, unit, digits
TEAM_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("flow_vph", "Flow", "veh/h"),
    ("mean_kmh", "Mean speed", "km/h"),
    ("delay_vs", "Delay", "veh·s"),
    ("crashes", "Crashes", ""),
    ("near_misses", "Near misses", ""),
    ("hard_brakes", "Hard brakes", ""),  # counted for the team, never named on a projector
    ("adherence", "Adherence", "%"),
)


def figure_text(value: Any) -> str:
    """A figure as a short string; a missing or non-numeric value shows as a dash."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "–"
    if value != value:  # NaN
        return "–"
    return f"{round(value):d}"


def team_or_ring(snapshot: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The snapshot's team figures; without them (rounds scored individually the server
    sends none), the mean of the ring's segment speeds, so the mean speed still shows."""
    team = snapshot.get("team")
    if isinstance(team, Mapping):
        return team
    ring = [v for v in snapshot.get("ring") or [] if isinstance(v, int | float)]
    return {"mean_kmh": sum(ring) / len(ring)} if ring else None


class TeamFigures(Widget):
    """The team's live figures; `big` lays them out in Digits for a projector."""

    DEFAULT_CSS = """
    TeamFigures { height: auto; }
    TeamFigures .figures-line { height: auto; }
    TeamFigures Grid { grid-size: 4; grid-gutter: 0 2; height: auto; }
    TeamFigures .figure { height: auto; }
    TeamFigures .figure Label { color: $text-muted; }
    TeamFigures Digits { width: auto; }
    """

    def __init__(self, *, big: bool = False, id: str | None = None, classes: str | None = None):
        super().__init__(id=id, classes=classes)
        self.big = big
        self.values: dict[str, Any] = {}
        self.has_team = False

    def compose(self) -> ComposeResult:
        if self.big:
            with Grid():
                for key, label, unit in TEAM_FIGURES:
                    with Vertical(classes="figure"):
                        yield Label(f"{label} {unit}".strip())
                        yield Digits("-", id=f"fig-{key}")
        else:
            yield Static(self._line(), classes="figures-line")

    def _line(self) -> Text:
        text = Text()
        for i, (key, label, unit) in enumerate(TEAM_FIGURES):
            if i:
                text.append("  ")
            text.append(f"{label} ", style="dim")
            text.append(figure_text(self.values.get(key)), style="bold")
            if unit:
                text.append(f" {unit}")
        return text

    def update_figures(self, team: Mapping[str, Any] | None) -> None:
        """Show the figures of one `snapshot['team']` map; unknown keys are ignored.

        A partial map (only a mean speed from the ring) is used only until real team figures
        have arrived, so the figure never flips between two ways of measuring it.
        """
        if not isinstance(team, Mapping):
            return
        if set(team) == {"mean_kmh"}:
            if self.has_team:
                return
            self.values = {**self.values, "mean_kmh": team["mean_kmh"]}
        else:
            self.has_team = True
            self.values = {key: team.get(key) for key, _, _ in TEAM_FIGURES}
        if not self.is_mounted:
            return
        if self.big:
            for key, _, _ in TEAM_FIGURES:
                digits = figure_text(self.values.get(key)).replace("–", "-")
                self.query_one(f"#fig-{key}", Digits).update(digits)
        else:
            self.query_one(".figures-line", Static).update(self._line())

    def on_mount(self) -> None:
        if self.values:
            self.update_figures(self.values)


def axis_for(values: Sequence[float]) -> tuple[float, float]:
    """The value range a chart of these values is drawn on: from zero (so a dip is drawn as
    big as it really is: 115–120 km/h is a flat line, not a crash of the traffic) to the
    largest value, rounded up to a tidy figure."""
    top = max((v for v in values if v == v), default=0.0)
    if top <= 0:
        return 0.0, 1.0
    magnitude = 10 ** max(0, len(str(int(top))) - 2)
    return 0.0, float(math.ceil(top / magnitude) * magnitude)


class AxisSparklineRenderable:
    """Bars of a series against a fixed axis (lo..hi), one column per bucket of the data
    (its largest value), `height` lines tall."""

    BARS = "▁▂▃▄▅▆▇█"

    def __init__(
        self, data: Sequence[float], axis: tuple[float, float], colour: str, height: int
    ) -> None:
        self.data, self.axis, self.colour, self.height = list(data), axis, colour, height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, height = options.max_width, max(1, self.height)
        lo, hi = self.axis
        span = (hi - lo) or 1.0
        n = len(self.data)
        levels = []
        for col in range(width):
            part = self.data[col * n // width : max(col * n // width + 1, (col + 1) * n // width)]
            value = max(part) if part else lo
            share = min(1.0, max(0.0, (value - lo) / span))
            levels.append(round(share * 8 * height))
        style = Style.parse(self.colour)
        for row in reversed(range(height)):
            cells = []
            for level in levels:
                fill = level - row * 8
                cells.append("█" if fill >= 8 else " " if fill <= 0 else self.BARS[fill - 1])
            yield Segment("".join(cells), style)
            if row:
                yield Segment.line()


class AxisSparkline(Sparkline):
    """A Sparkline drawn against a stated axis (see axis_for) instead of its data's own
    minimum and maximum."""

    def __init__(self, data: Sequence[float] | None = None, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.axis: tuple[float, float] = axis_for(list(data or []))

    def set_series(self, data: Sequence[float], axis: tuple[float, float]) -> None:
        self.axis = axis
        self.data = list(data)
        self.refresh()

    def render(self) -> AxisSparklineRenderable:
        return AxisSparklineRenderable(self.data or [], self.axis, "#4575b4", self.size.height)
