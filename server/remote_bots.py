"""`interlane bots CODE --count N`: bot players that drive through the protocol.

Each bot is an ordinary client: it joins a room by code, reads its snapshots and sends the
same `control` intents a person would (faster/slower, signal, change lane). It fills a
workshop room that is short of people, and it is the load generator of
benchmarks/server_load.py. The brain is deliberately simple and looks only at what a
player's client sees (`you` and the nearby car rows), so it exercises the real data path.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
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

# How the server's SnapshotEncoder starts every snapshot: a small map whose first pairs are
# "type": "snapshot" and "tick": <int>. msgpack allows any key order, so a frame laid out
# otherwise is simply parsed in full.
_SNAPSHOT_HEAD = b"\xa4type\xa8snapshot\xa4tick"
_TICK_AT = 1 + len(_SNAPSHOT_HEAD)
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
        """Whether a snapshot of this tick is one the brain looks at (else it is only counted)."""
        return tick - self._last_tick >= DECIDE_EVERY_TICKS

    def decide(self, snap: dict[str, Any]) -> list[dict[str, Any]]:
        """The controls to send after this snapshot (usually none)."""
        you = snap.get("you")
        tick = int(snap.get("tick", 0))
        if not isinstance(you, dict) or not self.due(tick):
            return []
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


def snapshot_tick(frame: bytes | str) -> int | None:
    """The tick of a snapshot frame packed the way the server packs it, else None.

    Reading a few bytes instead of unpacking and validating the whole map is what lets one
    process run a thousand bots: the brain looks at one snapshot in DECIDE_EVERY_TICKS, so
    only that one needs parse_server_frame. None (anything else: another message, another
    key order, a negative tick, a text frame) means "parse it in full".
    """
    if type(frame) is not bytes or len(frame) <= _TICK_AT:
        return None
    if not 0x80 <= frame[0] <= 0x8F or not frame.startswith(_SNAPSHOT_HEAD, 1):  # a fixmap
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

    `deadline` is a time.monotonic() value (the event loop's clock) after which the bot
    leaves; `stop` ends it at the next frame (or the next connection attempt).
    """
    loop_deadline = None
    if deadline is not None:
        loop_deadline = asyncio.get_running_loop().time() + (deadline - time.monotonic())
    try:
        async with asyncio.timeout_at(loop_deadline):
            await _drive(url, code, name, stats, seed, stop)
    except TimeoutError:  # the deadline (a connect timeout is handled inside)
        return


async def _drive(
    url: str, code: str, name: str, stats: BotStats, seed: int, stop: asyncio.Event | None
) -> None:
    brain = BotBrain(random.Random(seed), cruise_kmh=random.Random(seed).choice([90, 100, 110]))
    token: str | None = None
    attempts = 0
    while attempts < 5 and not (stop is not None and stop.is_set()):
        attempts += 1
        try:
            async with connect(
                url, compression=None, max_size=MAX_FRAME_BYTES, open_timeout=20
            ) as ws:
                hello: dict[str, Any] = {
                    "type": "join",
                    "protocol": PROTOCOL_VERSION,
                    "code": code,
                    "name": name,
                    "role": "player",
                }
                if token:
                    hello["token"] = token
                await ws.send(encode(hello))
                while True:
                    if stop is not None and stop.is_set():
                        return
                    frame = await ws.recv()
                    tick = snapshot_tick(frame)
                    if tick is not None and not brain.due(tick):
                        # read, counted, not looked at: the brain would ignore it
                        stats.snapshots += 1
                        stats.snapshot_bytes += len(frame)
                        continue
                    try:
                        msg = parse_server_frame(frame)
                    except ProtocolError:
                        stats.errors["bad_frame"] = stats.errors.get("bad_frame", 0) + 1
                        continue
                    kind = msg["type"]
                    if kind == "snapshot":
                        stats.snapshots += 1
                        stats.snapshot_bytes += len(frame)
                        for control in brain.decide(msg):
                            await ws.send(encode(control))
                            stats.controls += 1
                        continue
                    stats.other += 1
                    if kind == "joined":
                        token = msg["token"]
                        attempts = 0
                        stats.joined += 1
                    elif kind == "room" and isinstance(msg.get("ring"), dict):
                        lanes = msg["ring"].get("lanes")
                        if isinstance(lanes, int) and lanes > 0:
                            brain.lanes = lanes
                    elif kind == "error":
                        code_ = str(msg["code"])
                        stats.errors[code_] = stats.errors.get(code_, 0) + 1
                        if code_ in ("no_room", "locked", "finished", "protocol", "token"):
                            return
                    elif kind == "bye":
                        return
        except (ConnectionClosed, OSError, TimeoutError, InvalidHandshake):
            stats.disconnects += 1
            await asyncio.sleep(min(5.0, 0.5 * attempts))


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
