"""A hostile or broken server against the real client's receive path (issue 14).

A websockets server on a loopback port sends what Hypothesis draws (±inf, wrong nested types,
huge counts) to a real `client.net.Connection` whose handler folds every message into a
`ClientState` and draws from it, as the app does. Nothing may escape the handler, memory
stays bounded, bad frames are dropped and counted, and a server that keeps sending them — or
floods PINGs, or stops reading — is left with a message saying why.
"""

from __future__ import annotations

import asyncio
import tracemalloc
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.asyncio.server import ServerConnection, serve

from client import net
from client.net import Connection
from client.state import ClientState
from client.widgets.hud import scores_line, speed_line
from client.widgets.minimap import minimap_rows
from client.widgets.road import View, compose_frame, lanes_of
from shared import protocol as p
from shared.messages import ServerMessage, decode_server_frame
from tests.support.screens import debrief_ready

SAFETY = 30.0

number = (
    st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([float("inf"), float("-inf"), 2**40, 2**63, 1e307, -1.0])
    | st.integers(-(2**63), 2**64 - 1)
)
junk = st.recursive(
    st.none() | st.booleans() | number | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=10,
)


def good_room(**fields: Any) -> dict[str, Any]:
    return {
        "type": "room",
        "code": "KX7PQ",
        "phase": "council",
        "players": [{"id": 1, "name": "Ana", "role": "host", "car": None, "connected": True}],
        "scenario": "ring",
        "rulebook": {"passing": "right"},
        "round": 1,
        "rounds": 3,
        "locked": False,
        "clock": 10.0,
        **fields,
    }


def good_snapshot(**fields: Any) -> dict[str, Any]:
    return {
        "type": "snapshot",
        "tick": 1,
        "t": 0.05,
        "cars": [[1, 100, 500, 2000, 16]],
        "ring": [50] * 64,
        "events": [],
        **fields,
    }


@st.composite
def hostile_message(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed message of some type with one or two fields replaced by junk."""
    base = draw(
        st.sampled_from(
            [
                good_room(),
                good_room(council={"votes": [], "tallies": {}, "remaining": 3.0}),
                good_snapshot(you={"car": 1, "v": 20.0}),
                {"type": "debrief", "round": 1, "drivers": [], "cards": [], "rounds": []},
                {
                    "type": "replay",
                    "round": 1,
                    "scenario": "ring",
                    "seed": 1,
                    "rulebook": {},
                    "ticks": 100,
                    "log": [],
                    "names": {},
                },
                {"type": "joined", "code": "KX7PQ", "role": "player", "token": "t", "player": 2},
                {"type": "notice", "text": "hi"},
                {"type": "pong", "t": 1.0},
            ]
        )
    )
    message = dict(base)
    targets = [k for k in message if k != "type"] + ["council", "drivers", "you", "team"]
    for name in draw(st.lists(st.sampled_from(targets), min_size=1, max_size=2)):
        message[name] = draw(junk)
    if draw(st.booleans()) and isinstance(message.get("council"), dict):
        message["council"]["votes"] = draw(junk)
    return message


def draw_everything(state: ClientState) -> None:
    """What the screens do with the state, without Textual: road, minimap, HUD, names, clock."""
    cars = state.interpolator.cars_at(1.0)
    view = View(tuple(cars), state.road, 0.0, state.car, {}, True, lanes_of(state.road, cars))
    compose_frame(view, 80, 12)
    if state.snapshot is not None:
        minimap_rows(state.snapshot["ring"], 80, state.road.get("length", 0.0), 0.0, state.road)
    speed_line(state.you, 3)
    scores_line(state.you, state.team, "0:01", state.individual)
    state.seconds_left()
    state.player_names()


async def serve_frames(frames: list[bytes], then: str = "close") -> tuple[Any, int]:
    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # the client's hello
        for frame in frames:
            await ws.send(frame)
        await ws.send(p.encode({"type": "bye", "reason": "done"}))
        await ws.wait_closed()

    server = await serve(handler, "127.0.0.1", 0, compression=None)
    return server, server.sockets[0].getsockname()[1]


async def run_client(port: int, on_message: Any) -> tuple[Connection, list[tuple[str, str]]]:
    statuses: list[tuple[str, str]] = []
    conn = Connection(
        f"ws://127.0.0.1:{port}",
        on_message=on_message,
        on_status=lambda state, text: statuses.append((state, text)),
        opening=lambda: [net.hello("T")],
        backoff=(0.01,),
    )
    await asyncio.wait_for(conn.run(), SAFETY)
    return conn, statuses


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(hostile_message(), min_size=1, max_size=6))
def test_hostile_server_frames_never_escape_the_receive_path(messages: list[dict]) -> None:
    async def session() -> None:
        frames = [msgpack.packb(m, use_bin_type=True) for m in messages]
        server, port = await serve_frames(frames)
        state = ClientState()
        handled = 0

        def on_message(msg: ServerMessage) -> None:
            nonlocal handled
            state.apply(msg, 0.1 * handled)
            draw_everything(state)
            handled += 1

        tracemalloc.start()
        try:
            conn, _ = await run_client(port, on_message)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            server.close()
            await server.wait_closed()
        assert conn.failed_handlers == 0  # the validator let nothing through that crashes
        assert conn.fatal == "done"  # the session ended where the server said so
        assert conn.bad_frames + handled == len(frames) + 1  # each frame dropped or handled
        assert peak < 64 * 2**20

    asyncio.run(session())


def test_the_reported_crashes_are_refused_at_the_gate() -> None:
    """The red team's frames: each is dropped (and counted), none reaches the screens."""
    bad = [
        good_snapshot(t=float("inf")),
        good_room(clock=float("inf")),
        good_room(council={"votes": 1.5}),
        {"type": "debrief", "round": 1, "drivers": 1.5},
        {
            "type": "replay",
            "round": 1,
            "scenario": "ring",
            "seed": 1,
            "rulebook": {},
            "ticks": 2**40,
            "log": [],
            "names": {},
        },
        good_room(players=[{"id": 1, "name": 5}]),
        good_snapshot(cars=[["a", 1, 2, 3, 4]]),
    ]
    for message in bad:
        with pytest.raises(p.ProtocolError):
            decode_server_frame(msgpack.packb(message, use_bin_type=True))


def test_a_server_that_keeps_sending_bad_frames_is_left_with_a_message() -> None:
    async def session() -> None:
        junk_frame = p.encode(good_snapshot(t=float("inf")))
        server, port = await serve_frames([junk_frame] * 200)
        try:
            conn, statuses = await run_client(port, lambda msg: None)
        finally:
            server.close()
            await server.wait_closed()
        assert conn.fatal is not None and "keeps sending messages" in conn.fatal
        assert conn.bad_frames == net.BAD_FRAMES_BURST + 1  # the burst forgiven, then left
        assert statuses[-1][0] == "closed"

    asyncio.run(session())


def test_a_ping_flood_from_the_server_is_left() -> None:
    async def session() -> None:
        async def handler(ws: ServerConnection) -> None:
            await ws.recv()
            ws.transport.write(b"\x89\x00" * 500_000)  # empty PINGs, unmasked: 1 MB
            await ws.wait_closed()

        server = await serve(handler, "127.0.0.1", 0, compression=None)
        port = server.sockets[0].getsockname()[1]
        try:
            conn, statuses = await run_client(port, lambda msg: None)
        finally:
            server.close()
            await server.wait_closed()
        assert conn.fatal is not None and "pings" in conn.fatal
        # left within the first reads (one read's PINGs are all counted), never reconnected
        assert conn.server_pings < 500_000
        assert conn.attempts == 1
        assert statuses[-1][0] == "closed"

    asyncio.run(session())


def test_a_server_that_stops_reading_is_left(monkeypatch: pytest.MonkeyPatch) -> None:
    """PINGs allowed without limit here: the unsent bytes' bound alone must end it."""
    monkeypatch.setattr(net, "PINGS_BURST", 1e12)
    monkeypatch.setattr(net, "STUCK_BYTES", 64 * 1024)
    monkeypatch.setattr(net, "STUCK_SECONDS", 0.2)

    async def session() -> None:
        async def handler(ws: ServerConnection) -> None:
            await ws.recv()
            ws.transport.pause_reading()  # never reads the PONGs
            for _ in range(200_000):
                if ws.transport.is_closing():
                    break
                ws.transport.write(b"\x89\x7d" + b"x" * 125)  # a 125-byte PING, unmasked
                if ws.transport.get_write_buffer_size() > 2**20:
                    await asyncio.sleep(0.01)
            await ws.wait_closed()

        server = await serve(handler, "127.0.0.1", 0, compression=None)
        port = server.sockets[0].getsockname()[1]
        try:
            conn, statuses = await run_client(port, lambda msg: None)
        finally:
            server.close()
            await server.wait_closed()
        assert conn.fatal is not None and "stopped reading" in conn.fatal
        assert statuses[-1][0] == "closed"

    asyncio.run(session())


async def test_the_real_app_survives_the_red_teams_frames_on_its_council_and_debrief() -> None:
    """The whole client (InterlaneApp, its screens) against a scripted hostile server: the
    frames that crashed the council and debrief screens are dropped and counted, and the
    valid frames around them still reach the screens."""
    from client.app import InterlaneApp
    from client.plan import Plan
    from server.council import Council
    from tests.support.screens import debrief_msg

    council = Council(members=[1, 2], host=1, seconds=120)
    council.propose(2, "passing", "left")
    room = good_room(
        players=[
            {"id": 1, "name": "Ana", "role": "host", "car": None, "connected": True},
            {"id": 2, "name": "Bo", "role": "player", "car": None, "connected": True},
        ],
        council=council.state(),
    )
    hostile_council = [
        good_room(council={**council.state(), "votes": 1.5}),
        good_room(council={**council.state(), "tallies": {"passing": 3}}),
        good_room(council={**council.state(), "proposals": [{"votes": "many"}]}),
        good_room(clock=float("inf")),
        good_room(players=[{"id": 1, "name": None, "connected": "yes"}]),
        good_snapshot(t=float("inf")),
    ]
    debrief = debrief_msg()
    hostile_debrief = [
        {**debrief, "drivers": 1.5},
        {**debrief, "cards": {"a": 1}},
        {**debrief, "rounds": [1, 2]},
        {**debrief, "duration_s": float("-inf")},
        {
            "type": "replay",
            "round": 1,
            "scenario": "ring",
            "seed": 1,
            "rulebook": {},
            "ticks": 2**40,
            "log": [],
            "names": {},
        },
    ]
    debrief_room = {**room, "phase": "debrief"}
    debrief_room.pop("council")
    script = (
        [{"type": "welcome", "protocol": 1, "server": "evil", "scenarios": [], "programs": []}]
        + [{"type": "joined", "code": "KX7PQ", "role": "player", "token": "t", "player": 2}]
        + [room, *hostile_council, room, debrief_room, debrief, *hostile_debrief, debrief]
    )
    bad = len(hostile_council) + len(hostile_debrief)

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # hello
        await ws.recv()  # join
        for message in script:
            await ws.send(msgpack.packb(message, use_bin_type=True))
        await ws.wait_closed()

    server = await serve(handler, "127.0.0.1", 0, compression=None)
    port = server.sockets[0].getsockname()[1]
    app = InterlaneApp(Plan(kind="join", url=f"ws://127.0.0.1:{port}", name="Bo", code="KX7PQ"))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await until_app(pilot, lambda: app.connection is not None)
            conn = app.connection
            assert isinstance(conn, Connection)
            await until_app(pilot, lambda: conn.bad_frames == bad and app.state.debrief)
            await until_app(pilot, lambda: debrief_ready(app))
            await pilot.pause()
            assert conn.failed_handlers == 0 and conn.fatal is None
            assert app.state.debrief == debrief
            assert app.state.room is not None and app.state.room["phase"] == "debrief"
            assert app.is_running
    finally:
        server.close()
        await server.wait_closed()


async def until_app(pilot: Any, condition: Any) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SAFETY
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("never happened")
        await pilot.pause(0.02)
