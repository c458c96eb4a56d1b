"""What every typed protocol message shares: its wire map, its bytes, its field order.

A message on the wire is one msgpack map with a string "type" (docs/protocol.md). A typed
message is a frozen dataclass whose fields are that map's keys; `as_map` gives the map back
and `encode` its bytes. Nothing about the bytes may move (tests/protocol/test_corpus.py), and
a msgpack map's bytes depend on the order of its keys, so:

- a message built in code lists its fields in the order the server always composed them
  (the dataclass's order), leaving out an optional field that is None — except the fields in
  `NIL`, which the wire has always carried as nil (a room without a host, say);
- a message decoded from a frame remembers the order its keys arrived in (`order`), so that
  passing it on (a relay, a recording) changes no byte.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

from shared.protocol import encode

# Fields of the base classes that are not keys of the wire map.
_NOT_WIRE = frozenset({"extra", "order"})


_WIRE_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _wire_fields(cls: type[Message]) -> tuple[str, ...]:
    """A message type's wire keys, worked out once per type (the gate asks for every frame)."""
    names = _WIRE_FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in dataclasses.fields(cls) if f.name not in _NOT_WIRE)
        _WIRE_FIELDS[cls] = names
    return names


@dataclass(frozen=True, kw_only=True)
class Message:
    """One protocol message as a typed value; subclasses add the fields of their `TYPE`."""

    TYPE: ClassVar[str]
    NIL: ClassVar[frozenset[str]] = frozenset()  # optional fields sent as nil when None

    # the keys of the frame this message was decoded from, in their order ("type" included);
    # empty for a message built in code. Not part of the value: equality ignores it.
    order: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @classmethod
    def wire_fields(cls) -> tuple[str, ...]:
        """The wire keys this type knows, in the order a message built in code sends them."""
        return _wire_fields(cls)

    @classmethod
    def from_map(cls, message: Mapping[str, Any]) -> Self:
        """The typed value of an already checked map (`validate`'s output, or a map the
        server composed); its key order is kept. Unknown keys are dropped here; an
        `OpenMessage` keeps them in `extra`."""
        values = {
            name: message[name] for name in _wire_fields(cls) if message.get(name) is not None
        }
        order = tuple(k for k in message if isinstance(k, str))
        return cls(**values, **cls._unknown(message), order=order)

    @classmethod
    def _unknown(cls, message: Mapping[str, Any]) -> dict[str, Any]:
        """The constructor's arguments for the keys the type does not know: none here."""
        return {}

    def extras(self) -> Mapping[str, Any]:
        """Fields the type does not know (only an `OpenMessage` has any)."""
        return {}

    def as_map(self) -> dict[str, Any]:
        """The wire map: exactly what `encode` packs."""
        values: dict[str, Any] = {"type": self.TYPE}
        for name in _wire_fields(type(self)):
            value = getattr(self, name)
            # a decoded message sends what it arrived with (a nil included); one built in
            # code sends what is set, and its NIL fields even when unset
            if value is not None or name in (self.order or self.NIL):
                values[name] = value
        for name, value in self.extras().items():
            values.setdefault(name, value)
        if not self.order:
            return values
        ordered = {name: values.pop(name) for name in self.order if name in values}
        ordered.update(values)  # fields set after decoding go last
        return ordered

    def encode(self) -> bytes:
        """The frame's bytes. Raises ProtocolError("too_big") past the frame limit."""
        return encode(self.as_map())


@dataclass(frozen=True, kw_only=True)
class OpenMessage(Message):
    """A server message: a newer server may add fields an older client does not know yet;
    they are kept (in their order) in `extra`, so nothing is lost when it is passed on."""

    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def _unknown(cls, message: Mapping[str, Any]) -> dict[str, Any]:
        known = _wire_fields(cls)
        extra = {
            name: value
            for name, value in message.items()
            if isinstance(name, str) and name != "type" and name not in known
        }
        return {"extra": extra}

    def extras(self) -> Mapping[str, Any]:
        return self.extra
