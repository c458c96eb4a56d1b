"""The facilitator's dashboard: the room at a glance and every control over it.

A facilitator runs a workshop from here while the room watches the projector, so the join
code is drawn big, the whole ring shows where traffic is jammed, the roster says who is
connected and whose car a bot is driving, and each control is a button *and* a key (shown
in the footer) that sends one `host` message (shared.protocol.HOST_COMMANDS). The screen
holds no game logic: the server decides, this only asks and shows.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Static

from client.events import (
    ChatReceived,
    ErrorReceived,
    JoinedRoom,
    NoticeReceived,
    RoomUpdated,
    SnapshotReceived,
    WelcomeReceived,
)
from client.screens.base import GameScreen
from client.screens.confirm import end_round_question
from client.screens.roomview import (
    PlayerRow,
    fmt_clock,
    phase_label,
    plain,
    plain_text,
    players_of,
)
from client.state import checked_map, snapshot_view
from client.widgets.bigcode import BigCode
from client.widgets.charts import TeamFigures, team_or_ring
from client.widgets.feed import EventFeed
from client.widgets.footer import key_footer
from client.widgets.joincard import JoinCardScreen, summary
from client.widgets.ring_overview import RingOverview
from shared.messages import HostCommand

BOTS_STEP = 5
EXTEND_SECONDS = 60

# button id -> (label, action); the same actions are bound to keys below
CONTROLS: tuple[tuple[str, str, str], ...] = (
    ("btn-start", "Start", "start"),
    ("btn-pause", "Pause", "pause"),
    ("btn-resume", "Resume", "resume"),
    ("btn-end", "End round", "end"),
    ("btn-next", "Next", "next"),
    ("btn-extend", "+1 min", "extend"),
    ("btn-bots-more", f"+{BOTS_STEP} bots", "bots_more"),
    ("btn-bots-less", f"−{BOTS_STEP} bots", "bots_less"),
    ("btn-incident", "Incident", "incident"),
    ("btn-kick", "Kick", "kick"),
    ("btn-lock", "Lock", "lock"),
    ("btn-message", "Message", "message"),
)
HOST_ACTIONS = frozenset(action for _, _, action in CONTROLS)
# The commands the server takes in each phase (server/room/commands.py's `require`): the footer
# offers only these, so at 80 columns it has room for the ones that matter now. Kick, lock,
# message and bots work in every phase; an unknown phase offers everything.
ANY_PHASE = frozenset({"bots_more", "bots_less", "kick", "lock", "message"})
PHASE_ACTIONS: dict[str, frozenset[str]] = {
    "lobby": ANY_PHASE | {"start", "next"},
    "council": ANY_PHASE | {"start", "end", "extend"},
    "driving": ANY_PHASE | {"pause", "end", "extend", "incident"},
    "paused": ANY_PHASE | {"resume", "end", "extend", "incident"},
    "debrief": ANY_PHASE | {"next"},
    "finished": ANY_PHASE,
}
BOTS = Binding.Group(f"±{BOTS_STEP} bots", compact=True)


def status_text(row: PlayerRow) -> Text:
    """Who is at the wheel, in words and a shape (never colour alone)."""
    if row.role == "spectator":
        return Text("◌ watching", style="dim")
    if not row.connected:
        # the server hands an absent player's car to a bot until they return
        return Text("○ away" if row.car is None else "○ away, bot drives", style="yellow")
    if row.bot:
        return Text("◇ bot drives", style="yellow")
    return Text("● connected", style="green")


class ConfirmKick(ModalScreen[bool]):
    """Kicking someone out of a workshop is not undone by a second key press: ask first."""

    DEFAULT_CSS = """
    ConfirmKick { align: center middle; }
    ConfirmKick > Vertical {
        width: 50; height: auto; padding: 1 2; border: thick $warning; background: $surface;
    }
    ConfirmKick Horizontal { height: auto; margin-top: 1; }
    ConfirmKick Button { margin-right: 2; }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Kick"),
        Binding("n,escape", "answer(False)", "Keep"),
    ]

    def __init__(self, name: str) -> None:
        super().__init__()
        self.player_name = name

    def compose(self) -> ComposeResult:
        with Vertical():
            text = Text("Kick ")
            text.append(self.player_name, style="bold")
            text.append(" out of the room? Their car goes to a bot.")
            yield Static(text)
            with Horizontal():
                yield Button("Kick (y)", variant="error", id="kick-yes")
                yield Button("Keep (n)", id="kick-no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "kick-yes")


class HostScreen(GameScreen):
    """Host dashboard: code, ring overview, team figures, roster and controls."""

    DEFAULT_CSS = """
    HostScreen { layout: vertical; }
    HostScreen #host-top { height: auto; }
    HostScreen #host-code { width: 31; height: 3; }
    HostScreen #host-headline { width: 1fr; height: auto; padding: 0 1; }
    HostScreen #host-status { height: auto; }
    HostScreen #host-ring { margin: 0 0 0 0; }
    HostScreen #host-controls { grid-size: 6; grid-gutter: 0 1; height: auto; }
    HostScreen #host-controls Button { width: 1fr; min-width: 8; }
    HostScreen #host-main { height: 1fr; }
    HostScreen #host-players { width: 3fr; height: 1fr; }
    HostScreen #host-feed { width: 2fr; height: 1fr; border-left: vkey $foreground 30%; }
    HostScreen #host-broadcast { height: auto; }
    """

    BINDINGS = [
        Binding("s", "start", "Start"),
        Binding("p", "pause", "Pause"),
        Binding("r", "resume", "Resume"),
        Binding("e", "end", "End"),
        Binding("n", "next", "Next"),
        Binding("plus,equals_sign", "extend", "+1 min"),
        Binding("b", "bots_more", f"+{BOTS_STEP} bots", group=BOTS),
        Binding("B", "bots_less", f"−{BOTS_STEP} bots", group=BOTS),
        Binding("i", "incident", "Incident"),
        Binding("k", "kick", "Kick"),
        Binding("l", "lock", "Lock"),
        Binding("m", "message", "Message"),
        Binding("question_mark", "keys", "Keys", key_display="?"),
        # shown on the doors line instead of the footer (the footer is full at 80 columns)
        Binding("j", "join_card", "Join card", show=False),
    ]

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.room: dict[str, Any] | None = None
        self.snapshot: dict[str, Any] | None = None

    # -- who is looking ----------------------------------------------------------------

    @property
    def is_host(self) -> bool:
        """Only the host gets the controls; anyone else sees the overview only."""
        return self.app.state.role == "host"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action not in HOST_ACTIONS:
            return True
        if not self.is_host:
            return False
        phase = self.room.get("phase") if isinstance(self.room, dict) else None
        return action in PHASE_ACTIONS.get(phase, HOST_ACTIONS) if isinstance(phase, str) else True

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="host-top"):
            yield BigCode("", id="host-code")
            with Vertical(id="host-headline"):
                yield Static(id="host-status")
                doors = Static(id="host-doors")  # the ways in, when doors are open
                doors.display = False
                yield doors
                yield TeamFigures(id="host-figures")
        yield RingOverview(id="host-ring")
        with Grid(id="host-controls"):
            for button_id, label, _ in CONTROLS:
                yield Button(label, id=button_id, compact=True)
        with Horizontal(id="host-main"):
            yield DataTable(id="host-players", cursor_type="row", zebra_stripes=True)
            yield EventFeed(id="host-feed")
        yield Input(
            placeholder="Broadcast a message to everyone (Enter sends)",
            id="host-broadcast",
            compact=True,
        )
        yield key_footer()

    def on_mount(self) -> None:
        table = self.query_one("#host-players", DataTable)
        table.add_column("Name", key="name")
        table.add_column("Role", key="role")
        table.add_column("Car", key="car")
        table.add_column("Status", key="status")
        self._show_controls()
        state = self.app.state
        if state.room is not None:
            self.apply_room(state.room)
        else:
            self._show_status()
        if state.snapshot is not None:
            self.apply_snapshot(state.snapshot)
        self.query_one("#host-players", DataTable).focus()

    # -- incoming ----------------------------------------------------------------------

    # The app forwards each server message here as the event of its kind
    # (docs/architecture.md, "The client's plumbing").

    def on_room_updated(self, event: RoomUpdated) -> None:
        self.apply_room(checked_map(event.msg))

    def on_snapshot_received(self, event: SnapshotReceived) -> None:
        self.apply_snapshot(snapshot_view(event.msg))

    def on_joined_room(self, event: JoinedRoom) -> None:
        self._show_controls()

    def on_welcome_received(self, event: WelcomeReceived) -> None:
        if isinstance(self.room, dict):
            self._show_doors(str(self.room.get("code") or ""))

    def on_chat_received(self, event: ChatReceived) -> None:
        line = f"{plain(event.msg.name, 40)}: {plain(event.msg.text)}"
        self.query_one("#host-feed", EventFeed).add(line, "chat")

    def on_notice_received(self, event: NoticeReceived) -> None:
        self.query_one("#host-feed", EventFeed).add(plain(event.msg.text), "notice")

    def on_error_received(self, event: ErrorReceived) -> None:
        self.query_one("#host-feed", EventFeed).add(plain(event.msg.message), "error")

    def _show_controls(self) -> None:
        """Controls only for the host; the role may arrive (joined) after the screen opened."""
        host = self.is_host
        self.query_one("#host-controls").display = host
        self.query_one("#host-broadcast").display = host
        for button_id, _, action in CONTROLS:  # a control that cannot work now is greyed out
            self.query_one(f"#{button_id}", Button).disabled = not self.check_action(action, ())
        self.refresh_bindings()

    def apply_room(self, room: dict[str, Any]) -> None:
        self.room = room
        self._show_controls()
        code = room.get("code")
        self.query_one("#host-code", BigCode).code = code if isinstance(code, str) else ""
        self._show_doors(code if isinstance(code, str) else "")
        road = room.get("ring")
        if isinstance(road, dict):
            self.query_one("#host-ring", RingOverview).set_road(road)
        locked = bool(room.get("locked"))
        self.query_one("#btn-lock", Button).label = "Unlock" if locked else "Lock"
        self._fill_players(players_of(room))
        self._show_status()

    def _show_doors(self, code: str) -> None:
        line = summary(self.app.state.welcome, code) if code else ""
        doors = self.query_one("#host-doors", Static)
        doors.display = bool(line)
        doors.update(Text(f"{line}  (j: join card)", style="dim") if line else "")

    def action_join_card(self) -> None:
        code = self.room.get("code") if isinstance(self.room, dict) else None
        if isinstance(code, str) and code:
            self.app.push_screen(JoinCardScreen(self.app.state.welcome, code))

    def apply_snapshot(self, snapshot: dict[str, Any], feed: bool = True) -> None:
        self.snapshot = snapshot
        self.query_one("#host-ring", RingOverview).update_snapshot(snapshot)
        self.query_one("#host-figures", TeamFigures).update_figures(team_or_ring(snapshot))
        if feed:
            t = snapshot.get("t")
            self.query_one("#host-feed", EventFeed).add_events(
                snapshot.get("events") or (), t if isinstance(t, int | float) else None
            )
        self._show_status()

    def _show_status(self) -> None:
        room = self.room
        text = Text()
        text.append("Interlane host  ", style="bold")
        code = room.get("code") if isinstance(room, dict) else None
        if isinstance(code, str) and code:
            # the big letters are for the projector; this is for reading out (S and 9 differ
            # by one half-block there)
            text.append("room ")
            text.append(plain(code, 8), style="bold")
            text.append("  ")
        if room is None:
            text.append("waiting for the room…", style="dim")
        else:
            text.append(phase_label(room))
            length = room.get("seconds")
            road = isinstance(room.get("ring"), dict)  # a council's lobby has no road
            if room.get("phase") == "lobby" and road and isinstance(length, int | float):
                # nothing runs yet: say how long the coming round will be
                text.append(f"  {fmt_clock(length)} round")
            elif room.get("phase") in ("driving", "paused", "council"):
                text.append(f"  {fmt_clock(self.app.state.seconds_left())} left")
            scenario = room.get("scenario")
            if isinstance(scenario, str):
                text.append("  ")
                text.append_text(plain_text(scenario, style="italic", limit=40))
            text.append("  joining LOCKED" if room.get("locked") else "  joining open")
        if self.snapshot is not None:
            cars = self.snapshot.get("cars") or []
            text.append(f"  {len(cars)} cars", style="dim")
        self.query_one("#host-status", Static).update(text)

    def _fill_players(self, rows: list[PlayerRow]) -> None:
        table = self.query_one("#host-players", DataTable)
        selected = self.selected_player()
        table.clear()
        for row in rows:
            table.add_row(
                Text(row.name or "?"),
                Text(row.role),
                Text("–" if row.car is None else str(row.car)),
                status_text(row),
                key=str(row.id),
            )
        if selected is not None and str(selected) in table.rows:
            table.move_cursor(row=table.get_row_index(str(selected)))

    def selected_player(self) -> int | None:
        """The player id under the roster's cursor, or None when the roster is empty."""
        table = self.query_one("#host-players", DataTable)
        if table.row_count == 0:
            return None
        row = min(max(table.cursor_row, 0), table.row_count - 1)
        key = table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
        return int(key) if key is not None and key.isdigit() else None

    # -- outgoing ----------------------------------------------------------------------

    def _host(self, command: str, **fields: Any) -> None:
        self.app.send(HostCommand(command=command, **fields))

    def action_keys(self) -> None:
        from client.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    def action_start(self) -> None:
        self._host("start")

    def action_pause(self) -> None:
        self._host("pause")

    def action_resume(self) -> None:
        self._host("resume")

    def action_end(self) -> None:
        def answered(value: str | None) -> None:
            if value == "end":
                self._host("end")

        self.app.push_screen(end_round_question(self.room), answered)

    def action_next(self) -> None:
        self._host("next")

    def action_extend(self) -> None:
        self._host("extend", seconds=EXTEND_SECONDS)

    def action_bots_more(self) -> None:
        self._host("bots", value=BOTS_STEP)

    def action_bots_less(self) -> None:
        self._host("bots", value=-BOTS_STEP)

    def action_incident(self) -> None:
        # The server picks where (a busy lane ahead of the gantry); the host only says when.
        self._host("incident")

    def action_kick(self) -> None:
        player = self.selected_player()
        if player is None:
            self.notify("Select a player in the roster first.", severity="warning")
            return
        row = next((r for r in players_of(self.room) if r.id == player), None)
        if row is not None and row.role == "host":
            self.notify("The host cannot kick themselves.", severity="warning")
            return
        name = row.name if row is not None else f"player {player}"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._host("kick", player=player)

        self.app.push_screen(ConfirmKick(name), confirmed)

    def action_lock(self) -> None:
        locked = bool(self.room.get("locked")) if self.room else False
        self._host("lock", value=not locked)

    def action_message(self) -> None:
        box = self.query_one("#host-broadcast", Input)
        if box.value.strip():
            self._broadcast(box.value)
        else:
            box.focus()

    @on(Input.Submitted, "#host-broadcast")
    def _on_broadcast(self, event: Input.Submitted) -> None:
        self._broadcast(event.value)

    def _broadcast(self, text: str) -> None:
        text = text.strip()
        if not text:
            return
        self._host("message", text=text)
        box = self.query_one("#host-broadcast", Input)
        box.value = ""
        self.query_one("#host-players", DataTable).focus()

    @on(Button.Pressed, "#host-controls Button")
    def _on_control(self, event: Button.Pressed) -> None:
        for button_id, _, action in CONTROLS:
            if event.button.id == button_id:
                if self.check_action(action, ()):
                    getattr(self, f"action_{action}")()
                return
