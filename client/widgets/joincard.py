"""The join card: every way into this room, for the projector and the host's dashboard.

The server lists its open doors in `welcome.doors` (docs/protocol.md): the LAN address and
port of each. The card turns them into what a player types (`ssh -p 2222 CODE@HOST`,
`http://HOST:8000`, `interlane join CODE`) and draws a QR code of the browser address
(segno makes the matrix; two modules per terminal row with half blocks, black on white
whatever the theme, so phones can scan it off a projector). Only doors that are open are
shown. Door entries come from the network, so each is checked before it is drawn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import ModalScreen
from textual.widgets import Static

_HOST = re.compile(r"[0-9A-Za-z.:\-\[\]]{1,64}")
_FINGERPRINT = re.compile(r"SHA256:[0-9A-Za-z+/=]{10,64}")
QR_STYLE = "black on white"


@dataclass(frozen=True)
class Door:
    kind: str  # "ssh" | "web" | "ws"
    host: str
    port: int
    fingerprint: str | None = None
    announced: bool = False


def doors_of(welcome: Any) -> list[Door]:
    """The well-formed doors of a `welcome` message (anything odd is left out)."""
    raw = welcome.get("doors") if isinstance(welcome, dict) else None
    doors: list[Door] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict):
            continue
        kind, host, port = item.get("kind"), item.get("host"), item.get("port")
        if (
            kind not in ("ssh", "web", "ws")
            or not isinstance(host, str)
            or not _HOST.fullmatch(host)
        ):
            continue
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            continue
        fingerprint = item.get("fingerprint")
        if not (isinstance(fingerprint, str) and _FINGERPRINT.fullmatch(fingerprint)):
            fingerprint = None
        doors.append(Door(kind, host, port, fingerprint, item.get("announced") is True))
    return doors


def web_address(door: Door, code: str | None = None) -> str:
    url = f"http://{door.host}" + ("" if door.port == 80 else f":{door.port}")
    return f"{url}/?room={code}" if code else url


def door_lines(doors: list[Door], code: str) -> list[tuple[str, str]]:
    """(how, what to type) for each open door, in the order a facilitator reads them out."""
    lines: list[tuple[str, str]] = []
    for door in doors:
        if door.kind == "ssh":
            port = "" if door.port == 22 else f"-p {door.port} "
            lines.append(("SSH", f"ssh {port}{code}@{door.host}"))
    for door in doors:
        if door.kind == "web":
            lines.append(("Browser", web_address(door)))
    for door in doors:
        if door.kind == "ws":
            join = f"interlane join {code}"
            if not door.announced:
                join += f" --server ws://{door.host}:{door.port}"
            lines.append(("Interlane", join))
    return lines


def qr_rows(data: str) -> list[str]:
    """A QR code of `data` as rows of half blocks (dark modules drawn, light ones blank)."""
    import segno

    matrix = [list(row) for row in segno.make(data, error="l", micro=False).matrix_iter(border=2)]
    if len(matrix) % 2:
        matrix.append([0] * len(matrix[0]))
    rows = []
    for top, bottom in zip(matrix[::2], matrix[1::2], strict=True):
        rows.append(
            "".join(
                "█" if t and b else "▀" if t else "▄" if b else " "
                for t, b in zip(top, bottom, strict=True)
            )
        )
    return rows


def card_text(welcome: Any, code: str) -> Text:
    """The card's words: the ways in, and the SSH host key's fingerprint to check."""
    doors = doors_of(welcome)
    lines = door_lines(doors, code)
    if not lines:
        return Text(f"This server has no doors open: players run `interlane join {code}`.")
    text = Text()
    text.append(f"Join room {code}\n\n", style="bold")
    for how, what in lines:
        text.append(f"{how:<10}", style="dim")
        text.append(what + "\n", style="bold")
    ssh = next((d for d in doors if d.kind == "ssh" and d.fingerprint), None)
    if ssh is not None:
        text.append(f"\nSSH host key\n{ssh.fingerprint}\n", style="dim")
    if any(d.kind == "web" for d in doors):
        text.append("\nScan the code to open the browser door.", style="dim")
    return text


def card_qr(welcome: Any, code: str) -> Text | None:
    """The QR code of the browser door's address for this room, or None without one."""
    web = next((d for d in doors_of(welcome) if d.kind == "web"), None)
    if web is None:
        return None
    return Text("\n".join(qr_rows(web_address(web, code))), style=QR_STYLE, no_wrap=True)


def summary(welcome: Any, code: str) -> str:
    """One line for a crowded screen: the SSH and browser doors (the card has the rest)."""
    parts = [what for how, what in door_lines(doors_of(welcome), code) if how != "Interlane"]
    return "  ·  ".join(parts)


class JoinCardScreen(ModalScreen[None]):
    """The card over the current screen (key j on the dashboard and the projector view).

    Words on the left, QR code on the right: the card fits an 80×24 terminal."""

    DEFAULT_CSS = """
    JoinCardScreen { align: center middle; }
    JoinCardScreen #joincard-box {
        width: auto; max-width: 100%; height: auto; max-height: 100%;
        background: $panel; border: round $accent; padding: 0 1;
    }
    JoinCardScreen #joincard-text { width: 42; height: auto; }
    JoinCardScreen #joincard-qr { width: auto; height: auto; margin-left: 1; }
    """
    BINDINGS = [Binding("escape,j,q", "dismiss", "Close")]

    def __init__(self, welcome: Any, code: str) -> None:
        super().__init__()
        self._welcome, self._code = welcome, code

    def compose(self) -> ComposeResult:
        with Horizontal(id="joincard-box"):
            yield Static(card_text(self._welcome, self._code), id="joincard-text")
            qr = card_qr(self._welcome, self._code)
            if qr is not None:
                yield Static(qr, id="joincard-qr")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
