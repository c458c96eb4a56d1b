"""The council screen: catalogue with explanations, tallies, propose/vote, chat, host tools."""

from __future__ import annotations

from typing import Any

from textual.widgets import Input, OptionList

from client.screens.confirm import Choice
from client.screens.council import CouncilScreen, option_id
from client.screens.roomview import fmt_clock
from server.council import Council
from shared.conventions import CATALOGUE
from tests.support.harness import (
    ESC_NAME,
    ESC_SHOWN,
    EVIL_NAME,
    Harness,
    room_msg,
    screen_text,
)
from tests.support.screens import council_room
from tests.support.waiting import wait_for


def council_app(role: str = "player", player: int = 2) -> Harness:
    return Harness(role=role, player=player, messages=(council_room(),))


async def highlight(pilot: Any, app: Harness, convention: str, option: str) -> None:
    options = app.screen.query_one("#council-options", OptionList)
    options.highlighted = options.get_option_index(option_id(convention, option))
    await pilot.pause()


async def test_catalogue_and_explanations_are_listed() -> None:
    app = council_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
        options = app.screen.query_one("#council-options", OptionList)
        total = sum(1 + len(c.options) for c in CATALOGUE)
        assert options.option_count == total
        for convention in CATALOGUE:
            prompt = str(options.get_option(f"h:{convention.key}").prompt)
            assert convention.title in prompt and convention.explanation in prompt
            for opt in convention.options:
                prompt = str(options.get_option(option_id(convention.key, opt.key)).prompt)
                assert opt.label in prompt and opt.explanation in prompt


async def test_tallies_ties_and_voters_are_shown() -> None:
    app = council_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
        options = app.screen.query_one("#council-options", OptionList)

        def prompt(conv: str, opt: str) -> str:
            return str(options.get_option(option_id(conv, opt)).prompt)

        assert "2 votes" in prompt("merge", "zipper") and "leading" in prompt("merge", "zipper")
        assert "1 vote " in prompt("passing", "right") and "tied" in prompt("passing", "right")
        assert "tied" in prompt("passing", "left")
        assert EVIL_NAME in prompt("passing", "right")  # player 2's name, literally
        assert prompt("passing", "right").startswith(" ✓ ")  # my (player 2's) vote
        assert not prompt("passing", "left").startswith(" ✓ ")
        screen = app.screen
        assert isinstance(screen, CouncilScreen) and screen.remaining is not None
        assert 0 < screen.remaining <= 125  # the server's 2:05, counting down locally since
        assert f"{fmt_clock(screen.remaining)} left" in screen_text(app)
        assert "Zipper" in str(app.screen.query_one("#council-result").render())


async def test_enter_proposes_a_new_option_and_votes_for_a_tabled_one() -> None:
    app = council_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
        await highlight(pilot, app, "speed_limit", "100")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.sent) == 1)
        await highlight(pilot, app, "passing", "left")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.sent) == 2)
        assert app.sent == [
            {"type": "propose", "convention": "speed_limit", "option": "100"},
            {"type": "vote", "convention": "passing", "option": "left"},
        ]


async def test_tallies_update_when_the_room_changes() -> None:
    app = council_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
        await highlight(pilot, app, "hazards", "yes")
        council = Council(members=[1, 2, 3], host=1, seconds=60)
        for player in (1, 2, 3):
            council.vote(player, "signal", "required")
        app.feed(room_msg(phase="council", council=council.state()))
        options = app.screen.query_one("#council-options", OptionList)
        await wait_for(
            pilot,
            lambda: "3 votes" in str(options.get_option(option_id("signal", "required")).prompt),
        )
        assert "tied" not in str(options.get_option(option_id("passing", "right")).prompt)
        assert options.highlighted_option is not None  # the cursor stays where it was
        assert options.highlighted_option.id == option_id("hazards", "yes")


async def test_chat_is_sent_and_shown_as_plain_text() -> None:
    app = council_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
        await pilot.press("c")
        box = app.screen.query_one("#council-say", Input)
        await wait_for(pilot, lambda: box.has_focus)
        box.value = "zipper [b]please[/b]"
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.sent) == 1)
        assert app.sent == [{"type": "chat", "text": "zipper [b]please[/b]"}]
        app.feed({"type": "chat", "player": 2, "name": EVIL_NAME, "text": "[red]go[/red]"})
        app.feed({"type": "chat", "player": 3, "name": ESC_NAME, "text": "ok\x07"})
        await wait_for(pilot, lambda: f"{ESC_SHOWN}: ok\\x07" in screen_text(app))
        assert f"{EVIL_NAME}: [red]go[/red]" in screen_text(app)


async def test_host_decides_extends_and_ends() -> None:
    app = council_app(role="host", player=1)
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
        await highlight(pilot, app, "passing", "left")
        await pilot.press("d", "plus")
        await wait_for(pilot, lambda: len(app.sent) == 2)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("y")
        await wait_for(pilot, lambda: len(app.sent) == 3)
        assert app.sent == [
            {"type": "host", "command": "decide", "convention": "passing", "option": "left"},
            {"type": "host", "command": "extend", "seconds": 60},
            {"type": "host", "command": "end"},
        ]


async def test_host_end_asks_first_and_no_or_escape_keeps_the_council() -> None:
    app = council_app(role="host", player=1)
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
        for keep in ("n", "escape"):
            await pilot.press("e")
            await wait_for(pilot, lambda: isinstance(app.screen, Choice))
            text = screen_text(app)
            assert "End the council now?" in text and "rulebook is settled" in text
            await pilot.press(keep)
            await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
            assert app.sent == []
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, Choice))
        await pilot.press("y")
        await wait_for(pilot, lambda: app.sent == [{"type": "host", "command": "end"}])
        assert isinstance(app.screen, CouncilScreen)


async def test_player_has_no_host_tools() -> None:
    app = council_app()
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, CouncilScreen))
        await highlight(pilot, app, "passing", "left")
        await pilot.press("d", "plus", "e")
        await pilot.pause()
        assert app.sent == []
        assert "decide" not in screen_text(app).lower()


async def test_spectator_cannot_vote_in_the_council() -> None:
    """Spectators wait out the council in the lobby (client.routing.screen_key): nothing to vote."""
    from client.screens.lobby import LobbyScreen

    app = Harness(role="spectator", player=4, messages=(council_room(),))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state.phase == "council")
        await wait_for(pilot, lambda: isinstance(app.screen, LobbyScreen))
        await pilot.press("enter")
        await pilot.pause()
        assert app.sent == []
