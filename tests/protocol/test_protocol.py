"""The protocol gate: every client frame is either a clean dict or a ProtocolError."""

import contextlib

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared import protocol as p


def frame(**fields: object) -> bytes:
    return msgpack.packb(fields, use_bin_type=True)


def test_valid_control_round_trips() -> None:
    msg = {"type": "control", "action": "gap", "value": 2}
    assert p.parse_client_frame(p.encode(msg)) == msg


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"type": "warp"}, "unknown_type"),
        ({"type": "control"}, "missing_field"),
        ({"type": "control", "action": "fly"}, "bad_value"),
        ({"type": "control", "action": "gap", "value": 7}, "bad_value"),
        ({"type": "ping", "t": "soon"}, "bad_field"),
        ({"type": "host", "command": "kick"}, "missing_field"),
        ({"type": "join", "protocol": 1, "code": "ABCDE", "name": "x", "role": "god"}, "bad_value"),
    ],
)
def test_bad_messages_get_a_code(fields: dict, code: str) -> None:
    with pytest.raises(p.ProtocolError) as err:
        p.parse_client_frame(frame(**fields))
    assert err.value.code == code
    assert err.value.message


def test_protocol_99_is_refused() -> None:
    with pytest.raises(p.ProtocolError) as err:
        p.check_protocol_version(99)
    assert err.value.code == "protocol"


@given(st.binary(max_size=512))
def test_random_bytes_never_escape_as_other_exceptions(data: bytes) -> None:
    with contextlib.suppress(p.ProtocolError):
        p.parse_client_frame(data)


def test_names_lose_control_characters_and_are_trimmed() -> None:
    assert p.clean_name("\x1b[31mEve\x07  the\tgreat driver of all") == "[31mEve the great dr"
    assert p.clean_name("[bold red]x[/]") == "[bold red]x[/]"


def test_car_packing_is_reversible_to_quantisation() -> None:
    row = p.pack_car(7, 1.5, 123.45, 30.017, p.FLAG_BRAKING)
    car_id, lane, x, v, flags = p.unpack_car(row)
    assert (car_id, lane, flags) == (7, 1.5, p.FLAG_BRAKING)
    assert abs(x - 123.45) <= 0.05 and abs(v - 30.017) <= 0.005
