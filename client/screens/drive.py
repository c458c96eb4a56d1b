"""The drive screen: the minimap, the road around your car, the HUD and the event feed.

Keys become `control` intents for the server (docs/protocol.md, "Client → server"); nothing moves locally until the
server says so, because the server is authoritative. Snapshots arrive at 20 Hz; a timer
draws at up to 40 frames a second from the interpolator, so motion is smooth between them —
but never faster than Textual paints the screen (TEXTUAL_FPS: a door player's client runs at
20, see server/doors/), since a frame composed between two paints would never be seen.
"""

from __future__ import annotations

from typing import Any

from textual import constants
from textual.app import ComposeResult
from textual.binding import Binding

from client.events import (
    ChatReceived,
    ConnectionStatus,
    ErrorReceived,
    NoticeReceived,
    RoomUpdated,
    SnapshotReceived,
)
from client.screens.base import GameScreen
from client.state import finite, snapshot_view
from client.widgets.feed import EventFeed, slow_ahead
from client.widgets.footer import key_footer
from client.widgets.hud import Hud, clock_text, kmh
from client.widgets.minimap import Minimap
from client.widgets.road import RoadView, View, lanes_of
from shared.messages import ClientMessage, Control, HostCommand

FRAME_SECONDS = max(1 / 40, 1 / constants.MAX_FPS)
BLINK_HZ = 1.25


class DriveScreen(GameScreen):
    """Your car on the shared road."""

    # A terminal 34 rows or taller gets a taller minimap (client/interlane.tcss), so the
    # jams on the whole ring read at a glance instead of the screen's lower half sitting empty.
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]

    BINDINGS = [
        Binding("up", "control('faster')", "Faster", key_display="↑"),
        Binding("down", "control('slower')", "Slower", key_display="↓"),
        Binding("left", "control('left')", "Lane left", key_display="←"),
        Binding("right", "control('right')", "Lane right", key_display="→"),
        Binding("space", "control('brake')", "Brake"),
        Binding("comma,q", "control('signal_left')", "Signal ◀", show=False),
        Binding("full_stop,e", "control('signal_right')", "Signal ▶", show=False),
        Binding("h", "control('hazard')", "Hazards", show=False),
        Binding("y", "control('yield')", "Yield", show=False),
        Binding("1", "gap(1)", "Gap close", show=False),
        Binding("2", "gap(2)", "Gap normal", show=False),
        Binding("3", "gap(3)", "Gap wide", show=False),
        Binding("a", "toggle_assist", "Assist", show=False),
        Binding("p", "pause", "Pause", show=False),
        Binding("question_mark", "app.help", "Help", key_display="?"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._centre_x = 0.0
        self._warned_ahead = False
        self._last_tick: int | None = None
        self._phase: str | None = None

    def compose(self) -> ComposeResult:
        yield Minimap(id="minimap")
        yield RoadView(id="road")
        yield Hud(id="hud")
        yield EventFeed(id="feed")
        yield key_footer()

    def on_mount(self) -> None:
        state = self.app.state
        self._phase = state.phase
        room = state.room or {}
        title = room.get("title") or room.get("scenario")
        if title:
            self.query_one(EventFeed).add(
                f"Round {room.get('round', 1)}: {title}. ↑/↓ speed, ←/→ lanes, ? all controls",
                "notice",
            )
        intro = room.get("intro")  # the program step's one-line brief, when it has one
        if isinstance(intro, str) and intro.strip():
            self.query_one(EventFeed).add(intro.strip(), "notice")
        if state.snapshot is not None:
            self._on_snapshot(state.snapshot)
        else:
            self._update_hud()
        self._frame()
        self.set_interval(FRAME_SECONDS, self._frame)

    # -- drawing ------------------------------------------------------------------------

    def _frame(self) -> None:
        app = self.app
        state = app.state
        now = app.clock()
        cars = state.interpolator.cars_at(now)
        me = state.car
        for car in cars:
            if car.id == me:
                self._centre_x = car.x
                break
        else:
            x = finite((state.you or {}).get("x"))
            if x is not None:
                self._centre_x = x
        road = state.road
        view = View(
            cars=tuple(cars),
            road=road,
            centre_x=self._centre_x,
            you=me,
            names=state.player_names(),
            blink_on=int(now * BLINK_HZ * 2) % 2 == 0,
            lanes=lanes_of(road, cars),
        )
        self.query_one(RoadView).show(view)

    def _update_hud(self) -> None:
        state = self.app.state
        snapshot = state.snapshot or {}
        room = state.room or {}
        lanes = lanes_of(state.road, ())
        t = snapshot.get("t")
        clock = None
        if isinstance(t, int | float):
            clock = clock_text(t)
            left = state.seconds_left()
            if left is not None:
                clock = f"{clock_text(t)}, {clock_text(left)} left"
        banner = None
        if state.phase == "paused":
            banner = " PAUSED — the host has paused the round "
        if (
            state.connection in ("lost", "connecting")
            and state.token
            or state.connection == "closed"
        ):
            banner = f" {state.connection_note} "
        self.query_one(Hud).show(
            state.you,
            state.team,
            room.get("rulebook"),
            lanes,
            clock,
            banner,
            state.individual,
            state.damper,
        )

    # -- messages -----------------------------------------------------------------------

    def on_snapshot_received(self, event: SnapshotReceived) -> None:
        self._on_snapshot(snapshot_view(event.msg))

    def on_room_updated(self, event: RoomUpdated) -> None:
        phase = event.msg.phase
        if phase != self._phase:
            if phase == "paused":
                self.query_one(EventFeed).add("The host paused the round", "notice")
            elif phase == "driving" and self._phase == "paused":
                self.query_one(EventFeed).add("The round goes on", "notice")
            self._phase = phase
        self._update_hud()

    def on_chat_received(self, event: ChatReceived) -> None:
        self.query_one(EventFeed).add(f"{event.msg.name}: {event.msg.text}", "chat")

    def on_notice_received(self, event: NoticeReceived) -> None:
        self.query_one(EventFeed).add(event.msg.text, "notice")

    def on_error_received(self, event: ErrorReceived) -> None:
        self.query_one(EventFeed).add(event.msg.message, "notice")

    def on_connection_status(self, event: ConnectionStatus) -> None:
        if event.text:
            self.query_one(EventFeed).add(event.text, "connection")
        self._update_hud()

    def _on_snapshot(self, snap: dict[str, Any]) -> None:
        state = self.app.state
        tick = snap.get("tick")
        if tick == self._last_tick:
            return
        self._last_tick = tick
        t = snap.get("t")
        feed = self.query_one(EventFeed)
        feed.add_events(snap.get("events") or (), t if isinstance(t, int | float) else None)
        you = state.you
        x = finite((you or {}).get("x"))
        length = float(state.road.get("length") or 0.0)
        self.query_one(Minimap).show(
            snap.get("ring") or (),
            length,
            x,
            state.road,
        )
        if x is not None:
            v = finite((you or {}).get("v"), 0.0)
            found = slow_ahead(snap.get("ring") or (), length, x, kmh(v))
            if found and not self._warned_ahead:
                metres, speed = found
                feed.add(
                    f"A braking wave is coming: traffic at {speed} km/h {round(metres, -1):.0f} m ahead",
                    "wave",
                    t if isinstance(t, int | float) else None,
                )
            self._warned_ahead = found is not None
        self._update_hud()

    # -- actions ------------------------------------------------------------------------

    def _send(self, message: ClientMessage) -> None:
        if not self.app.send(message):
            self.notify("Not connected: that key did nothing.", severity="warning", markup=False)

    def action_control(self, action: str) -> None:
        self._send(Control(action=action))

    def action_gap(self, value: int) -> None:
        self._send(Control(action="gap", value=int(value)))

    def action_toggle_assist(self) -> None:
        assist = (self.app.state.you or {}).get("assist", True)
        self._send(Control(action="assist", value="off" if assist else "on"))

    def action_pause(self) -> None:
        state = self.app.state
        if state.role != "host":
            self.notify("Only the host can pause the round.", markup=False)
            return
        command = "resume" if state.phase == "paused" else "pause"
        self._send(HostCommand(command=command))
