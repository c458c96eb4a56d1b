"""The server writes snapshot frames itself; they must be the frames websockets would write."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from websockets.frames import Frame, Opcode

from server.net_conn import binary_frame_header


@given(st.sampled_from([0, 1, 125, 126, 127, 65535, 65536, 70000]) | st.integers(0, 70000))
def test_header_matches_websockets_own_framing(size: int) -> None:
    payload = bytes(size % 251 for _ in range(size))
    expected = Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])
    assert binary_frame_header(size) + payload == expected
