"""The wire protocol between Interlane clients and servers.

Every message is one binary websocket frame holding one msgpack map with a "type" key.
This module holds what both ends share about the wire besides the messages themselves: the
constants and limits, `ProtocolError` (an error code and a sentence a person can read),
framing (`encode`, `decode` with the size limit), car rows and flags, and the cleaning of
text people type. The messages — their schemas, checks and typed values — are
shared/messages/; docs/protocol.md describes them for people.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

import msgpack

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
MAX_NAME_CHARS = 20
MAX_CHAT_CHARS = 200
MAX_TOKEN_CHARS = 64
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no I, L, O, 0, 1: nothing to confuse
CODE_LENGTH = 5
RING_SEGMENTS = 64
MAX_ROOM_MEMBERS = 120  # players and spectators (the host included) in one room
MAX_REPLAY_TICKS = 3 * 3600 * 20  # the longest round: three hours at 20 Hz
MAX_WIRE_NUMBER = 1e15  # no field of any message is larger; junk beyond it is refused
MAX_NESTING = 16  # maps and lists inside each other in one message

CONTROL_ACTIONS = (
    "faster",
    "slower",
    "brake",
    "left",
    "right",
    "signal_left",
    "signal_right",
    "hazard",
    "yield",
    "gap",
    "assist",
)
HOST_COMMANDS = (
    "start",
    "pause",
    "resume",
    "end",
    "kick",
    "bots",
    "incident",
    "next",
    "lock",
    "extend",
    "message",
    "decide",
    "close",
)
ROLES = ("player", "spectator")
MEMBER_ROLES = ("host", "player", "spectator")
PHASES = ("lobby", "council", "driving", "paused", "debrief", "finished")

# Bits of the `flags` integer of a car in a snapshot.
FLAG_BRAKING = 1
FLAG_SIGNAL_LEFT = 2
FLAG_SIGNAL_RIGHT = 4
FLAG_HAZARD = 8
FLAG_PLAYER = 16
FLAG_CRASHED = 32
FLAG_TRUCK = 64
FLAG_AEB = 128


class ProtocolError(Exception):
    """A message that cannot be accepted; `code` is machine-readable, `message` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_local = threading.local()


def _packer() -> msgpack.Packer:
    """One reusable Packer per thread: `packb` allocates a fresh buffer on every call."""
    packer = getattr(_local, "packer", None)
    if packer is None:
        packer = msgpack.Packer(use_bin_type=True, autoreset=True)
        _local.packer = packer
    return packer


def encode(message: Mapping[str, Any]) -> bytes:
    """Pack one message for the wire. Raises ProtocolError("too_big") past the frame limit."""
    data: bytes = _packer().pack(message)
    if len(data) > MAX_FRAME_BYTES:
        raise ProtocolError("too_big", f"message of {len(data)} bytes exceeds {MAX_FRAME_BYTES}")
    return data


def decode(frame: bytes | str) -> dict[str, Any]:
    """Unpack one frame into a map with a string "type", or raise ProtocolError("malformed")."""
    if isinstance(frame, str):
        raise ProtocolError("malformed", "frames must be binary msgpack, not text")
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError("too_big", f"frame of {len(frame)} bytes exceeds {MAX_FRAME_BYTES}")
    try:
        value = msgpack.unpackb(frame, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated exception types
        raise ProtocolError("malformed", f"not a msgpack message ({type(exc).__name__})") from exc
    if not isinstance(value, dict):
        raise ProtocolError("malformed", "a message must be a map")
    kind = value.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("malformed", 'a message needs a string "type"')
    return value


def check_protocol_version(version: int | None) -> None:
    """Refuse a client that speaks another protocol version, with the code "protocol"."""
    if version is not None and version != PROTOCOL_VERSION:
        raise ProtocolError(
            "protocol",
            f"this server speaks protocol {PROTOCOL_VERSION}, the client speaks {version}",
        )


def clean_text(text: str, limit: int) -> str:
    """Plain, printable text: control and format characters removed, whitespace folded, trimmed.

    Markup is not touched here (a name may contain brackets); it is the renderer's job to show
    text as text. This removes what could move a terminal's cursor or hide characters.
    """
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if category.startswith("C"):  # Cc control, Cf format, Cs surrogate, Co private, Cn
            kept.append(" " if ch in "\t\n\r" else "")
        elif category in ("Zl", "Zp"):
            kept.append(" ")
        else:
            kept.append(ch)
    folded = " ".join("".join(kept).split())
    return folded[:limit].strip()


def clean_name(name: str) -> str:
    """A player's display name: plain printable text of at most MAX_NAME_CHARS characters."""
    return clean_text(name, MAX_NAME_CHARS)


def pack_car(
    car_id: int, lane: float, x: float, v: float, flags: int
) -> tuple[int, int, int, int, int]:
    """One car in a snapshot, quantised: [id, lane×100, x in dm, v in cm/s, flags].

    Lane is the lateral position (1.5 = halfway from lane 1 to lane 2 during a lane change).
    """
    return (car_id, round(lane * 100), round(x * 10), max(0, round(v * 100)), flags)


def unpack_car(row: list[int] | tuple[int, ...]) -> tuple[int, float, float, float, int]:
    """The inverse of pack_car: (id, lane, x metres, v m/s, flags)."""
    car_id, lane, x, v, flags = row[:5]
    return car_id, lane / 100, x / 10, v / 100, flags


def car_flags(
    *,
    braking: bool = False,
    signal: int = 0,
    hazard: bool = False,
    player: bool = False,
    crashed: bool = False,
    truck: bool = False,
    aeb: bool = False,
) -> int:
    """The `flags` integer of a snapshot car row from its parts."""
    flags = 0
    if braking:
        flags |= FLAG_BRAKING
    if signal < 0:
        flags |= FLAG_SIGNAL_LEFT
    elif signal > 0:
        flags |= FLAG_SIGNAL_RIGHT
    if hazard:
        flags |= FLAG_HAZARD
    if player:
        flags |= FLAG_PLAYER
    if crashed:
        flags |= FLAG_CRASHED
    if truck:
        flags |= FLAG_TRUCK
    if aeb:
        flags |= FLAG_AEB
    return flags


def pack_ring(speeds_mps: Iterable[float]) -> list[int]:
    """A ring summary for the wire: mean speed per segment in whole km/h (never negative)."""
    return [max(0, round(v * 3.6)) for v in speeds_mps]


# The message schemas and their checks live with the typed messages (shared/messages/schema.py).
# The client (client/net.py reads CLIENT_MESSAGES, validate and parse_server_frame) and the
# tests still import them from here, so they stay importable under their old names. This
# import comes last because shared.messages.schema reads the constants above.
from shared.messages import schema as _schema  # noqa: E402

CLIENT_MESSAGES = _schema.CLIENT_MESSAGES
SERVER_MESSAGES = _schema.SERVER_MESSAGES
OPEN_SERVER_MESSAGES = _schema.OPEN_SERVER_MESSAGES
HOST_COMMAND_FIELDS = _schema.HOST_COMMAND_FIELDS
SERVER_SHAPES = _schema.SERVER_SHAPES
COUNCIL_SHAPE = _schema.COUNCIL_SHAPE
Field = _schema.Field
validate = _schema.validate
check_server_message = _schema.check_server_message
parse_client_frame = _schema.parse_client_frame
parse_server_frame = _schema.parse_server_frame
