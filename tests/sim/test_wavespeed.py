"""The field-correlation wave speed (server/wavespeed.py) reads known speeds back.

Before the measure may judge the simulation it must read a synthetic speed field whose pattern
moves at a known speed: dips of slow traffic travelling round a ring at c km/h, sampled at
car-like positions, with noise; across the ring's seam, on any lane number, from a trace CSV.
"""

from __future__ import annotations

import io
import math
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.wavespeed import SpeedField, field_from_trace, lane_wave, main, wave_speeds


def _dip_field(
    kmh: float,
    *,
    length: float = 2000.0,
    lane: int = 0,
    seconds: int = 240,
    dips: int = 3,
    noise: float = 0.0,
    seed: int = 0,
) -> SpeedField:
    """Samples of a field of `dips` slow patches (30 m/s → about 3 m/s) moving at `kmh`, as
    probes every 12 m read four times a second (a detector-like grid offset from the bins)."""
    rng = random.Random(seed)
    field = SpeedField(length)
    c = kmh / 3.6
    centres = [rng.uniform(0, length) for _ in range(dips)]
    widths = [rng.uniform(60, 160) for _ in range(dips)]
    offset = rng.uniform(0, 12)
    for q in range(seconds * 4):
        t = q / 4
        for i in range(round(length / 12)):
            x = (offset + 12 * i) % length
            v = 30.0
            for centre, width in zip(centres, widths, strict=True):
                d = (x - centre - c * t + length / 2) % length - length / 2
                v -= 27.0 * math.exp(-((d / width) ** 2))
            field.add(t, lane, x, max(0.0, v + rng.gauss(0.0, noise)))
    return field


@settings(max_examples=25, deadline=None)
@given(
    kmh=st.floats(min_value=-35.0, max_value=15.0),
    seed=st.integers(0, 10_000),
    length=st.sampled_from([1000.0, 1500.0, 2000.0]),
)
def test_a_synthetic_pattern_reads_back_at_its_speed(kmh: float, seed: int, length: float) -> None:
    field = _dip_field(kmh, length=length, seed=seed, noise=1.0)
    wave = lane_wave(field, 0)
    assert wave is not None
    assert wave.kmh == pytest.approx(kmh, abs=0.6)
    assert wave.correlation > 0.5


@pytest.mark.parametrize("kmh", [-15.0, -12.3, -19.7, 0.0, 7.5])
def test_exact_speeds_between_whole_bins_are_not_rounded_to_them(kmh: float) -> None:
    """A speed whose shifts fall between whole 20 m bins reads within a few tenths, not at the
    nearest speed where every lag's shift is whole (−7.2 km/h, −14.4 km/h, ...)."""
    wave = lane_wave(_dip_field(kmh, seed=3), 0)
    assert wave is not None
    assert wave.kmh == pytest.approx(kmh, abs=0.4)


def test_lanes_are_measured_apart() -> None:
    field = _dip_field(-15.0, lane=0, seed=1)
    other = _dip_field(-8.0, lane=2, seed=2)
    for k, row in other._sums[2].items():  # merge lane 2's samples into the same field
        field._sums.setdefault(2, {})[k] = row
        field._counts.setdefault(2, {})[k] = other._counts[2][k]
    waves = wave_speeds(field)
    assert sorted(waves) == [0, 2]
    assert waves[0].kmh == pytest.approx(-15.0, abs=0.5)
    assert waves[2].kmh == pytest.approx(-8.0, abs=0.5)


def test_a_uniform_field_has_nothing_to_follow() -> None:
    field = SpeedField(1000.0)
    for q in range(200):
        for i in range(50):
            field.add(q / 2, 0, i * 20.0, 25.0)
    assert lane_wave(field, 0) is None
    assert wave_speeds(field) == {}


def test_sparse_samples_are_filled_round_the_ring() -> None:
    """Only a few cars, so most cells are empty: the interpolation across the seam still
    lets the pattern be followed."""
    rng = random.Random(5)
    field = SpeedField(1000.0)
    c = -15 / 3.6
    for q in range(300):
        t = float(q)
        for _ in range(12):
            x = rng.uniform(0, 1000)
            d = (x - 500 - c * t + 500) % 1000 - 500
            field.add(t, 1, x, 30.0 - 25.0 * math.exp(-((d / 150) ** 2)))
    wave = lane_wave(field, 1)
    assert wave is not None
    assert wave.kmh == pytest.approx(-15.0, abs=1.5)


def test_a_trace_csv_gives_the_same_field(tmp_path: Path) -> None:
    lines = ["t,car,lane,x,v"]
    c = -14 / 3.6
    for q in range(200):
        t = q / 2
        for i in range(100):
            x = i * 10.0 + 3.0
            d = (x - 300 - c * t + 500) % 1000 - 500
            lines.append(f"{t:.2f},{i},0,{x:.2f},{30 - 25 * math.exp(-((d / 100) ** 2)):.3f}")
    field = field_from_trace(io.StringIO("\n".join(lines) + "\n"), 1000.0)
    wave = lane_wave(field, 0)
    assert wave is not None and wave.kmh == pytest.approx(-14.0, abs=0.5)
    path = tmp_path / "trace.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main([str(path), "--length", "1000"]) == 0


def test_bad_traces_and_lengths_are_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match="header"):
        field_from_trace(io.StringIO("a,b\n1,2\n"), 1000.0)
    with pytest.raises(ValueError, match="line 2"):
        field_from_trace(io.StringIO("t,car,lane,x,v\n1,2,zero,4,5\n"), 1000.0)
    for length in (0.0, -5.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="length"):
            SpeedField(length)
    assert main([str(tmp_path / "missing.csv"), "--length", "1000"]) == 2
    assert "wavespeed:" in capsys.readouterr().err


@pytest.mark.slow
def test_a_trace_from_interlane_sim_measures_what_the_running_world_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trace CSV of `interlane sim` is enough: read back, it gives each lane the speed
    that samples taken from the running world give (rounding in the CSV moves a few samples
    across a bin's edge, no more), and on rush-hour that is a real wave's speed."""
    from client.cli import main as interlane
    from shared.sim.scenario import load_scenario
    from shared.sim.world import DT, World

    trace = tmp_path / "rush.csv"
    args = ["sim", "--scenario", "rush-hour", "--seconds", "240", "--seed", "3"]
    assert interlane(args + ["--every", "5", "--trace", str(trace)]) == 0
    capsys.readouterr()
    with trace.open(encoding="utf-8", newline="") as f:
        from_trace = wave_speeds(field_from_trace(f, 2000.0))

    world = World(load_scenario("rush-hour"), seed=3)
    field = SpeedField(world.length)
    for _ in range(round(240 / DT)):
        world.step()
        if world.tick % 5 == 0:
            for car in world.cars.values():
                field.add(world.t, car.lane_index, car.x, car.v)
    live = wave_speeds(field)
    assert sorted(from_trace) == sorted(live) == [0, 1, 2]
    for lane, wave in live.items():
        assert from_trace[lane].kmh == pytest.approx(wave.kmh, abs=0.3)
        assert -20.0 <= wave.kmh <= -12.0, live

    assert main([str(trace), "--length", "2000", "--after", "60"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["lane 0", "lane 1", "lane 2"]
