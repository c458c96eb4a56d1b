"""The harness's fixed messages are messages the protocol accepts (tests/support/harness.py)."""

from __future__ import annotations

from shared.protocol import SERVER_MESSAGES, validate
from tests.support.harness import room_msg, snapshot_msg


def test_harness_validates_fixtures() -> None:
    """The fixtures are messages the protocol accepts (so the screens see realistic input)."""
    validate(room_msg(), SERVER_MESSAGES)
    validate(snapshot_msg(), SERVER_MESSAGES)
