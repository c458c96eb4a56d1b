"""Hostile input over real sockets: the server answers with `error` or a close, stays up, and an
honest player in the same room gets a snapshot on every tick throughout.

Time is the server's tick count: the server runs with a fake clock that advances 50 ms per
tick, and each hostile frame is followed by exactly one tick, so "20 Hz throughout" means
"no tick without its snapshot", measured by the snapshots' tick numbers.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from server.net import GameServer, Limits
from shared import protocol as p
from tests.support.fake_world import fake_factory
from tests.support.server_client import WireClient


class TickClock:
    """The server's clock: 50 ms per tick, nothing else."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats()
    | st.text(max_size=30)
    | st.binary(max_size=30)
)
_value = st.recursive(
    _scalar,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=10) | st.integers(-1000, 1000), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def wrong_fields(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(sorted(p.CLIENT_MESSAGES)))
    msg: dict[Any, Any] = {"type": kind}
    for name in p.CLIENT_MESSAGES[kind]:
        if draw(st.booleans()):
            msg[name] = draw(_value)
    return msgpack.packb(msg, use_bin_type=True)


@st.composite
def huge(draw: st.DrawFn) -> bytes:
    n = draw(st.sampled_from([801, 5_000, 60_000, 70_000]))
    field = draw(st.sampled_from(["text", "name", "code", "action"]))
    kind = {"text": "chat", "name": "join", "code": "join", "action": "control"}[field]
    return msgpack.packb({"type": kind, "protocol": 1, "role": "player", field: "x" * n})


HOSTILE = st.one_of(
    st.binary(max_size=200),
    _value.map(lambda v: msgpack.packb(v, use_bin_type=True)),
    wrong_fields(),
    huge(),
    st.text(min_size=1, max_size=10)
    .filter(lambda t: t not in p.CLIENT_MESSAGES)
    .map(lambda t: msgpack.packb({"type": t, "protocol": 1})),
    st.text(max_size=50),  # a text frame: the protocol is binary only
)


def locally_invalid(frame: bytes | str) -> bool:
    try:
        p.parse_client_frame(frame)
    except p.ProtocolError:
        return True
    return False


async def _session(frames: list[bytes | str]) -> None:
    clock = TickClock()
    server = GameServer(
        manual=True, clock=clock, world_factory=fake_factory, limits=Limits(join_burst=1000)
    )
    await server.start("127.0.0.1", 0)
    url = f"ws://127.0.0.1:{server.port}"
    try:
        honest = await WireClient.open(url)
        await honest.send(
            {"type": "create", "protocol": 1, "name": "Honest", "scenario": "x", "play": True}
        )
        code = (await honest.until("joined"))["code"]
        await honest.send({"type": "host", "command": "start"})
        await honest.until("room", phase="driving")

        async def hostile_client() -> WireClient:
            c = await WireClient.open(url)
            await c.send(
                {"type": "join", "protocol": 1, "code": code, "name": "H", "role": "player"}
            )
            await c.until("joined")
            return c

        hostile = await hostile_client()
        for n, frame in enumerate(frames):
            try:
                await hostile.send_raw(frame)
                await hostile.send({"type": "ping", "t": n})
                errors = 0
                while True:
                    msg = await hostile.recv()
                    if msg["type"] == "error":
                        errors += 1
                    if msg["type"] == "pong" and msg["t"] == n:
                        break
                if locally_invalid(frame):
                    assert errors >= 1, frame
            except ConnectionClosed:
                assert hostile.ws.close_code in (1000, 1008, 1009), hostile.ws.close_code
                hostile = await hostile_client()
            # one tick: the honest player must get exactly that tick's snapshot
            clock.now += 0.05
            await server.advance(1)
            snap = await honest.until("snapshot")
            assert snap["tick"] == n + 1
            assert snap["you"]["car"] is not None
        # the server is still up for newcomers
        late = await WireClient.open(url)
        await late.send({"type": "ping", "t": -1})
        assert (await late.until("pong"))["t"] == -1
        await late.close()
        await hostile.close()
        await honest.close()
    finally:
        await server.stop()


@settings(max_examples=25, deadline=None)
@given(st.lists(HOSTILE, min_size=1, max_size=8))
def test_hostile_frames_never_hurt_the_room(frames: list[bytes | str]) -> None:
    asyncio.run(_session(frames))


def test_a_flood_is_closed_with_1008_and_the_room_keeps_ticking() -> None:
    async def flood() -> None:
        clock = TickClock()
        server = GameServer(manual=True, clock=clock, world_factory=fake_factory)
        await server.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}"
        try:
            honest = await WireClient.open(url)
            await honest.send(
                {"type": "create", "protocol": 1, "name": "A", "scenario": "x", "play": True}
            )
            await honest.until("joined")
            await honest.send({"type": "host", "command": "start"})
            await honest.until("room", phase="driving")
            bad = await WireClient.open(url)
            codes: set[str] = set()
            try:
                for _ in range(500):
                    await bad.send_raw(b"\xc1garbage")
                while True:
                    codes.add((await bad.recv())["code"])
            except ConnectionClosed:
                pass
            assert bad.ws.close_code == 1008
            assert "malformed" in codes
            for tick in range(1, 21):
                clock.now += 0.05
                await server.advance(1)
                assert (await honest.until("snapshot"))["tick"] == tick
            await honest.close()
        finally:
            await server.stop()

    asyncio.run(flood())


def test_joins_are_rate_limited_per_address() -> None:
    async def joins() -> None:
        clock = TickClock()
        server = GameServer(
            manual=True,
            clock=clock,
            world_factory=fake_factory,
            limits=Limits(join_burst=3, joins_per_second=0.1),
        )
        await server.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}"
        try:
            c = await WireClient.open(url)
            results = []
            for _ in range(5):
                await c.send(
                    {"type": "join", "protocol": 1, "code": "AAAAA", "name": "x", "role": "player"}
                )
                results.append((await c.until("error"))["code"])
            assert results == ["no_room"] * 3 + ["rate_limited"] * 2
            clock.now += 10.0
            await c.send(
                {"type": "join", "protocol": 1, "code": "AAAAA", "name": "x", "role": "player"}
            )
            assert (await c.until("error"))["code"] == "no_room"
            await c.close()
        finally:
            await server.stop()

    asyncio.run(joins())


def test_connections_per_address_are_capped() -> None:
    async def many() -> None:
        server = GameServer(
            manual=True, world_factory=fake_factory, limits=Limits(connections_per_address=2)
        )
        await server.start("127.0.0.1", 0)
        url = f"ws://127.0.0.1:{server.port}"
        try:
            a = await WireClient.open(url)
            b = await WireClient.open(url)
            c = await WireClient.open(url)
            assert (await c.until("error"))["code"] == "too_many"
            await asyncio.wait_for(c.ws.wait_closed(), 5)
            assert c.ws.close_code == 1008
            await a.send({"type": "ping", "t": 1})
            assert (await a.until("pong"))["t"] == 1
            await a.close()
            for _ in range(500):  # until the server has noticed the close (not a timing bet)
                if server.gate._per_address.get("127.0.0.1", 0) < 2:
                    break
                await asyncio.sleep(0.01)
            d = await WireClient.open(url)
            await d.send({"type": "ping", "t": 2})
            assert (await d.until("pong"))["t"] == 2
            for x in (b, d):
                await x.close()
        finally:
            await server.stop()

    asyncio.run(many())
