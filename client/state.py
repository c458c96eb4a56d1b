"""The client's model of the game: the latest room, snapshot and debrief, and interpolation.

The server sends 20 snapshots a second; a terminal can draw 30–60 frames. Drawing the
latest snapshot as-is makes cars jump every 50 ms, so the drive screen draws the world as it
was a little in the past, interpolated between the two snapshots around that moment (the
netcode practice of rendering about one snapshot behind). Everything here is plain data and
arithmetic — no Textual — so it is cheap to test and to benchmark.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from shared.messages import Debrief, Joined, RoomState, ServerMessage, Snapshot, Welcome
from shared.protocol import (
    FLAG_PLAYER,
    unpack_car,
)

INTERP_DELAY = 0.1
"""Seconds behind the newest snapshot that we draw: two server ticks, so one lost or late
snapshot still leaves a pair to interpolate between."""

MAX_EXTRAPOLATE = 0.25
"""How far past the newest snapshot we let cars coast at their speed before freezing them
(a paused round or a stalled connection should stop the picture, not run it away)."""


OFFSET_WINDOW = 20
"""Snapshots (one second at 20 Hz) over which the clock offset is the minimum."""


@dataclass(frozen=True, slots=True)
class CarView:
    """One car as drawn: where it is at the rendered moment and what its lights say."""

    id: int
    lane: float
    x: float
    v: float
    flags: int

    @property
    def is_player(self) -> bool:
        return bool(self.flags & FLAG_PLAYER)


@dataclass(slots=True)
class _Frame:
    t: float
    arrived: float
    cars: dict[int, tuple[float, float, float, int]]  # id -> (lane, x, v, flags)


def wrap_delta(dx: float, length: float) -> float:
    """The shortest signed distance along a ring of `length` metres (in [-L/2, L/2))."""
    if length <= 0:
        return dx
    half = length / 2
    return (dx + half) % length - half


class Interpolator:
    """Holds the last few snapshots and answers "where was every car at local time `now`?".

    Server time `t` is mapped to the local clock by the smallest (arrival − t) of the last
    second of snapshots: the one that arrived with the least delay sets the offset, so jitter
    only makes a snapshot look late; and because it is a window, a pause or a stall that shifts
    the whole stream is caught up with within a second instead of freezing the picture.
    """

    def __init__(self, length: float = 0.0, keep: int = 8) -> None:
        self.length = length
        self._frames: deque[_Frame] = deque(maxlen=keep)
        self._offsets: deque[float] = deque(maxlen=OFFSET_WINDOW)
        self._offset: float | None = None

    def clear(self) -> None:
        self._frames.clear()
        self._offsets.clear()
        self._offset = None

    def push(self, snapshot: dict[str, Any], arrived: float) -> None:
        t = float(snapshot.get("t", 0.0))
        if self._frames and t < self._frames[-1].t:
            self.clear()  # a new round started: time went back
        cars: dict[int, tuple[float, float, float, int]] = {}
        for row in snapshot.get("cars", ()):
            try:
                car_id, lane, x, v, flags = unpack_car(row)
            except (TypeError, ValueError):
                continue  # a malformed row is skipped, the rest still draws
            if not (
                isinstance(car_id, int)
                and isinstance(flags, int)
                and math.isfinite(lane)
                and math.isfinite(x)
                and math.isfinite(v)
                and abs(x) < 1e7
            ):
                continue
            cars[car_id] = (min(max(float(lane), -1.0), 8.0), float(x), float(v), flags)
        self._frames.append(_Frame(t, arrived, cars))
        self._offsets.append(arrived - t)
        target = min(self._offsets)
        if self._offset is None or target < self._offset or target - self._offset > 0.1:
            self._offset = target  # first frame, an earlier frame, or a resync after a pause
        else:
            self._offset += (target - self._offset) * 0.1  # ease: no visible jump backwards

    @property
    def latest_t(self) -> float | None:
        return self._frames[-1].t if self._frames else None

    def render_time(self, now: float) -> float | None:
        """The server time drawn at local time `now`."""
        if not self._frames or self._offset is None:
            return None
        return now - self._offset - INTERP_DELAY

    def cars_at(self, now: float) -> list[CarView]:
        """Every known car at the moment drawn at `now`, interpolated or briefly coasted."""
        t = self.render_time(now)
        if t is None:
            return []
        frames = self._frames
        newest = frames[-1]
        if t >= newest.t or len(frames) == 1:
            ahead = min(max(t - newest.t, 0.0), MAX_EXTRAPOLATE)
            return [
                CarView(cid, lane, self._wrap(x + v * ahead), v, flags)
                for cid, (lane, x, v, flags) in newest.cars.items()
            ]
        older = frames[0]
        newer = frames[-1]
        for i in range(len(frames) - 1, 0, -1):
            if frames[i - 1].t <= t:
                older, newer = frames[i - 1], frames[i]
                break
        else:
            return [
                CarView(cid, lane, x, v, flags) for cid, (lane, x, v, flags) in older.cars.items()
            ]
        span = newer.t - older.t
        alpha = 1.0 if span <= 0 else min(max((t - older.t) / span, 0.0), 1.0)
        out: list[CarView] = []
        old_cars = older.cars
        for cid, (lane1, x1, v1, flags1) in newer.cars.items():
            prev = old_cars.get(cid)
            if prev is None:
                out.append(CarView(cid, lane1, x1, v1, flags1))
                continue
            lane0, x0, v0, _flags0 = prev
            dx = wrap_delta(x1 - x0, self.length)
            out.append(
                CarView(
                    cid,
                    lane0 + (lane1 - lane0) * alpha,
                    self._wrap(x0 + dx * alpha),
                    v0 + (v1 - v0) * alpha,
                    flags1,
                )
            )
        return out

    def _wrap(self, x: float) -> float:
        return x % self.length if self.length > 0 else x


def finite(value: Any, default: Any = None) -> Any:
    """`value` as a float if it is a real, finite number (not a bool), else `default`.

    The server is trusted to be well-formed but the client is not allowed to crash when it
    is not: msgpack carries NaN and infinities, and nested maps are not schema-checked.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    return default


def _clean_items(raw: Any, fields: dict[str, type]) -> list[dict[str, Any]]:
    out = []
    for item in raw if isinstance(raw, list) else ():
        if not isinstance(item, dict):
            continue
        clean: dict[str, Any] = {}
        for key, kind in fields.items():
            value = item.get(key)
            if kind is int:
                if isinstance(value, int) and not isinstance(value, bool) and -1 <= value <= 16:
                    clean[key] = value
            elif finite(value) is not None:
                clean[key] = finite(value)
        if len(clean) == len(fields):
            out.append(clean)
    return out


def sanitize_road(raw: Any) -> dict[str, Any]:
    """The road description keeping only well-formed parts (drawing code relies on types)."""
    if not isinstance(raw, dict):
        return {}
    road: dict[str, Any] = {}
    length = finite(raw.get("length"))
    # (a ring of a few atoms would be drawn as millions of copies of each car)
    if length is not None and 1.0 <= length < 1e7:
        road["length"] = length
    lanes = raw.get("lanes")
    if isinstance(lanes, int) and not isinstance(lanes, bool) and 1 <= lanes <= 6:
        road["lanes"] = lanes
    gantry = finite(raw.get("gantry"))
    if gantry is not None:
        road["gantry"] = gantry
    road["closures"] = _clean_items(
        raw.get("closures"), {"lane": int, "start": float, "end": float, "warn": float}
    )
    road["ramps"] = _clean_items(raw.get("ramps"), {"lane": int, "start": float, "end": float})
    road["incidents"] = _clean_items(raw.get("incidents"), {"lane": int, "x": float})
    road["speed_zones"] = _clean_items(
        raw.get("speed_zones"), {"start": float, "end": float, "limit": float}
    )
    road["fog"] = _clean_items(raw.get("fog"), {"start": float, "end": float, "sight": float})
    return road


def _plain_value(value: Any) -> bool:
    """A bool, a short string or a finite number of sane size: safe to show in the HUD."""
    if isinstance(value, bool):
        return True
    if isinstance(value, str):
        return len(value) <= 64
    if isinstance(value, int):
        return abs(value) < 2**53
    return isinstance(value, float) and math.isfinite(value)


def _sanitize_you(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, dict):
        return None
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        if _plain_value(value):
            clean[key] = value
        elif isinstance(value, dict) and key == "score":
            clean[key] = {k: v for k, v in value.items() if finite(v) is not None}
        elif isinstance(value, dict) and key == "damper":
            clean[key] = _sanitize_damper(value)
    return clean


def _sanitize_damper(raw: dict[Any, Any]) -> dict[str, Any]:
    """The damper challenge's live figures: numbers, flags and the coach's one sentence."""
    clean: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str):
            continue
        coach = key == "coach" and isinstance(value, str) and len(value) <= 300
        if coach or isinstance(value, bool) or finite(value) is not None:
            clean[key] = value
    return clean


@dataclass
class ClientState:
    """What the app knows about the game; the single place screens read it from."""

    code: str | None = None
    role: str | None = None  # "host" | "player" | "spectator"
    token: str | None = None
    player: int | None = None
    car: int | None = None
    room: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None
    debrief: dict[str, Any] | None = None
    welcome: dict[str, Any] | None = None
    team: dict[str, Any] | None = None  # the latest team figures (sent every few ticks)
    individual: dict[str, Any] | None = None  # the latest of your own figures
    damper: dict[str, Any] | None = None  # the latest damper figures (solo damper challenge)
    room_t: float | None = None  # snapshot time when the latest room message came
    connection: str = "idle"  # idle | connecting | connected | lost | closed
    connection_note: str = ""
    interpolator: Interpolator = field(default_factory=Interpolator)
    _road: dict[str, Any] = field(default_factory=dict)

    @property
    def phase(self) -> str | None:
        return self.room.get("phase") if self.room else None

    @property
    def road(self) -> dict[str, Any]:
        """The road description sent with the room (`world.road()`), or an empty road."""
        return self._road

    @property
    def you(self) -> dict[str, Any] | None:
        if self.snapshot and isinstance(self.snapshot.get("you"), dict):
            return self.snapshot["you"]
        return None

    def seconds_left(self) -> float | None:
        """Seconds left in the round: the room's clock, counted down by snapshot time since."""
        if not self.room or not isinstance(self.room.get("clock"), int | float):
            return None
        left = float(self.room["clock"])
        if self.phase == "driving" and self.snapshot and self.room_t is not None:
            left -= float(self.snapshot.get("t", 0.0)) - float(self.room_t)
        return max(0.0, left)

    def player_names(self) -> dict[int, str]:
        """Car id -> player name, from the room's player list (for labelling player cars)."""
        names: dict[int, str] = {}
        for p in (self.room or {}).get("players", ()):
            if isinstance(p, dict) and isinstance(p.get("car"), int):
                names[p["car"]] = str(p.get("name", ""))
        return names

    def apply(self, message: ServerMessage, arrived: float) -> None:
        """Fold one validated server message into the state. The room, snapshot, debrief
        and welcome are kept as their checked maps (`checked_map`): the widgets read those."""
        match message:
            case Joined():
                self.code = message.code
                self.role = message.role
                self.token = message.token
                self.player = message.player
                self.car = message.car
            case RoomState():
                self._apply_room(message)
            case Snapshot():
                self._apply_snapshot(snapshot_view(message), arrived)
            case Debrief():
                self.debrief = checked_map(message)
            case Welcome():
                self.welcome = checked_map(message)
            case _:
                pass  # chat, notices, replays, errors, pongs and byes change no state

    def _apply_room(self, room: RoomState) -> None:
        msg = checked_map(room)
        self.room = msg
        if "ring" in msg:
            self._road = sanitize_road(msg["ring"])
        for entry in room.players:
            if isinstance(entry, dict) and entry.get("id") == self.player:
                car = entry.get("car")
                self.car = car if isinstance(car, int) else None
        self.room_t = self.snapshot.get("t") if self.snapshot else None
        if room.phase not in ("driving", "paused"):
            self.team = None
            self.damper = None
        length = self.road.get("length")
        if isinstance(length, int | float) and length > 0:
            self.interpolator.length = float(length)

    def _apply_snapshot(self, msg: dict[str, Any], arrived: float) -> None:
        self.snapshot = msg
        if self.room is not None and (self.room_t is None or msg["t"] < self.room_t):
            # the room's clock was read just before this; time going back is a new round's
            # road, whose room message came while the last round's snapshot was current
            self.room_t = float(msg["t"])
        you = self.you or {}
        car = you.get("car")
        if isinstance(car, int):
            self.car = car
        if isinstance(msg.get("team"), dict):
            self.team = msg["team"]
        score = you.get("score")
        if isinstance(score, dict):
            self.individual = score
        elif isinstance(score, int | float):
            self.individual = {"score": score}
        damper = you.get("damper")
        if isinstance(damper, dict):
            self.damper = damper
        self.interpolator.push(msg, arrived)


def snapshot_view(snapshot: Snapshot) -> dict[str, Any]:
    """A snapshot as the screens draw it: its checked map with `you` kept to plain values,
    the ring's speeds as finite floats and `team` only when it is a map."""
    msg = checked_map(snapshot)
    msg["you"] = _sanitize_you(msg.get("you"))
    msg["ring"] = [finite(v, 0.0) for v in msg["ring"]]
    if not isinstance(msg.get("team"), dict):
        msg.pop("team", None)
    return msg


def checked_map(message: ServerMessage) -> dict[str, Any]:
    """A server message's fields as the map the screens render from: its wire map
    (`Message.as_map`, unknown fields included) without the fields the server sent as nil,
    which the schema check treats as absent (shared/messages/schema.py `validate`)."""
    return {name: value for name, value in message.as_map().items() if value is not None}
