"""Which screen shows: one per phase and role, built fresh by key.

The app routes on every `room`, `joined` and `debrief` (docs/architecture.md, "The
client's plumbing"): `screen_key` names the screen for where the room is and who this
member is, `new_screen` builds it with no arguments (screens read `app.state` and
`app.plan`). The screen modules import the app, so they are imported here where they are
first needed, not at the top.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from client.screens.replay import RoundSource


def new_screen(key: str, rounds: RoundSource | None = None) -> Screen[None]:
    """A fresh screen for `key`: connect | lobby | drive | council | debrief | host |
    spectator | replay. Each reads `self.app.state` / `self.app.plan` and receives the
    server's messages as typed events (client/events.py) while it is active."""
    # imported here, not at the top: each screen module imports the app
    from client.screens.connect import ConnectScreen
    from client.screens.council import CouncilScreen
    from client.screens.debrief import DebriefScreen
    from client.screens.drive import DriveScreen
    from client.screens.host import HostScreen
    from client.screens.lobby import LobbyScreen
    from client.screens.replay import ReplayScreen
    from client.screens.spectator import SpectatorScreen

    match key:
        case "connect":
            return ConnectScreen()
        case "lobby":
            return LobbyScreen()
        case "drive":
            return DriveScreen()
        case "council":
            return CouncilScreen()
        case "debrief":
            return DebriefScreen()
        case "host":
            return HostScreen()
        case "spectator":
            return SpectatorScreen()
        case "replay":
            return ReplayScreen(rounds=rounds)
    raise ValueError(f"no screen {key!r}")


def screen_key(phase: str | None, role: str | None, driving: bool) -> str:
    """Which screen a member sees in a phase. `driving`: this member has a car."""
    if phase in ("debrief", "finished"):
        return "debrief"
    if role == "spectator":
        return "spectator" if phase in ("driving", "paused") else "lobby"
    if phase == "council":
        return "council"
    if role == "host" and not driving:
        return "host"
    if phase in ("driving", "paused"):
        return "drive"
    return "lobby"
