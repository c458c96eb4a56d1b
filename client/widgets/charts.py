"""Team figures as a panel: small for the host's desk, huge (Digits) for the projector.

The team score is what the game wants people to watch, so the same figures
(snapshot['team'], from server.metrics.RoundMetrics.live()) appear on the host dashboard,
the spectator view and the debrief, always in the same order and units.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widget import Widget
from textual.widgets import Digits, Label, Static

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
