"""The projector view: code, phase, clock, ring, big figures and feed, all from messages."""

from __future__ import annotations

from textual.widgets import Digits

from client.screens.spectator import SpectatorScreen
from client.widgets.bigcode import render_rows
from client.widgets.ring_overview import RingOverview
from tests.support.harness import (
    ESC_NAME,
    ESC_SHOWN,
    EVIL_NAME,
    Harness,
    room_msg,
    screen_text,
    snapshot_msg,
)
from tests.support.waiting import wait_for


def spectator_app() -> Harness:
    return Harness(role="spectator", messages=(room_msg(), snapshot_msg()))


async def test_shows_code_phase_clock_and_figures() -> None:
    app = spectator_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
        text = screen_text(app)
        for row in render_rows("HXK7P"):
            assert row in text
        assert "DRIVING · ROUND 1/3" in text
        assert app.screen.query_one("#spec-clock", Digits).value == "2:31"
        assert app.screen.query_one("#fig-flow_vph", Digits).value == "1712"
        assert app.screen.query_one("#fig-crashes", Digits).value == "1"
        assert f"{EVIL_NAME} braked hard" in text


async def test_chat_and_notices_show_names_literally() -> None:
    app = spectator_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
        app.feed({"type": "chat", "player": 3, "name": ESC_NAME, "text": "[b]hi[/b]"})
        app.feed({"type": "notice", "text": f"{EVIL_NAME} left the room"})
        await wait_for(pilot, lambda: f"{ESC_SHOWN}: [b]hi[/b]" in screen_text(app))
        assert f"› {EVIL_NAME} left the room" in screen_text(app)


async def test_follows_new_messages_and_sends_nothing() -> None:
    app = spectator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
        app.feed(room_msg(phase="paused", clock=42, locked=True))
        app.feed(snapshot_msg(team={"flow_vph": 900, "mean_kmh": 31}, events=[]))
        clock = app.screen.query_one("#spec-clock", Digits)
        await wait_for(pilot, lambda: clock.value == "0:42")
        await wait_for(pilot, lambda: app.screen.query_one("#fig-flow_vph", Digits).value == "900")
        assert "PAUSED" in screen_text(app)
        assert "joining locked" in screen_text(app)
        await pilot.press("s", "e", "enter")
        assert app.sent == []


async def test_ring_overview_marks_the_jam_by_height_not_only_colour() -> None:
    app = spectator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
        ring = app.screen.query_one("#spec-ring", RingOverview)
        bars = "".join(seg.text for seg in ring.render_line(ring.lanes))
        assert "▁" in bars and "▇" in bars  # jammed segments are low, free ones tall
        assert bars.index("▁") > len(bars) // 3


async def test_bad_rows_in_a_snapshot_are_skipped() -> None:
    app = spectator_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
        ring = app.screen.query_one("#spec-ring", RingOverview)
        await wait_for(pilot, lambda: len(ring.cars) == 36)
        bad = snapshot_msg(cars=[[1, 2], "x", [1, 100, 50, 2000, 0], [2, "a", 1, 1, 1]])
        app.feed(bad)  # the connection refuses the frame (shared.protocol.SERVER_SHAPES)
        await pilot.pause()
        assert app.link.bad_frames == 1 and len(ring.cars) == 36
        ring.update_snapshot(bad)  # and the ring, behind it, skips rows it cannot draw
        assert len(ring.cars) == 1
