"""The `?` screen: every key of the screen below it, and on the road what the symbols mean.

Terminals send key presses, not releases, so the controls are discrete and not obvious;
this screen is the manual a player would otherwise need. It is modal so the round keeps
running underneath and escape returns straight to the car. On the other screens (host,
council, debrief, lobby) it lists that screen's keys, all of them, also those an 80-column
footer has no room for.
"""

from __future__ import annotations

from rich.text import Text
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from client.widgets.footer import key_footer

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
GENERAL: tuple[tuple[str, str], ...] = (
    ("?", "this list"),
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

    def __init__(self, under: Screen | None = None) -> None:
        super().__init__()
        self.under = under

    def _under(self) -> Screen | None:
        """The screen whose keys to list: the one given, else the one this opened over."""
        if self.under is not None:
            return self.under
        stack = self.app.screen_stack
        return stack[-2] if len(stack) > 1 and stack[-1] is self else None

    def compose(self) -> ComposeResult:
        from client.screens.drive import DriveScreen

        under = self._under()
        if under is not None and not isinstance(under, DriveScreen):
            with VerticalScroll(id="help-box"):
                yield Static(Text("Keys on this screen", style="bold"), classes="help-title")
                yield Static(screen_keys(under), id="help-controls")
            yield key_footer()
            return
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
        yield key_footer()

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


def screen_keys(screen: Screen) -> Text:
    """Every key of `screen` that has a description (those its footer hides too), marking
    the ones that do nothing right now; then the keys every screen has."""
    text = Text()
    for binding in type(screen).BINDINGS:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        if binding.key == "question_mark":
            continue  # listed with the keys every screen has
        keys = binding.key_display or " ".join(
            screen.app.get_key_display(Binding(key, binding.action))
            for key in binding.key.split(",")
        )
        namespace, action, params = parse_action(binding.action)
        # "app.help" and the like are the app's: always there; the screen's own may not be now
        active = True if namespace else screen.check_action(action, params)
        text.append(f"{keys:>9}  ", style="bold")
        text.append(binding.description)
        text.append("" if active else "  (not now)", style="dim")
        text.append("\n")
    for key, what in GENERAL:
        text.append(f"{key:>9}  ", style="bold")
        text.append(what + "\n")
    text.rstrip()
    return text
