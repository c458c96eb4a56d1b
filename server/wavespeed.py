"""Wave speed as traffic engineers measure it from detector data: the field-correlation method.

Each lane's speeds are binned along the ring (about 20 m) and in time (1 s) into a space-time
speed field. For a lag of 20–60 s, the spatial shift that best correlates the field at t with
the field at t + lag is how far the pattern moved; shift / lag is its speed. The shift is
circular (the ring has no ends), and several lags are scored together so that one lag's chance
peak does not decide. Unlike tracking jam fronts from car to car, which reads the fastest
braking edges, this measures how the whole pattern of slow and fast traffic moves: real
stop-and-go waves travel upstream at about 15 km/h by it (docs/architecture.md, "Calibration").

It reads a trace (the CSV of `interlane sim --trace`: t,car,lane,x,v) or samples fed while a
world runs; `python -m server.wavespeed TRACE.csv --length 2000` prints each lane's speed.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import mul

BIN_METRES = 20.0
BIN_SECONDS = 1.0
LAGS_SECONDS = (20.0, 30.0, 40.0, 50.0, 60.0)
SEARCH_KMH = (-40.0, 20.0)  # the pattern speeds considered; free-flow drift is faster than both
STEP_KMH = 0.1  # resolution of the search over speeds


@dataclass(frozen=True, slots=True)
class LaneWave:
    """One lane's measured pattern speed (km/h, negative = upstream) and how well it fits."""

    lane: int
    kmh: float
    correlation: float  # mean correlation over the lags at that speed (−1..1)
    seconds: int  # time bins with data


class SpeedField:
    """Sums of speed samples in (lane, time bin, space bin) cells, filled as samples arrive."""

    def __init__(self, length: float, bin_metres: float = BIN_METRES) -> None:
        if not length > 0.0 or not math.isfinite(length):
            raise ValueError(f"the ring's length must be a positive number, got {length}")
        self.length = float(length)
        self.bins = max(1, round(self.length / bin_metres))
        self.bin_metres = self.length / self.bins
        self._sums: dict[int, dict[int, list[float]]] = {}
        self._counts: dict[int, dict[int, list[int]]] = {}

    def add(self, t: float, lane: int, x: float, v: float) -> None:
        """One car's speed v (m/s) at position x (m round the ring) in `lane` at time t (s)."""
        k = int(t // BIN_SECONDS)
        j = int((x % self.length) / self.bin_metres)
        if j >= self.bins:  # x a hair below the length rounds up
            j = self.bins - 1
        sums = self._sums.setdefault(lane, {})
        row = sums.get(k)
        if row is None:
            row = sums[k] = [0.0] * self.bins
            self._counts.setdefault(lane, {})[k] = [0] * self.bins
        row[j] += v
        self._counts[lane][k][j] += 1

    def lanes(self) -> list[int]:
        return sorted(self._sums)

    def rows(self, lane: int) -> dict[int, list[float]]:
        """Each time bin's mean speed per space bin; a cell without samples takes the value
        interpolated round the ring between its nearest filled neighbours (a stopped car sits
        in one cell, so a jam's empty cells between cars are as slow as the cars)."""
        out: dict[int, list[float]] = {}
        for k, sums in self._sums.get(lane, {}).items():
            counts = self._counts[lane][k]
            out[k] = _fill_ring([s / c if c else None for s, c in zip(sums, counts, strict=True)])
        return out


def _fill_ring(cells: Sequence[float | None]) -> list[float]:
    """Linear interpolation round a ring over the empty (None) cells; at least one is filled."""
    n = len(cells)
    filled = [i for i, c in enumerate(cells) if c is not None]
    out = [0.0] * n
    for i in filled:
        out[i] = cells[i] or 0.0
    for a, b in zip(filled, filled[1:] + [filled[0] + n], strict=True):
        va, vb = out[a], out[b % n]
        span = b - a
        for step in range(1, span):
            out[(a + step) % n] = va + (vb - va) * step / span
    return out


def _centred(rows: dict[int, list[float]]) -> dict[int, list[float]]:
    values = [v for row in rows.values() for v in row]
    mean = sum(values) / len(values)
    return {k: [v - mean for v in row] for k, row in rows.items()}


def _shift_correlations(
    rows: dict[int, list[float]], lag: int, shifts: range
) -> dict[int, float] | None:
    """Pearson correlation of the field at t with the field at t + lag shifted by s bins
    downstream (cell j at t against cell j + s at t + lag), for each s; None without pairs."""
    pairs = [(rows[k], rows[k + lag]) for k in sorted(rows) if k + lag in rows]
    if not pairs:
        return None
    n = len(pairs[0][0])
    norm_a = math.sqrt(sum(v * v for a, _ in pairs for v in a))
    norm_b = math.sqrt(sum(v * v for _, b in pairs for v in b))
    if norm_a == 0.0 or norm_b == 0.0:
        return None
    out: dict[int, float] = {}
    for s in shifts:
        r = s % n
        total = 0.0
        for a, b in pairs:
            total += sum(map(mul, a, b[r:] + b[:r]))
        out[s] = total / (norm_a * norm_b)
    return out


def lane_wave(
    field: SpeedField,
    lane: int,
    lags: Iterable[float] = LAGS_SECONDS,
    search_kmh: tuple[float, float] = SEARCH_KMH,
) -> LaneWave | None:
    """The speed (km/h) at which the lane's speed pattern moves best, or None if the lane has
    no variation to follow. Each candidate speed is scored by its correlation at every lag
    (linear between whole-bin shifts), the best mean picks the peak, and each lag's shift is
    then refined between bins; `correlation` is that best mean score."""
    rows = field.rows(lane)
    if len(rows) < 2:
        return None
    rows = _centred(rows)
    lo, hi = search_kmh
    dx = field.bin_metres
    tables: list[tuple[float, dict[int, float]]] = []
    for lag_s in lags:
        lag = max(1, round(lag_s / BIN_SECONDS))
        seconds = lag * BIN_SECONDS
        first = math.floor(lo / 3.6 * seconds / dx)
        last = math.ceil(hi / 3.6 * seconds / dx)
        if last - first >= field.bins:  # a shift round the whole ring would be ambiguous
            continue
        table = _shift_correlations(rows, lag, range(first, last + 1))
        if table is not None:
            tables.append((seconds, table))
    if not tables:
        return None
    # coarse: the candidate speed with the best mean correlation over the lags ...
    best_kmh, best_score = 0.0, -math.inf
    steps = round((hi - lo) / STEP_KMH)
    for i in range(steps + 1):
        kmh = lo + i * STEP_KMH
        score = 0.0
        for seconds, table in tables:
            s = kmh / 3.6 * seconds / dx
            s0 = math.floor(s)
            w = s - s0
            score += (1.0 - w) * table[s0] + w * table.get(s0 + 1, table[s0])
        score /= len(tables)
        if score > best_score:
            best_kmh, best_score = kmh, score
    # ... then each lag's own peak near it, between whole bins by a parabola through the
    # peak and its neighbours (a straight line between bins would favour whole-bin shifts),
    # and the speed that fits those shifts best (least squares through the origin)
    num = den = 0.0
    for seconds, table in tables:
        guess = best_kmh / 3.6 * seconds / dx
        near = [s for s in (math.floor(guess), math.ceil(guess)) if s in table]
        peak = max(near, key=table.__getitem__)
        shift = float(peak)
        if peak - 1 in table and peak + 1 in table:
            left, mid, right = table[peak - 1], table[peak], table[peak + 1]
            curve = left - 2.0 * mid + right
            if curve < 0.0:
                shift += max(-0.5, min(0.5, 0.5 * (left - right) / curve))
        num += shift * dx * seconds
        den += seconds * seconds
    best_kmh = num / den * 3.6
    return LaneWave(lane, round(best_kmh, 2), round(best_score, 4), len(rows))


def wave_speeds(
    field: SpeedField,
    lags: Iterable[float] = LAGS_SECONDS,
    search_kmh: tuple[float, float] = SEARCH_KMH,
) -> dict[int, LaneWave]:
    """Every lane's measured wave (lanes with nothing to follow are left out)."""
    out: dict[int, LaneWave] = {}
    lags = tuple(lags)
    for lane in field.lanes():
        wave = lane_wave(field, lane, lags, search_kmh)
        if wave is not None:
            out[lane] = wave
    return out


def field_from_trace(lines: Iterable[str], length: float) -> SpeedField:
    """A speed field from the CSV of `interlane sim --trace` (header t,car,lane,x,v)."""
    field = SpeedField(length)
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or [h.strip() for h in header[:5]] != ["t", "car", "lane", "x", "v"]:
        raise ValueError("a trace starts with the header t,car,lane,x,v")
    for number, row in enumerate(reader, start=2):
        try:
            t, _car, lane, x, v = row[:5]
            field.add(float(t), int(lane), float(x), float(v))
        except ValueError:
            raise ValueError(f"line {number} is not t,car,lane,x,v: {row!r}") from None
    return field


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m server.wavespeed",
        description="Each lane's wave speed by the field-correlation method, from a trace CSV.",
    )
    parser.add_argument("trace", help="the CSV of `interlane sim --trace`")
    parser.add_argument("--length", type=float, required=True, help="the ring's length in m")
    parser.add_argument("--after", type=float, default=0.0, help="skip the first seconds")
    args = parser.parse_args(argv)
    try:
        with open(args.trace, encoding="utf-8", newline="") as f:
            lines = (line for i, line in enumerate(f) if i == 0 or _after(line, args.after))
            field = field_from_trace(lines, args.length)
    except (OSError, ValueError) as exc:
        print(f"wavespeed: {exc}", file=sys.stderr)
        return 2
    waves = wave_speeds(field)
    for lane, wave in waves.items():
        print(f"lane {lane}: {wave.kmh:+.1f} km/h (correlation {wave.correlation:.2f})")
    if not waves:
        print("no lane has a speed pattern to follow")
    return 0


def _after(line: str, seconds: float) -> bool:
    head = line.split(",", 1)[0]
    try:
        return float(head) >= seconds
    except ValueError:
        return True


if __name__ == "__main__":
    raise SystemExit(main())
