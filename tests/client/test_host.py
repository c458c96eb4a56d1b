"""The host dashboard: each control sends the right `host` message; non-hosts get none."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Button, DataTable, Input

from client.plan import Plan
from client.screens.confirm import Choice
from client.screens.host import CONTROLS, ConfirmKick, HostScreen
from client.widgets.bigcode import render_rows
from tests.support.harness import (
    ESC_SHOWN,
    EVIL_NAME,
    URL,
    Harness,
    room_msg,
    screen_text,
    snapshot_msg,
)
from tests.support.waiting import wait_for

EXPECTED = {
    "btn-start": {"type": "host", "command": "start"},
    "btn-pause": {"type": "host", "command": "pause"},
    "btn-resume": {"type": "host", "command": "resume"},
    "btn-end": {"type": "host", "command": "end"},
    "btn-next": {"type": "host", "command": "next"},
    "btn-extend": {"type": "host", "command": "extend", "seconds": 60},
    "btn-bots-more": {"type": "host", "command": "bots", "value": 5},
    "btn-bots-less": {"type": "host", "command": "bots", "value": -5},
    "btn-incident": {"type": "host", "command": "incident"},
    "btn-lock": {"type": "host", "command": "lock", "value": True},
}


# the phase in which the server takes each command (server/room/commands.py); the controls
# follow it (at the debrief the host sees the debrief screen, whose own `n` is tested in
# test_debrief.py)
PHASE = {"btn-start": "lobby", "btn-resume": "paused", "btn-next": "lobby"}


def host_app(role: str = "host", phase: str = "driving") -> Harness:
    return Harness(role=role, messages=(room_msg(phase=phase), snapshot_msg()))


def dashboard_at(app: Harness, phase: str) -> Callable[[], bool]:
    """Whether the dashboard is on screen and has taken in a room in `phase`."""

    def check() -> bool:
        screen = app.screen
        return isinstance(screen, HostScreen) and (screen.room or {}).get("phase") == phase

    return check


@pytest.mark.parametrize("button_id", sorted(EXPECTED))
async def test_each_button_sends_its_host_message(button_id: str) -> None:
    app = host_app(phase=PHASE.get(button_id, "driving"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        app.screen.query_one(f"#{button_id}", Button).press()
        if button_id == "btn-end":  # ending a round asks first
            await wait_for(pilot, lambda: isinstance(app.screen, Choice))
            await pilot.press("y")
        await wait_for(pilot, lambda: len(app.sent) == 1)
        assert app.sent == [EXPECTED[button_id]]


async def test_keys_send_the_same_messages() -> None:
    app = host_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        for phase, keys in (
            ("lobby", ("s", "n")),
            ("driving", ("p",)),
            ("paused", ("r", "e")),
            ("driving", ("plus", "b", "B", "i", "l")),
        ):
            app.feed(room_msg(phase=phase))
            await wait_for(pilot, dashboard_at(app, phase))
            await pilot.press(*keys)
            if "e" in keys:  # ending a round asks first
                await wait_for(pilot, lambda: isinstance(app.screen, Choice))
                await pilot.press("y")
                await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        await wait_for(pilot, lambda: len(app.sent) == 10)
        commands = [(m["command"], m.get("value")) for m in app.sent]
        assert commands == [
            ("start", None),
            ("next", None),
            ("pause", None),
            ("resume", None),
            ("end", None),
            ("extend", None),
            ("bots", 5),
            ("bots", -5),
            ("incident", None),
            ("lock", True),
        ]


async def test_kick_sends_the_selected_player_and_never_the_host() -> None:
    app = host_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        table = app.screen.query_one("#host-players", DataTable)
        await wait_for(pilot, lambda: table.row_count == 4)
        await pilot.press("k")  # cursor on the host's own row: refused, nothing sent
        await pilot.pause()
        assert app.sent == []
        table.move_cursor(row=1)
        await pilot.press("k")  # asks first; n keeps the player
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKick))
        assert EVIL_NAME in screen_text(app)
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        assert app.sent == []
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmKick))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.sent) == 1)
        assert app.sent == [{"type": "host", "command": "kick", "player": 2}]


async def test_lock_toggles_with_the_room_state() -> None:
    app = host_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        app.feed(room_msg(locked=True))
        button = app.screen.query_one("#btn-lock", Button)
        await wait_for(pilot, lambda: str(button.label) == "Unlock")
        button.press()
        await wait_for(pilot, lambda: len(app.sent) == 1)
        assert app.sent == [{"type": "host", "command": "lock", "value": False}]


async def test_broadcast_message_sends_text_literally() -> None:
    app = host_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        await pilot.press("m")
        box = app.screen.query_one("#host-broadcast", Input)
        await wait_for(pilot, lambda: box.has_focus)
        box.value = "Break in [b]5[/b] minutes"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.sent) == 1)
        assert app.sent == [
            {"type": "host", "command": "message", "text": "Break in [b]5[/b] minutes"}
        ]
        assert box.value == ""


async def test_non_host_sees_no_controls_and_keys_do_nothing() -> None:
    """A member who is not the host is never shown the dashboard (client.routing.screen_key):
    a spectator in the same room gets the projector view, with none of the controls."""
    from client.screens.spectator import SpectatorScreen

    app = host_app(role="spectator")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
        await pilot.press("s", "e", "b", "i", "k", "l", "m")
        await pilot.pause()
        assert app.sent == []
        text = screen_text(app)
        for _, label, _ in CONTROLS:
            assert f" {label} " not in text


async def test_names_and_events_show_literally() -> None:
    app = host_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        app.feed({"type": "chat", "player": 2, "name": EVIL_NAME, "text": "[i]hi[/i]"})
        app.feed(snapshot_msg())
        await wait_for(pilot, lambda: "[i]hi[/i]" in screen_text(app))
        text = screen_text(app)
        assert EVIL_NAME in text
        assert ESC_SHOWN in text
        assert f"{EVIL_NAME} braked hard" in text
        for row in render_rows("HXK7P"):
            assert row in text


async def test_team_figures_follow_snapshots() -> None:
    app = host_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        await wait_for(pilot, lambda: "Flow 1712 veh/h" in screen_text(app))
        app.feed(snapshot_msg(team={"flow_vph": 1999, "mean_kmh": 88, "crashes": 0}))
        await wait_for(pilot, lambda: "Flow 1999 veh/h" in screen_text(app))
        assert "Mean speed 88 km/h" in screen_text(app)


async def test_controls_appear_once_the_server_says_we_are_host() -> None:
    """The real app opens the dashboard before `joined` arrives: the role comes later."""
    app = Harness(role="", plan=Plan(kind="host", url=URL, name="Ana"))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        controls = app.screen.query_one("#host-controls")
        assert not controls.display
        await pilot.press("s")
        assert app.sent == []
        app.feed({"type": "joined", "code": "HXK7P", "role": "host", "token": "t", "player": 1})
        app.feed(room_msg(phase="lobby"))
        await wait_for(pilot, lambda: controls.display)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.sent == [{"type": "host", "command": "start"}])


async def test_controls_follow_the_phase() -> None:
    """Only the commands the server takes now are offered: a greyed button, no footer key."""
    app = host_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        assert app.screen.query_one("#btn-start", Button).disabled
        assert not app.screen.query_one("#btn-pause", Button).disabled
        await pilot.press("s", "n", "r")
        await pilot.pause()
        assert app.sent == []
        app.feed(room_msg(phase="lobby"))
        await wait_for(pilot, lambda: not app.screen.query_one("#btn-start", Button).disabled)
        assert app.screen.query_one("#btn-pause", Button).disabled


async def test_end_asks_first_and_no_keeps_the_round() -> None:
    app = host_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        text = screen_text(app)
        assert "End round" in text and "Everyone goes to the debrief" in text
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("escape")  # escape is the safe answer too
        await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
        assert app.sent == []
