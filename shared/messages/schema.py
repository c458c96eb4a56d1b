"""The schemas of every protocol message and the checks that hold a map to them.

`validate` turns anything a client sends into either a clean dict or a `ProtocolError` with
an error code and a sentence; `check_server_message` holds a server's message to the same
standard on the client (every number finite and sane, nesting bounded, the nested fields the
screens read in their shapes). The typed messages (shared/messages/client.py, server.py) are
built from what passes here. docs/protocol.md describes the same messages for people.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.protocol import (
    CONTROL_ACTIONS,
    HOST_COMMANDS,
    MAX_CHAT_CHARS,
    MAX_NESTING,
    MAX_REPLAY_TICKS,
    MAX_ROOM_MEMBERS,
    MAX_TOKEN_CHARS,
    MAX_WIRE_NUMBER,
    MEMBER_ROLES,
    PHASES,
    ROLES,
    ProtocolError,
    decode,
)


@dataclass(frozen=True)
class Field:
    """What one field of a message may hold."""

    kind: type | tuple[type, ...]
    required: bool = True
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    max_len: int | None = None


_INT = int
_NUM = (int, float)
_STR = str

CLIENT_MESSAGES: dict[str, dict[str, Field]] = {
    "hello": {
        "protocol": Field(_INT),
        "name": Field(_STR, required=False, max_len=200),
    },
    "create": {
        "protocol": Field(_INT),
        "name": Field(_STR, max_len=200),
        "scenario": Field(_STR, required=False, max_len=64),
        "program": Field(_STR, required=False, max_len=64),
        "bots": Field(_INT, required=False, minimum=0, maximum=200),
        "seed": Field(_INT, required=False, minimum=0, maximum=2**31 - 1),
        "play": Field(bool, required=False),
    },
    "join": {
        "protocol": Field(_INT),
        "code": Field(_STR, max_len=16),
        "name": Field(_STR, max_len=200),
        "role": Field(_STR, choices=ROLES),
        "token": Field(_STR, required=False, max_len=MAX_TOKEN_CHARS),
    },
    "control": {
        "action": Field(_STR, choices=CONTROL_ACTIONS),
        "value": Field((int, str), required=False, max_len=8),
    },
    "host": {
        "command": Field(_STR, choices=HOST_COMMANDS),
        "value": Field((int, bool), required=False, minimum=-200, maximum=200),
        "player": Field(_INT, required=False, minimum=0, maximum=2**31 - 1),
        "lane": Field(_INT, required=False, minimum=0, maximum=3),
        "x": Field(_NUM, required=False, minimum=0, maximum=1_000_000),
        "seconds": Field(_NUM, required=False, minimum=1, maximum=3600),
        "text": Field(_STR, required=False, max_len=MAX_CHAT_CHARS * 4),
        "convention": Field(_STR, required=False, max_len=32),
        "option": Field(_STR, required=False, max_len=32),
    },
    "propose": {
        "convention": Field(_STR, max_len=32),
        "option": Field(_STR, max_len=32),
    },
    "vote": {
        "convention": Field(_STR, max_len=32),
        "option": Field(_STR, max_len=32),
    },
    "chat": {
        "text": Field(_STR, max_len=MAX_CHAT_CHARS * 4),
    },
    "ping": {
        "t": Field(_NUM),
    },
    "replay": {},
    "leave": {},
}

# Which extra fields each host command needs (checked after the schema).
HOST_COMMAND_FIELDS: dict[str, tuple[str, ...]] = {
    "kick": ("player",),
    "bots": ("value",),
    "lock": ("value",),
    "extend": ("seconds",),
    "message": ("text",),
    "decide": ("convention", "option"),
}

SERVER_MESSAGES: dict[str, dict[str, Field]] = {
    "welcome": {
        "protocol": Field(_INT),
        "server": Field(_STR),
        "scenarios": Field(list),
        "programs": Field(list),
        "doors": Field(list, required=False),
    },
    "joined": {
        "code": Field(_STR),
        "role": Field(_STR, choices=MEMBER_ROLES),
        "token": Field(_STR),
        "player": Field(_INT),
        "car": Field(_INT, required=False),
    },
    "room": {
        "code": Field(_STR),
        "phase": Field(_STR, choices=PHASES),
        "players": Field(list, max_len=MAX_ROOM_MEMBERS),
        "scenario": Field(_STR),
        "rulebook": Field(dict),
        "round": Field(_INT, minimum=0),
        "rounds": Field(_INT, minimum=0),
        "locked": Field(bool),
        "clock": Field(_NUM, minimum=0, maximum=24 * 3600),
        "council": Field(dict, required=False),
        "scoring": Field(_STR, required=False),
        "program": Field(_STR, required=False),
        "ring": Field(dict, required=False),
        "host": Field(_INT, required=False),
        "title": Field(_STR, required=False),
        "intro": Field(_STR, required=False),
        "seconds": Field(_NUM, required=False, minimum=0, maximum=24 * 3600),
        "step": Field(_INT, required=False),
        "steps": Field(_INT, required=False),
        "players_more": Field(_INT, required=False, minimum=0),
    },
    "snapshot": {
        "tick": Field(_INT, minimum=0),
        "t": Field(_NUM, minimum=0),
        "you": Field(dict, required=False),
        "cars": Field(list, max_len=5000),
        "ring": Field(list, max_len=1024),
        "events": Field(list, max_len=1000),
        "team": Field(dict, required=False),
    },
    "debrief": {
        "round": Field(_INT),
        "scenario": Field(_STR, required=False),
        "metrics": Field(dict, required=False),
    },
    "chat": {
        "player": Field(_INT),
        "name": Field(_STR),
        "text": Field(_STR),
    },
    "notice": {
        "text": Field(_STR),
    },
    # the inputs of the round in the room's debrief, for a replay on the player's machine
    "replay": {
        "round": Field(_INT),
        "scenario": Field(_STR),
        "seed": Field(_INT, minimum=0, maximum=2**32),
        "rulebook": Field(dict),
        "bots": Field(_INT, required=False, minimum=0, maximum=10_000),
        "mix": Field(dict, required=False),
        "ticks": Field(_INT, minimum=0, maximum=MAX_REPLAY_TICKS),
        "log": Field(list),
        "names": Field(dict, max_len=MAX_ROOM_MEMBERS),
        # a scenario that is not built in: its checked TOML document (shared.sim.scenario)
        "scenario_doc": Field(dict, required=False),
    },
    "error": {
        "code": Field(_STR),
        "message": Field(_STR),
    },
    "pong": {
        "t": Field(_NUM),
    },
    "bye": {
        "reason": Field(_STR),
    },
}


# Messages the server may extend with fields a client does not know yet: a client keeps them
# (after checking the fields it does know) so that an older client still works.
OPEN_SERVER_MESSAGES: frozenset[str] = frozenset(SERVER_MESSAGES)


def _check_field(kind: str, name: str, spec: Field, value: Any) -> None:
    allowed = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    # bool is an int in Python; only accept it where bool is explicitly allowed
    if isinstance(value, bool) and bool not in allowed:
        raise ProtocolError("bad_field", f"{kind}.{name} must not be true/false")
    if not isinstance(value, allowed):
        names = " or ".join(t.__name__ for t in allowed)
        raise ProtocolError("bad_field", f"{kind}.{name} must be {names}")
    if spec.choices is not None and value not in spec.choices:
        raise ProtocolError("bad_value", f"{kind}.{name} must be one of {list(spec.choices)}")
    if isinstance(value, str) and spec.max_len is not None and len(value) > spec.max_len:
        raise ProtocolError("too_long", f"{kind}.{name} is longer than {spec.max_len} characters")
    if isinstance(value, list | dict) and spec.max_len is not None and len(value) > spec.max_len:
        raise ProtocolError("too_long", f"{kind}.{name} has more than {spec.max_len} entries")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):  # NaN, ±inf
            raise ProtocolError("bad_value", f"{kind}.{name} must be a finite number")
        if spec.minimum is not None and value < spec.minimum:
            raise ProtocolError("bad_value", f"{kind}.{name} must be at least {spec.minimum}")
        if spec.maximum is not None and value > spec.maximum:
            raise ProtocolError("bad_value", f"{kind}.{name} must be at most {spec.maximum}")


def validate(
    message: Mapping[str, Any],
    schemas: Mapping[str, Mapping[str, Field]],
    keep_extra: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Check a decoded message against its schema; return a copy without unknown fields.

    Types listed in `keep_extra` keep their unknown fields (a server may add detail that an
    older client can ignore); a client's messages never do, so nothing unchecked gets in.
    """
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in schemas:
        raise ProtocolError("unknown_type", f"unknown message type {kind!r}")
    schema = schemas[kind]
    clean: dict[str, Any] = {"type": kind}
    for name, spec in schema.items():
        if name not in message or message[name] is None:
            if spec.required:
                raise ProtocolError("missing_field", f"{kind} needs the field {name!r}")
            continue
        _check_field(kind, name, spec, message[name])
        clean[name] = message[name]
    if kind in keep_extra:
        for name, value in message.items():
            if name not in clean and isinstance(name, str) and value is not None:
                clean[name] = value
    if kind == "host":
        for name in HOST_COMMAND_FIELDS.get(clean["command"], ()):
            if name not in clean:
                raise ProtocolError(
                    "missing_field", f"host command {clean['command']!r} needs {name!r}"
                )
    if kind == "control":
        _check_control(clean)
    return clean


def _check_control(msg: dict[str, Any]) -> None:
    action, value = msg["action"], msg.get("value")
    if action == "gap" and value not in (1, 2, 3):
        raise ProtocolError("bad_value", "control gap needs value 1, 2 or 3")
    if action == "assist" and value not in ("on", "off"):
        raise ProtocolError("bad_value", 'control assist needs value "on" or "off"')


def parse_client_frame(frame: bytes | str) -> dict[str, Any]:
    """Decode and validate one frame from a client: the single gate for network input."""
    return validate(decode(frame), CLIENT_MESSAGES)


def parse_server_frame(frame: bytes | str) -> dict[str, Any]:
    """Decode and validate one frame from a server, so a client never trusts a bad one.

    As strict as the server is with clients: besides the schema, every number anywhere in
    the message is finite and of sane size, nesting is bounded, and the nested fields the
    screens read (the roster, the council, the debrief's lists, car rows) have their shapes.
    """
    return check_server_message(decode(frame))


def check_server_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a decoded server message (`parse_server_frame` without the decoding)."""
    _check_tree(message, message.get("type"), 0)
    clean = validate(message, SERVER_MESSAGES, OPEN_SERVER_MESSAGES)
    for field_name, shape in SERVER_SHAPES.get(clean["type"], {}).items():
        if field_name in clean:
            _check_shape(clean[field_name], shape, f"{clean['type']}.{field_name}")
    return clean


def _check_tree(value: Any, kind: Any, depth: int) -> None:
    """Every number finite and below MAX_WIRE_NUMBER; maps and lists at most MAX_NESTING deep."""
    if isinstance(value, float | int) and not isinstance(value, bool):
        if not math.isfinite(value) or abs(value) > MAX_WIRE_NUMBER:
            raise ProtocolError("bad_value", f"{kind} holds a number out of range ({value!r})")
        return
    if isinstance(value, dict | list):
        if depth >= MAX_NESTING:
            raise ProtocolError("bad_field", f"{kind} is nested too deeply")
        for item in value.values() if isinstance(value, dict) else value:
            _check_tree(item, kind, depth + 1)


# Shapes of nested fields, checked by `_check_shape`: a type (int means a whole number, not a
# bool; float any number), a one-element list (a list of that shape), a dict of field →
# shape (a map whose listed fields, when present and not None, have those shapes; other
# fields are kept), or ("map", key shape, value shape) for a map of uniform entries.
_ID = int
_NUMBER = float
_LIST_OF_MAPS = [dict]
COUNCIL_SHAPE: dict[str, Any] = {
    "proposals": [{"convention": str, "option": str, "by": _ID, "votes": _ID}],
    "tallies": ("map", str, ("map", str, _ID)),
    "votes": [{"player": _ID, "convention": str, "option": str}],
    "ties": ("map", str, [str]),
    "decided": ("map", str, str),
    "base": ("map", str, str),
    "result": ("map", str, str),
    "remaining": _NUMBER,
    "over": bool,
    "members": [_ID],
    "host": _ID,
}
SERVER_SHAPES: dict[str, dict[str, Any]] = {
    "welcome": {"scenarios": [str], "programs": [str]},
    "room": {
        "players": [
            {"id": _ID, "name": str, "role": str, "car": _ID, "connected": bool},
        ],
        "rulebook": ("map", str, str),
        "council": COUNCIL_SHAPE,
    },
    "snapshot": {
        "cars": [[_ID]],
        "ring": [_NUMBER],
        "events": _LIST_OF_MAPS,
        "you": ("map", str, object),
        "team": ("map", str, object),
    },
    "debrief": {
        "drivers": _LIST_OF_MAPS,
        "cards": _LIST_OF_MAPS,
        "roots": _LIST_OF_MAPS,
        "rounds": _LIST_OF_MAPS,
        "paths": _LIST_OF_MAPS,
        "series": dict,
        "road": dict,
        "diagram": dict,
        "team": dict,
        "metrics": dict,
        "rulebook": ("map", str, str),
        "error": str,
        "not_saved": str,
        "title": str,
        "duration_s": _NUMBER,
    },
    "replay": {
        "log": [list],
        "names": ("map", str, str),
        "rulebook": ("map", str, str),
        "mix": ("map", str, _NUMBER),
    },
}


def _check_shape(value: Any, shape: Any, where: str) -> None:
    if shape is object:
        return
    if isinstance(shape, type):
        if shape is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif shape is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, shape)
        if not ok:
            raise ProtocolError("bad_field", f"{where} must be {shape.__name__}")
        return
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise ProtocolError("bad_field", f"{where} must be a list")
        for item in value:
            _check_shape(item, shape[0], f"{where}[]")
        return
    if isinstance(shape, tuple):  # ("map", key shape, value shape)
        if not isinstance(value, dict):
            raise ProtocolError("bad_field", f"{where} must be a map")
        for key, item in value.items():
            _check_shape(key, shape[1], f"{where} key")
            _check_shape(item, shape[2], f"{where}.{key}")
        return
    if not isinstance(value, dict):
        raise ProtocolError("bad_field", f"{where} must be a map")
    for name, inner in shape.items():
        if value.get(name) is not None:
            _check_shape(value[name], inner, f"{where}.{name}")
