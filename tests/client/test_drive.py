"""Pilot tests of the drive, lobby, help and connect screens, fed fixed server messages.

No server here: the real app runs with the harness's fake connection
(tests/client/test_harness.py), which delivers the messages as the connection would and
records what the player's keys send. The same screens against the real server are in
tests/client/test_e2e.py.
"""

from __future__ import annotations

from textual.command import CommandList
from textual.widgets import DataTable

from client.plan import Plan
from client.screens.confirm import RoomEnded
from client.screens.drive import DriveScreen
from client.screens.help import HelpScreen
from client.screens.lobby import LobbyScreen
from client.widgets.feed import EventFeed
from client.widgets.hud import Hud
from client.widgets.road import RoadView
from shared.messages import Control
from tests.support.fakes import TRICKY_NAME, joined, room, snapshot
from tests.support.harness import URL, Harness
from tests.support.waiting import wait_for


def make_app(kind: str = "solo") -> Harness:
    """The real app as the launcher builds it for `kind`, frozen in time, not yet joined."""
    return Harness(role="", plan=Plan(kind=kind, url=URL, name="Ana"), clock=lambda: 100.0)


def feed_drive(app: Harness, phase: str = "driving") -> None:
    app.feed(joined())
    app.feed(room(phase))
    for tick in (98, 99, 100):
        app.feed(snapshot(tick, events=None if tick == 100 else []))


def road_text(app: Harness) -> str:
    road = app.screen.query_one(RoadView)
    return "\n".join(road.render_line(y).text for y in range(road.size.height))


async def test_drive_screen_shows_the_players_car() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        feed_drive(app)
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        await wait_for(pilot, lambda: "◆" in road_text(app))
        text = road_text(app)
        assert "▶" in text  # your car's nose
        assert "▮" in text  # someone is braking
        hud = str(app.screen.query_one(Hud).render())
        assert "90 km/h" in hud and "target 100 km/h" in hud and "lane 2 of 3" in hud


async def test_keys_send_the_documented_controls() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        feed_drive(app)
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        await pilot.press("up", "down", "left", "right", "space", "comma", "e", "h", "y")
        await pilot.press("1", "3", "a")
        await wait_for(pilot, lambda: len(app.sent) >= 12)
    actions = [(m.get("action"), m.get("value")) for m in app.sent if m["type"] == "control"]
    assert actions == [
        ("faster", None),
        ("slower", None),
        ("left", None),
        ("right", None),
        ("brake", None),
        ("signal_left", None),
        ("signal_right", None),
        ("hazard", None),
        ("yield", None),
        ("gap", 1),
        ("gap", 3),
        ("assist", "off"),  # the car was assisted, so `a` asks for manual
    ]


async def test_question_mark_opens_help_and_escape_returns() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        feed_drive(app)
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))


async def test_tricky_names_show_literally_on_lobby_feed_and_road() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.feed(joined())
        app.feed(room("lobby"))
        await wait_for(pilot, lambda: isinstance(app.screen, LobbyScreen))
        table = app.screen.query_one(DataTable)
        await wait_for(pilot, lambda: table.row_count == 3)
        names = [table.get_row_at(i)[0].plain for i in range(3)]
        assert TRICKY_NAME in names
        assert "Bea\\x1b[31m" in names  # the escape is shown, not obeyed
        # now the round starts: the same name in the feed and as the car's initial
        app.feed(room("driving"))
        for tick in (98, 99, 100):
            app.feed(snapshot(tick, events=None if tick == 100 else []))
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        feed = app.screen.query_one(EventFeed)
        await wait_for(pilot, lambda: len(feed.lines) > 0)
        lines = "\n".join(strip.text for strip in feed.lines)
        assert f"{TRICKY_NAME} braked hard" in lines


async def test_lobby_start_button_sends_start_for_the_host() -> None:
    app = make_app(kind="host")
    async with app.run_test(size=(100, 30)) as pilot:
        app.feed(joined())
        app.feed(room("lobby"))
        await wait_for(pilot, lambda: isinstance(app.screen, LobbyScreen))
        await pilot.press("s")
        await wait_for(pilot, lambda: bool(app.sent))
    assert app.sent[-1] == {"type": "host", "command": "start"}


async def test_a_player_sees_no_start_key_and_sends_nothing_with_it() -> None:
    app = make_app(kind="join")
    async with app.run_test(size=(100, 30)) as pilot:
        app.feed({**joined(), "role": "player"})
        app.feed(room("lobby"))
        await wait_for(pilot, lambda: isinstance(app.screen, LobbyScreen))
        await wait_for(pilot, lambda: app.state.role == "player")
        await pilot.pause()
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show}
        assert "start" not in shown and "app.help" in shown
        await pilot.press("s")
        await pilot.pause()
    assert not [m for m in app.sent if m.get("type") == "host"]


async def test_the_program_steps_intro_is_the_first_thing_in_the_feed() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        intro = "Keep a wide, steady gap [b]and[/b] watch the waves fade."
        app.feed(joined())
        app.feed({**room("driving"), "title": "Wave damper", "intro": intro})
        for tick in (98, 99, 100):
            app.feed(snapshot(tick, events=None if tick == 100 else []))
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        feed = app.screen.query_one(EventFeed)
        await wait_for(pilot, lambda: len(feed.lines) >= 2)
        lines = [strip.text for strip in feed.lines]
        assert "Round 1: Wave damper." in lines[0] and intro in lines[1]  # literally, no markup


async def test_paused_round_says_so_in_the_hud() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        feed_drive(app, phase="paused")
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        hud = app.screen.query_one(Hud)
        await wait_for(pilot, lambda: "PAUSED" in str(hud.render()))


async def test_command_palette_opens_the_controls() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        feed_drive(app)
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
        await pilot.press(*"Controls")
        # the palette searches in a worker: wait for its hits, then take the first
        await wait_for(pilot, lambda: app.screen.query_one(CommandList).option_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))


async def test_a_phase_whose_screen_is_missing_says_so_instead_of_crashing() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        feed_drive(app)
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        app.feed(room("debrief"))
        await wait_for(pilot, lambda: not isinstance(app.screen, DriveScreen))
        if isinstance(app.screen, LobbyScreen):  # this build has no debrief screen yet
            note = app.screen.query_one("#lobby-note")
            await wait_for(pilot, lambda: "not in this build" in str(note.render()))
        else:
            assert type(app.screen).__name__ == "DebriefScreen"


async def test_lost_connection_is_said_on_the_drive_screen() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        feed_drive(app)
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))
        note = "Connection lost (the connection dropped); retrying in 0.5 s (attempt 2)"
        hud = app.screen.query_one(Hud)
        app.link.status("lost", note)
        await wait_for(pilot, lambda: note in str(hud.render()))
        await wait_for(pilot, lambda: isinstance(app.screen, RoomEnded))  # the notice over it
        app.link.status("connected", "Connected to ws://x")
        await wait_for(pilot, lambda: note not in str(hud.render()))
        app.feed(joined())  # the seat is back: the notice goes
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen))


async def test_a_bad_outgoing_message_is_refused_without_crashing() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.state.connection == "connected")
        assert app.send(Control(action="warp")) is False
        await wait_for(pilot, lambda: bool(app._notifications))


async def test_repeated_server_errors_toast_once() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        error = {"type": "error", "code": "bad_state", "message": "nothing to drive while paused"}
        for _ in range(5):
            app.feed(dict(error))
        await wait_for(pilot, lambda: bool(app._notifications))
        await pilot.pause()
        assert len(app._notifications) == 1
