"""The debrief screen: ask first, reveal after; cards, roots, series and figures from a payload."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Sparkline, TabbedContent

from client.screens.debrief import DebriefScreen, ring_distance
from client.widgets.cards import InsightCard
from client.widgets.spacetime import SpaceTime
from tests.client.test_harness import (
    ESC_NAME,
    ESC_SHOWN,
    EVIL_NAME,
    Harness,
    room_msg,
    screen_text,
    seated,
)
from tests.support.waiting import wait_for

TIMES, CELLS, T_BIN, X_BIN, LENGTH = 60, 40, 4.0, 50.0, 2000.0


def wave_diagram() -> list[list[int]]:
    """A free ring with one jam wave born at 1:20 near 1.5 km, drifting back ~15 km/h."""
    grid = []
    for i in range(TIMES):
        row = []
        for j in range(CELLS):
            kmh = 95
            if i >= 20:
                head = (30 - (i - 20) / 3) % CELLS
                if 0 <= (head - j) % CELLS < 3:
                    kmh = 6
            row.append(kmh)
        grid.append(row)
    grid[0][0] = -1  # an empty bin
    return grid


def debrief_msg(**over: Any) -> dict[str, Any]:
    """A fixed debrief payload in the format of docs/debrief.md."""
    msg: dict[str, Any] = {
        "type": "debrief",
        "version": 1,
        "round": 2,
        "scenario": "rush-hour",
        "seed": 7,
        "rulebook": {
            "passing": "right",
            "signal": "required",
            "following": "two_second",
            "merge": "zipper",
            "speed_limit": "100",
            "hazards": "yes",
        },
        "duration_s": 240.0,
        "ticks": 4800,
        "road": {"length": LENGTH, "lanes": 3, "gantry": 0.0},
        "team": {
            "cars": 30,
            "players": 2,
            "flow_vph": 1650.0,
            "mean_kmh": 71.5,
            "delay_vs": 980.0,
            "crashes": 0,
            "near_misses": 3,
            "hard_brakes": 11,
            "adherence": 82,
        },
        "drivers": [
            {
                "car": 11,
                "name": EVIL_NAME,
                "kind": "player",
                "personality": None,
                "distance_m": 4800.0,
                "mean_kmh": 72.0,
                "delay_s": 31.0,
                "crashes": 0,
                "crashes_caused": 0,
                "near_misses": 1,
                "hard_brakes": 4,
                "lane_changes": 6,
                "unsignalled_changes": 2,
                "accel_rms": 1.31,
                "penalty_m": 0,
                "score": 4800,
                "adherence": 64,
            },
            {
                "car": 12,
                "name": ESC_NAME,
                "kind": "player",
                "personality": None,
                "distance_m": 4500.0,
                "mean_kmh": 68.0,
                "delay_s": 40.0,
                "crashes": 0,
                "crashes_caused": 0,
                "near_misses": 0,
                "hard_brakes": 1,
                "lane_changes": 2,
                "unsignalled_changes": 0,
                "accel_rms": 0.52,
                "penalty_m": 0,
                "score": 4500,
                "adherence": 95,
            },
            {
                "car": 13,
                "name": None,
                "kind": "bot",
                "personality": "steady",
                "distance_m": 4600.0,
                "mean_kmh": 70.0,
                "delay_s": 35.0,
                "crashes": 0,
                "crashes_caused": 0,
                "near_misses": 0,
                "hard_brakes": 0,
                "lane_changes": 1,
                "unsignalled_changes": 0,
                "accel_rms": 0.40,
                "penalty_m": 0,
                "score": 4600,
                "adherence": 100,
            },
        ],
        "diagram": {
            "t_bin_s": T_BIN,
            "x_bin_m": X_BIN,
            "times": TIMES,
            "cells": CELLS,
            "vmax_kmh": 130,
            "kmh": wave_diagram(),
        },
        "paths": [
            {
                "car": 11,
                "name": EVIL_NAME,
                "x": [-1] + [(i * 97 + 300) % 2000 for i in range(1, TIMES)],
            },
        ],
        "series": {
            "t_bin_s": 5.0,
            "t": [i * 5.0 for i in range(48)],
            "mean_kmh": [95 - (30 if 16 <= i <= 30 else 0) for i in range(48)],
            "flow_vph": [1800 - (400 if 16 <= i <= 30 else 0) for i in range(48)],
            "stopped": [3 if 16 <= i <= 30 else 0 for i in range(48)],
            "hard_brakes": [2 if i in (16, 17, 25) else 0 for i in range(48)],
        },
        "roots": [
            {
                "car": 11,
                "name": EVIL_NAME,
                "kind": "brake",
                "t": 82.0,
                "x": 1525.0,
                "lane": 1,
                "reached": 6,
                "chain": [11, 9, 31, 4, 17, 22, 5],
                "decel": [4.1, 3.2, 3.9, 4.4, 5.0, 5.2, 6.0],
                "amplification": 1.12,
                "delay_vs": 55.2,
                "span_m": 180.0,
                "span_s": 11.5,
                "counterfactual": {
                    "from_t": 80.0,
                    "to_t": 125.0,
                    "factual_vs": 612.0,
                    "counterfactual_vs": 571.0,
                    "cost_vs": 41.0,
                },
                "text": f"{EVIL_NAME}'s brake at 1:22 cost the road 41 vehicle-seconds",
            },
            {
                "car": 12,
                "name": ESC_NAME,
                "kind": "cut_in",
                "t": 150.0,
                "x": 400.0,
                "lane": 0,
                "reached": 2,
                "chain": [12, 3, 8],
                "decel": [3.0, 3.5, 3.6],
                "amplification": 1.09,
                "delay_vs": 12.0,
                "span_m": 40.0,
                "span_s": 4.0,
                "counterfactual": None,
                "text": f"{ESC_NAME}'s cut-in at 2:30 made 2 cars brake",
            },
        ],
        "cards": [
            {
                "id": "reinforcing_loop",
                "discipline": "systems thinking",
                "title": "Braking amplifies backwards",
                "pattern": f"{EVIL_NAME} braked at 4.1 m/s² at 1:22; six cars back, a driver "
                "braked at 6.0 m/s².",
                "where": {"t0": 82.0, "t1": 94.0, "x0": 1345.0, "x1": 1525.0},
                "idea": "A reinforcing loop: each driver brakes a little harder than the one "
                "ahead, so the wave grows as it travels.",
                "question": "What would have to change for the seventh car not to stop?",
                "figures": {"ratio": 1.12},
            },
            {
                "id": "faster_is_slower",
                "discipline": "personal mastery",
                "title": "Faster is slower",
                "pattern": "The two weaving drivers averaged 66 km/h; the steady ones 71 km/h.",
                "where": None,
                "idea": "Pushing harder on a tightly coupled system often makes it slower.",
                "question": "Who gained from the lane changes?",
                "figures": {"weavers_kmh": 66, "steady_kmh": 71},
            },
        ],
        "rounds": [
            {
                "round": 1,
                "scenario": "rush-hour",
                "rulebook": {},
                "flow_vph": 1480.0,
                "mean_kmh": 58.0,
                "delay_vs": 1500.0,
                "delay_per_car_s": 50.0,
                "crashes": 1,
                "near_misses": 8,
                "hard_brakes": 25,
                "unsignalled_changes": 14,
                "adherence": None,
            },
            {
                "round": 2,
                "scenario": "rush-hour",
                "rulebook": {"passing": "right", "merge": "zipper"},
                "flow_vph": 1650.0,
                "mean_kmh": 71.5,
                "delay_vs": 980.0,
                "delay_per_car_s": 32.7,
                "crashes": 0,
                "near_misses": 3,
                "hard_brakes": 11,
                "unsignalled_changes": 2,
                "adherence": 82,
            },
        ],
    }
    msg.update(over)
    return msg


def debrief_app(
    role: str = "player", car: int | None = 11, payload: dict[str, Any] | None = None
) -> Harness:
    """The debrief as member 1 (the host) or 2 (a player), holding `car` in the roster."""
    me = 1 if role == "host" else 2
    room = seated(room_msg(phase="debrief"), me, car)
    return Harness(role=role, player=me, car=car, messages=(room, payload or debrief_msg()))


async def test_diagram_is_hidden_until_the_reveal() -> None:
    app = debrief_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
        await pilot.press("r", "n")
        await pilot.pause()
        assert app.sent == []


async def test_empty_round_says_so() -> None:
    payload = debrief_msg(roots=[], cards=[], series={}, rounds=[], diagram=None)
    app = debrief_app(payload=payload)
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
        await pilot.press("r", "3")
        await wait_for(pilot, lambda: "4.1  3.2  3.9  4.4  5.0  5.2  6.0" in screen_text(app))
        assert "×1.12 as hard as the car ahead: the wave grew" in screen_text(app)
        roots = app.screen.query_one("#roots", DataTable)
        roots.move_cursor(row=1)
        await wait_for(pilot, lambda: "3.0  3.5  3.6" in screen_text(app))


async def test_a_card_window_is_shown_on_the_diagram() -> None:
    app = debrief_app()
    async with app.run_test(size=(100, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DebriefScreen))
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
