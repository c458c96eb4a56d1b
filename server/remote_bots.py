"""`interlane bots CODE --count N`: bot players that drive through the protocol.

Each bot is an ordinary client: it joins a room by code, reads its snapshots and sends the
same `control` intents a person would (faster/slower, signal, change lane). It fills a
workshop room that is short of people, and it is the load generator of
benchmarks/server_load.py. The brain is deliberately simple and looks only at what a
player's client sees (`you` and the nearby car rows), so it exercises the real data path.

As a load generator a thousand bots share one process (and the machine of the server they
measure), so a bot reads every frame only as far as it needs (snapshot_tick) and naps
between the snapshots its brain looks at (_play).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from shared.protocol import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    ProtocolError,
    encode,
    parse_server_frame,
    unpack_car,
)

DECIDE_EVERY_TICKS = 10  # a bot thinks twice a second: about a person's pace
SIGNAL_SECONDS = 2.2  # signal this long before moving (the "required" convention)

# Napping between decisions (see _play).
TICK_SECONDS = 0.05  # a snapshot every server tick, 20 times a second (docs/protocol.md)
WAKE_EARLY_SECONDS = 0.02  # a nap ends this long before the next snapshot to look at is due
MIN_NAP_SECONDS = 0.1  # a shorter nap would save little
WAITED_SECONDS = 0.001  # a recv this long had to wait for a frame (one there takes µs)
SLOW_TICK_SECONDS = 4 * TICK_SECONDS  # a server this slow is behind; slower: it stopped
MAX_QUEUE = 0  # websockets stops reading the socket while a frame waits for the bot

# How the server's SnapshotEncoder starts every snapshot: a small map whose first pairs are
# "type": "snapshot" and "tick": <int>. msgpack allows any key order, so a frame laid out
# otherwise is simply parsed in full.
SNAPSHOT_HEAD = b"\xa4type\xa8snapshot\xa4tick"
_TICK_AT = 1 + len(SNAPSHOT_HEAD)
_UINT_BYTES = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8}  # msgpack uint 8/16/32/64 markers


@dataclass
class BotBrain:
    """Lane and speed choices from one snapshot; keeps only its own little state."""

    rng: random.Random
    cruise_kmh: int = 110
    lanes: int = 3
    _signal_since: float | None = None
    _signal_dir: int = 0
    _last_tick: int = -(10**9)

    def due(self, tick: int) -> bool:
        """Whether a snapshot of this tick is one the brain looks at (else it is only counted).

        A tick before the last one looked at is a new round's (its world starts at 0 again).
        """
        return tick - self._last_tick >= DECIDE_EVERY_TICKS or tick < self._last_tick

    @property
    def next_tick(self) -> int:
        """The first tick the brain will look at again."""
        return self._last_tick + DECIDE_EVERY_TICKS

    def decide(self, snap: dict[str, Any]) -> list[dict[str, Any]]:
        """The controls to send after this snapshot (usually none)."""
        you = snap.get("you")
        tick = int(snap.get("tick", 0))
        if not isinstance(you, dict) or not self.due(tick):
            return []
        if tick < self._last_tick:  # a new round: a signal of the last one is long over
            self._signal_dir, self._signal_since = 0, None
        self._last_tick = tick
        out: list[dict[str, Any]] = []
        target = int(you.get("target_kmh", 0))
        if target < self.cruise_kmh - 5:
            out.append({"type": "control", "action": "faster"})
        elif target > self.cruise_kmh + 5:
            out.append({"type": "control", "action": "slower"})
        out.extend(self._lane_choice(snap, you))
        return out

    def _lane_choice(self, snap: dict[str, Any], you: dict[str, Any]) -> list[dict[str, Any]]:
        lane = int(you.get("lane", 0))
        x = float(you.get("x", 0.0))
        kmh = float(you.get("v", 0.0)) * 3.6
        t = float(snap.get("t", 0.0))
        cars = [unpack_car(row) for row in snap.get("cars", ()) if len(row) >= 5]
        me = you.get("car")
        leader_v = None
        for car_id, car_lane, car_x, v, _flags in cars:
            if car_id == me or round(car_lane) != lane:
                continue
            ahead = car_x - x
            if 0 < ahead < 80 and (leader_v is None or v < leader_v):
                leader_v = v * 3.6
        if self._signal_dir:
            # signalled long enough: move if the lane is still free, else give up
            if self._signal_since is not None and t - self._signal_since >= SIGNAL_SECONDS:
                direction, self._signal_dir, self._signal_since = self._signal_dir, 0, None
                action = "left" if direction > 0 else "right"
                free = self._lane_free(cars, me, lane + direction, x)
                cancel = {
                    "type": "control",
                    "action": "signal_left" if direction > 0 else "signal_right",
                }
                if free:
                    return [{"type": "control", "action": action}, cancel]
                return [cancel]
            return []
        # keep right when the right lane is free and nobody slow is ahead there
        if lane > 0 and self._lane_free(cars, me, lane - 1, x, ahead_m=120):
            return self._start_signal(-1, t)
        slow_ahead = leader_v is not None and leader_v < min(kmh, self.cruise_kmh) - 15
        if slow_ahead and lane + 1 < self.lanes and self._lane_free(cars, me, lane + 1, x):
            return self._start_signal(+1, t)
        return []

    def _start_signal(self, direction: int, t: float) -> list[dict[str, Any]]:
        if self.rng.random() < 0.3:
            return []  # not every chance is taken: bots differ a little
        self._signal_dir, self._signal_since = direction, t
        action = "signal_left" if direction > 0 else "signal_right"
        return [{"type": "control", "action": action}]

    @staticmethod
    def _lane_free(
        cars: list[tuple[int, float, float, float, int]],
        me: Any,
        lane: int,
        x: float,
        behind_m: float = 25.0,
        ahead_m: float = 35.0,
    ) -> bool:
        if lane < 0:
            return False
        for car_id, car_lane, car_x, _v, _flags in cars:
            if car_id == me or abs(car_lane - lane) > 0.6:
                continue
            if -behind_m < car_x - x < ahead_m:
                return False
        return True


@dataclass
class BotStats:
    """What the load generator measured on the client side."""

    snapshots: int = 0
    snapshot_bytes: int = 0
    other: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    controls: int = 0
    joined: int = 0
    disconnects: int = 0


def packed_snapshot(buf: bytes | bytearray, at: int = 0) -> bool:
    """Whether the message at `at` starts as the server packs a snapshot: a small map (a
    fixmap marker) whose first pairs are "type": "snapshot" and "tick". The caller checks
    that the message is longer than the head (`_TICK_AT`)."""
    return 0x80 <= buf[at] <= 0x8F and buf.startswith(SNAPSHOT_HEAD, at + 1)


def snapshot_tick(frame: bytes | str) -> int | None:
    """The tick of a snapshot frame packed the way the server packs it, else None.

    The brain looks at one snapshot in DECIDE_EVERY_TICKS, so only that one needs
    parse_server_frame; for the others a few bytes say all a bot needs (that it is a snapshot,
    and of which tick), where unpacking and validating the whole map cost most of a frame's
    time in a load generator. None (anything else: another message, another key order, a
    negative tick, a text frame, a frame cut short of its tick) means "parse it in full".
    The rest of a snapshot that is not looked at is not checked; one that is, is.
    """
    if type(frame) is not bytes or len(frame) <= _TICK_AT or not packed_snapshot(frame):
        return None
    marker = frame[_TICK_AT]
    if marker < 0x80:  # positive fixint
        return marker
    size = _UINT_BYTES.get(marker)
    end = _TICK_AT + 1 + (size or 0)
    if size is None or len(frame) < end:
        return None
    return int.from_bytes(frame[_TICK_AT + 1 : end], "big")


async def drive_bot(
    url: str,
    code: str,
    name: str,
    stats: BotStats,
    deadline: float | None,
    seed: int,
    stop: asyncio.Event | None = None,
) -> None:
    """One bot for its whole life: join, drive, rejoin with its token after a drop.

    `deadline` is a time.monotonic() value after which the bot leaves; `stop` ends it at its
    next frame (or before its next connection attempt).
    """
    loop_deadline = None
    if deadline is not None:
        loop_deadline = asyncio.get_running_loop().time() + (deadline - time.monotonic())
    try:
        async with asyncio.timeout_at(loop_deadline):
            await _drive(url, code, name, stats, seed, stop)
    except TimeoutError:  # the deadline (a connect timeout is handled inside)
        return


@dataclass
class Seat:
    """What a bot keeps from one connection to the next."""

    token: str | None = None
    joined: bool = False  # joined on the current connection


def brain_for(seed: int) -> BotBrain:
    """The bot of `seed`: the same seed drives the same way (and at the same cruise)."""
    return BotBrain(random.Random(seed), cruise_kmh=random.Random(seed).choice([90, 100, 110]))


def join_message(code: str, name: str, seat: Seat) -> dict[str, Any]:
    """The `join` a bot sends on each connection: with its seat's token after a drop."""
    hello: dict[str, Any] = {
        "type": "join",
        "protocol": PROTOCOL_VERSION,
        "code": code,
        "name": name,
        "role": "player",
    }
    if seat.token:
        hello["token"] = seat.token
    return hello


def note_message(msg: Mapping[str, Any], brain: BotBrain, stats: BotStats, seat: Seat) -> bool:
    """What a bot takes from a message that is not a snapshot (its seat, the road's lanes,
    a refusal); False when it is to leave. The map may be unchecked (a light player's)."""
    stats.other += 1
    kind = msg.get("type")
    if kind == "joined":
        token = msg.get("token")
        seat.token = token if isinstance(token, str) else None
        seat.joined = True
        stats.joined += 1
    elif kind == "room" and isinstance(msg.get("ring"), dict):
        lanes = msg["ring"].get("lanes")
        if isinstance(lanes, int) and lanes > 0:
            brain.lanes = lanes
    elif kind == "error":
        code = str(msg.get("code"))
        stats.errors[code] = stats.errors.get(code, 0) + 1
        if code in ("no_room", "locked", "finished", "protocol", "token"):
            return False
    elif kind == "bye":
        return False
    return True


async def _drive(
    url: str, code: str, name: str, stats: BotStats, seed: int, stop: asyncio.Event | None
) -> None:
    brain = brain_for(seed)
    seat = Seat()
    attempts = 0
    while attempts < 5 and not (stop is not None and stop.is_set()):
        attempts += 1
        try:
            async with connect(
                f"{url.rstrip('/')}/r/{code}",  # a front door routes by it (docs/protocol.md)
                compression=None,
                max_size=MAX_FRAME_BYTES,
                max_queue=MAX_QUEUE,
                open_timeout=20,
            ) as ws:
                try:
                    await _play(ws, code, name, brain, stats, seat, stop)
                finally:
                    await _leave(ws)
            return  # the bot left: stopped, told bye, or refused
        except (ConnectionClosed, OSError, TimeoutError, InvalidHandshake):
            stats.disconnects += 1
            if seat.joined:
                attempts, seat.joined = 0, False
            await asyncio.sleep(min(5.0, 0.5 * attempts))


async def _play(
    ws: ClientConnection,
    code: str,
    name: str,
    brain: BotBrain,
    stats: BotStats,
    seat: Seat,
    stop: asyncio.Event | None,
) -> None:
    """Join and drive on one connection, until the bot leaves (returns) or it drops (raises).

    Every frame is received and counted; a snapshot the brain will not look at is only read
    as far as its tick (snapshot_tick), anything else is parsed and validated in full.

    Between the snapshots it looks at, the bot naps. Reading each frame the moment it comes
    costs a wake-up of the process, a read from the socket and a turn of the event loop and
    of websockets, for nothing: napping, the frames wait in the socket (websockets stops
    reading it while a frame waits for the bot, MAX_QUEUE) and are then read in one go. A
    nap starts at a live frame, one the bot had to wait for, and ends WAKE_EARLY_SECONDS
    before the next snapshot to look at is due, counting the ticks at the pace the server
    kept lately, so the brain still decides on a snapshot as it comes. Only a live frame
    starts a nap, so a bot never sleeps on a backlog: one that is late (a busy machine), or
    whose server sends faster than it ticked, reads on until it has caught up. The first
    wait after a nap is for websockets to read what came meanwhile: that frame is not live.
    """
    clock = asyncio.get_running_loop().time
    sleep = asyncio.sleep
    woke = False  # napped since the last wait
    tick_seconds = last_pace = TICK_SECONDS  # the server's pace lately, and the last seen
    last_tick, last_at = -1, 0.0  # the live snapshot the last nap began at, and when
    await ws.send(encode(join_message(code, name, seat)))
    while True:
        if stop is not None and stop.is_set():
            return
        asked = clock()
        frame = await ws.recv()
        got = clock()
        live = False
        if got - asked > WAITED_SECONDS:
            live, woke = not woke, False
        tick = snapshot_tick(frame)
        if tick is not None and not brain.due(tick):
            # read, counted, not looked at: the brain would ignore it
            stats.snapshots += 1
            stats.snapshot_bytes += len(frame)
        elif not await _act(ws, frame, brain, stats, seat):
            return
        if not live or tick is None or not 0 < brain.next_tick - tick <= DECIDE_EVERY_TICKS:
            continue
        if tick > last_tick >= 0:
            pace = (got - last_at) / (tick - last_tick)
            if pace > SLOW_TICK_SECONDS:
                pace = TICK_SECONDS  # a gap (a pause), not a pace
            # the faster of the last two: one slow stretch (a short pause) is not a pace
            tick_seconds, last_pace = max(TICK_SECONDS, min(pace, last_pace)), pace
        nap = (brain.next_tick - tick) * tick_seconds - WAKE_EARLY_SECONDS - (clock() - got)
        if nap >= MIN_NAP_SECONDS:
            last_tick, last_at = tick, got
            await sleep(nap)
            woke = True


async def _act(
    ws: ClientConnection, frame: bytes | str, brain: BotBrain, stats: BotStats, seat: Seat
) -> bool:
    """Parse, check and act on one frame; False when the bot is to leave."""
    try:
        msg = parse_server_frame(frame)
    except ProtocolError:
        stats.errors["bad_frame"] = stats.errors.get("bad_frame", 0) + 1
        return True
    kind = msg["type"]
    if kind == "snapshot":
        stats.snapshots += 1
        stats.snapshot_bytes += len(frame)
        for control in brain.decide(msg):
            await ws.send(encode(control))
            stats.controls += 1
        return True
    return note_message(msg, brain, stats, seat)


async def _leave(ws: ClientConnection) -> None:
    """Close the connection, reading (and dropping) what still comes until it is closed.

    With MAX_QUEUE, websockets stops reading the socket while a frame waits unread, and the
    server's answer to our close comes behind the snapshots it sent before it saw it: without
    this a bot that leaves on its own (stop, deadline) would wait out the close timeout.
    """
    closing = asyncio.ensure_future(ws.close())
    try:
        async for _ in ws:
            pass
    except ConnectionClosed:
        pass
    finally:
        await closing


async def run_bot_clients(
    url: str, code: str, count: int, seconds: float | None, first: int = 1
) -> BotStats:
    """`count` bots in one room, until `seconds` pass (or forever), sharing one stats."""
    stats = BotStats()
    deadline = None if seconds is None else time.monotonic() + seconds
    tasks = [
        asyncio.create_task(drive_bot(url, code, f"Bot {first + i}", stats, deadline, first + i))
        for i in range(count)
    ]
    await asyncio.gather(*tasks)
    return stats


def run_bots(args: argparse.Namespace) -> int:
    """Entry point of `interlane bots CODE --count N [--server URL] [--seconds S]`."""
    code = str(args.code).strip().upper()
    if args.count < 1:
        print("interlane bots: --count must be at least 1", file=sys.stderr)
        return 2
    print(f"{args.count} bots joining {code} on {args.server} (Ctrl-C to stop)", flush=True)
    started = time.monotonic()
    try:
        stats = asyncio.run(run_bot_clients(args.server, code, args.count, args.seconds))
    except InvalidURI as exc:
        print(f"interlane bots: {exc}", file=sys.stderr)
        return 2
    elapsed = max(1e-9, time.monotonic() - started)
    mean = stats.snapshot_bytes / stats.snapshots if stats.snapshots else 0
    print(
        f"joined {stats.joined}, snapshots {stats.snapshots} "
        f"({stats.snapshots / elapsed / args.count:.1f}/s per bot, {mean:.0f} B each), "
        f"controls sent {stats.controls}, errors {dict(stats.errors) or 'none'}",
        flush=True,
    )
    return 0 if stats.joined else 1
