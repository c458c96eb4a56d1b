"""Snapshot tests of the facilitator, projector, council and debrief screens from fixed messages.

The screens are fed fixed message dicts through the test harness (no clock, no network, no
focused input with a blinking cursor), so the pictures only change when the screens do.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from client.screens.confirm import RoomEnded
from client.screens.council import CouncilScreen
from client.screens.debrief import DebriefScreen
from client.screens.host import HostScreen
from client.screens.spectator import SpectatorScreen
from tests.support.harness import Harness, room_msg, shown, snapshot_msg
from tests.support.screens import debrief_ready
from tests.support.waiting import wait_for

SIZES = [(80, 24), (120, 40)]


async def DEBRIEF(pilot: Pilot[Any]) -> None:  # noqa: N802  (a constant-like hook)
    """The debrief as read after the server has gone (its notice looked past with esc): no
    replay to fetch, so no `p` in the footer. While connected, or with the history file of
    a solo or host game, the footer offers `p Replay` too (DebriefScreen._can_fetch_replay)."""
    app = pilot.app
    assert isinstance(app, Harness)
    await wait_for(pilot, lambda: debrief_ready(app))
    app.link.close("the server stopped")
    await wait_for(pilot, lambda: isinstance(app.screen, RoomEnded))
    await pilot.press("escape")
    await shown(DebriefScreen)(pilot)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_host_dashboard(snap_compare, size: tuple[int, int]) -> None:
    app = Harness(role="host", messages=(room_msg(), snapshot_msg()))
    assert snap_compare(app, terminal_size=size, run_before=shown(HostScreen))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_spectator_view(snap_compare, size: tuple[int, int]) -> None:
    app = Harness(role="spectator", messages=(room_msg(), snapshot_msg()))
    assert snap_compare(app, terminal_size=size, run_before=shown(SpectatorScreen))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_host_dashboard_in_the_lobby(snap_compare, size: tuple[int, int]) -> None:
    """Between rounds the footer offers start and next instead of pause and incident."""
    app = Harness(role="host", messages=(room_msg(phase="lobby"),))
    assert snap_compare(app, terminal_size=size, run_before=shown(HostScreen))


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_council_with_wrapped_chat(snap_compare, size: tuple[int, int], monkeypatch) -> None:  # noqa: ANN001
    """The host's council: every key in the footer, a long chat line wrapped, not cut."""
    from client.widgets.feed import EventFeed
    from tests.support.screens import LONG_CHAT, council_room

    # the countdown ticks locally once a second: on a busy machine a tick could land before
    # the picture is taken, so the clock stands still here
    monkeypatch.setattr(CouncilScreen, "_count_down", lambda self: None)

    async def chat(pilot) -> None:  # noqa: ANN001
        await shown(CouncilScreen)(pilot)
        pilot.app.feed({"type": "chat", "player": 2, "name": "Ana 2", "text": LONG_CHAT})
        feed = pilot.app.screen.query_one("#council-chat", EventFeed)
        await wait_for(pilot, lambda: len(feed.lines) >= 2)
        await pilot.pause()

    app = Harness(role="host", player=1, messages=(council_room(),))
    assert snap_compare(app, terminal_size=size, run_before=chat)


def _debrief_app(role: str = "player", car: int | None = 11) -> Harness:
    from tests.support.screens import debrief_app

    return debrief_app(role, car)


def test_debrief_asks_before_it_reveals(snap_compare) -> None:
    assert snap_compare(_debrief_app(), terminal_size=(80, 24), run_before=DEBRIEF)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_debrief_revealed(snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(
        _debrief_app(), press=["up", "up", "enter"], terminal_size=size, run_before=DEBRIEF
    )


def test_debrief_projector_cards(snap_compare) -> None:
    assert snap_compare(
        _debrief_app("host", None), press=["r", "4"], terminal_size=(120, 40), run_before=DEBRIEF
    )


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "120x40"])
def test_debrief_of_a_driving_host(snap_compare, size: tuple[int, int]) -> None:
    """A host who drives: the player's debrief plus `n` for the next round, in the footer."""
    assert snap_compare(
        _debrief_app("host", 11),
        press=["up", "up", "enter"],
        terminal_size=size,
        run_before=DEBRIEF,
    )
