"""What a room sends every tick and on every change: snapshots with the event feed, and the
`room` message within a frame.

Each member gets a snapshot of their own view (server/snapshots.py); watchers without a car
(the host, the projector) share one whole-ring frame, encoded once. The feed lines of a tick
("Ana braked hard ×4") ride in the same snapshots. Periodic extras (team figures, the
minimap's ring) fall on a different tick in each room (`stagger`), so that a server's rooms
do not all do that work on the same tick.
"""

from __future__ import annotations

import contextlib
import logging
import zlib
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from server.feed import FeedCoalescer, feed_text
from server.snapshots import SnapshotEncoder, TickView, snapshot_parts
from shared.messages import RoomState, ServerMessage
from shared.protocol import MAX_ROOM_MEMBERS, ProtocolError, encode

if TYPE_CHECKING:
    from server.room.room import Room

log = logging.getLogger(__name__)

TEAM_EVERY_TICKS = 10  # the team figures change slowly: twice a second is enough
RING_EVERY_TICKS = 5  # the minimap's mean speeds are recomputed 4 times a second
WATCHERS = ("host", "spectator")  # roles that see the whole ring and the team figures


class Fanout:
    """One room's snapshots and feed; the feed lines of the current tick are `feed`."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.feed: list[dict[str, Any]] = []
        self.coalescer = FeedCoalescer()  # "Ana braked hard ×4", not four lines
        self.ring: list[int] | None = None  # the last packed ring summary (minimap)
        self.stagger = zlib.crc32(room.code.encode()) % (TEAM_EVERY_TICKS * RING_EVERY_TICKS)
        self.too_big_logged = False

    def reset(self) -> None:
        """A new round: no coalesced bursts and no minimap carried over from the last one."""
        self.coalescer.reset()
        self.ring = None

    def name_of(self, car: int | None) -> str:
        room = self.room
        if car is None:
            return "someone"
        member = room.roster.by_car(car)
        return member.name if member is not None else f"car {car}"

    def feed_lines(self, events: list[Any], violations: list[Any]) -> list[dict[str, Any]]:
        room = self.room
        lines = []
        for event in events:
            other = self.name_of(event.other) if event.other is not None else "another car"
            text = feed_text(event.kind, self.name_of(event.car), event.lane, other)
            if text is None:
                continue
            if event.kind in ("near_miss", "hard_brake") and room.roster.by_car(event.car) is None:
                continue  # bots' brakes are too many to list; players' are the lesson
            line = self.coalescer.line(event.kind, text, event.car, room.world.tick)
            line["x"] = event.x
            lines.append(line)
        for violation in violations:
            car = getattr(violation, "car", None)
            if car is None or room.roster.by_car(car) is None:
                continue  # bots' breaches count in adherence; listing them would flood the feed
            render = getattr(violation, "render", None)  # fills "{name}" in the template
            text = str(render(self.name_of(car)) if callable(render) else violation.text)
            line = self.coalescer.line("violation", text, car, room.world.tick)
            line["x"] = room.world.cars[car].x if car in room.world.cars else 0.0
            lines.append(line)
        return lines[:20]

    def send_snapshots(self) -> None:
        room = self.room
        world = room.world
        phase = world.tick + self.stagger
        ring = self.ring if phase % RING_EVERY_TICKS else None
        view = TickView(world, ring)
        self.ring = view.ring
        encoder = SnapshotEncoder(world, view)
        extra_team: dict[str, Any] = {}
        metrics: Any = room.observers.get("metrics")
        with_live = phase % TEAM_EVERY_TICKS == 0
        with_scores = metrics is not None and with_live
        members = room.roster.connected()
        team_for_players = room.plan.scoring == "team"
        # the facilitator (host) and the projector (spectators) always see the team figures;
        # players only when the round is scored as a team
        if with_scores and (team_for_players or any(m.role in WATCHERS for m in members)):
            try:
                extra_team["team"] = metrics.live()
            except Exception:
                if room.strict_observers:
                    raise
                log.exception("room %s: metrics.live failed", room.code)
        whole: bytes | None = None  # the whole-ring frame, the same for every car-less watcher
        for member in members:
            conn = member.conn
            assert conn is not None
            car = member.car
            watcher = member.role in WATCHERS
            extra = extra_team if team_for_players or watcher else None
            try:
                if car is None and (watcher or team_for_players):
                    if whole is None:
                        rows, events, _ = snapshot_parts(world, view, None, True, self.feed)
                        whole = encoder.encode(rows, events, None, extra_team)
                    conn.send(whole)
                    continue
                rows, events, you = snapshot_parts(world, view, car, watcher, self.feed)
                if with_scores and you is not None:
                    try:
                        you["score"] = metrics.individual(car)
                    except Exception:
                        if room.strict_observers:
                            raise
                        log.exception("room %s: metrics.individual failed", room.code)
                damper: Any = room.observers.get("damper")
                if damper is not None and you is not None and car == damper.car and with_live:
                    you["damper"] = damper.live()  # the solo coach's figures (server/damper.py)
                conn.send(encoder.encode(rows, events, you, extra))
            except ProtocolError:
                # a view too crowded for one frame: this member misses the tick, the room
                # goes on (logged once a room, not twenty times a second)
                if not self.too_big_logged:
                    self.too_big_logged = True
                    log.error("room %s: a snapshot exceeds the frame limit; skipped", room.code)


def fit_room_message(message: RoomState) -> bytes:
    """The `room` message encoded within the frame limit, whatever the room holds.

    The member cap keeps the roster well inside a frame; should the council's vote list or
    long names still push it over, the per-member votes go first (the tallies stay), then the
    roster is cut to the members a screen needs most (host, connected players) with
    `players_more` counting the rest — never an exception inside a room's tick. A client
    refuses a roster longer than the cap, so it is never sent one.
    """
    players = sorted(
        message.players,
        key=lambda p: (p.get("role") != "host", not p.get("connected"), p.get("id", 0)),
    )
    if len(players) > MAX_ROOM_MEMBERS:
        keep = MAX_ROOM_MEMBERS
        message = replace(message, players=players[:keep], players_more=len(players) - keep)
    with contextlib.suppress(ProtocolError):
        return message.encode()
    council = message.council
    if isinstance(council, dict) and "votes" in council:
        message = replace(message, council={k: v for k, v in council.items() if k != "votes"})
        with contextlib.suppress(ProtocolError):
            return message.encode()
    keep = min(len(players), MAX_ROOM_MEMBERS)
    while keep > 0:
        keep //= 2
        trimmed = replace(message, players=players[:keep], players_more=len(players) - keep)
        with contextlib.suppress(ProtocolError):
            return trimmed.encode()
    bare = replace(
        message, council=None, ring=None, intro=None, players=[], players_more=len(players)
    )
    return bare.encode()


def frame(message: ServerMessage | Mapping[str, Any]) -> bytes:
    """A message's bytes, typed or (the debrief, membership messages) still a map."""
    if isinstance(message, Mapping):
        return encode(message)
    return message.encode()
