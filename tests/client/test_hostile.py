"""Whatever a server sends inside well-typed messages, the client must draw, not crash.

The protocol schema checks top-level fields; nested maps (the road, `you`, `team`) and the
car rows are the client's to check. Hypothesis throws junk there — wrong types, NaN and
infinities, huge numbers — and the road, minimap and HUD must still produce a picture.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from client.state import ClientState
from client.widgets.hud import scores_line, speed_line
from client.widgets.minimap import minimap_rows
from client.widgets.road import View, compose_frame, lanes_of
from shared import protocol as p
from shared.messages import SERVER_TYPES, ServerMessage


def unchecked(msg: dict[str, Any]) -> ServerMessage:
    """A server message as its typed value without the client's gate: junk in the nested
    fields reaches the state as it would if the gate ever let it through."""
    return SERVER_TYPES[msg["type"]].from_map(msg)


junk = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=4)
)
keys = st.sampled_from(
    [
        "length",
        "lanes",
        "gantry",
        "closures",
        "ramps",
        "incidents",
        "speed_zones",
        "lane",
        "start",
        "end",
        "warn",
        "x",
        "limit",
        "v",
        "target_kmh",
        "gap_s",
        "signal",
        "car",
        "score",
        "distance",
        "flow_vph",
        "crashes",
    ]
)
junk_map = st.dictionaries(
    keys, junk | st.lists(st.dictionaries(keys, junk, max_size=5), max_size=2), max_size=8
)
row = st.lists(
    st.integers(-(2**40), 2**40) | st.floats(allow_nan=True) | st.text(max_size=2), max_size=6
)


@settings(max_examples=80, deadline=None)
@given(
    road=junk_map,
    you=junk_map,
    team=junk_map,
    rows=st.lists(row, max_size=8),
    ring=st.lists(st.integers(-5, 10**6) | st.floats(allow_nan=True), max_size=70),
    t=st.floats(0, 1e6),
)
def test_junk_in_nested_fields_never_crashes_the_drawing(road, you, team, rows, ring, t) -> None:
    state = ClientState()
    state.apply(
        unchecked({"type": "joined", "code": "KX7PQ", "role": "player", "token": "t", "player": 1}),
        0.0,
    )
    room = {
        "type": "room",
        "code": "KX7PQ",
        "phase": "driving",
        "players": [],
        "scenario": "s",
        "rulebook": {},
        "round": 1,
        "rounds": 1,
        "locked": False,
        "clock": 10.0,
        "ring": road,
    }
    state.apply(unchecked(room), 0.0)
    for k in range(2):
        snap = {
            "type": "snapshot",
            "tick": k,
            "t": t + k * 0.05,
            "you": you,
            "cars": rows,
            "ring": ring,
            "events": [],
            "team": team,
        }
        state.apply(unchecked(snap), 0.05 * k)
    cars = state.interpolator.cars_at(0.3)
    assert all(math.isfinite(c.x) and math.isfinite(c.lane) for c in cars)
    view = View(tuple(cars), state.road, 0.0, 1, {}, True, lanes_of(state.road, cars))
    assert len(compose_frame(view, 80, 12)) == 12
    assert (
        len(
            minimap_rows(
                (state.snapshot or {})["ring"], 80, state.road.get("length", 0.0), 0.0, state.road
            )
        )
        == 2
    )
    speed_line(state.you, 3)
    scores_line(state.you, state.team, "0:01", state.individual)


def test_an_absurd_warning_distance_draws_only_the_signs_in_view() -> None:
    """warn = 1e12 m once meant a loop of 10^10 signs: the client froze."""
    road = {
        "length": 5000.0,
        "lanes": 3,
        "closures": [{"lane": 2, "start": 900.0, "end": 1200.0, "warn": 1e12}],
    }
    state = ClientState()
    state.apply(
        unchecked(
            {
                "type": "room",
                "code": "KX7PQ",
                "phase": "driving",
                "players": [],
                "scenario": "s",
                "rulebook": {},
                "round": 1,
                "rounds": 1,
                "locked": False,
                "clock": 1.0,
                "ring": road,
            }
        ),
        0.0,
    )
    rows = [s.text for s in compose_frame(View((), state.road, 800.0, None, {}, True, 3), 80, 9)]
    assert sum(r.count("⚠") for r in rows) <= 2


def test_lobby_shows_an_unknown_rule_option_as_sent() -> None:
    from client.screens.lobby import rule_lines

    lines = rule_lines({"passing": "[red]sideways[/]", "signal": ["x"]})
    assert "Passing side: [red]sideways[/]" in lines
    assert any(line.startswith("Signal before changing lanes: ") for line in lines)


def test_a_server_saying_a_speed_or_a_ring_length_past_reason_draws_a_frame() -> None:
    """Found by the test above with more examples: 1e307 m/s overflowed the HUD's km/h, and a
    ring 1e-268 m long asked the road for millions of images of each car."""
    state = ClientState()
    state.apply(
        unchecked({"type": "joined", "code": "KX7PQ", "role": "player", "token": "t", "player": 1}),
        0,
    )
    room = {"type": "room", "code": "KX7PQ", "phase": "driving", "players": [], "scenario": "s"}
    state.apply(
        unchecked(
            {
                **room,
                "rulebook": {},
                "round": 1,
                "rounds": 1,
                "locked": False,
                "clock": 1.0,
                "ring": {"length": 4.6e-268, "lanes": 2},
            }
        ),
        0.0,
    )
    assert "length" not in state.road
    you = {"car": 1, "v": 4.99e307, "target_kmh": 1e308}
    assert "km/h" in speed_line(you, 2).plain
    cars = [p.pack_car(1, 0, 10.0, 20.0, 0)]
    for k in range(2):
        state.apply(
            unchecked(
                {
                    "type": "snapshot",
                    "tick": k,
                    "t": k * 0.05,
                    "you": you,
                    "cars": cars,
                    "ring": [],
                    "events": [],
                }
            ),
            0.05 * k,
        )
    view_cars = state.interpolator.cars_at(0.3)
    road = {"length": 1e-3, "lanes": 2}  # what the drawing would get if the state let it by
    view = View(tuple(view_cars), road, 0.0, 1, {}, True, lanes_of(road, view_cars))
    assert len(compose_frame(view, 80, 12)) == 12
