"""Reports: Markdown, HTML, JSON and CSV from the history file, and the CLI that writes them."""

from __future__ import annotations

import csv
import io
import json
import shutil
import struct
import subprocess
import sys
import zlib
from argparse import Namespace
from pathlib import Path

import pytest

from server.history_cli import run_history, run_report
from server.played import RoundOutcome
from server.report import gather, render
from server.report_format import PALETTE
from server.store import Store
from tests.support.debrief import brake_at, play, scenario_toml, write_scenario

ROOT = Path(__file__).resolve().parents[2]
EVIL = '<script>alert("x")</script>|*_`[]'


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A history file with one game of two rounds: a calm one, then one with a hard stop."""
    d = tmp_path_factory.mktemp("report")
    ref = write_scenario(d, scenario_toml("dense", 1000, 1, 40, {"steady": 1.0}))
    first = play(ref, 5, 50, players=2, names=["Ana", EVIL])
    second = play(
        ref, 5, 70, players=2, controls=brake_at(25), names=["Ana", EVIL], previous=[first.debrief]
    )
    path = d / "history.sqlite3"
    with Store(path) as store:
        game = store.create_game("ABCDE", "workshop", "Host <i>")
        for number, p in ((1, first), (2, second)):
            p.debrief["round"] = number
            store.save_round(game, number, p.stored_inputs, p.outcome, p.debrief)
    return path, game


def _data(history: tuple[Path, int]) -> dict:
    path, game = history
    with Store(path) as store:
        return gather(store, game)


def test_csv_parses_and_its_totals_match_the_json(history: tuple[Path, int]) -> None:
    data = _data(history)
    rows = list(csv.DictReader(io.StringIO(render(data, "csv"))))
    full = json.loads(render(data, "json"))
    assert {r["record"] for r in rows} == {"round", "driver"}
    for stored in full["rounds"]:
        n = str(stored["round_no"])
        team = stored["debrief"]["team"]
        round_row = next(r for r in rows if r["record"] == "round" and r["round"] == n)
        drivers = [r for r in rows if r["record"] == "driver" and r["round"] == n]
        assert len(drivers) == team["cars"] == len(stored["debrief"]["drivers"])
        for key in ("hard_brakes", "lane_changes", "unsignalled_changes", "near_misses"):
            assert sum(int(r[key]) for r in drivers) == int(round_row[key]) == team[key]
        assert sum(int(r["crashes_caused"]) for r in drivers) == team["crashes"]
        delay = sum(float(r["delay_s"]) for r in drivers)
        assert delay == pytest.approx(float(round_row["delay_s"]), abs=0.5)
        assert float(round_row["delay_s"]) == team["delay_vs"]
        distance = sum(float(r["distance_m"]) for r in drivers)
        assert distance == pytest.approx(float(round_row["distance_m"]), abs=1.0)
        names = {r["name"] for r in drivers if r["kind"] == "player"}
        assert names == {"Ana", EVIL}


def test_json_holds_everything(history: tuple[Path, int]) -> None:
    full = json.loads(render(_data(history), "json"))
    assert full["game"]["code"] == "ABCDE" and full["game"]["players"] == ["Ana", EVIL]
    second = full["rounds"][1]["debrief"]
    assert {"team", "drivers", "diagram", "paths", "series", "roots", "cards", "rounds"} <= set(
        second
    )
    assert any(r["name"] == "Ana" for r in second["roots"])
    stored = full["rounds"][1]
    assert stored["log"] and stored["events"] and stored["seed"] == 5
    assert {e["kind"] for e in stored["events"]} >= {"hard_brake"}


def test_html_escapes_every_name(history: tuple[Path, int]) -> None:
    page = render(_data(history), "html")
    assert "<script>" not in page and "alert(" in page  # there as text, not as a tag
    assert "&lt;script&gt;" in page and "Host &lt;i&gt;" in page
    assert page.count("<svg") >= 4  # a diagram and a series chart per round
    assert "http" not in page.replace("http://www.w3.org/2000/svg", "")  # self-contained


def test_markdown_has_the_rounds_cards_and_diagram(history: tuple[Path, int]) -> None:
    text = render(_data(history), "md")
    assert "## Round 1" in text and "## Round 2" in text
    assert "cost the road" in text  # the traced brake of round 2
    assert "<script>" not in text and "\\<script\\>" not in text
    assert "```" in text and "@" in text  # the text diagram shows the stop


def test_cli_history_and_report(
    history: tuple[Path, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, game = history
    args = Namespace(db=str(path))
    assert run_history(args) == 0
    out = capsys.readouterr().out
    assert "ABCDE" in out and "Ana" in out and "\x1b" not in out
    for fmt in ("md", "html", "json", "csv"):
        target = tmp_path / f"report.{fmt}"
        report = Namespace(db=str(path), game="ABCDE", format=fmt, output=str(target))
        assert run_report(report) == 0
        assert target.stat().st_size > 500
    missing = Namespace(db=str(path), game="99", format="md", output=None)
    assert run_report(missing) == 1
    assert "no game '99'" in capsys.readouterr().err


def _find_browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Rows of RGB(A) pixels of an 8-bit, non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = prev[i]
            corner = prev[i - channels] if i >= channels else 0
            if filt == 1:
                line[i] = (line[i] + left) & 255
            elif filt == 2:
                line[i] = (line[i] + up) & 255
            elif filt == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif filt == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    return width, channels, rows


def test_html_report_shows_the_diagram_in_a_real_browser(
    history: tuple[Path, int], tmp_path: Path
) -> None:
    browser = _find_browser()
    if browser is None:
        pytest.skip("no headless browser: install Debian's `chromium` to run this test")
    page = tmp_path / "report.html"
    page.write_text(render(_data(history), "html"), encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-zygote",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1000,6000",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=90,
        check=False,
    )
    assert shot.exists(), "the browser wrote no screenshot"
    width, channels, rows = _png_pixels(shot.read_bytes())
    wanted = {bytes.fromhex(colour[1:]): 0 for _, colour in PALETTE}
    for row in rows:
        for x in range(0, width * channels, channels):
            rgb = row[x : x + 3]
            if rgb in wanted:
                wanted[rgb] += 1
    shown = {rgb.hex(): n for rgb, n in wanted.items() if n > 300}
    # the diagrams are on screen: the calm round's free flow, and the braked round's slow
    # cells in the colours of the slower bands
    assert len(shown) >= 3, f"diagram colours on screen: {wanted}"


def test_report_cli_runs_as_a_command(history: tuple[Path, int], tmp_path: Path) -> None:
    path, game = history
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "client.cli",
            "report",
            str(game),
            "--format",
            "csv",
            "--db",
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("record,round,scenario,car")


def test_report_rebuilds_a_debrief_the_server_could_not_make(tmp_path: Path) -> None:
    ref = write_scenario(tmp_path, scenario_toml("short", 600, 1, 20, {"steady": 1.0}))
    p = play(ref, 3, 20, players=1, names=["Ana"], analyse_it=False)
    path = tmp_path / "h.sqlite3"
    with Store(path) as store:
        game = store.create_game("QWERT", "workshop", "Host")
        bare = {"round": 1, "scenario": ref, "error": "the analysis of this round failed"}
        store.save_round(game, 1, p.stored_inputs, RoundOutcome(p.metrics, names=p.names), bare)
    target = tmp_path / "r.json"
    args = Namespace(db=str(path), game=str(game), format="json", output=str(target))
    assert run_report(args) == 0
    (stored,) = json.loads(target.read_text())["rounds"]
    assert stored["debrief"]["diagram"]["times"] > 0
    assert stored["debrief"]["team"] == p.metrics["team"]
    assert [d["name"] for d in stored["debrief"]["drivers"] if d["kind"] == "player"] == ["Ana"]
