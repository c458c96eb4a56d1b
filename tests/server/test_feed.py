"""The event feed's wording and coalescing, and one lane numbering on every surface.

Stepped tick by tick through a real Room (fake world, fake sends); the world's events are
scripted per tick, so "within the coalescing window" is a number of ticks, never a sleep.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from client.screens.replay import ReplayScreen
from client.widgets.feed import EventFeed
from client.widgets.hud import speed_line
from client.widgets.road import View, compose_frame
from server.feed import WINDOW_TICKS, FeedCoalescer, feed_text, shock_incident_text
from shared.lanes import lane_name, lane_number
from shared.messages import parse_client_message
from shared.sim.events import Event
from tests.server.test_room import FakeConn, make_room


def scripted(room: Any, script: dict[int, list[tuple[str, int | None, int]]]) -> None:
    """Make the room's world emit `script[tick]` = [(kind, car, lane)] on those ticks."""
    world = room.world
    step = world.step

    def step_with_events(controls: dict[int, list[tuple[str, Any]]]) -> list[Any]:
        tick = world.tick
        step(controls)
        out = []
        for kind, car, lane in script.get(tick, []):
            x = world.cars[car].x if car is not None else 100.0
            out.append(Event(tick, kind, car, x, lane))
        return out

    world.step = step_with_events


def feed_lines(conn: FakeConn, kind: str | None = None) -> list[dict[str, Any]]:
    return [
        line
        for snap in conn.of("snapshot")
        for line in snap["events"]
        if kind is None or line["kind"] == kind
    ]


def test_a_stop_is_one_coalesced_line_and_watchers_only_count_it() -> None:
    room, _ = make_room()
    host_conn, spec_conn, ana_conn = FakeConn(), FakeConn(), FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=False)
    room.join("Sam", "spectator", spec_conn)
    ana = room.join("Ana", "player", ana_conn)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    car = ana.car
    assert car is not None
    later = 4 + WINDOW_TICKS + 1  # the next stop, after the window: a new event
    scripted(room, {t: [("hard_brake", car, 1)] for t in (0, 1, 2, 3, later)})
    for _ in range(later + 2):
        room.step()
    mine = feed_lines(ana_conn, "hard_brake")
    assert [line["text"] for line in mine] == [
        "Ana braked hard",
        "Ana braked hard ×2",
        "Ana braked hard ×3",
        "Ana braked hard ×4",
        "Ana braked hard",
    ]
    assert [line.get("count") for line in mine] == [None, 2, 3, 4, None]
    # the projector and the facilitator: no names, the team figures carry the count
    assert feed_lines(spec_conn, "hard_brake") == [] and feed_lines(host_conn, "hard_brake") == []


def test_the_client_feed_merges_a_coalesced_run_into_one_line() -> None:
    """What the player sees from those five lines: two entries, the first "×4"."""
    feed = EventFeed()
    texts = ["Ana braked hard", "Ana braked hard ×2", "Ana braked hard ×3", "Ana braked hard ×4"]
    for count, text in enumerate(texts, start=1):
        feed.add_events([{"kind": "hard_brake", "text": text, "car": 7, "count": count}], 1.0)
    feed.add_events([{"kind": "notice", "text": "The round goes on"}], 2.0)
    feed.add_events([{"kind": "notice", "text": "The round goes on"}], 3.0)
    feed.add_events([{"kind": "hard_brake", "text": "Ana braked hard", "car": 7}], 30.0)
    shown = [entry.shown() for entry in feed.entries]
    assert shown == ["Ana braked hard ×4", "The round goes on ×2", "Ana braked hard"]


@given(st.lists(st.integers(0, 2000), max_size=40))
def test_coalesced_counts_restart_after_a_quiet_window(gaps: list[int]) -> None:
    """A count grows by one per repeat within the window and starts again at 1 after it."""
    coalescer = FeedCoalescer()
    tick, expected = 0, 0
    for gap in gaps:
        tick += gap
        expected = expected + 1 if expected and gap <= WINDOW_TICKS else 1
        line = coalescer.line("hard_brake", "Ana braked hard", 3, tick)
        assert line.get("count", 1) == expected
        assert line["text"].endswith(f"×{expected}") == (expected > 1)


def test_every_surface_names_the_same_lane_the_same_way() -> None:
    """Internal lane 2 of 3 (the leftmost) is "lane 3" on the HUD, the closure sign, the feed,
    a shock, the replay's status line and the server's incident line."""
    index, shown = 2, "lane 3"
    assert lane_name(index) == shown and lane_number(0) == 1  # 1 = the rightmost
    surfaces: dict[str, str] = {}
    surfaces["hud"] = speed_line({"lane": index, "v": 25.0}, 3).plain
    closure = {"lane": index, "start": 540.0, "end": 700.0, "warn": 100.0}
    road = {"length": 1000.0, "lanes": 3, "closures": [closure]}
    rows = compose_frame(View((), road, 500.0, None, {}, True, 3), 80, 11)
    surfaces["sign"] = next(s.text for s in rows if "ends" in s.text)
    surfaces["feed"] = feed_text("incident_start", "", index) or ""
    surfaces["cleared"] = feed_text("incident_clear", "", index) or ""
    surfaces["shock"] = shock_incident_text(index)
    surfaces["replay"] = ReplayScreen.lane_words(float(index))
    room, _ = make_room()
    conn = FakeConn()
    host = room.join("Host", "host", conn, wants_car=False)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    scripted(room, {0: [("incident_start", None, index)]})
    room.step()
    surfaces["room"] = feed_lines(conn, "incident_start")[0]["text"]
    for where, text in surfaces.items():
        assert shown in text, (where, text)
        assert "lane 2" not in text and "lane 0" not in text, (where, text)


def test_different_breaches_by_one_driver_stay_apart() -> None:
    coalescer = FeedCoalescer()
    hog = "Ana is cruising in the passing lane with nobody to pass"
    cut = "Ana changed lanes without signalling"
    lines = [
        coalescer.line("violation", hog, 3, 0),
        coalescer.line("violation", cut, 3, 20),
        coalescer.line("violation", hog, 3, 200),
    ]
    assert [line["text"] for line in lines] == [hog, cut, f"{hog} ×2"]
    feed = EventFeed()
    feed.add_events([{k: v for k, v in line.items() if k != "x"} for line in lines], 10.0)
    assert [entry.shown() for entry in feed.entries] == [f"{hog} ×2", cut]
