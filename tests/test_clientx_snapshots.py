"""Snapshot tests of the facilitator, projector and debrief screens from fixed messages.

The screens are fed fixed message dicts through the test harness (no clock, no network, no
focused input with a blinking cursor), so the pictures only change when the screens do.
"""

from __future__ import annotations

import pytest

from client.screens.host import HostScreen
from client.screens.spectator import SpectatorScreen
from tests.test_clientx_harness import Harness, room_msg, snapshot_msg

SIZES = [(80, 24), (120, 40)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_host_dashboard(snap_compare, size: tuple[int, int]) -> None:
    app = Harness(HostScreen, role="host", messages=(room_msg(), snapshot_msg()))
    assert snap_compare(app, terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_spectator_view(snap_compare, size: tuple[int, int]) -> None:
    app = Harness(SpectatorScreen, role="spectator", messages=(room_msg(), snapshot_msg()))
    assert snap_compare(app, terminal_size=size)


def _debrief_app(role: str = "player", car: int | None = 11) -> Harness:
    from client.screens.debrief import DebriefScreen
    from tests.test_clientx_debrief import debrief_msg

    return Harness(
        DebriefScreen, role=role, car=car, messages=(room_msg(phase="debrief"), debrief_msg())
    )


def test_debrief_asks_before_it_reveals(snap_compare) -> None:
    assert snap_compare(_debrief_app(), terminal_size=(80, 24))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_debrief_revealed(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(_debrief_app(), press=["up", "up", "enter"], terminal_size=size)


def test_debrief_projector_cards(snap_compare) -> None:
    assert snap_compare(_debrief_app("host", None), press=["r", "4"], terminal_size=(120, 40))
