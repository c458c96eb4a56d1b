"""The HTML report is light, its round table fits a 1280 px screen, and players' paths are
labelled; the debrief's charts are drawn against a stated axis that starts at zero."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from client.widgets.charts import AxisSparklineRenderable, axis_for
from server.report import render
from server.report_format import TEAM_ROWS, _fmt
from tests.support.debrief import brake_at, play, scenario_toml, stored_report, write_scenario

EVIL = '<b>"Bo"</b> & co'


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    d = tmp_path_factory.mktemp("light")
    ref = write_scenario(d, scenario_toml("dense", 1500, 2, 60, {"steady": 0.5, "hurried": 0.5}))
    played = play(ref, 4, 90, players=2, controls=brake_at(30), names=["Ana", EVIL])
    path = d / "history.sqlite3"
    data = stored_report(played, path, "LIGHT", "workshop", "Host")
    return render(data, "html"), data


def test_each_players_path_is_labelled_with_its_escaped_name(
    report: tuple[str, dict[str, Any]],
) -> None:
    page, _ = report
    for name in ("Ana", EVIL):
        assert f'paint-order="stroke">{html.escape(name, quote=True)}</text>' in page
    assert EVIL not in page  # never as markup


def test_the_diagram_is_drawn_by_colour_not_by_cell(report: tuple[str, dict[str, Any]]) -> None:
    page, data = report
    diagram = data["rounds"][0]["debrief"]["diagram"]
    cells = diagram["times"] * diagram["cells"]
    assert cells > 2000
    assert page.count("<rect") < 40  # a background, a box per card: no rectangle per cell
    assert len(page.encode()) < 130 * 1024  # a third of the 400 KB aim for 3 rounds


def test_the_round_table_fits_a_1280_px_screen(report: tuple[str, dict[str, Any]]) -> None:
    """Estimated the way a browser lays it out: each column as wide as its longest word
    (headers wrap between words) at ~8 px a character, plus padding; the page is 1000 px."""
    _, data = report
    team = data["rounds"][0]["debrief"]["team"]
    widths = [len("Round") * 8 + 12, len("dense") * 8 + 12]
    for key, label, digits in TEAM_ROWS:
        longest = max(len(w) for w in label.split())
        widths.append(max(longest, len(_fmt(team.get(key), digits))) * 8 + 12)
    assert sum(widths) <= 1000, widths


def test_series_axes_start_at_zero_so_a_small_dip_looks_small() -> None:
    assert axis_for([115.0, 120.0, 118.0]) == (0.0, 120.0)
    assert axis_for([]) == (0.0, 1.0) and axis_for([0.0, 0.0]) == (0.0, 1.0)
    assert axis_for([3.2, 7.9]) == (0.0, 8.0) and axis_for([1234.0]) == (0.0, 1300.0)
    from rich.console import Console

    console = Console(width=4, record=True, color_system=None)
    console.print(AxisSparklineRenderable([115.0, 120.0, 115.0, 120.0], (0.0, 120.0), "blue", 1))
    bars = console.export_text().strip()
    assert re.fullmatch(r"[▇█]{4}", bars), bars  # 115 and 120 km/h: both near full height
