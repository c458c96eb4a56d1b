"""Per-client snapshots: what each client needs to draw this tick, and no more.

The work is split in two so that a room of forty clients does not redo forty times what
is the same for all: `TickView` packs every car once per tick (sorted along the ring) and the
ring summary once; `snapshot_for` then slices the cars around one client's own car with a
binary search and adds its `you` detail; `SnapshotEncoder` packs the shared part of the frame
once, and the server sends one whole-ring frame to every car-less host and spectator.
Everything on the wire is quantised (`shared.protocol.pack_car`): a car row is about a dozen
bytes of msgpack.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgpack

from shared.protocol import MAX_FRAME_BYTES, ProtocolError
from shared.sim.tuning import DT
from shared.tickview import (  # noqa: F401 (re-exported for the server's modules and tests)
    TRUCK_LENGTH_M,
    VIEW_AHEAD_M,
    VIEW_BEHIND_M,
    TickView,
    car_row,
    car_rows,
)

# Events everyone hears about, wherever they happen on the ring.
GLOBAL_EVENTS = frozenset({"crash", "incident_start", "incident_clear", "shock", "notice"})
# Events worth a line in the feed when they happen within a client's view.
LOCAL_EVENTS = frozenset({"near_miss", "hard_brake", "takeover", "handback", "violation"})
# Events the whole-ring views (host, projector) count in the team figures (`team.hard_brakes`)
# instead of naming each driver in a line: a room watching "Ana braked hard" scroll by is
# public blame, which docs/workshop.md asks facilitators to avoid.
COUNTED_NOT_NAMED = frozenset({"hard_brake"})


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
        "x": round(car.x * 10) / 10,  # the row's decimetres (round(x, 1) is three times slower)
        "v": round(car.v * 100) / 100,
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
    feed: Iterable[Mapping[str, Any]],
    view: TickView | None,
    x: float | None,
    car: int | None,
    whole_ring: bool = False,
) -> list[dict[str, Any]]:
    """The event-feed lines one client gets this tick: global ones, its own, nearby ones; a
    whole-ring view gets no one else's lines of the kinds in COUNTED_NOT_NAMED."""
    out = []
    for item in feed:
        kind = item["kind"]
        mine = car is not None and item.get("car") == car
        if kind in GLOBAL_EVENTS or mine:
            keep = True
        elif whole_ring and kind in COUNTED_NOT_NAMED:
            keep = False
        elif kind in LOCAL_EVENTS:
            keep = x is None or view is None or view.near(x, item.get("x", x))
        else:
            keep = False
        if keep:
            line = {"kind": kind, "text": item["text"]}
            if item.get("car") is not None:
                line["car"] = item["car"]
            if item.get("count") is not None:
                line["count"] = item["count"]
            out.append(line)
    return out


class SnapshotEncoder:
    """Encodes this tick's snapshot frames, the parts every client shares packed only once.

    A snapshot is a msgpack map; a map is its header followed by its key/value pairs in any
    order, so `type`, `tick`, `t` and `ring` are packed once per tick and each client's frame
    is that prefix plus its own `cars`, `events`, `you` (and `team`), packed with one reused
    Packer. The frame is byte-for-byte a valid msgpack map, decoded like any other message.
    """

    def __init__(self, world: Any, view: TickView) -> None:
        self._packer = msgpack.Packer(use_bin_type=True, autoreset=True)
        pack = self._packer.pack
        t = round(float(getattr(world, "t", world.tick * DT)), 2)
        self._common = b"".join(
            (
                pack("type"),
                pack("snapshot"),
                pack("tick"),
                pack(world.tick),
                pack("t"),
                pack(t),
                pack("ring"),
                pack(view.ring),
            )
        )
        self._cars_key = pack("cars")
        self._events_key = pack("events")
        self._you_key = pack("you")

    def encode(
        self,
        rows: list[Any],
        events: list[dict[str, Any]],
        you: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> bytes:
        """One client's snapshot frame. Raises ProtocolError("too_big") past the frame limit."""
        pack = self._packer.pack
        n = 6 + (you is not None) + (len(extra) if extra else 0)
        parts = [
            self._packer.pack_map_header(n),
            self._common,
            self._cars_key,
            pack(rows),
            self._events_key,
            pack(events),
        ]
        if you is not None:
            parts.append(self._you_key)
            parts.append(pack(you))
        if extra:
            for key, value in extra.items():
                if key in ("type", "tick", "t", "ring", "cars", "events", "you"):
                    raise ValueError(f"snapshot extra {key!r} would repeat a key")
                parts.append(pack(key))
                parts.append(pack(value))
        data = b"".join(parts)
        if len(data) > MAX_FRAME_BYTES:
            raise ProtocolError("too_big", f"snapshot of {len(data)} bytes exceeds the frame")
        return data


def snapshot_parts(
    world: Any, view: TickView, car: int | None, full: bool, feed: Iterable[Mapping[str, Any]]
) -> tuple[list[Any], list[dict[str, Any]], dict[str, Any] | None]:
    """What one client sees this tick: (car rows, feed lines, its own car's detail or None)."""
    you = you_detail(world, car) if car is not None else None
    x = you["x"] if you is not None else None
    if full or x is None:
        return view.all_rows, feed_for(feed, None, None, car, whole_ring=full), you
    return view.rows_near(x), feed_for(feed, view, x, car), you


def snapshot_for(
    world: Any,
    view: TickView,
    car: int | None,
    full: bool,
    feed: Iterable[Mapping[str, Any]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The snapshot message for one client as a map (the server sends SnapshotEncoder's
    frames, which decode to exactly this)."""
    rows, events, you = snapshot_parts(world, view, car, full, feed)
    msg: dict[str, Any] = {
        "type": "snapshot",
        "tick": world.tick,
        "t": round(float(getattr(world, "t", world.tick * DT)), 2),
        "cars": rows,
        "ring": view.ring,
        "events": events,
    }
    if you is not None:
        msg["you"] = you
    if extra:
        msg.update(extra)
    return msg
