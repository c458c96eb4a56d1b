"""The messages a client sends, one frozen dataclass each (docs/protocol.md, "Client → server").

The fields are the wire keys; their limits (types, ranges, lengths, choices) are the
schemas in `shared.messages.schema.CLIENT_MESSAGES`, checked by `parse_client_message` before
any of these is built from a client's frame. Extra fields a client sends are dropped there.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.messages.base import Message


@dataclass(frozen=True, kw_only=True)
class Hello(Message):
    """An optional greeting; answered by `welcome`."""

    TYPE = "hello"
    protocol: int
    name: str | None = None


@dataclass(frozen=True, kw_only=True)
class Create(Message):
    """Make a room and become its host (with a car too when `play`)."""

    TYPE = "create"
    protocol: int
    name: str
    scenario: str | None = None
    program: str | None = None
    bots: int | None = None
    seed: int | None = None
    play: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Join(Message):
    """Join a room by its code, or rejoin it with the `token` of an earlier `joined`."""

    TYPE = "join"
    protocol: int
    code: str
    name: str
    role: str  # "player" | "spectator"
    token: str | None = None


@dataclass(frozen=True, kw_only=True)
class Control(Message):
    """An intent for the member's own car; `value` for `gap` (1–3) and `assist` ("on"/"off")."""

    TYPE = "control"
    action: str
    value: int | str | None = None


@dataclass(frozen=True, kw_only=True)
class HostCommand(Message):
    """A host command; which of the optional fields it needs depends on `command`
    (`shared.messages.schema.HOST_COMMAND_FIELDS`, checked before this is built)."""

    TYPE = "host"
    command: str
    value: int | bool | None = None
    player: int | None = None
    lane: int | None = None
    x: float | None = None
    seconds: float | None = None
    text: str | None = None
    convention: str | None = None
    option: str | None = None


@dataclass(frozen=True, kw_only=True)
class Propose(Message):
    """Council: table an option (it counts as a vote)."""

    TYPE = "propose"
    convention: str
    option: str


@dataclass(frozen=True, kw_only=True)
class Vote(Message):
    """Council: vote, replacing this member's earlier vote on the convention."""

    TYPE = "vote"
    convention: str
    option: str


@dataclass(frozen=True, kw_only=True)
class Chat(Message):
    """A chat line to the room, as typed (the room cleans it)."""

    TYPE = "chat"
    text: str


@dataclass(frozen=True, kw_only=True)
class Ping(Message):
    """Answered by `pong` with the same `t`."""

    TYPE = "ping"
    t: float


@dataclass(frozen=True, kw_only=True)
class ReplayRequest(Message):
    """During the debrief: the debriefed round's inputs, for a replay on this machine."""

    TYPE = "replay"


@dataclass(frozen=True, kw_only=True)
class Leave(Message):
    """Leave for good: the token stops working."""

    TYPE = "leave"


ClientMessage = (
    Hello
    | Create
    | Join
    | Control
    | HostCommand
    | Propose
    | Vote
    | Chat
    | Ping
    | ReplayRequest
    | Leave
)

CLIENT_TYPES: dict[str, type[ClientMessage]] = {
    cls.TYPE: cls
    for cls in (
        Hello,
        Create,
        Join,
        Control,
        HostCommand,
        Propose,
        Vote,
        Chat,
        Ping,
        ReplayRequest,
        Leave,
    )
}
