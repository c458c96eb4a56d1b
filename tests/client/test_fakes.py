"""The fabricated server messages of tests/support/fakes.py are valid protocol messages."""

from __future__ import annotations

from tests.support.fakes import room, snapshot


def test_fakes_are_valid_protocol_messages() -> None:
    """The fabricated messages pass the same validation a real server's would."""
    assert snapshot()["type"] == "snapshot"
    assert room()["ring"]["lanes"] == 3
    assert len(snapshot(extra=51)["cars"]) == 60
