"""Snapshot tests of the drive and lobby screens at 80×24 and 120×40.

Deterministic by construction: the app never connects, it is fed the fixed messages of
tests/support/fakes.py, and its clock is frozen (so interpolation, blinking and the round clock
are the same on every run).
"""

from __future__ import annotations

import pytest

from tests.support.frozen_app import drive_ready, frozen_app, lobby_ready


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_drive_screen_snapshot(snap_compare, size: tuple[int, int]) -> None:  # noqa: ANN001
    assert snap_compare(frozen_app(), terminal_size=size, run_before=drive_ready)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_lobby_screen_snapshot(snap_compare, size: tuple[int, int]) -> None:  # noqa: ANN001
    assert snap_compare(frozen_app(), terminal_size=size, run_before=lobby_ready)
