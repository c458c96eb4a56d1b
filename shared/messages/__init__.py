"""Every protocol message as a typed value, decoded once where it enters (docs/protocol.md).

`parse_client_message` is the server's gate: it checks a decoded map against the client
schemas (shared/messages/schema.py: `validate`'s checks, error codes and sentences) and
returns one of the `ClientMessage` types; `decode_client_frame` does the same from a frame's
bytes. `parse_server_message` / `decode_server_frame` are the client's side, as strict as
`parse_server_frame`. Every typed value encodes (`Message.encode`) to the
bytes the dict it replaced encoded to (tests/protocol/test_corpus.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.messages.base import Message, OpenMessage
from shared.messages.client import (
    CLIENT_TYPES,
    Chat,
    ClientMessage,
    Control,
    Create,
    Hello,
    HostCommand,
    Join,
    Leave,
    Ping,
    Propose,
    ReplayRequest,
    Vote,
)
from shared.messages.schema import CLIENT_MESSAGES, check_server_message, validate
from shared.messages.server import (
    SERVER_TYPES,
    Bye,
    ChatLine,
    Debrief,
    ErrorReply,
    Joined,
    Notice,
    Pong,
    ReplayData,
    RoomState,
    ServerMessage,
    Snapshot,
    Welcome,
)
from shared.protocol import decode

__all__ = [
    "CLIENT_TYPES",
    "SERVER_TYPES",
    "Bye",
    "Chat",
    "ChatLine",
    "ClientMessage",
    "Control",
    "Create",
    "Debrief",
    "ErrorReply",
    "Hello",
    "HostCommand",
    "Join",
    "Joined",
    "Leave",
    "Message",
    "Notice",
    "OpenMessage",
    "Ping",
    "Pong",
    "Propose",
    "ReplayData",
    "ReplayRequest",
    "RoomState",
    "ServerMessage",
    "Snapshot",
    "Vote",
    "Welcome",
    "decode_client_frame",
    "decode_server_frame",
    "parse_client_message",
    "parse_server_message",
]


def _in_arrival_order(
    message: Mapping[str, Any], clean: Mapping[str, Any], known: tuple[str, ...]
) -> dict[str, Any]:
    """The fields that passed the checks, in the order the frame carried them; a known field
    the frame sent as nil stays (as None), so that the message encodes back to the same bytes."""
    return {
        name: clean.get(name)
        for name, value in message.items()
        if isinstance(name, str) and (name in clean or (value is None and name in known))
    }


def parse_client_message(message: Mapping[str, Any]) -> ClientMessage:
    """A decoded client map as its typed message, or ProtocolError (unknown type, a missing,
    wrong or out-of-range field, a host command without its fields). Unknown fields go."""
    clean = validate(message, CLIENT_MESSAGES)
    cls = CLIENT_TYPES[clean["type"]]
    return cls.from_map(_in_arrival_order(message, clean, cls.wire_fields()))


def parse_server_message(message: Mapping[str, Any]) -> ServerMessage:
    """A decoded server map as its typed message, or ProtocolError; fields the client does
    not know are kept in `extra`."""
    clean = check_server_message(message)
    cls = SERVER_TYPES[clean["type"]]
    return cls.from_map(_in_arrival_order(message, clean, cls.wire_fields()))


def decode_client_frame(frame: bytes | str) -> ClientMessage:
    """The server's single gate for network input: one frame, decoded and checked once."""
    return parse_client_message(decode(frame))


def decode_server_frame(frame: bytes | str) -> ServerMessage:
    """One frame from a server, decoded and checked once."""
    return parse_server_message(decode(frame))
