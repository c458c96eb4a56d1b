"""Only what matters, measured the short way round: thresholds, ranking and ring geometry.

- Every distance the debrief reports is at most half the ring, and every box is the shortest
  stretch holding its places.
- Over real rounds of every scenario: no card claims an effect below its threshold, every
  wave card's wave is material, and the reveal's root (the wave_root card's) is the root the
  Waves tab lists first — with the host's and programs' incidents among the roots.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.debrief import jam
from server.waves import ring_box, ring_distance, ring_offset
from shared.sim.scenario import load_scenario
from tests.support.debrief import check_payload, play

SCENARIOS = ["ring", "open-road", "rush-hour", "lane-closure", "on-ramp", "incident"]

lengths = st.floats(10.0, 10_000.0, allow_nan=False)
fractions = st.floats(0.0, 0.999_999, allow_nan=False)


@given(lengths, fractions, fractions)
def test_a_distance_on_a_ring_is_at_most_half_of_it(length: float, a: float, b: float) -> None:
    x, y = a * length, b * length
    d = ring_distance(x, y, length)
    assert 0.0 <= d <= length / 2 + 1e-9
    assert d == ring_distance(y, x, length) or abs(d - ring_distance(y, x, length)) < 1e-6
    # stepping the signed offset from x lands on y
    assert abs(((x + ring_offset(x, y, length)) - y + length / 2) % length - length / 2) < 1e-6


@given(lengths, st.lists(fractions, min_size=1, max_size=12))
def test_a_box_is_the_shortest_stretch_holding_every_place(length: float, fs: list[float]) -> None:
    xs = [f * length for f in fs]
    x0, x1 = ring_box(xs, length)
    span = (x1 - x0) % length
    for x in xs:
        assert (x - x0) % length <= span + 1e-6  # inside the box, going downstream from x0
    pts = sorted(xs)
    gaps = [(pts[(i + 1) % len(pts)] - pts[i]) % length for i in range(len(pts))]
    if len(pts) > 1:
        assert span <= length - max(gaps) + 1e-6  # the widest empty gap is left out
    if len(pts) == 2:
        assert abs(span - ring_distance(pts[0], pts[1], length)) < 1e-6


def test_the_seam_case_of_the_issue() -> None:
    """A box from 295 m to 287 m on a 2 km ring is 8 m, not 1992 m."""
    assert ring_distance(287.0, 295.0, 2000.0) == 8.0
    assert ring_box([287.0, 295.0], 2000.0) == (287.0, 295.0)
    assert ring_box([1995.0, 5.0], 2000.0) == (1995.0, 5.0)  # wraps: x0 > x1


def test_no_jam_is_told_from_a_jam() -> None:
    free = {"t_bin_s": 2.0, "x_bin_m": 50.0, "vmax_kmh": 120, "kmh": [[110, 95], [-1, 100]]}
    assert jam(free)["found"] is False and jam(free)["slowest"]["kmh"] == 95
    stopped = {**free, "kmh": [[110, 95], [12, 100], [3, 8]]}
    found = jam(stopped)
    assert found["found"] and found["start"] == {"t": 3.0, "x": 25.0, "kmh": 12}
    assert found["slowest"]["kmh"] == 3


def _presses(draw: st.DrawFn) -> dict[int, list[tuple[str, Any]]]:
    actions = st.sampled_from(["brake", "left", "right", "slower", "faster"])
    return {
        tick: [(a, None)]
        for tick, a in draw(st.lists(st.tuples(st.integers(100, 1100), actions), max_size=12))
    }


Incident = tuple[int, int, float, float, str]  # tick, lane, share of the ring, seconds, source


@st.composite
def rounds(
    draw: st.DrawFn,
) -> tuple[str, int, int, dict[int, list[tuple[str, Any]]], list[Incident]]:
    """A scenario, seed, number of players, their presses, and lanes blocked on the way (the
    host's `i` or a program's shock: traced as roots like brakes, see server/waves.py)."""
    incidents = st.tuples(
        st.integers(100, 1000),
        st.integers(0, 3),
        fractions,
        st.floats(5.0, 40.0),
        st.sampled_from(["host", "shock"]),
    )
    return (
        draw(st.sampled_from(SCENARIOS)),
        draw(st.integers(0, 10_000)),
        draw(st.integers(0, 2)),
        _presses(draw),
        draw(st.lists(incidents, max_size=2)),
    )


class Scripted:
    """The players' presses, and the incidents injected at their ticks (play() sets world)."""

    world: Any = None

    def __init__(self, presses: dict[int, list[tuple[str, Any]]], incidents: list[Incident]):
        self.presses, self.incidents = presses, incidents

    def __call__(self, tick: int, cars: list[int]) -> dict[int, list[tuple[str, Any]]]:
        for at, lane, share, seconds, source in self.incidents:
            if at == tick and self.world is not None and lane < self.world.lanes:
                self.world.inject_incident(lane, share * self.world.length, seconds, source)
        return {car: self.presses[tick] for car in cars} if tick in self.presses else {}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rounds())
def test_no_card_or_reveal_claims_less_than_its_threshold(spec: tuple) -> None:
    name, seed, players, presses, incidents = spec
    seconds = min(70.0, float(load_scenario(name).seconds or 70))
    played = play(name, seed, seconds, players=players, controls=Scripted(presses, incidents))
    assert played.payload is not None
    check_payload(played.payload)
