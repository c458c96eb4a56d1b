"""The lobby: the room code, who is here, the scenario and the rules; the host starts.

It is also where the app parks a member while the screen for the current phase (council,
debrief, …) is not in this build: the lobby then says so and keeps showing the live room,
rather than pretending.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Static

from client.events import (
    ConnectionStatus,
    ErrorReceived,
    JoinedRoom,
    Received,
    RoomUpdated,
    WelcomeReceived,
)
from client.screens.base import GameScreen
from client.screens.roomview import plain
from client.widgets.footer import key_footer
from shared.conventions import CATALOGUE
from shared.messages import HostCommand, ServerMessage

PHASE_WORDS = {
    "lobby": "waiting in the lobby",
    "council": "in council",
    "driving": "driving",
    "paused": "paused",
    "debrief": "in the debrief",
    "finished": "finished",
}


def rule_lines(rulebook: Any) -> list[str]:
    """One line per convention; an option this client does not know is shown as sent."""
    book = rulebook if isinstance(rulebook, dict) else {}
    lines = []
    for convention in CATALOGUE:
        key = book.get(convention.key, convention.default)
        try:
            label = convention.option(key).label
        except (KeyError, TypeError):
            label = plain(str(key), 32)
        lines.append(f"{convention.title}: {label}")
    return lines


def player_rows(players: list[Any]) -> list[tuple[Text, Text, Text, Text]]:
    """Table rows for the room's players: names as plain Text, never markup."""
    rows = []
    for p in players:
        if not isinstance(p, dict):
            continue
        name = Text(plain(p.get("name", "?"), 40))
        role = Text(str(p.get("role", "player")))
        connected = p.get("connected", True)
        status = Text("● online" if connected else "○ away: bot drives")
        car = p.get("car")
        rows.append((name, role, status, Text("–" if car is None else f"car {car}")))
    return rows


class LobbyScreen(GameScreen):
    """Room code, players, scenario, rulebook and — for the host — the start button."""

    # Below 100 columns the rules go under the roster (client/interlane.tcss) rather than
    # squeezing its status column to "● onli".
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]

    BINDINGS = [
        Binding("s", "start", "Start round"),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="lobby"):
            yield Static(id="lobby-code", markup=False)
            yield Static(id="lobby-note", markup=False)
            with Horizontal(id="lobby-body"):
                table: DataTable[Text] = DataTable(id="lobby-players", cursor_type="none")
                table.add_column("Name", width=18)
                table.add_column("Role", width=9)
                table.add_column("Status", width=18)
                table.add_column("Car", width=6)
                yield table
                yield Static(id="lobby-rules", markup=False)
            with Horizontal(id="lobby-actions"):
                yield Button("Start round", id="lobby-start", variant="primary")
                yield Static(id="lobby-status", markup=False)
        yield key_footer()

    def on_mount(self) -> None:
        self.refresh_room()

    @on(RoomUpdated)
    @on(JoinedRoom)
    @on(WelcomeReceived)
    @on(ErrorReceived)
    def _on_room_news(self, event: Received[ServerMessage]) -> None:
        """Anything that changes what the lobby lists: redraw it from `app.state`."""
        self.refresh_room()

    def on_connection_status(self, event: ConnectionStatus) -> None:
        self.refresh_room()

    def refresh_room(self) -> None:
        state = self.app.state
        room = state.room or {}
        code = self.query_one("#lobby-code", Static)
        if state.code:
            code.update(Text(f"Room {state.code}", style="bold"))
        elif state.connection in ("idle", "connecting"):
            code.update(Text("Connecting…", style="bold"))
        else:
            code.update(Text("Not in a room", style="bold"))
        note = Text()
        phase = room.get("phase")
        if phase:
            # the step's title says what comes next (a council has no road); plain text only
            title = room.get("title") if isinstance(room.get("title"), str) else ""
            scenario = room.get("scenario") if isinstance(room.get("scenario"), str) else ""
            parts = (title, scenario) if title != scenario else (scenario,)
            heading = " · ".join(part for part in parts if part) or "?"
            note.append(f"Next: {heading} · round {room.get('round', 0)}")
            rounds = room.get("rounds")
            if isinstance(rounds, int) and rounds > 0:
                note.append(f" of {rounds}")
            note.append(f" · {PHASE_WORDS.get(phase, phase)}")
        self.query_one("#lobby-note", Static).update(note)
        table = self.query_one("#lobby-players", DataTable)
        table.clear()
        for row in player_rows(room.get("players") or []):
            table.add_row(*row)
        rules = Text("Rules of the road\n", style="bold")
        rules.append("\n".join(rule_lines(room.get("rulebook"))))
        self.query_one("#lobby-rules", Static).update(rules)
        is_host = state.role == "host"
        self.refresh_bindings()
        button = self.query_one("#lobby-start", Button)
        button.display = is_host
        button.disabled = not (is_host and phase == "lobby" and state.connection == "connected")
        status = Text()
        if state.connection != "connected" and state.connection_note:
            status.append(state.connection_note)
        elif phase == "lobby" and not is_host:
            status.append("Waiting for the host to start…")
        elif is_host and phase == "lobby":
            status.append("Press Start (or s) when everyone is in.")
        self.query_one("#lobby-status", Static).update(status)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "lobby-start":
            self.action_start()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Players do not see a start key they cannot use (the footer hides it)."""
        if action == "start":
            return self.app.state.role == "host"
        return True

    def action_start(self) -> None:
        app = self.app
        if app.state.role != "host":
            self.notify("Only the host starts the round.", markup=False)
            return
        if not app.send(HostCommand(command="start")):
            self.notify("Not connected.", severity="warning", markup=False)
