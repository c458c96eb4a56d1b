"""Frames recorded from real sessions (tests/data/frames.msgpack) decode and encode to the same bytes.

The corpus was recorded before the protocol's messages became typed values: every client and
server frame the end-to-end tests produced, plus the control actions and host commands those
tests never sent. Whatever shape the messages take in code, what goes on the wire must not move.
"""

from __future__ import annotations

from pathlib import Path

import msgpack

from shared.messages import CLIENT_TYPES, SERVER_TYPES, decode_client_frame, decode_server_frame
from shared.protocol import decode, encode, parse_client_frame, parse_server_frame

CORPUS = Path(__file__).parent.parent / "data" / "frames.msgpack"


def corpus() -> list[tuple[str, bytes]]:
    return [(side, frame) for side, frame in msgpack.unpackb(CORPUS.read_bytes())]


def test_corpus_covers_every_message_kind() -> None:
    kinds = {(side, msgpack.unpackb(frame)["type"]) for side, frame in corpus()}
    assert len(kinds) == 22  # eleven each way


def test_every_recorded_frame_encodes_to_the_same_bytes() -> None:
    for side, frame in corpus():
        parse = parse_client_frame if side == "client" else parse_server_frame
        parse(frame)  # a valid message of its side
        assert encode(decode(frame)) == frame


def test_every_recorded_frame_is_a_typed_message_that_encodes_to_the_same_bytes() -> None:
    for side, frame in corpus():
        message = decode_client_frame(frame) if side == "client" else decode_server_frame(frame)
        types = CLIENT_TYPES if side == "client" else SERVER_TYPES
        assert type(message) is types[msgpack.unpackb(frame)["type"]]
        assert message.encode() == frame
