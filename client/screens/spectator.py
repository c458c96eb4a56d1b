"""The projector view: what the whole room watches while it drives.

Read from across a room, so few words and big shapes: the join code (late joiners copy
it from the wall), the phase and clock, the whole ring coloured by speed, the team's
figures in large digits (the team score, not a leaderboard: docs/debrief.md), and the event feed.
It sends nothing; anyone may look at it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Digits, Static

from client.events import ChatReceived, NoticeReceived, RoomUpdated, SnapshotReceived
from client.screens.base import GameScreen
from client.screens.roomview import fmt_clock, is_current, phase_label, plain
from client.state import checked_map, snapshot_view
from client.widgets.bigcode import BigCode
from client.widgets.charts import TeamFigures, team_or_ring
from client.widgets.feed import EventFeed
from client.widgets.joincard import JoinCardScreen, summary
from client.widgets.ring_overview import RingOverview, legend_text


class SpectatorScreen(GameScreen):
    """Whole ring, big team figures, room code, phase and clock, event feed."""

    DEFAULT_CSS = """
    SpectatorScreen { layout: vertical; }
    SpectatorScreen #spec-top { height: 3; }
    SpectatorScreen #spec-code { width: 31; }
    SpectatorScreen #spec-info { width: 1fr; padding: 0 1; }
    SpectatorScreen #spec-clock { width: auto; min-width: 10; }
    SpectatorScreen #spec-ring { margin-top: 1; }
    SpectatorScreen #spec-legend { height: 1; }
    SpectatorScreen #spec-figures { margin-top: 1; }
    SpectatorScreen #spec-feed { height: 1fr; min-height: 3; border-top: hkey $foreground 30%; }
    """

    BINDINGS = [Binding("j", "join_card", "Join card", show=False)]

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.room: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="spec-top"):
            yield BigCode("", id="spec-code")
            with Vertical(id="spec-info"):
                yield Static(id="spec-phase")
                yield Static(id="spec-join")
            yield Digits("-:--", id="spec-clock")
        yield RingOverview(id="spec-ring")
        yield Static(self._legend(), id="spec-legend")
        yield TeamFigures(big=True, id="spec-figures")
        yield EventFeed(id="spec-feed")

    @staticmethod
    def _legend() -> Text:
        text = Text("speed: ", style="dim")
        for label, colour in legend_text():
            text.append("■", style=colour)
            text.append(f" {label}  ")
        text.append("▲ player  ✖ crash", style="dim")
        return text

    def on_mount(self) -> None:
        state = self.app.state
        if state.room is not None:
            self.apply_room(state.room)
        else:
            self.query_one("#spec-phase", Static).update("waiting for the room…")
        if state.snapshot is not None:
            self.apply_snapshot(state.snapshot)

    # The app forwards each server message here as the event of its kind
    # (docs/architecture.md, "The client's plumbing"); a screen on its way out ignores them.

    def on_room_updated(self, event: RoomUpdated) -> None:
        if is_current(self):
            self.apply_room(checked_map(event.msg))

    def on_snapshot_received(self, event: SnapshotReceived) -> None:
        if is_current(self):
            self.apply_snapshot(snapshot_view(event.msg))

    def on_notice_received(self, event: NoticeReceived) -> None:
        if is_current(self):
            self.query_one("#spec-feed", EventFeed).add(plain(event.msg.text), "notice")

    def on_chat_received(self, event: ChatReceived) -> None:
        if is_current(self):
            name, text = plain(event.msg.name, 40), plain(event.msg.text)
            self.query_one("#spec-feed", EventFeed).add(f"{name}: {text}", "chat")

    def apply_room(self, room: dict[str, Any]) -> None:
        self.room = room
        code = given if isinstance(given := room.get("code"), str) else ""
        self.query_one("#spec-code", BigCode).code = code
        phase = Text(phase_label(room).upper(), style="bold")
        scenario = room.get("scenario")
        if isinstance(scenario, str):
            phase.append("  ")
            phase.append(plain(scenario, 40), style="italic")
        self.query_one("#spec-phase", Static).update(phase)
        join = "joining locked" if room.get("locked") else f"join: interlane join {plain(code, 8)}"
        doors = summary(self.app.state.welcome, code) if code else ""
        if doors and not room.get("locked"):
            join += f"  ·  {doors}  (j: QR code)"
        self.query_one("#spec-join", Static).update(Text(join, style="dim"))
        self.query_one("#spec-clock", Digits).update(fmt_clock(self.app.state.seconds_left()))
        road = room.get("ring")
        if isinstance(road, dict):
            self.query_one("#spec-ring", RingOverview).set_road(road)

    def action_join_card(self) -> None:
        code = self.room.get("code") if isinstance(self.room, dict) else None
        if isinstance(code, str) and code:
            self.app.push_screen(JoinCardScreen(self.app.state.welcome, code))

    def apply_snapshot(self, snapshot: dict[str, Any]) -> None:
        self.query_one("#spec-ring", RingOverview).update_snapshot(snapshot)
        self.query_one("#spec-figures", TeamFigures).update_figures(team_or_ring(snapshot))
        if self.room is not None:
            clock = fmt_clock(self.app.state.seconds_left())
            self.query_one("#spec-clock", Digits).update(clock)
        t = snapshot.get("t")
        self.query_one("#spec-feed", EventFeed).add_events(
            snapshot.get("events") or (), t if isinstance(t, int | float) else None
        )
