"""Pilot tests of the solo screens, fed the frames a real solo room sent (server.room.Room,
stepped tick by tick in-process, so no timing luck): the damper's HUD line and coach, and a
debrief that speaks to one person."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from client.plan import Plan
from client.screens.drive import DriveScreen
from client.widgets.feed import EventFeed
from client.widgets.hud import Hud
from tests.support.harness import URL, Harness, screen_text
from tests.support.room import FakeConn
from tests.support.screens import debrief_ready
from tests.support.solo import GROUP_WORDS, damper_controls, follower_controls, solo_round
from tests.support.waiting import wait_for


@pytest.fixture(scope="module")
def damper_frames(tmp_path_factory: pytest.TempPathFactory) -> FakeConn:
    return solo_round(tmp_path_factory.mktemp("pd"), damper_controls)[1]


@pytest.fixture(scope="module")
def follower_frames(tmp_path_factory: pytest.TempPathFactory) -> FakeConn:
    return solo_round(tmp_path_factory.mktemp("pf"), follower_controls)[1]


def driving_frames(conn: FakeConn) -> list[dict[str, Any]]:
    """joined, the room as it drives, every snapshot with a coach line, the last snapshots."""
    rooms = [r for r in conn.of("room") if r["phase"] == "driving"]
    snaps = conn.of("snapshot")
    coached = [s for s in snaps if any(e.get("kind") == "coach" for e in s["events"])]
    tail = snaps[-12:]
    ordered = sorted({s["tick"]: s for s in [*coached, *tail]}.values(), key=lambda s: s["tick"])
    return [conn.last("joined"), rooms[-1], *ordered]


def make_app() -> Harness:
    """The real solo app, fed the server's own frames through the harness's connection."""
    return Harness(role="", plan=Plan(kind="solo", url=URL, name="Ana"), clock=lambda: 100.0)


async def drive_screen_text(pilot: Pilot, app: Harness, conn: FakeConn) -> tuple[str, str]:
    for msg in driving_frames(conn):
        app.feed(msg)
    await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen) and app.state.damper)
    await wait_for(pilot, lambda: "Damper:" in str(app.screen.query_one(Hud).render()))
    feed = app.screen.query_one(EventFeed)
    hud = str(app.screen.query_one(Hud).render())
    return " ".join(hud.split()), " ".join(" ".join(s.text for s in feed.lines).split())


async def test_the_follower_is_coached_on_the_hud_and_in_the_feed(
    follower_frames: FakeConn,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        hud, feed = await drive_screen_text(pilot, app, follower_frames)
    assert "Coach:" in hud and "without you" in hud
    assert "damping ✓" not in hud
    assert "Coach: You are braking as hard as the car ahead: leave more room and coast." in feed


async def test_the_damper_sees_its_figures_and_no_coach(damper_frames: FakeConn) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        hud, feed = await drive_screen_text(pilot, app, damper_frames)
    assert "damping ✓" in hud and "Coach:" not in hud
    assert "leave more room" not in feed and "You are damping the waves" in feed


async def test_the_solo_debrief_has_no_council_wording(damper_frames: FakeConn) -> None:
    app = make_app()
    async with app.run_test(size=(120, 50)) as pilot:
        for msg in driving_frames(damper_frames)[:2]:
            app.feed(msg)
        debrief_room = next(r for r in damper_frames.of("room") if r["phase"] == "debrief")
        app.feed(debrief_room)
        app.feed(damper_frames.last("debrief"))
        await wait_for(pilot, lambda: debrief_ready(app))
        await wait_for(pilot, lambda: "Next challenge" in screen_text(app))
        top = screen_text(app)
        assert "Wave damper: You damped the waves" in top
        assert "Next challenge: Zipper merge (interlane solo --scenario lane-closure)" in top
        texts = [top]
        for key in ("r", "4"):
            await pilot.press(key)
        await wait_for(pilot, lambda: "One smooth car calms" in screen_text(app))
        texts.append(screen_text(app))
        await pilot.press("2")
        await pilot.pause(0.1)
        texts.append(screen_text(app))
        table = app.screen.query_one("#rounds", DataTable)
        labels = [str(c.label) for c in table.columns.values()]
        cells = [str(v) for row in range(table.row_count) for v in table.get_row_at(row)]
    assert "Rules in force" in labels and "Agreed rules" not in labels
    text = "\n".join([*texts, *cells]).lower()
    assert not [w for w in GROUP_WORDS if w in text]
