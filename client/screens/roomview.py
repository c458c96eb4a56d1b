"""Reading the room for the facilitator, projector, council and debrief screens.

These screens are fed by the app's plumbing (a typed event per server message,
client/events.py, and the latest `room`/`snapshot`/`debrief` in `app.state`, docs/architecture.md), so the parsing
they share lives here: normalise the player list, format clocks and phases, and turn
untrusted names and chat into text that shows literally (never markup, never terminal
control sequences).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.screen import Screen


def is_current(screen: Screen[Any]) -> bool:
    """Whether a screen should act on a server message the app forwarded to it: mounted (its
    widgets exist) and still the app's screen (a switch may be taking it down). Messages it
    skips are in the app's state, which a screen reads when it mounts."""
    try:
        return bool(screen.is_mounted) and screen.app.screen is screen
    except Exception:  # the app is closing down: no screen stack any more
        return False


def plain(value: Any, limit: int = 200) -> str:
    """Untrusted text made safe to draw: control characters become visible `\\xNN` escapes.

    Brackets are kept (they are shown literally because callers wrap the result in
    rich.text.Text, never in markup); only characters that could move the cursor, change
    colours or hide text are rewritten, so a name like "\\x1b[31m" reads exactly as typed.
    """
    if not isinstance(value, str):
        value = "" if value is None else str(value)
    out = []
    for ch in value[: limit * 4]:
        if unicodedata.category(ch).startswith("C") or unicodedata.category(ch) in ("Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)[: limit * 4]


def plain_text(value: Any, style: str = "", limit: int = 200) -> Text:
    """`plain()` wrapped in a Text so that no widget parses it as markup."""
    return Text(plain(value, limit), style=style)


def fmt_clock(seconds: Any) -> str:
    """Seconds as m:ss (a dash for a missing value); negative clamps to 0:00."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds != seconds:
        return "-:--"
    total = max(0, int(seconds))
    return f"{total // 60}:{total % 60:02d}"


def int_or_none(value: Any) -> int | None:
    """An int from the wire, refusing bools and everything else."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


@dataclass(frozen=True)
class PlayerRow:
    """One member of the room as the screens show it."""

    id: int
    name: str
    role: str
    car: int | None
    connected: bool
    bot: bool


def players_of(room: dict[str, Any] | None) -> list[PlayerRow]:
    """The room's member list; rows that are not maps with an integer id are skipped."""
    rows: list[PlayerRow] = []
    if not isinstance(room, dict):
        return rows
    for entry in room.get("players") or []:
        if not isinstance(entry, dict):
            continue
        pid = int_or_none(entry.get("id", entry.get("player")))
        if pid is None:
            continue
        role = entry.get("role")
        connected = entry.get("connected", True)
        bot = entry.get("bot", False)  # a connected member whose car a bot drives anyway
        rows.append(
            PlayerRow(
                id=pid,
                name=plain(entry.get("name", ""), 40),
                role=role if isinstance(role, str) else "player",
                car=int_or_none(entry.get("car")),
                connected=bool(connected),
                bot=bool(bot),
            )
        )
    return rows


def phase_label(room: dict[str, Any] | None) -> str:
    """A summary of where the room is, like "driving · round 2/4 · Shared rules"."""
    if not isinstance(room, dict):
        return "waiting for the server"
    given = room.get("phase")
    phase = given if isinstance(given, str) else "?"
    rnd, rounds = int_or_none(room.get("round")), int_or_none(room.get("rounds"))
    label = f"{phase} · round {rnd}/{rounds}" if rnd is not None and rounds else phase
    title = room.get("title")  # the program step's title, e.g. "Shared rules"
    # a room of one scenario is titled by it: the scenario is shown beside the label anyway
    if isinstance(title, str) and title.strip() and title != room.get("scenario"):
        label += f" · {plain(title, 60)}"
    return label
