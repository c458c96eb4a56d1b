"""Typed messages: every message of the schemas parses to its type and encodes back to the
same bytes, from a frame or built in code (shared/messages/)."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import protocol as p
from shared.messages import (
    CLIENT_TYPES,
    SERVER_TYPES,
    Bye,
    Control,
    Create,
    HostCommand,
    Message,
    ReplayData,
    RoomState,
    decode_client_frame,
    decode_server_frame,
    parse_client_message,
)
from tests.protocol.test_roundtrip import _ANY_INT, CLIENT, SERVER


def rebuilt(message: Message) -> Message:
    """The same value built in code: its fields by name, no memory of a frame's key order."""
    fields = {name: getattr(message, name) for name in message.wire_fields()}
    extra: dict[str, Any] = {"extra": dict(message.extras())} if message.extras() else {}
    return type(message)(**fields, **extra)


def test_every_schema_has_its_type_with_the_same_fields() -> None:
    for schemas, types in ((p.CLIENT_MESSAGES, CLIENT_TYPES), (p.SERVER_MESSAGES, SERVER_TYPES)):
        assert set(types) == set(schemas)
        for kind, cls in types.items():
            assert kind == cls.TYPE
            assert set(cls.wire_fields()) == set(schemas[kind]), kind


@given(CLIENT)
def test_every_client_message_is_a_typed_value_with_the_same_bytes(msg: dict[str, Any]) -> None:
    frame = p.encode(msg)
    typed = decode_client_frame(frame)
    assert type(typed) is CLIENT_TYPES[msg["type"]]
    assert typed.encode() == frame
    assert typed.as_map() == p.parse_client_frame(frame)
    assert rebuilt(typed) == typed
    assert decode_client_frame(rebuilt(typed).encode()) == typed


@given(SERVER, st.dictionaries(st.text(min_size=1, max_size=8), _ANY_INT, max_size=3))
def test_every_server_message_is_a_typed_value_with_the_same_bytes(
    msg: dict[str, Any], extra: dict[str, int]
) -> None:
    frame = p.encode({**extra, **msg})
    typed = decode_server_frame(frame)
    assert type(typed) is SERVER_TYPES[msg["type"]]
    assert typed.encode() == frame  # unknown fields kept, in their place
    assert typed.as_map() == p.parse_server_frame(frame)
    assert rebuilt(typed) == typed
    assert decode_server_frame(rebuilt(typed).encode()) == typed


@given(CLIENT, st.dictionaries(st.text(min_size=1, max_size=8), _ANY_INT, max_size=3))
def test_unknown_client_fields_are_dropped_at_the_gate(
    msg: dict[str, Any], extra: dict[str, int]
) -> None:
    typed = decode_client_frame(p.encode({**extra, **msg}))
    assert typed.as_map() == msg


def test_a_message_built_in_code_sends_its_fields_in_the_servers_order() -> None:
    room = RoomState(
        code="KX7PQ",
        phase="lobby",
        players=[],
        scenario="ring",
        rulebook={},
        round=0,
        rounds=1,
        locked=False,
        clock=0.0,
        intro="",
    )
    # a room without a host says so with nil; other unset optional fields are left out
    assert list(room.as_map()) == [
        "type",
        *("code", "phase", "players", "scenario", "rulebook", "round", "rounds", "locked"),
        *("clock", "host", "intro"),
    ]
    assert room.as_map()["host"] is None
    replay = ReplayData(round=1, scenario="ring", seed=3, rulebook={}, ticks=0, log=[], names={})
    assert replay.as_map()["bots"] is None and replay.as_map()["mix"] is None
    assert "scenario_doc" not in replay.as_map()
    assert Bye(reason="x").encode() == p.encode({"type": "bye", "reason": "x"})


def test_a_decoded_message_keeps_its_key_order_and_its_nils() -> None:
    frame = p.encode({"type": "create", "name": "Ana", "protocol": 1, "bots": 3, "scenario": "x"})
    create = decode_client_frame(frame)
    assert create == Create(protocol=1, name="Ana", scenario="x", bots=3)
    assert create.encode() == frame
    joined = {"type": "joined", "code": "K", "role": "player", "token": "t", "player": 2}
    frame = p.encode({**joined, "car": None})
    assert decode_server_frame(frame).encode() == frame
    assert msgpack.unpackb(decode_server_frame(p.encode(joined)).encode()) == joined


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"type": "control", "action": "gap", "value": 7}, "bad_value"),
        ({"type": "host", "command": "kick"}, "missing_field"),
        ({"type": "host", "command": "bots", "value": True, "lane": 9}, "bad_value"),
        ({"type": "teleport"}, "unknown_type"),
    ],
)
def test_the_gate_refuses_what_the_schemas_refuse(fields: dict[str, Any], code: str) -> None:
    with pytest.raises(p.ProtocolError) as caught:
        parse_client_message(fields)
    assert caught.value.code == code
    with pytest.raises(p.ProtocolError) as again:
        p.validate(fields, p.CLIENT_MESSAGES)
    assert again.value.message == caught.value.message


def test_typed_values_carry_typed_fields() -> None:
    control = parse_client_message({"type": "control", "action": "gap", "value": 2, "x": 1})
    assert control == Control(action="gap", value=2)
    host = parse_client_message({"type": "host", "command": "incident", "lane": 1})
    assert isinstance(host, HostCommand) and host.lane == 1 and host.x is None
