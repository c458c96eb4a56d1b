"""The messages a server sends, one frozen dataclass each (docs/protocol.md, "Server → client").

The fields are the wire keys in the order the server composes them; their limits are the
schemas in `shared.messages.schema.SERVER_MESSAGES` and the nested shapes in `SERVER_SHAPES`,
checked by `parse_server_message`. Every server message is open (`OpenMessage`): fields a newer server
adds are kept in `extra`. Nested values (roster entries, the council, car rows, the debrief's
analysis) stay plain maps and lists: their shapes are checked, and the screens read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.messages.base import OpenMessage


@dataclass(frozen=True, kw_only=True)
class Welcome(OpenMessage):
    """The answer to `hello`: what this server offers, and its doors for the join card."""

    TYPE = "welcome"
    protocol: int
    server: str
    scenarios: list[str]
    programs: list[str]
    doors: list[dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class Joined(OpenMessage):
    """You are in: keep `token` to rejoin after a drop; `car` once you have one."""

    TYPE = "joined"
    code: str
    role: str  # "host" | "player" | "spectator"
    token: str
    player: int
    car: int | None = None


@dataclass(frozen=True, kw_only=True)
class RoomState(OpenMessage):
    """The room's state (the `room` message), sent on every change and every 5 s."""

    TYPE = "room"
    NIL = frozenset({"host"})  # a room whose host left says so: "host": nil
    code: str
    phase: str
    players: list[dict[str, Any]]
    scenario: str
    rulebook: dict[str, str]
    round: int
    rounds: int
    locked: bool
    clock: float
    scoring: str | None = None
    program: str | None = None
    host: int | None = None
    title: str | None = None
    seconds: float | None = None
    step: int | None = None
    steps: int | None = None
    intro: str | None = None
    council: dict[str, Any] | None = None
    ring: dict[str, Any] | None = None
    players_more: int | None = None  # only when `players` had to be cut to fit a frame


@dataclass(frozen=True, kw_only=True)
class Snapshot(OpenMessage):
    """One tick of the world as one client sees it. The server packs these with
    `server.snapshots.SnapshotEncoder` (the hot path); the bytes decode to this type."""

    TYPE = "snapshot"
    tick: int
    t: float
    you: dict[str, Any] | None = None
    cars: list[list[int]]
    ring: list[int]
    events: list[dict[str, Any]]
    team: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class Debrief(OpenMessage):
    """A round's debrief: `round` and the analysis (docs/debrief.md), whose many fields are
    kept in `extra` in the analysis's own order; `error` / `not_saved` when it failed."""

    TYPE = "debrief"
    round: int
    scenario: str | None = None
    metrics: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class ChatLine(OpenMessage):
    """A chat line from a member, cleaned by the room."""

    TYPE = "chat"
    player: int
    name: str
    text: str


@dataclass(frozen=True, kw_only=True)
class Notice(OpenMessage):
    """A message from the host or the server."""

    TYPE = "notice"
    text: str


@dataclass(frozen=True, kw_only=True)
class ReplayData(OpenMessage):
    """The debriefed round's inputs (the `replay` message): everything `World.replay` needs."""

    TYPE = "replay"
    NIL = frozenset({"bots", "mix"})  # the room's own numbers and mix, or nil
    round: int
    scenario: str
    seed: int
    rulebook: dict[str, str]
    bots: int | None = None
    mix: dict[str, float] | None = None
    ticks: int
    log: list[Any]
    names: dict[str, str]
    scenario_doc: dict[str, Any] | None = None  # a scenario that is not built in


@dataclass(frozen=True, kw_only=True)
class ErrorReply(OpenMessage):
    """Something the client sent was refused (the `error` message); `message` is for people."""

    TYPE = "error"
    code: str
    message: str


@dataclass(frozen=True, kw_only=True)
class Pong(OpenMessage):
    """The answer to `ping`, with its `t`."""

    TYPE = "pong"
    t: float


@dataclass(frozen=True, kw_only=True)
class Bye(OpenMessage):
    """The server is about to close this connection, and why."""

    TYPE = "bye"
    reason: str


ServerMessage = (
    Welcome
    | Joined
    | RoomState
    | Snapshot
    | Debrief
    | ChatLine
    | Notice
    | ReplayData
    | ErrorReply
    | Pong
    | Bye
)

SERVER_TYPES: dict[str, type[ServerMessage]] = {
    cls.TYPE: cls
    for cls in (
        Welcome,
        Joined,
        RoomState,
        Snapshot,
        Debrief,
        ChatLine,
        Notice,
        ReplayData,
        ErrorReply,
        Pong,
        Bye,
    )
}
