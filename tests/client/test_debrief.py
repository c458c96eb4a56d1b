"""The debrief screen: ask first, reveal after; cards, roots, series and figures from a payload."""

from __future__ import annotations

from textual.widgets import DataTable, Sparkline, TabbedContent

from client.screens.debrief import DebriefScreen
from client.widgets.cards import InsightCard
from client.widgets.debrief_format import ring_distance
from client.widgets.spacetime import SpaceTime
from tests.support.harness import (
    ESC_SHOWN,
    EVIL_NAME,
    room_msg,
    screen_text,
)
from tests.support.screens import LENGTH, debrief_app, debrief_msg, debrief_ready
from tests.support.waiting import wait_for


async def test_diagram_is_hidden_until_the_reveal() -> None:
    app = debrief_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        diagram = app.screen.query_one("#diagram", SpaceTime)
        assert not diagram.revealed
        assert "where do you think the jam started?" in screen_text(app)
        assert "▀" not in screen_text(app)
        tabs = app.screen.query_one("#debrief-tabs", TabbedContent)
        assert tabs.get_tab("tab-cards").disabled and tabs.get_tab("tab-waves").disabled
        await pilot.press("4")  # the cards wait for the reveal
        assert tabs.active == "tab-diagram"
        await pilot.press("r")
        await wait_for(pilot, lambda: diagram.revealed)
        await wait_for(pilot, lambda: "▀" in screen_text(app))
        assert not tabs.get_tab("tab-cards").disabled
        assert "You did not mark a guess." in screen_text(app)


async def test_guess_is_compared_with_the_costliest_root() -> None:
    app = debrief_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        diagram = app.screen.query_one("#diagram", SpaceTime)
        await pilot.press("up", "up", "left", "enter")
        await wait_for(pilot, lambda: diagram.revealed)
        assert diagram.guess is not None
        t, x = diagram.guess
        verdict = str(app.screen.query_one("#guess-result").render())
        assert f"You guessed {int(t) // 60}:{int(t) % 60:02d}" in verdict
        assert f"The costliest wave began with {EVIL_NAME}'s brake at 1:22, 1.52 km" in verdict
        dx = abs(ring_distance(x, 1525.0, LENGTH))
        assert f"{dx:.0f} m" in verdict
        await pilot.press("left", "up")  # after the reveal the guess stays put
        assert diagram.guess == (t, x)


async def test_cards_show_pattern_idea_question_and_names_literally() -> None:
    app = debrief_app()
    async with app.run_test(size=(100, 50)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r", "4")
        tabs = app.screen.query_one("#debrief-tabs", TabbedContent)
        await wait_for(pilot, lambda: tabs.active == "tab-cards")
        await wait_for(pilot, lambda: len(app.screen.query(InsightCard)) == 2)
        text = screen_text(app)
        assert "Braking amplifies backwards" in text and "Faster is slower" in text
        assert f"{EVIL_NAME} braked at 4.1 m/s²" in text
        assert "A reinforcing loop" in text
        assert "What would have to change for the seventh car not to stop?" in text
        assert "see 1:22–1:34 at 1.34–1.52 km on the diagram" in text
        assert "SYSTEMS THINKING" in text and "PERSONAL MASTERY" in text


async def test_waves_tab_lists_roots_and_counterfactuals() -> None:
    app = debrief_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r", "3")
        await wait_for(pilot, lambda: app.screen.query_one(TabbedContent).active == "tab-waves")
        roots = app.screen.query_one("#roots", DataTable)
        assert roots.row_count == 2
        text = screen_text(app)
        assert f"{EVIL_NAME}'s brake at 1:22 cost the road 41 vehicle-seconds" in text
        assert ESC_SHOWN in text
        assert "not replayed" in text
        assert [str(c) for c in roots.get_row_at(0)][:4] == ["1:22", "1.52 km", EVIL_NAME, "brake"]


async def test_over_time_and_round_by_round() -> None:
    app = debrief_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("2")
        spark = app.screen.query_one("#spark-mean_kmh", Sparkline)
        assert list(spark.data or [])[:2] == [95.0, 95.0] and min(spark.data or [0]) == 65.0
        rounds = app.screen.query_one("#rounds", DataTable)
        assert rounds.row_count == 2
        assert [str(c) for c in rounds.get_row_at(1)][:3] == ["▶ 2", "rush-hour", "1650"]
        assert str(rounds.get_row_at(0)[-1]) == "none agreed"
        assert str(rounds.get_row_at(1)[-1]) == "Keep right, Zipper"
        assert "min 65 · mean" in screen_text(app)


async def test_own_figures_beside_the_team() -> None:
    app = debrief_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("5")
        table = app.screen.query_one("#you", DataTable)
        rows = {str(table.get_row_at(i)[0]): table.get_row_at(i) for i in range(table.row_count)}
        distance = rows["Distance (km)"]
        assert [str(c) for c in distance[1:]] == ["4.80", "4.63"]
        smooth = rows["Smoothness: accel RMS (m/s², lower is smoother)"]
        assert [str(c) for c in smooth[1:]] == ["1.31", "0.74"]


async def test_projector_layout_one_card_at_a_time_and_host_next() -> None:
    app = debrief_app(role="host", car=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        screen = app.screen
        assert isinstance(screen, DebriefScreen) and screen.projector
        assert not screen.query("#you")
        await pilot.press("r", "4")
        await wait_for(pilot, lambda: len(screen.query(InsightCard)) == 1)
        assert "Braking amplifies backwards" in screen_text(app)
        assert "A reinforcing loop" not in screen_text(app)  # fewer words on the wall
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: "Faster is slower" in screen_text(app))
        await pilot.press("n")
        await wait_for(pilot, lambda: len(app.sent) == 1)
        assert app.sent == [{"type": "host", "command": "next"}]


async def test_after_the_last_step_the_debrief_says_so_and_offers_no_next() -> None:
    app = debrief_app(role="host", car=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        assert "program is over" not in screen_text(app)
        app.feed(room_msg(phase="finished"))
        await wait_for(pilot, lambda: "the program is over" in screen_text(app))
        shown = {b.binding.action for b in app.active_bindings.values() if b.binding.show}
        assert "next_round" not in shown
        await pilot.press("r", "n")
        await pilot.pause()
        assert app.sent == []


async def test_player_cannot_send_next() -> None:
    app = debrief_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r", "n")
        await pilot.pause()
        assert app.sent == []


async def test_empty_round_says_so() -> None:
    payload = debrief_msg(roots=[], cards=[], series={}, rounds=[], diagram=None)
    app = debrief_app(payload=payload)
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r")
        await wait_for(
            pilot, lambda: "No single brake, cut-in, crash or incident" in screen_text(app)
        )
        await pilot.press("4")
        await wait_for(pilot, lambda: "No pattern stood out" in screen_text(app))
        await pilot.press("3")
        await wait_for(pilot, lambda: "No braking wave was traced" in screen_text(app))


async def test_a_new_debrief_asks_again() -> None:
    app = debrief_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        diagram = app.screen.query_one("#diagram", SpaceTime)
        await pilot.press("r")
        await wait_for(pilot, lambda: diagram.revealed)
        app.feed(debrief_msg())  # the same debrief resent after a reconnect
        await pilot.pause()
        assert diagram.revealed
        app.feed(debrief_msg(round=3))
        await wait_for(pilot, lambda: not diagram.revealed)
        assert "round 3" in screen_text(app)


async def test_amplification_chain_of_the_highlighted_root() -> None:
    app = debrief_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r", "3")
        await wait_for(pilot, lambda: "4.1  3.2  3.9  4.4  5.0  5.2  6.0" in screen_text(app))
        assert "×1.12 as hard as the car ahead: the wave grew" in screen_text(app)
        roots = app.screen.query_one("#roots", DataTable)
        roots.move_cursor(row=1)
        await wait_for(pilot, lambda: "3.0  3.5  3.6" in screen_text(app))


async def test_a_card_window_is_shown_on_the_diagram() -> None:
    app = debrief_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        diagram = app.screen.query_one("#diagram", SpaceTime)
        await pilot.press("v")  # nothing to point at before the reveal
        assert diagram.window is None
        await pilot.press("r", "4", "v")
        await wait_for(pilot, lambda: diagram.window == (82.0, 94.0, 1345.0, 1525.0))
        assert app.screen.query_one(TabbedContent).active == "tab-diagram"
        assert "Card: Braking amplifies backwards" in screen_text(app)
        inside = diagram._outside(21, diagram._pixel_of_x(1400.0))
        outside = diagram._outside(2, diagram._pixel_of_x(200.0))
        assert (inside, outside) == (False, True)
        await pilot.press("v")  # the only card with a window: back to the whole round
        await wait_for(pilot, lambda: diagram.window is None)
