"""Round trips for every message type, both directions, generated from the schemas."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared import protocol as p

_ANY_INT = st.integers(min_value=-(2**31), max_value=2**31 - 1)
_FLOAT = st.floats(allow_nan=False, allow_infinity=False, width=64)


def _bounded(spec: p.Field, base: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    lo, hi = spec.minimum, spec.maximum
    if lo is None and hi is None:
        return base
    return base.filter(lambda v: (lo is None or v >= lo) and (hi is None or v <= hi))


def value_for(spec: p.Field) -> st.SearchStrategy[Any]:
    """Any value the field accepts."""
    if spec.choices is not None:
        return st.sampled_from(spec.choices)
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    options: list[st.SearchStrategy[Any]] = []
    for kind in kinds:
        if kind is bool:
            options.append(st.booleans())
        elif kind is int:
            lo = int(spec.minimum) if spec.minimum is not None else -(2**31)
            hi = int(spec.maximum) if spec.maximum is not None else 2**31
            options.append(st.integers(lo, hi))
        elif kind is float:
            low = spec.minimum if spec.minimum is not None else -p.MAX_WIRE_NUMBER
            high = spec.maximum if spec.maximum is not None else p.MAX_WIRE_NUMBER
            options.append(st.floats(low, high, allow_nan=False, allow_infinity=False))
        elif kind is str:
            options.append(st.text(max_size=min(spec.max_len or 40, 40)))
        elif kind is list:
            options.append(st.lists(_ANY_INT, max_size=min(5, spec.max_len or 5)))
        elif kind is dict:
            options.append(
                st.dictionaries(st.text(max_size=8), _ANY_INT | st.text(max_size=8), max_size=4)
            )
    return _bounded(spec, st.one_of(options))


def value_of_shape(shape: Any) -> st.SearchStrategy[Any]:
    """Any value of a nested shape of `p.SERVER_SHAPES` (the client's checks accept it)."""
    if shape is object or shape is dict:
        return st.dictionaries(st.text(max_size=8), _ANY_INT | st.text(max_size=8), max_size=3)
    if shape is float:
        return st.floats(-1e6, 1e6, allow_nan=False) | _ANY_INT
    if shape is int:
        return _ANY_INT
    if shape is str:
        return st.text(max_size=8)
    if shape is bool:
        return st.booleans()
    if shape is list:
        return st.lists(_ANY_INT, max_size=3)
    if isinstance(shape, list):
        return st.lists(value_of_shape(shape[0]), max_size=3)
    if isinstance(shape, tuple):
        return st.dictionaries(value_of_shape(shape[1]), value_of_shape(shape[2]), max_size=3)
    return st.fixed_dictionaries({}, optional={k: value_of_shape(v) for k, v in shape.items()})


@st.composite
def message(draw: st.DrawFn, kind: str, schemas: dict[str, dict[str, p.Field]]) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": kind}
    shapes = p.SERVER_SHAPES.get(kind, {}) if schemas is p.SERVER_MESSAGES else {}
    for name, spec in schemas[kind].items():
        if spec.required or draw(st.booleans()):
            if name in shapes:
                msg[name] = draw(value_of_shape(shapes[name]))
            else:
                msg[name] = draw(value_for(spec))
    if kind == "control":
        if msg["action"] == "gap":
            msg["value"] = draw(st.sampled_from([1, 2, 3]))
        elif msg["action"] == "assist":
            msg["value"] = draw(st.sampled_from(["on", "off"]))
    if kind == "host":
        for name in p.HOST_COMMAND_FIELDS.get(msg["command"], ()):
            if name not in msg:
                msg[name] = draw(value_for(p.CLIENT_MESSAGES["host"][name]))
    return msg


CLIENT = st.sampled_from(sorted(p.CLIENT_MESSAGES)).flatmap(lambda k: message(k, p.CLIENT_MESSAGES))
SERVER = st.sampled_from(sorted(p.SERVER_MESSAGES)).flatmap(lambda k: message(k, p.SERVER_MESSAGES))


@given(CLIENT)
def test_every_client_message_round_trips(msg: dict[str, Any]) -> None:
    assert p.parse_client_frame(p.encode(msg)) == msg


@given(SERVER)
def test_every_server_message_round_trips(msg: dict[str, Any]) -> None:
    assert p.parse_server_frame(p.encode(msg)) == msg


@given(SERVER, st.dictionaries(st.text(min_size=1, max_size=8), _ANY_INT, max_size=3))
def test_server_messages_keep_fields_a_client_does_not_know(
    msg: dict[str, Any], extra: dict[str, int]
) -> None:
    extended = {**extra, **msg}
    assert p.parse_server_frame(p.encode(extended)) == extended


@given(CLIENT, st.dictionaries(st.text(min_size=1, max_size=8), _ANY_INT, max_size=3))
def test_client_messages_lose_unknown_fields(msg: dict[str, Any], extra: dict[str, int]) -> None:
    extended = {**extra, **msg}
    assert p.parse_client_frame(p.encode(extended)) == msg


@given(
    st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.floats(0, 3),
            st.floats(0, 99_999),
            st.floats(0, 70),
            st.integers(0, 255),
        ),
        max_size=40,
    )
)
def test_car_rows_survive_the_wire(cars: list[tuple[int, float, float, float, int]]) -> None:
    rows = [p.pack_car(*c) for c in cars]
    snap = {"type": "snapshot", "tick": 1, "t": 0.05, "cars": rows, "ring": [0] * 64, "events": []}
    back = p.parse_server_frame(p.encode(snap))
    for (car, lane, x, v, flags), row in zip(cars, back["cars"], strict=True):
        c2, lane2, x2, v2, f2 = p.unpack_car(row)
        assert (c2, f2) == (car, flags)
        eps = 1e-9  # half a quantum, plus float noise (0.15 m is 1.4999… dm)
        assert abs(lane2 - lane) <= 0.005 + eps and abs(x2 - x) <= 0.05 + eps
        assert abs(v2 - v) <= 0.005 + eps


def test_flags_compose() -> None:
    flags = p.car_flags(braking=True, signal=-1, player=True, truck=True)
    assert flags == p.FLAG_BRAKING | p.FLAG_SIGNAL_LEFT | p.FLAG_PLAYER | p.FLAG_TRUCK
    assert p.car_flags(signal=1) == p.FLAG_SIGNAL_RIGHT
    assert p.pack_ring([10.0, -1.0, 33.34]) == [36, 0, 120]
