"""The Textual app: owns the one server connection, the client state and which screen shows.

Screens never talk to the network themselves. The app runs its link (`client.net.Connection`,
or a test's fake) as an exclusive async worker on Textual's loop, folds every validated
server message (a typed value, shared/messages/) into `app.state`, posts it to the active
screen as the event of its kind (`WelcomeReceived`, `RoomUpdated`, … client/events.py), and
switches screens when the room's phase changes (lobby → council → drive → debrief;
client/routing.py). Screens send typed client messages with `self.app.send(HostCommand(...))`.
What the client says first is client/opening.py; what ctrl+q asks, client/quitting.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ScreenStackError, SystemCommand
from textual.message import Message
from textual.screen import ModalScreen, Screen

from client.endings import ConnectionEndings
from client.events import (
    ByeReceived,
    ChatReceived,
    ConnectionStatus,
    DebriefReady,
    ErrorReceived,
    JoinedRoom,
    NoticeReceived,
    PongReceived,
    Received,
    ReplayReceived,
    RoomUpdated,
    SnapshotReceived,
    WelcomeReceived,
    received,
)
from client.net import (
    FATAL_ERRORS,
    GIVE_UP_SECONDS,
    Connection,
    Link,
    OpenLink,
    checked_frame,
)
from client.opening import create_message, join_message, opening
from client.plan import Plan
from client.quitting import quit_question
from client.routing import new_screen, screen_key
from client.screens.confirm import Choice, RoomEnded, end_round_question
from client.state import ClientState
from client.tokens import SeatStore
from shared.messages import (
    ClientMessage,
    ErrorReply,
    HostCommand,
    ServerMessage,
)
from shared.protocol import ProtocolError

if TYPE_CHECKING:
    from client.screens.replay import RoundSource

CLOSE_WAIT_SECONDS = 60.0  # a host who ends the room waits this long for the debrief at most


class InterlaneApp(ConnectionEndings):
    """One game client. `clock` is injectable so tests and snapshots can freeze time, and
    `link` (what opens the connection) so tests can drive the app without a network."""

    CSS_PATH = Path(__file__).with_name("interlane.tcss")  # absolute: the same for subclasses
    TITLE = "Interlane"

    def __init__(
        self,
        plan: Plan,
        *,
        clock: Callable[[], float] = time.monotonic,
        rounds: RoundSource | None = None,
        link: OpenLink = Connection,
    ) -> None:
        """`rounds`: where the replay screen reads stored rounds (client/launch.py hands in
        the history file's reader; without one, only rounds a server sends can be replayed)."""
        super().__init__()
        self.rounds = rounds
        self.plan = plan
        self.clock = clock
        self.state = ClientState()
        self.connection: Link | None = None
        self._open_link = link
        self._screen_key: str | None = None
        self._started: set[tuple[object, object]] = set()  # steps this client auto-started
        self._last_error: tuple[str, float] = ("", float("-inf"))
        self.seats = SeatStore()
        self._seat_from_disk = False  # the token in use was read from disk, not yet accepted
        self._was_connected = False  # this process has been connected before (reconnects)
        self._ending_room = False  # the host asked the server to end and close the room
        self.exit_message: str | None = None  # printed by the launcher once the TUI is gone
        # the connection dropped while in a room: a notice stays up until the seat is taken
        # back (`joined`) or the retries give up; `gone` is then the final sentence
        self._reconnecting = False
        self._refused: str | None = None  # a fatal error code answered to the rejoin
        self.gone: str | None = None
        self.give_up_after = GIVE_UP_SECONDS  # retrying longer than this: the server is gone

    # -- start-up -----------------------------------------------------------------------

    def on_mount(self) -> None:
        first = {"connect": "connect", "replay": "replay", "host": "host"}.get(
            self.plan.kind, "lobby"
        )
        self.show_screen(first)
        if self.plan.url and self.plan.kind != "connect":
            self.start_connection(self.plan)

    def start_connection(self, plan: Plan) -> None:
        """Connect (or reconnect somewhere else) following `plan`."""
        self.plan = plan
        self.state = ClientState()
        self._started = set()
        self._was_connected = False
        self._reconnecting, self._refused, self.gone = False, None, None
        self._take_stored_seat()
        self._run_connection()

    def _take_stored_seat(self) -> None:
        """Start from the token this machine holds for the room (the same person again)."""
        plan = self.plan
        self._seat_from_disk = False
        if not plan.keeps_seat or not plan.url:
            return
        if plan.kind == "host":
            seat = self.seats.host_seat(plan.url)
        elif plan.code:
            seat = self.seats.get(plan.url, plan.code)
            if seat is not None and seat.name.casefold() != plan.name.casefold():
                seat = None  # someone else at this machine: their own seat, not this one
        else:
            seat = None
        if seat is None:
            return
        self.state.code, self.state.token, self.state.role = seat.code, seat.token, seat.role
        self._seat_from_disk = True

    @work(exclusive=True, group="net", exit_on_error=False)
    async def _run_connection(self) -> None:
        assert self.plan.url is not None
        if self.connection is not None:
            self.connection.stop()
        self.connection = self._open_link(
            self.plan.url,
            on_message=lambda msg: self.post_message(received(msg)),
            on_status=lambda state, text: self.post_message(ConnectionStatus(state, text)),
            opening=self._opening,
            is_fatal=self._is_fatal,
            cafile=self.plan.cafile,
            give_up_after=self.give_up_after,
        )
        await self.connection.run()

    def _is_fatal(self, msg: ErrorReply) -> bool:
        """An error after which reconnecting would only fail again. A host whose stored room
        is gone creates a new one instead (see `_on_error`)."""
        if self._seat_from_disk and self.plan.kind == "host" and msg.code == "no_room":
            return False
        return msg.code in FATAL_ERRORS

    def _opening(self) -> list[ClientMessage]:
        """First messages on a fresh socket (client/opening.py)."""
        return opening(self.plan, self.state)

    def _seat_is_over(self, code: str) -> bool:
        """The server forgot the seat read from disk: the token expired, or (for a host) the
        whole room is gone; a player's room that is gone ends the app instead."""
        return code == "token" or (code == "no_room" and self.plan.kind == "host")

    def _fresh_start(self) -> None:
        """The seat read from disk is over: forget it, then join (or create) as new."""
        plan, state = self.plan, self.state
        if plan.url and state.code:
            self.seats.forget(plan.url, state.code)
        self._seat_from_disk = False
        state.token = None
        if plan.kind == "host":
            state.code = None
            self.send(create_message(plan))
        elif plan.code:
            self.send(join_message(plan.name, plan.code, plan.role))

    # -- sending ------------------------------------------------------------------------

    def send(self, message: ClientMessage) -> bool:
        """Send one typed message to the server; False when offline (the intent is dropped)."""
        if self.connection is None:
            return False
        try:
            return self.connection.send(checked_frame(message))
        except ProtocolError as exc:  # a screen built a bad message: say so, never crash
            self.notify(f"Not sent: {exc.message}", title="Bug", severity="error", markup=False)
            return False

    # -- receiving ----------------------------------------------------------------------
    # One handler per kind of server message (client/events.py): a kind that changes the
    # state is folded into `app.state` first (`_fold`), then the app reacts as that kind asks
    # and forwards the event to the screen in play, which reads the state already updated.

    def _fold(self, message: ServerMessage) -> None:
        self.state.apply(message, self.clock())

    @on(JoinedRoom)
    def _on_joined(self, event: JoinedRoom) -> None:
        msg = event.msg
        self._fold(msg)
        self._seat_from_disk = False
        if self._reconnecting:  # the seat is ours again: the notice goes
            self._reconnecting = False
            self._clear_lost_notice()
            self.notify("Reconnected: back in the game.", title="Connection", markup=False)
        if self.plan.keeps_seat and self.plan.url:
            self.seats.save(self.plan.url, msg.code, msg.token, self.plan.name, msg.role)
        self._route_and_forward(event)

    @on(RoomUpdated)
    def _on_room(self, event: RoomUpdated) -> None:
        msg = event.msg
        self._fold(msg)
        try:
            self._route()
        except ScreenStackError:  # the app is closing down: nothing to show any more
            return
        if self.plan.autostart:
            # solo: every step starts as soon as its lobby is there (once per step, so a
            # lobby announced twice, or a reconnect into a running round, starts nothing)
            step = (msg.step, msg.round)
            if step not in self._started:
                self._started.add(step)
                if msg.phase == "lobby" and self.state.role == "host":
                    self.send(HostCommand(command="start"))
        self._forward(event)

    @on(DebriefReady)
    def _on_debrief(self, event: DebriefReady) -> None:
        self._fold(event.msg)
        self._route_and_forward(event)

    @on(ErrorReceived)
    def _on_error(self, event: ErrorReceived) -> None:
        msg = event.msg
        if self._seat_from_disk and self._seat_is_over(msg.code):
            # the seat kept on disk is over (the server forgot it): start afresh, quietly
            self._fresh_start()
        elif msg.code == "token" and self.state.code:
            # our seat expired (away too long): join the same room afresh
            self.state.token = None
            role = "spectator" if self.state.role == "spectator" else "player"
            self.send(join_message(self.plan.name, self.state.code, role))
            self.notify(msg.message, title="Server", severity="warning", markup=False)
        elif self._reconnecting and msg.code in FATAL_ERRORS:
            self._refused = msg.code  # the final notice says it (see on_connection_status)
        elif self.state.player is None and self._ends_without_room(msg):
            return
        else:
            self._toast_error(msg.message)
        self._forward(event)

    @on(NoticeReceived)
    def _on_notice(self, event: NoticeReceived) -> None:
        self.notify(event.msg.text, title="Notice", markup=False)
        self._forward(event)

    @on(ByeReceived)
    def _on_bye(self, event: ByeReceived) -> None:
        self._room_over(event.msg.reason)
        self._forward(event)

    @on(WelcomeReceived)
    @on(SnapshotReceived)
    @on(ChatReceived)
    @on(ReplayReceived)
    @on(PongReceived)
    def _on_plain(self, event: Received[ServerMessage]) -> None:
        """The kinds the app itself does nothing more with: the state, then the screen."""
        self._fold(event.msg)
        self._forward(event)

    def _route_and_forward(self, event: Received[ServerMessage]) -> None:
        try:
            self._route()
        except ScreenStackError:  # the app is closing down: nothing to show any more
            return
        self._forward(event)

    def _forward(self, message: Message) -> None:
        """Hand a message to the screen in play: the top one that is not a dialog, so the
        road under a question or a lost-connection notice stays current (none while the
        app is closing down)."""
        try:
            stack = self.screen_stack
        except ScreenStackError:
            return
        for screen in reversed(stack):
            if not isinstance(screen, ModalScreen):
                screen.post_message(message)
                return
        if stack:
            stack[-1].post_message(message)

    # -- screens ------------------------------------------------------------------------

    def _route(self) -> None:
        state = self.state
        if state.room is None:
            return
        driving = state.car is not None or state.role == "player"
        key = screen_key(state.phase, state.role, driving)
        self.show_screen(key)

    def show_screen(self, key: str) -> None:
        """Make the screen for `key` (see `screen_key`) the active one."""
        if key == self._screen_key:
            return
        screen = new_screen(key, self.rounds)
        self._screen_key = key
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) <= 1:
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    @property
    def screen_key(self) -> str | None:
        return self._screen_key

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Controls", "Show the driving controls (?)", self.action_help)
        if self.plan.url:
            yield SystemCommand(
                "Reconnect", "Drop the connection and rejoin with your token", self.action_reconnect
            )
        if self.state.role == "host" and self.state.phase in ("driving", "paused"):
            yield SystemCommand(
                "Pause / resume the round", "Host: freeze or continue the road", self.action_pause
            )
            yield SystemCommand(
                "End the round now", "Host: stop driving and go to the debrief", self.action_end
            )

    def action_pause(self) -> None:
        command = "resume" if self.state.phase == "paused" else "pause"
        self.send(HostCommand(command=command))

    def action_end(self) -> None:
        """End the round early, after asking: a stray key must not cut a workshop round."""
        question = end_round_question(self.state.room)

        def answered(value: str | None) -> None:
            if value == "end":
                self.send(HostCommand(command="end"))

        self.push_screen(question, answered)

    # -- quitting -----------------------------------------------------------------------

    async def action_quit(self) -> None:
        """ctrl+q: quit, but ask first whenever quitting would cost a round or a room."""
        try:
            top = self.screen
        except ScreenStackError:
            self.exit()
            return
        if self.gone is not None:
            self.leave_with(self.gone, 1)
            return
        if isinstance(top, Choice):
            return  # a question is already on screen: answer it
        question = None if isinstance(top, RoomEnded) else quit_question(self.plan, self.state)
        if question is None:
            self.exit()
            return
        self.push_screen(question, self._quit_answered)

    def _quit_answered(self, value: str | None) -> None:
        if value == "quit":
            self.exit()
        elif value == "close":
            self.close_room()

    def close_room(self) -> None:
        """Host: end the round properly (debrief saved, everyone told), then quit."""
        if not self.send(HostCommand(command="close")):
            self.exit()
            return
        self._ending_room = True
        self.notify("Ending the room: saving the debrief and telling everyone…", markup=False)
        self.set_timer(CLOSE_WAIT_SECONDS, lambda: self.exit(0))

    def deliver_screenshot(
        self,
        filename: str | None = None,
        path: str | None = None,
        time_format: str | None = None,
    ) -> str | None:
        """Textual saves to ~/Downloads, which many machines do not have: then to the
        current folder, and a failure says where it tried (never a traceback)."""
        if path is None:
            import platformdirs

            downloads = Path(platformdirs.user_downloads_dir())
            path = str(downloads if downloads.is_dir() else Path.cwd())
        try:
            return super().deliver_screenshot(filename, path, time_format)
        except OSError as exc:
            self.notify(
                f"Cannot save a screenshot in {path}: {exc.strerror or exc}",
                title="Screenshot",
                severity="error",
                markup=False,
            )
            return None

    def action_help(self) -> None:
        from client.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    async def action_reconnect(self) -> None:
        if self.connection is not None:
            await self.connection.drop()

    def with_plan(self, **changes: Any) -> Plan:
        return replace(self.plan, **changes)
