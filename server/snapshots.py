"""Per-client snapshots: what each client needs to draw this tick, and no more.

The work is split in two so that a room of forty clients does not redo forty times what
is the same for all: `TickView` packs every car once per tick (sorted along the ring) and the
ring summary once; `snapshot_for` then slices the cars around one client's own car with a
binary search and adds its `you` detail. Everything on the wire is quantised
(`shared.protocol.pack_car`): a car row is about a dozen bytes of msgpack.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from typing import Any

from shared.protocol import (
    FLAG_AEB,
    FLAG_BRAKING,
    FLAG_CRASHED,
    FLAG_HAZARD,
    FLAG_PLAYER,
    FLAG_SIGNAL_LEFT,
    FLAG_SIGNAL_RIGHT,
    FLAG_TRUCK,
    RING_SEGMENTS,
    pack_car,
    pack_ring,
)

VIEW_BEHIND_M = 120.0  # the drive screen shows more road ahead than behind
VIEW_AHEAD_M = 240.0
TRUCK_LENGTH_M = 8.0  # anything longer than this is drawn as a truck

# Events everyone hears about, wherever they happen on the ring.
GLOBAL_EVENTS = frozenset({"crash", "incident_start", "incident_clear", "shock", "notice"})
# Events worth a line in the feed when they happen within a client's view.
LOCAL_EVENTS = frozenset({"near_miss", "hard_brake", "takeover", "handback", "violation"})


def car_row(car: Any) -> tuple[int, int, int, int, int]:
    """One car as a snapshot row (see docs/protocol.md for the layout and flag bits).

    This runs for every car of every room on every tick, so the flags are composed inline
    rather than through `car_flags` (same bits; a test checks they agree); the quantisation
    is `pack_car`'s, so there is one definition of the row.
    """
    flags = 0
    if car.braking:
        flags |= FLAG_BRAKING
    signal = car.signal
    if signal < 0:
        flags |= FLAG_SIGNAL_LEFT
    elif signal > 0:
        flags |= FLAG_SIGNAL_RIGHT
    if car.hazard:
        flags |= FLAG_HAZARD
    if car.controller == "player":
        flags |= FLAG_PLAYER
    if car.crashed:
        flags |= FLAG_CRASHED
    if car.length > TRUCK_LENGTH_M:
        flags |= FLAG_TRUCK
    if getattr(car, "aeb", False):
        flags |= FLAG_AEB
    return pack_car(car.id, car.lane, car.x, car.v, flags)


class TickView:
    """The parts of this tick's snapshots that every client shares."""

    def __init__(self, world: Any) -> None:
        self.length = float(world.length)
        cars = sorted(world.cars.values(), key=lambda c: c.x)
        self.xs = [c.x for c in cars]
        self.rows = [car_row(c) for c in cars]
        self.all_rows = sorted(self.rows)  # by id, for full views
        self.ring = pack_ring(world.ring_summary(RING_SEGMENTS))

    def rows_near(self, x: float) -> list[tuple[int, int, int, int, int]]:
        """Cars from VIEW_BEHIND_M behind x to VIEW_AHEAD_M ahead, across the ring's seam."""
        if self.length <= VIEW_BEHIND_M + VIEW_AHEAD_M:
            return self.all_rows
        lo, hi = x - VIEW_BEHIND_M, x + VIEW_AHEAD_M
        spans = []
        if lo < 0:
            spans.append((lo + self.length, self.length))
            spans.append((0.0, hi))
        elif hi >= self.length:
            spans.append((lo, self.length))
            spans.append((0.0, hi - self.length))
        else:
            spans.append((lo, hi))
        out: list[tuple[int, int, int, int, int]] = []
        for a, b in spans:
            out.extend(self.rows[bisect_left(self.xs, a) : bisect_right(self.xs, b)])
        return out

    def near(self, x: float, other_x: float) -> bool:
        """Whether other_x lies within the view window around x."""
        d = (other_x - x) % self.length
        return d <= VIEW_AHEAD_M or self.length - d <= VIEW_BEHIND_M


def you_detail(world: Any, car_id: int) -> dict[str, Any] | None:
    """The client's own car in detail, for the HUD (units: m, m/s, km/h, s).

    Only what the car row does not already say: position, lane and lights are in the row
    too, but the HUD wants them without searching the rows. Kept lean because it goes out
    twenty times a second to every player (floats cost 9 bytes each in msgpack).
    """
    car = world.cars.get(car_id)
    if car is None:
        return None
    gap_m, leader = world.leader_of(car_id)
    gap_s = None
    if leader is not None and gap_m is not None and car.v > 0.5:
        gap_s = round(min(gap_m / car.v, 99.0), 1)
    return {
        "car": car.id,
        "lane": car.lane_index,
        "x": round(car.x, 1),
        "v": round(car.v, 2),
        "target_kmh": round(car.target_speed * 3.6),
        "gap_s": gap_s,
        "signal": int(car.signal),
        "hazard": bool(car.hazard),
        "crashed": bool(car.crashed),
        "assist": bool(car.assist),
        "gap_setting": int(car.gap_setting),
        "distance": int(car.distance),
        "controller": car.controller,
    }


def feed_for(
    feed: Iterable[Mapping[str, Any]], view: TickView | None, x: float | None, car: int | None
) -> list[dict[str, Any]]:
    """The event-feed lines one client gets this tick: global ones, its own, nearby ones."""
    out = []
    for item in feed:
        kind = item["kind"]
        mine = car is not None and item.get("car") == car
        if kind in GLOBAL_EVENTS or mine:
            keep = True
        elif kind in LOCAL_EVENTS:
            keep = x is None or view is None or view.near(x, item.get("x", x))
        else:
            keep = False
        if keep:
            line = {"kind": kind, "text": item["text"]}
            if item.get("car") is not None:
                line["car"] = item["car"]
            out.append(line)
    return out


def snapshot_for(
    world: Any,
    view: TickView,
    car: int | None,
    full: bool,
    feed: Iterable[Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The snapshot message for one client: its car (if any) and what it can see."""
    you = you_detail(world, car) if car is not None else None
    x = you["x"] if you is not None else None
    if full or x is None:
        rows = view.all_rows
        events = feed_for(feed, None, None, car)
    else:
        rows = view.rows_near(x)
        events = feed_for(feed, view, x, car)
    msg: dict[str, Any] = {
        "type": "snapshot",
        "tick": world.tick,
        "t": round(float(getattr(world, "t", world.tick * 0.05)), 2),
        "cars": rows,
        "ring": view.ring,
        "events": events,
    }
    if you is not None:
        msg["you"] = you
    if extra:
        msg.update(extra)
    return msg
