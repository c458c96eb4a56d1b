"""The one way tests wait for a running Textual app: `wait_for(pilot, predicate)`.

It lets the app process its queued messages (`pilot.pause`) until the predicate holds. The
timeout is a safety net for a broken build, never what makes a test pass: a correct build meets
the predicate after some number of app ticks, however slow the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

SAFETY_NET = 60.0  # seconds; only a broken build ever reaches it


async def wait_for(
    pilot: Pilot[Any],
    predicate: Callable[[], object],
    *,
    timeout: float = SAFETY_NET,
    what: str = "condition",
) -> None:
    """Drive the app by pilot pauses until `predicate()` is true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in time")
        await pilot.pause(0.01)
