"""What the app tells its screens: one Textual message per kind of server message, and the link.

The connection (client/net.py) runs on Textual's loop and decodes each server frame once
into its typed value (shared/messages/); the app wraps that value in the event of its kind
(`received`), folds it into `app.state` and forwards the event to the screen in play, which
handles only the kinds it cares about (docs/architecture.md, "The client's plumbing"). These
classes are that hand-over; they live apart from client/app.py so that screens can name them
without importing the app.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from textual.message import Message

from shared.messages import (
    Bye,
    ChatLine,
    Debrief,
    ErrorReply,
    Joined,
    Notice,
    Pong,
    ReplayData,
    RoomState,
    Snapshot,
    Welcome,
)
from shared.messages import ServerMessage as Typed

M = TypeVar("M", bound=Typed, covariant=True)


class Received(Message, Generic[M], bubble=False):
    """One validated message from the server, as its typed value (`msg`). Each kind says
    `bubble=False` again (Textual gives a subclass bubble=True otherwise): a forwarded event
    must not bubble from the screen back up to the app that forwarded it."""

    def __init__(self, msg: M) -> None:
        super().__init__()
        self.msg = msg


class WelcomeReceived(Received[Welcome], bubble=False):
    """`welcome`: what the server offers (scenarios, programs, doors)."""


class JoinedRoom(Received[Joined], bubble=False):
    """`joined`: this client is a member of a room (code, role, token, player, car)."""


class RoomUpdated(Received[RoomState], bubble=False):
    """`room`: the room's state changed (or its periodic refresh)."""


class SnapshotReceived(Received[Snapshot], bubble=False):
    """`snapshot`: one tick of the world as this client sees it."""


class DebriefReady(Received[Debrief], bubble=False):
    """`debrief`: a round's analysis."""


class ChatReceived(Received[ChatLine], bubble=False):
    """`chat`: a line from a member."""


class NoticeReceived(Received[Notice], bubble=False):
    """`notice`: a message from the host or the server."""


class ReplayReceived(Received[ReplayData], bubble=False):
    """`replay`: the debriefed round's inputs, for a replay on this machine."""


class ErrorReceived(Received[ErrorReply], bubble=False):
    """`error`: something this client sent was refused."""


class PongReceived(Received[Pong], bubble=False):
    """`pong`: the answer to a `ping`."""


class ByeReceived(Received[Bye], bubble=False):
    """`bye`: the server is about to close this connection."""


def received(msg: Typed) -> Received[Typed]:
    """The event that carries `msg`: one class per kind, so handlers are chosen by Textual."""
    match msg:
        case Welcome():
            return WelcomeReceived(msg)
        case Joined():
            return JoinedRoom(msg)
        case RoomState():
            return RoomUpdated(msg)
        case Snapshot():
            return SnapshotReceived(msg)
        case Debrief():
            return DebriefReady(msg)
        case ChatLine():
            return ChatReceived(msg)
        case Notice():
            return NoticeReceived(msg)
        case ReplayData():
            return ReplayReceived(msg)
        case ErrorReply():
            return ErrorReceived(msg)
        case Pong():
            return PongReceived(msg)
        case Bye():
            return ByeReceived(msg)


class ConnectionStatus(Message, bubble=False):
    """The connection changed: state is connecting | connected | lost | closed."""

    def __init__(self, state: str, text: str) -> None:
        super().__init__()
        self.state = state
        self.text = text
