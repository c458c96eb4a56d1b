"""`interlane sim`: the trace CSV, the summary line, and one-line errors for bad arguments."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from client.cli import main


def test_sim_writes_the_trace_and_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    trace = tmp_path / "trace.csv"
    code = main(
        ["sim", "--scenario", "open-road", "--seconds", "3", "--seed", "4", "--bots", "12"]
        + ["--lanes", "2", "--length", "800", "--mix", "steady:0.5,hurried:0.5"]
        + ["--rulebook", "passing=right,merge=zipper", "--every", "5", "--trace", str(trace)]
    )
    assert code == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert "flow" in out[0] and "veh/h" in out[0] and "mean speed" in out[0]
    assert "crashes 0" in out[0] and "near misses" in out[0]
    with trace.open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["t", "car", "lane", "x", "v"]
    body = rows[1:]
    assert len(body) == 12 * (60 // 5)  # 12 cars, every 5th of 60 ticks
    times = sorted({float(r[0]) for r in body})
    assert times[0] == pytest.approx(0.25) and times[-1] == pytest.approx(3.0)
    for _t, car, lane, x, v in body:
        assert 0 <= int(car) < 12
        assert int(lane) in (0, 1)
        assert 0.0 <= float(x) < 800.0
        assert float(v) >= 0.0


def test_sim_is_deterministic(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    for path in (a, b):
        assert main(["sim", "--scenario", "ring", "--seconds", "4", "--trace", str(path)]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_sim_without_a_trace_still_summarises(capsys: pytest.CaptureFixture) -> None:
    assert main(["sim", "--scenario", "ring", "--seconds", "2"]) == 0
    assert capsys.readouterr().out.startswith("ring: 22 cars")


@pytest.mark.parametrize(
    "extra",
    [
        ["--scenario", "nowhere"],
        ["--scenario", "ring", "--mix", "steady:lots"],
        ["--scenario", "ring", "--mix", "pirate:1"],
        ["--scenario", "ring", "--rulebook", "passing=middle"],
        ["--scenario", "ring", "--lanes", "9"],
        ["--scenario", "ring", "--bots", "900"],
        ["--scenario", "ring", "--every", "0"],
        ["--scenario", "ring", "--trace", "/nonexistent-dir/x.csv"],
        ["--scenario", "ring", "--seconds", "-1"],
    ],
)
def test_bad_arguments_get_one_line_and_nonzero_exit(
    extra: list[str], capsys: pytest.CaptureFixture
) -> None:
    args = ["sim", "--seconds", "1", *extra]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    assert code != 0
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1
    assert "Traceback" not in err
