"""The footer every screen uses: the keys that matter, in the width an 80-column terminal has.

Textual's default footer pads each key and keeps a "^p palette" hint on the right, which at
80 columns pushed a host's incident, kick, lock and message keys (and the debrief's next
round) off the edge. This one is compact and leaves the palette out (ctrl+p still works, and
`?` lists every key of the screen, the palette's included), so the screens' own keys fit.
Keys of one binding group (the host's b/B bots, the debrief's tab numbers) share one label.
"""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    """A compact footer without the palette hint, with a space around grouped keys."""

    DEFAULT_CSS = """
    KeyFooter.-compact KeyGroup.-compact { padding-left: 0; margin: 0; }
    KeyFooter.-compact KeyGroup.-compact FooterKey.-grouped { margin: 0 1 0 0; }
    KeyFooter.-compact FooterLabel { margin: 0 1 0 0; }
    """

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)


def key_footer() -> Footer:
    """The footer for a screen (see the module's docstring for why it is compact)."""
    return KeyFooter()
