"""Every screen at 80×24 and 120×40, read as a person sees it: the footer keeps the keys that
matter, `?` lists the rest, chat and feed lines wrap instead of being cut, and at 40 rows
the drive screen spends its height on the road and the minimap.

The assertions read the rendered screen text (tests/support/harness.py, screen_text), so a
key pushed off the right edge or a cut line fails here, not only in a snapshot picture.
"""

from __future__ import annotations

from typing import Any

from client.plan import Plan
from client.screens.help import HelpScreen
from client.widgets.feed import EventFeed
from client.widgets.hud import Hud
from client.widgets.minimap import Minimap
from client.widgets.road import RoadView
from tests.support.frozen_app import drive_ready, frozen_app, lobby_ready
from tests.support.harness import Harness, room_msg, screen_text, snapshot_msg
from tests.support.screens import LONG_CHAT, council_room
from tests.support.waiting import wait_for

SMALL = (80, 24)


def footer(app: Any) -> str:
    """The bottom row of the screen: the footer."""
    return screen_text(app).splitlines()[-1]


async def test_host_footer_keeps_its_keys_at_80x24() -> None:
    app = Harness(role="host", messages=(room_msg(), snapshot_msg()))
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: "m Message" in footer(app))
        line = footer(app)
        for key in ("p Pause", "e End", "+1 min", "±5 bots", "i Incident", "k Kick", "l Lock"):
            assert key in line, (key, line)
        assert "? Keys" in line
        app.feed(room_msg(phase="lobby"))  # between steps: start this one or go to the next
        await wait_for(pilot, lambda: "s Start" in footer(app) and "n Next" in footer(app))
        assert "m Message" in footer(app) and "k Kick" in footer(app)


async def test_question_mark_lists_every_host_key() -> None:
    from client.screens.host import HostScreen as Screen

    app = Harness(role="host", messages=(room_msg(), snapshot_msg()))
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, Screen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        text = screen_text(app)
        for binding in Screen.BINDINGS:
            if binding.key != "question_mark":  # type: ignore[union-attr]
                assert binding.description in text, binding  # type: ignore[union-attr]
        assert "Start  (not now)" in text  # a lobby command, shown but marked, mid-round
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, Screen))


async def test_debrief_footer_keeps_next_round_and_card_at_80x24() -> None:
    from tests.support.screens import debrief_app as _debrief_app

    app = _debrief_app("host", 11)  # a host who drives: the player layout, plus `n`
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: "n Next round" in footer(app))
        await pilot.press("up", "up", "enter")  # the guess, which reveals the diagram
        await wait_for(pilot, lambda: "v Card on diagram" in footer(app))
        line = footer(app)
        assert "n Next round" in line and "? Keys" in line and "tabs" in line


async def test_council_footer_and_chat_wrap_at_80x24() -> None:
    app = Harness(role="host", player=1, messages=(council_room(),))
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: "d Decide" in footer(app))
        line = footer(app)
        for key in ("c Chat", "d Decide", "+1 min", "e End council", "? Keys"):
            assert key in line, (key, line)
        app.feed({"type": "chat", "player": 2, "name": "Ana 2", "text": LONG_CHAT})
        chat = app.screen.query_one("#council-chat", EventFeed)
        await wait_for(pilot, lambda: len(chat.lines) >= 3)
        rows = [strip.text.rstrip() for strip in chat.lines]
        assert all(len(row) <= chat.size.width for row in rows)
        # every word is on screen, in order: wrapped, not cut
        assert " ".join(row.strip() for row in rows).endswith(f"Ana 2: {LONG_CHAT}")
        shown = screen_text(app)
        assert all(row.strip() in shown for row in rows[-3:])  # the wrapped rows are on screen


async def test_lobby_shows_whole_statuses_and_its_keys_at_80x24() -> None:
    app = frozen_app()
    async with app.run_test(size=SMALL) as pilot:
        await lobby_ready(pilot)
        text = screen_text(app)
        assert "● online" in text and "○ away: bot drives" in text
        assert "Rules of the road" in text
        assert "s Start round" in footer(app) and "? Help" in footer(app)
        await pilot.press("question_mark")  # the app's help lists the lobby's own keys
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        assert "Keys on this screen" in screen_text(app) and "Start round" in screen_text(app)


async def test_drive_footer_at_80x24_and_room_used_at_120x40() -> None:
    app = frozen_app()
    async with app.run_test(size=SMALL) as pilot:
        await drive_ready(pilot)
        line = footer(app)
        for key in ("↑ Faster", "↓ Slower", "← Lane left", "→ Lane right", "space Brake", "? Help"):
            assert key in line, (key, line)
        rows = str(app.screen.query_one(Hud).render()).split("\n")
        for phrase in ("avg 87 km/h", "delay 120 veh·s", "2 near misses", "no tail hazards"):
            assert any(phrase in row for row in rows), (phrase, rows)  # wrapped between phrases
    app = frozen_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await drive_ready(pilot)
        screen = app.screen
        road = screen.query_one(RoadView)
        assert road.size.height >= 4 * 3 + 3  # three lanes at the roomy 4-row pitch
        assert screen.query_one(Minimap).size.height >= 4  # the ring's speeds as a tall chart
        hud = str(screen.query_one(Hud).render())
        for phrase in ("avg 87 km/h", "delay 120 veh·s", "2 near misses", "rules kept 93%"):
            assert phrase in hud.replace("\n", "|"), phrase  # never split over two lines
        assert all(len(row) <= screen.query_one(Hud).content_size.width for row in hud.split("\n"))


async def test_replay_footer_keeps_its_keys_at_80x24(stored_round: Any) -> None:  # noqa: F811
    from client.screens.replay import ReplayScreen
    from server.replays import load_stored

    db, game, _world = stored_round
    app = Harness(role="", plan=Plan(kind="replay", game=str(game), db=db), rounds=load_stored)
    async with app.run_test(size=SMALL) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        await wait_for(pilot, lambda: app.screen.loaded)  # type: ignore[attr-defined]
        await wait_for(pilot, lambda: "? Keys" in footer(app))
        line = footer(app)
        for key in ("space Play/pause", "±10 s", "[ ] car", "w Wave root", "f Speed", "esc Back"):
            assert key in line, (key, line)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        assert "Prev car" in screen_text(app) and "−0.5 s" in screen_text(app)
