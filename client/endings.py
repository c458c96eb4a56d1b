"""How the app tells a player that the room, or the connection, is over.

`ConnectionEndings` is the part of the app (client/app.py `InterlaneApp` derives from it)
that turns the connection's states and the server's `bye` and refusals into what a person
sees: a notice that stays while the link is lost and retrying, one final sentence when the
server or the room is gone (quitting then exits with it), a toast per distinct error. It is
kept apart because it is a state machine of its own over the app's state, not message
handling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import App, ScreenStackError
from textual.message import Message

from client.events import ConnectionStatus
from client.net import FATAL_ERRORS, Link, lost_sentence, refusal
from client.plan import Plan
from client.screens.confirm import RoomEnded
from client.state import ClientState
from client.tokens import SeatStore

if TYPE_CHECKING:
    from shared.messages import ErrorReply

ERROR_REPEAT_SECONDS = 3.0  # the same error is toasted again only after this long


class ConnectionEndings(App[int]):
    """The app's endings; the attributes are the app's own (set in `InterlaneApp.__init__`)."""

    plan: Plan
    state: ClientState
    seats: SeatStore
    connection: Link | None
    clock: Callable[[], float]
    exit_message: str | None
    gone: str | None
    _ending_room: bool
    _refused: str | None
    _reconnecting: bool
    _was_connected: bool
    _last_error: tuple[str, float]

    def _forward(self, message: Message) -> None:
        """Hand a message to the screen in play (the app's routing, client/app.py)."""
        raise NotImplementedError

    def _ends_without_room(self, msg: ErrorReply) -> bool:
        """A join or create refused for good before this client was ever in the room: end
        with one sentence (printed by the launcher) and exit code 1, not an empty screen."""
        if self.plan.kind not in ("join", "spectate", "host"):
            return False  # the connect form shows the error next to its fields
        if msg.code not in FATAL_ERRORS:
            return False
        self.leave_with(f"interlane {self.plan.kind}: {refusal(msg)}", 1)
        return True

    def leave_with(self, sentence: str, code: int) -> None:
        """Quit the TUI; the launcher prints `sentence` on stderr and exits with `code`."""
        if self.exit_message is None:
            self.exit_message = sentence
            if self.connection is not None:
                self.connection.stop()
            self.exit(code, return_code=code)

    def _room_over(self, reason: str) -> None:
        """The server said `bye`: the room (or the server) is gone for this client."""
        plan, state = self.plan, self.state
        if plan.url and state.code:
            self.seats.forget(plan.url, state.code)
        if self._ending_room:
            self.exit(0)  # the host ended the room on purpose: the debrief is saved
            return
        if state.player is None:
            self.leave_with(f"interlane {plan.kind}: {reason}", 1)
            return
        self._tell_ended(f"You are no longer in room {state.code}: {reason}.")

    def _tell_ended(self, sentence: str, lost: bool = False) -> None:
        try:
            if isinstance(self.screen, RoomEnded):
                if not self.screen.lost:
                    return
                self.pop_screen()  # "retrying" gives way to "it is over"
        except ScreenStackError:
            return

        def answered(value: str | None) -> None:
            if value == "quit":
                if self.gone is not None:
                    self.leave_with(self.gone, 1)
                else:
                    self.exit(0)

        self.push_screen(RoomEnded(sentence, lost=lost), answered)

    def _show_lost(self, detail: str) -> None:
        """The notice that stays while the connection is lost, updated by each retry."""
        connection = self.connection
        lost_at = connection.lost_at if connection is not None else None  # None: not lost
        elapsed = 0.0 if lost_at is None else asyncio.get_running_loop().time() - lost_at
        sentence = lost_sentence(self.state.role == "spectator", elapsed, detail)
        try:
            top = self.screen
        except ScreenStackError:
            return
        if isinstance(top, RoomEnded):
            if top.lost:
                top.say(sentence)
            return  # a final notice stays
        self._tell_ended(sentence, lost=True)

    def _server_gone(self, text: str) -> None:
        """The retries are over (no answer, or the server came back without our room): one
        final notice; quitting then ends the process with that sentence and exit code 1."""
        plan, state = self.plan, self.state
        reason = (self.connection.fatal if self.connection else None) or text
        if self._refused in ("no_room", "room_closed") and state.code:
            sentence = f"The server is gone: it came back without room {state.code} ({reason})."
        else:
            sentence = f"The server is gone: {reason}."
        if plan.url and state.code:
            self.seats.forget(plan.url, state.code)  # nothing to come back to
        self.gone = sentence
        self._tell_ended(sentence)

    def _clear_lost_notice(self) -> None:
        try:
            if isinstance(self.screen, RoomEnded) and self.screen.lost:
                self.screen.dismiss("stay")
        except ScreenStackError:
            return

    def _toast_error(self, text: str) -> None:
        """One toast per distinct error every few seconds: a held key must not bury the screen."""
        now = self.clock()
        last_text, last_at = self._last_error
        if text == last_text and now - last_at < ERROR_REPEAT_SECONDS:
            return
        self._last_error = (text, now)
        self.notify(text, title="Server", severity="error", markup=False)

    def on_connection_status(self, event: ConnectionStatus) -> None:
        previous = self.state.connection
        self.state.connection = event.state
        self.state.connection_note = event.text
        in_room = self.state.player is not None and self.gone is None
        if event.state == "lost" and (self._reconnecting or (previous == "connected" and in_room)):
            # every role: a frozen screen must not look like a quiet one
            self._reconnecting = True
            self._show_lost(event.text)
        elif event.state == "lost" and previous == "connected":
            self.notify(event.text, title="Connection", severity="warning", markup=False)
        elif event.state == "connected":
            if not self._reconnecting:  # else the notice stays until the seat is back
                self._clear_lost_notice()
                if self._was_connected and self.state.token:
                    self.notify("Reconnected: back in the game.", title="Connection", markup=False)
            self._was_connected = True  # a seat taken back at start-up is quiet
        elif event.state == "closed" and self._reconnecting:
            self._reconnecting = False
            self._server_gone(event.text.removeprefix("Disconnected: "))
        elif event.state == "closed":
            if self.state.player is None and self.plan.kind in ("join", "spectate", "host"):
                self.leave_with(f"interlane {self.plan.kind}: {event.text}", 1)
                return
            self._tell_ended(f"{event.text}.")
        self._forward(ConnectionStatus(event.state, event.text))
