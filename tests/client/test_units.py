"""Unit tests of the client's pure parts: interpolation, the road picture, the minimap, the
HUD lines, routing between screens, the join form and the reconnect schedule."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from client.net import BACKOFF, backoff_delay
from client.routing import screen_key
from client.screens.connect import check_form
from client.state import CarView, ClientState, Interpolator, wrap_delta
from client.widgets.feed import slow_ahead
from client.widgets.hud import rules_summary, speed_line
from client.widgets.minimap import BARS, minimap_rows, speed_cell
from client.widgets.road import View, compose_frame
from shared.conventions import make_rulebook
from shared.messages import ServerMessage, decode_server_frame
from shared.protocol import (
    FLAG_BRAKING,
    FLAG_CRASHED,
    FLAG_HAZARD,
    FLAG_PLAYER,
    FLAG_SIGNAL_LEFT,
    encode,
    pack_car,
)


def as_received(msg: dict[str, Any]) -> ServerMessage:
    """A fabricated server message as the client's connection hands it on: a frame, read."""
    return decode_server_frame(encode(msg))


def snap(tick: int, rows: list) -> dict:
    return {
        "type": "snapshot",
        "tick": tick,
        "t": tick * 0.05,
        "cars": rows,
        "ring": [],
        "events": [],
    }


# -- interpolation ---------------------------------------------------------------------


def test_interpolates_halfway_between_snapshots() -> None:
    interp = Interpolator(length=1000.0)
    interp.push(snap(0, [pack_car(1, 0.0, 100.0, 20.0, 0)]), arrived=10.0)
    interp.push(snap(1, [pack_car(1, 1.0, 101.0, 20.0, 0)]), arrived=10.05)
    # drawn 0.1 s behind: at local 10.125 we draw server time 0.025, halfway
    (car,) = interp.cars_at(10.125)
    assert math.isclose(car.x, 100.5, abs_tol=1e-6)
    assert math.isclose(car.lane, 0.5, abs_tol=1e-6)


def test_interpolation_crosses_the_ring_seam_forwards() -> None:
    interp = Interpolator(length=1000.0)
    interp.push(snap(0, [pack_car(1, 0.0, 999.0, 20.0, 0)]), arrived=0.0)
    interp.push(snap(1, [pack_car(1, 0.0, 1.0, 20.0, 0)]), arrived=0.05)
    (car,) = interp.cars_at(0.125)
    assert math.isclose(car.x, 0.0, abs_tol=1e-6) or math.isclose(car.x, 1000.0, abs_tol=1e-6)


def test_extrapolation_is_capped_when_snapshots_stop() -> None:
    interp = Interpolator(length=10_000.0)
    interp.push(snap(0, [pack_car(1, 0.0, 100.0, 10.0, 0)]), arrived=0.0)
    (car,) = interp.cars_at(60.0)  # a minute of silence: paused or stalled
    assert car.x <= 100.0 + 10.0 * 0.25 + 1e-6


def test_late_snapshot_does_not_move_cars_visibly_backwards() -> None:
    """Half a column is 1 m on screen; a late frame may cost millimetres, never that."""
    interp = Interpolator(length=1000.0)
    interp.push(snap(0, [pack_car(1, 0.0, 100.0, 20.0, 0)]), arrived=0.0)
    interp.push(snap(1, [pack_car(1, 0.0, 101.0, 20.0, 0)]), arrived=0.05)
    before = interp.cars_at(0.2)[0].x
    interp.push(snap(2, [pack_car(1, 0.0, 102.0, 20.0, 0)]), arrived=0.3)  # 0.2 s late
    after = interp.cars_at(0.2001)[0].x
    assert after >= before - 0.05


@given(st.floats(-1e5, 1e5, allow_nan=False), st.floats(1.0, 1e4))
def test_wrap_delta_is_the_shortest_way_round(dx: float, length: float) -> None:
    d = wrap_delta(dx, length)
    assert -length / 2 - 1e-6 <= d < length / 2 + 1e-6
    assert math.isclose((d - dx) / length, round((d - dx) / length), abs_tol=1e-6)


def test_state_keeps_team_figures_between_snapshots_that_lack_them() -> None:
    state = ClientState()
    state.apply(as_received({**snap(0, []), "team": {"flow_vph": 1200}}), 0.0)
    state.apply(as_received(snap(1, [])), 0.05)
    assert state.team == {"flow_vph": 1200}


# -- the road --------------------------------------------------------------------------

ROAD = {"length": 1000.0, "lanes": 3}


def frame(cars: list[CarView], blink: bool = True, road: dict | None = None) -> list[str]:
    view = View(tuple(cars), road or ROAD, 500.0, 1, {2: "Zoe"}, blink, 3)
    return [strip.text for strip in compose_frame(view, 60, 7)]


def test_lanes_are_rows_with_the_leftmost_on_top() -> None:
    rows = frame(
        [CarView(1, 0.0, 505.0, 20.0, FLAG_PLAYER), CarView(2, 2.0, 520.0, 20.0, FLAG_PLAYER)]
    )
    assert "◆" in rows[5] and "◆" not in rows[1]  # lane 0 (rightmost) is the bottom lane row
    assert "Z" in rows[1]  # another player's initial, top lane
    assert rows[0].strip("━") == "" and rows[6].strip("━") == ""  # road edges


def test_a_car_changing_lanes_is_drawn_with_half_blocks() -> None:
    rows = frame([CarView(3, 0.25, 520.0, 20.0, 0)])
    assert "▀" in rows[5] and "▄" in rows[4]  # a quarter of the way: half a row up
    halfway = frame([CarView(3, 0.5, 520.0, 20.0, 0)])
    assert "█" in halfway[4]  # halfway: on the lane marking, straddling both lanes


def test_brake_lights_signals_and_crashes_have_their_own_shapes() -> None:
    rows = frame(
        [
            CarView(3, 1.0, 520.0, 20.0, FLAG_BRAKING | FLAG_SIGNAL_LEFT),
            CarView(4, 0.0, 540.0, 0.0, FLAG_CRASHED),
        ]
    )
    assert "▮" in rows[3]
    assert "▲" in rows[2]  # left signal shown above the car, on the marking row
    assert "╳" in rows[5]
    dark = frame([CarView(3, 1.0, 520.0, 20.0, FLAG_SIGNAL_LEFT)], blink=False)
    assert "▲" not in dark[2]  # blinking: off half the time


def test_hazards_blink_on_both_sides() -> None:
    rows = frame([CarView(3, 1.0, 520.0, 0.0, FLAG_HAZARD)])
    assert rows[2].count("▲") == 2 and rows[4].count("▼") == 2


def test_closure_draws_cones_and_warning_signs() -> None:
    road = {**ROAD, "closures": [{"lane": 2, "start": 540.0, "end": 700.0, "warn": 100.0}]}
    view = View((), road, 500.0, None, {}, True, 3)
    rows = [s.text for s in compose_frame(view, 80, 11)]
    assert "▲" in rows[3] and "╱" in rows[3]  # top lane row (two verge rows above the road)
    assert any("lane 3 ends 100 m" in r for r in rows)


def test_lane_markings_move_with_the_road() -> None:
    still = frame([])
    view = View((), ROAD, 503.0, None, {}, True, 3)
    moved = [s.text for s in compose_frame(view, 60, 7)]
    assert still[2] != moved[2]


# -- minimap, HUD, feed ----------------------------------------------------------------


def test_minimap_bar_height_grows_with_speed() -> None:
    heights = [BARS.index(speed_cell(k)[0]) for k in (0, 30, 60, 90, 120)]
    assert heights == sorted(heights) and heights[0] < heights[-1]


def test_minimap_marks_your_place() -> None:
    marks, bars = minimap_rows([50] * 64, 64, 1000.0, 500.0, {})
    assert marks.text.index("▼") == 32
    assert len(bars.text) == 64


def test_hud_spells_out_speed_target_gap_lane_and_mode() -> None:
    you = {
        "v": 25.0,
        "target_kmh": 100,
        "gap_s": 1.84,
        "gap_setting": 3,
        "lane": 0,
        "signal": -1,
        "assist": False,
    }
    text = speed_line(you, 3).plain
    for part in (
        "90 km/h",
        "target 100 km/h",
        "gap 1.8 s (wide)",
        "lane 1 of 3",
        "signal left",
        "MANUAL",
    ):
        assert part in text


def test_rules_summary_reads_the_rulebook() -> None:
    text = rules_summary(make_rulebook({"passing": "right", "speed_limit": "100"}))
    assert "keep right" in text and "limit 100 km/h" in text


def test_slow_traffic_ahead_is_found_on_the_ring() -> None:
    ring = [100] * 64
    ring[10] = 20
    found = slow_ahead(ring, 6400.0, 850.0, 100)
    assert found is not None and found[1] == 20 and 0 < found[0] <= 200
    assert slow_ahead(ring, 6400.0, 850.0, 30) is None  # already slow: no warning


# -- routing, form, reconnect ----------------------------------------------------------


def test_screen_for_each_phase_and_role() -> None:
    assert screen_key("lobby", "player", True) == "lobby"
    assert screen_key("driving", "player", True) == "drive"
    assert screen_key("driving", "host", True) == "drive"  # solo: host and player
    assert screen_key("driving", "host", False) == "host"
    assert screen_key("driving", "spectator", False) == "spectator"
    assert screen_key("council", "player", True) == "council"
    assert screen_key("debrief", "host", True) == "debrief"


def test_join_form_checks_code_server_and_name() -> None:
    assert check_form("ws://127.0.0.1:8765", "KX7PQ", "Ana") is None
    assert check_form("http://x", "KX7PQ", "Ana") is not None
    assert check_form("ws://x", "KX7P0", "Ana") is not None  # 0 is not in the alphabet
    assert check_form("ws://x", "KX7PQ", "  \x1b ") is not None


def test_backoff_grows_then_holds() -> None:
    delays = [backoff_delay(n) for n in range(1, 10)]
    assert delays == sorted(delays) and delays[-1] == BACKOFF[-1]


def test_after_a_pause_the_picture_resyncs_within_a_second() -> None:
    """A paused round stops the stream; on resume, cars must move smoothly again, not sit
    at the extrapolation cap because the old clock offset says the data is stale."""
    interp = Interpolator(length=10_000.0)
    for tick in range(10):
        interp.push(snap(tick, [pack_car(1, 0.0, 100.0 + tick, 20.0, 0)]), arrived=tick * 0.05)
    resumed_at = 30.0  # thirty seconds later the stream goes on where it stopped
    for k in range(25):
        tick = 10 + k
        interp.push(snap(tick, [pack_car(1, 0.0, 100.0 + tick, 20.0, 0)]), resumed_at + k * 0.05)
    now = resumed_at + 24 * 0.05
    xs = [interp.cars_at(now + d)[0].x for d in (0.0, 0.01, 0.02, 0.03)]
    assert xs == sorted(xs) and len(set(xs)) == 4  # moving between snapshots, not frozen


def test_on_ramp_ends_in_verge_and_incident_blocks_its_lane() -> None:
    road = {
        **ROAD,
        "length": 2500.0,
        "ramps": [{"lane": 0, "start": 1200.0, "end": 1450.0}],
        "incidents": [{"lane": 2, "x": 1500.0, "until": 60.0}],
    }
    view = View((), road, 1480.0, None, {}, True, 3)
    rows = [s.text for s in compose_frame(view, 100, 7)]
    end = rows[5].index("◣")  # where the acceleration lane ends
    assert rows[6][end + 5] == " "  # beyond it: no road edge, the lane is gone
    assert rows[4][end + 5] == "━"  # and the main road's edge is solid there
    assert "✖" * 10 in rows[1] and "▲" in rows[1]  # 20 m blocked, cones before it


def test_tall_terminals_get_roomier_lanes() -> None:
    view = View((CarView(1, 0.0, 505.0, 20.0, FLAG_PLAYER),), ROAD, 500.0, 1, {}, True, 3)
    rows = [s.text for s in compose_frame(view, 60, 15)]
    assert rows[1].startswith("━") and rows[13].startswith("━")  # 4 rows per lane
    assert "◆" in rows[11]


def test_a_ring_shorter_than_the_view_shows_its_cars_round_again() -> None:
    road = {"length": 60.0, "lanes": 1}  # 30 columns of road in a 100-column view
    view = View((CarView(7, 0.0, 10.0, 5.0, FLAG_BRAKING),), road, 10.0, None, {}, True, 1)
    rows = [s.text for s in compose_frame(view, 100, 3)]
    assert rows[1].count("▮") >= 3


def test_fog_hides_the_road_beyond_sight() -> None:
    road = {**ROAD, "fog": [{"start": 400.0, "end": 700.0, "sight": 20.0}]}
    car_far = CarView(3, 1.0, 560.0, 20.0, 0)  # 60 m ahead: hidden
    car_near = CarView(4, 0.0, 512.0, 20.0, 0)  # 12 m ahead: seen
    rows = frame([car_far, car_near], road=road)
    assert "░" in rows[3] and "█" not in rows[3]
    assert "█" in rows[5]
    clear = frame([car_far], road={**ROAD, "fog": [{"start": 800.0, "end": 900.0, "sight": 20.0}]})
    assert "░" not in "".join(clear)  # fog elsewhere on the ring: clear here


def test_short_rings_are_labelled_in_metres_and_long_ones_in_km() -> None:
    from client.widgets.ring_overview import distance_label

    assert distance_label(115.0, 230.0) == "115m"
    assert distance_label(1250.0, 2500.0) == "1.2km"


def test_a_single_scenario_room_is_not_titled_twice() -> None:
    from client.screens.roomview import phase_label

    room = {"phase": "driving", "round": 1, "rounds": 1, "title": "ring", "scenario": "ring"}
    assert phase_label(room) == "driving · round 1/1"
    assert phase_label({**room, "title": "Shared rules"}).endswith("· Shared rules")


def test_the_round_clock_restarts_with_a_new_rounds_road() -> None:
    """Round 2's room message comes while round 1's last snapshot (t = 15 s) is current; the
    countdown must follow round 2's own time, not add round 1's 15 s to it."""
    from tests.support.fakes import room, snapshot

    state = ClientState()
    state.apply(as_received(room("driving")), 0.0)
    state.apply(as_received(snapshot(300)), 0.0)  # round 1 at t = 15 s
    assert state.seconds_left() == 240.0
    state.apply(as_received({**room("driving"), "round": 2, "clock": 15.0}), 0.0)
    state.apply(as_received(snapshot(1)), 0.0)  # round 2's first snapshot, t = 0.05 s
    state.apply(as_received(snapshot(81)), 0.0)  # 4 s later
    left = state.seconds_left()
    assert left is not None and abs(left - 11.0) < 1e-6
