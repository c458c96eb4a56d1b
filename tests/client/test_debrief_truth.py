"""The debrief screen tells only what the round showed: the reveal names the root the Waves
tab lists first, and only when its cost is material; a round without a jam asks another
question; a crash root reads as a crash."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from client.screens.debrief import plural
from tests.support.harness import EVIL_NAME, Harness, screen_text
from tests.support.screens import debrief_app, debrief_msg, debrief_ready
from tests.support.waiting import wait_for


def app_for(**over: Any) -> Harness:
    return debrief_app(payload=debrief_msg(**over))


def verdict(app: Harness) -> str:
    return str(app.screen.query_one("#guess-result").render())


async def test_the_reveal_names_the_waves_tabs_first_root_with_its_cost() -> None:
    roots = debrief_msg()["roots"]
    roots[0]["material"], roots[1]["material"] = True, False
    app = app_for(roots=roots, material_vs=20.0, jam={"found": True, "limit_kmh": 30})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r")
        await wait_for(pilot, lambda: "costliest wave" in verdict(app))
        assert f"began with {EVIL_NAME}'s brake" in verdict(app)
        assert "cost the others 41 vehicle-seconds" in verdict(app)
        await pilot.press("3")
        table = app.screen.query_one("#roots", DataTable)
        assert str(table.get_row_at(0)[2]) == EVIL_NAME  # the same root, first in the tab


async def test_an_immaterial_costliest_root_is_not_headlined() -> None:
    roots = debrief_msg()["roots"]
    roots[0]["material"] = roots[1]["material"] = False
    app = app_for(roots=roots, material_vs=60.0, jam={"found": True, "limit_kmh": 30})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r")
        await wait_for(pilot, lambda: "No single brake" in verdict(app))
        assert "60 vehicle-seconds or more" in verdict(app)
        assert "costliest" not in verdict(app)


async def test_a_round_without_a_jam_asks_where_traffic_was_slowest() -> None:
    slowest = {"t": 93.0, "x": 1225.0, "kmh": 88}
    no_jam = {"found": False, "limit_kmh": 30.0, "start": None, "slowest": slowest}
    app = app_for(roots=[], cards=[], jam=no_jam)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        text = str(app.screen.query_one("#reveal-prompt").render())
        assert "no real jam this round" in text and "jam started" not in text
        assert "where and when do you think the traffic was slowest?" in text
        await pilot.press("r")
        await wait_for(pilot, lambda: "slowest at 1:33, 1.23 km" in verdict(app))
        assert "88 km/h" in verdict(app)


async def test_a_crash_root_reads_as_a_crash_and_counts_read_right() -> None:
    roots = debrief_msg()["roots"]
    roots[0].update(kind="crash", reached=1, material=True)
    app = app_for(roots=roots, material_vs=20.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r")
        await wait_for(pilot, lambda: f"{EVIL_NAME}'s crash at 1:22" in verdict(app))
        await pilot.press("3")
        row = app.screen.query_one("#roots", DataTable).get_row_at(0)
        assert [str(c) for c in row[3:5]] == ["crash", "1 car"]
    assert plural(2, "car") == "2 cars" and plural(1, "car") == "1 car"


async def test_the_program_tab_is_there_only_after_a_programs_last_round() -> None:
    from textual.widgets import TabbedContent

    app = app_for()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        tabs = app.screen.query_one("#debrief-tabs", TabbedContent)
        assert not tabs.get_tab("tab-program").display
        await pilot.press("6")
        assert tabs.active == "tab-diagram"
        assert "6 Program" not in screen_text(app)
