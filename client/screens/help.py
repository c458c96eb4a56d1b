"""The `?` screen: every driving control and what the road's symbols mean.

Terminals send key presses, not releases, so the controls are discrete and not obvious;
this screen is the manual a player would otherwise need. It is modal so the round keeps
running underneath and escape returns straight to the car.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

CONTROLS: tuple[tuple[str, str], ...] = (
    ("↑ ↓", "target speed up / down by 10 km/h"),
    ("space", "brake hard (each press about 0.3 s)"),
    ("← →", "change lane left / right (about 2 s)"),
    (", .  q e", "signal left / right (press again: off)"),
    ("h", "hazard lights on / off"),
    ("y", "yield: open a gap for a car signalling in"),
    ("1 2 3", "following gap: close / normal / wide"),
    ("a", "assist on / off (manual: only emergency brake)"),
    ("p", "pause / resume the round (host)"),
    ("?", "this help"),
    ("ctrl+p", "command palette"),
    ("ctrl+q", "quit"),
)

LEGEND: tuple[tuple[str, str, str], ...] = (
    ("◆██▶", "bold #f0e442", "you: yellow, diamond at the back, arrow at the nose"),
    ("▐A█▌", "bold #56b4e9", "another player: blue, their initial on the roof"),
    ("▐██▌", "#c8c8c8", "a bot: grey"),
    ("▮", "bold #ff5f3f", "brake light: a bar at the back"),
    ("▲ ▼", "bold #e69f00", "blinking signal: ▲ left, ▼ right; both = hazards"),
    ("╳", "bold #cc79a7", "a crashed car"),
    ("▲ ▲ ▲", "#e69f00", "cones: a closed lane; ⚠ signs warn ahead of it"),
    ("┃", "#ffffff", "the counting gantry"),
)


class HelpScreen(ModalScreen[None]):
    """Controls and legend, over the game."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Back"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box"):
            yield Static(Text("Interlane — controls", style="bold"), classes="help-title")
            yield Static(self._controls(), id="help-controls")
            yield Static(Text("On the road", style="bold"), classes="help-title")
            yield Static(self._legend(), id="help-legend")
            yield Static(
                Text(
                    "Every hard brake travels backwards through the traffic as a wave. "
                    "Smooth driving, signals and gaps are what keep the road moving for all.",
                    style="italic",
                )
            )
        yield Footer()

    def _controls(self) -> Text:
        text = Text()
        for key, what in CONTROLS:
            text.append(f"{key:>9}  ", style="bold")
            text.append(what + "\n")
        text.rstrip()
        return text

    def _legend(self) -> Text:
        text = Text()
        for glyph, style, what in LEGEND:
            text.append(f"{glyph:>6}", style=style)
            text.append(f"  {what}\n")
        text.rstrip()
        return text
