"""A room's life, stepped tick by tick without sockets or clocks (fake world, fake sends)."""

from __future__ import annotations

from typing import Any

import pytest

from server.rooms import REJOIN_SECONDS, RosterError
from server.round import Room
from shared import protocol as p
from shared.messages import parse_client_message
from tests.support.fake_world import fake_factory


class FakeConn:
    """Collects what the room sends, decoded through the client's own gate."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed: tuple[int, str] | None = None

    def send(self, data: bytes) -> bool:
        self.frames.append(p.parse_server_frame(data))
        return True

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    def last(self, kind: str) -> dict[str, Any]:
        return self.of(kind)[-1]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_room(**kwargs: Any) -> tuple[Room, Clock]:
    clock = Clock()
    kwargs.setdefault("scenario", "test-road")
    return Room("ABCDE", clock=clock, world_factory=fake_factory, **kwargs), clock


def test_a_round_from_lobby_to_debrief() -> None:
    room, _ = make_room()
    host_conn, ana_conn, ben_conn = FakeConn(), FakeConn(), FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=False)
    ana = room.join("Ana", "player", ana_conn)
    room.join("Ben", "player", ben_conn)
    assert ana_conn.last("joined")["role"] == "player"
    assert host_conn.last("room")["phase"] == "lobby"
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    assert ana_conn.last("room")["phase"] == "driving"
    assert ana.car is not None and host.car is None
    room.step()
    snap = ana_conn.last("snapshot")
    assert snap["you"]["car"] == ana.car and len(snap["ring"]) == p.RING_SEGMENTS
    assert "you" not in host_conn.last("snapshot")  # the host watches the whole ring
    lane_before = snap["you"]["lane"]
    room.handle(ana, parse_client_message({"type": "control", "action": "left"}))
    room.step()
    assert ana_conn.last("snapshot")["you"]["lane"] == lane_before + 1
    room.handle(host, parse_client_message({"type": "host", "command": "end"}))
    for conn in (host_conn, ana_conn, ben_conn):
        assert conn.last("room")["phase"] == "debrief"
        assert conn.last("debrief")["round"] == 1
    first_seed = room.seed
    # a room of one scenario has no last round: next is the same road again, a new seed
    room.handle(host, parse_client_message({"type": "host", "command": "next"}))
    again = ana_conn.last("room")
    assert again["phase"] == "lobby" and again["step"] == 2 and again["scenario"] == "test-road"
    assert room.seed != first_seed
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    room.step()
    room.handle(host, parse_client_message({"type": "host", "command": "end"}))
    assert ana_conn.last("debrief")["round"] == 2


def test_a_program_room_finishes_after_its_last_step() -> None:
    room, _ = make_room(program="quick")
    conn = FakeConn()
    host = room.join("Host", "host", conn, wants_car=False)
    for _ in range(20):
        phase = conn.last("room")["phase"]
        if phase == "finished":
            break
        if phase == "lobby":
            room.handle(host, parse_client_message({"type": "host", "command": "start"}))
        elif phase == "council":
            room.handle(host, parse_client_message({"type": "host", "command": "end"}))
        elif phase == "driving":
            room.step()
            room.handle(host, parse_client_message({"type": "host", "command": "end"}))
        elif phase == "debrief":
            room.handle(host, parse_client_message({"type": "host", "command": "next"}))
    assert conn.last("room")["phase"] == "finished"
    assert room.round_no == 2  # the quick program's two rounds, then the end


def test_round_ends_when_its_time_is_up() -> None:
    room, _ = make_room()
    conn = FakeConn()
    host = room.join("Solo", "host", conn, wants_car=True)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    assert host.car is not None
    room.seconds = 20.0  # the round's length as a program would set it, shortened
    ticks = int(room.seconds / 0.05)
    for _ in range(ticks):
        room.step()
    assert room.phase == "debrief"
    assert [s["tick"] for s in conn.of("snapshot")] == list(range(1, ticks + 1))
    assert conn.of("snapshot")[-1]["you"]["car"] == host.car  # host and player at once


@pytest.mark.parametrize("command", ["start", "pause", "end", "next", "kick", "bots", "lock"])
def test_non_host_commands_are_refused_and_change_nothing(command: str) -> None:
    room, _ = make_room()
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    ana_conn = FakeConn()
    ana = room.join("Ana", "player", ana_conn)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    room.step()
    before = (room.phase, room.locked, len(room.world.cars), len(room.roster), room.world.tick)
    msg: dict[str, Any] = {"type": "host", "command": command, "player": host.player, "value": 3}
    room.handle(ana, parse_client_message(msg))
    assert ana_conn.last("error")["code"] == "forbidden"
    after = (room.phase, room.locked, len(room.world.cars), len(room.roster), room.world.tick)
    assert before == after


def test_disconnected_car_is_driven_by_a_bot_until_rejoin() -> None:
    room, clock = make_room()
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    ana = room.join("Ana", "player", FakeConn())
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    car = ana.car
    assert car is not None
    room.disconnect(ana)
    assert room.world.cars[car].controller == "bot"
    clock.now += REJOIN_SECONDS - 1
    room.step()
    again = FakeConn()
    back = room.rejoin(ana.token, again)
    assert back.car == car and room.world.cars[car].controller == "player"
    assert again.last("joined")["car"] == car


def test_token_expires_after_two_minutes() -> None:
    room, clock = make_room()
    room.join("Host", "host", FakeConn(), wants_car=False)
    ana = room.join("Ana", "player", FakeConn())
    room.disconnect(ana)
    clock.now += REJOIN_SECONDS + 1
    room.step()
    with pytest.raises(RosterError):
        room.rejoin(ana.token, FakeConn())


def test_names_are_cleaned_and_unique() -> None:
    room, _ = make_room()
    room.join("Host", "host", FakeConn(), wants_car=False)
    a = room.join("\x1b[2JAna\n", "player", FakeConn())
    b = room.join("ana", "player", FakeConn())
    c = room.join("   ", "spectator", FakeConn())
    assert a.name == "[2JAna" and b.name == "ana"
    d = room.join("[2JAna", "player", FakeConn())
    assert d.name == "[2JAna 2"
    assert c.name == "Driver"


def test_lock_kick_and_chat() -> None:
    room, _ = make_room()
    host_conn = FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=False)
    ana_conn = FakeConn()
    ana = room.join("Ana", "player", ana_conn)
    room.handle(host, parse_client_message({"type": "host", "command": "lock", "value": True}))
    with pytest.raises(RosterError):
        room.join("Late", "player", FakeConn())
    room.handle(ana, parse_client_message({"type": "chat", "text": "hi\x07 [b]all[/b]"}))
    assert host_conn.last("chat") == {
        "type": "chat",
        "player": ana.player,
        "name": "Ana",
        "text": "hi [b]all[/b]",
    }
    room.handle(
        host, parse_client_message({"type": "host", "command": "kick", "player": ana.player})
    )
    assert ana_conn.last("bye")["reason"].startswith("kicked")
    assert ana_conn.closed is not None
    assert room.roster.get(ana.player) is None
    with pytest.raises(RosterError):
        room.rejoin(ana.token, FakeConn())


def test_host_leaving_hands_the_room_on() -> None:
    room, _ = make_room()
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    ana_conn = FakeConn()
    ana = room.join("Ana", "player", ana_conn)
    room.handle(host, parse_client_message({"type": "leave"}))
    assert ana.role == "host" and ana_conn.last("room")["host"] == ana.player


def test_a_full_road_takes_fewer_bots_and_the_host_is_told() -> None:
    room = Room("ABCDE", clock=Clock(), scenario="ring")  # the real world: 22 cars on 230 m
    conn = FakeConn()
    host = room.join("Host", "host", conn, wants_car=False)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    n = len(room.world.cars)
    room.handle(host, parse_client_message({"type": "host", "command": "bots", "value": 20}))
    added = len(room.world.cars) - n
    assert 0 <= added < 20
    text = conn.last("notice")["text"]
    assert text == f"Added {added} of 20 bots: the road has no safe gap for more."


def test_bots_pause_resume_incident_extend() -> None:
    room, _ = make_room()
    conn = FakeConn()
    host = room.join("Host", "host", conn, wants_car=True)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    n = len(room.world.cars)
    room.handle(host, parse_client_message({"type": "host", "command": "bots", "value": 4}))
    room.handle(host, parse_client_message({"type": "host", "command": "bots", "value": -2}))
    assert len(room.world.cars) == n + 2
    room.handle(host, parse_client_message({"type": "host", "command": "pause"}))
    tick = room.world.tick
    room.step()
    assert room.world.tick == tick and conn.last("room")["phase"] == "paused"
    room.handle(
        host, parse_client_message({"type": "host", "command": "incident", "lane": 1, "x": 50.0})
    )
    assert room.world.incidents == [(1, 50.0, 30.0)]
    room.handle(host, parse_client_message({"type": "host", "command": "incident", "lane": 3}))
    assert conn.last("error")["code"] == "bad_value"
    room.handle(host, parse_client_message({"type": "host", "command": "resume"}))
    room.handle(host, parse_client_message({"type": "host", "command": "extend", "seconds": 60}))
    assert room.seconds == 300.0
    room.step()
    assert room.world.tick == tick + 1


def test_controls_out_of_phase_or_without_car_are_errors() -> None:
    room, _ = make_room()
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    spec_conn = FakeConn()
    spec = room.join("Proj", "spectator", spec_conn)
    room.handle(spec, parse_client_message({"type": "control", "action": "left"}))
    assert spec_conn.last("error")["code"] == "no_car"
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    room.step()
    assert "you" not in spec_conn.last("snapshot")
    assert len(spec_conn.last("snapshot")["cars"]) == len(room.world.cars)


def test_car_rows_match_the_protocol_packing() -> None:
    from server.snapshots import car_row
    from tests.support.fake_world import FakeCar

    car = FakeCar(7, 1.5, 123.45, v=30.017, signal=-1, braking=True, controller="player")
    car.length = 12.0
    flags = p.car_flags(braking=True, signal=-1, player=True, truck=True)
    assert car_row(car) == p.pack_car(7, 1.5, 123.45, 30.017, flags)


def test_view_window_wraps_around_the_ring() -> None:
    from server.snapshots import VIEW_AHEAD_M, VIEW_BEHIND_M, TickView
    from tests.support.fake_world import FakeWorld

    world = FakeWorld(length=2000.0, bots=0)
    for i, x in enumerate([10.0, 1990.0, 1000.0, 200.0, 1900.0]):
        car_id = world.add_bots(1)[0]
        world.cars[car_id].x = x
        assert car_id == i
    view = TickView(world)
    near = {row[0] for row in view.rows_near(5.0)}
    expected = {
        i
        for i, x in enumerate([10.0, 1990.0, 1000.0, 200.0, 1900.0])
        if (x - 5.0) % 2000 <= VIEW_AHEAD_M or (5.0 - x) % 2000 <= VIEW_BEHIND_M
    }
    assert near == expected == {0, 1, 3, 4}


def test_a_players_controls_only_move_their_own_car() -> None:
    room, _ = make_room()
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    ana = room.join("Ana", "player", FakeConn())
    ben = room.join("Ben", "player", FakeConn())
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    before = {car.id: (car.lane, car.target_speed) for car in room.world.cars.values()}
    for action in ("left", "faster", "faster"):
        room.handle(ana, parse_client_message({"type": "control", "action": action}))
    room.step()
    changed = {
        car.id for car in room.world.cars.values() if (car.lane, car.target_speed) != before[car.id]
    }
    assert changed == {ana.car} and ben.car not in changed


def test_chat_is_rate_limited_per_member() -> None:
    room, clock = make_room()
    host_conn = FakeConn()
    room.join("Host", "host", host_conn, wants_car=False)
    ana_conn = FakeConn()
    ana = room.join("Ana", "player", ana_conn)
    for i in range(20):
        room.handle(ana, parse_client_message({"type": "chat", "text": f"line {i}"}))
    assert len(host_conn.of("chat")) == 8
    assert ana_conn.last("error")["code"] == "rate_limited"
    clock.now += 1.0
    room.handle(ana, parse_client_message({"type": "chat", "text": "later"}))
    room.handle(ana, parse_client_message({"type": "chat", "text": "later"}))
    assert len(host_conn.of("chat")) == 10


def test_a_single_round_room_lasts_as_long_as_its_scenario_says() -> None:
    from types import SimpleNamespace

    from tests.support.fake_world import FakeWorld

    def factory(scenario: str, seed: int, rulebook: Any, bots: int | None, mix: Any = None):
        return SimpleNamespace(name=scenario, seconds=30.0), FakeWorld(bots=4)

    room = Room("ABCDE", clock=Clock(), scenario="short-road", world_factory=factory)
    conn = FakeConn()
    host = room.join("Host", "host", conn, wants_car=True)
    assert room.seconds == 30.0 and conn.last("room")["seconds"] == 30.0
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    assert conn.last("room")["clock"] == 30.0
    for _ in range(599):
        room.step()
    assert room.phase == "driving"
    room.step()
    assert room.phase == "debrief" and room.world.tick == 600


def test_a_scenario_without_a_length_gets_four_minutes() -> None:
    room, _ = make_room()  # the fake factory's scenario is a bare name
    room.join("Host", "host", FakeConn(), wants_car=False)
    assert room.seconds == 240.0


def test_snapshot_frames_decode_to_the_snapshot_maps() -> None:
    from server.snapshots import SnapshotEncoder, TickView, snapshot_for, snapshot_parts
    from tests.support.fake_world import FakeWorld

    world = FakeWorld(length=3000.0, bots=40)
    me = world.add_player_car()
    world.step({})
    view = TickView(world)
    feed = [{"kind": "crash", "text": "car 3 crashed", "car": 3, "x": 10.0}]
    encoder = SnapshotEncoder(world, view)
    for car, full, extra in [(me, False, None), (None, True, {"team": {"flow_vph": 1}})]:
        rows, events, you = snapshot_parts(world, view, car, full, feed)
        frame = p.parse_server_frame(encoder.encode(rows, events, you, extra))
        expected = snapshot_for(world, view, car, full, feed, extra)
        assert frame == p.decode(p.encode(expected))
    assert len(frame["cars"]) == len(world.cars)


def test_car_less_watchers_share_one_whole_ring_frame() -> None:
    class Raw(FakeConn):
        def send(self, data: bytes) -> bool:
            self.raw = data
            return super().send(data)

    room, _ = make_room()
    host_conn, spec_conn, ana_conn = Raw(), Raw(), Raw()
    host = room.join("Host", "host", host_conn, wants_car=False)
    room.join("Proj", "spectator", spec_conn)
    room.join("Ana", "player", ana_conn)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    room.step()
    assert host_conn.raw is spec_conn.raw  # encoded once, sent to both
    assert len(host_conn.last("snapshot")["cars"]) == len(room.world.cars)
    assert "you" in ana_conn.last("snapshot") and ana_conn.raw is not host_conn.raw


def test_a_member_gets_the_debriefed_rounds_inputs_and_they_rebuild_it_exactly() -> None:
    """The replay on a player's own machine: scenario, seed and input log are the whole round."""
    from server.replays import world_from_stored

    clock = Clock()
    room = Room("ABCDE", clock=clock, scenario="ring")  # the real world
    host_conn, ana_conn = FakeConn(), FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=False)
    ana = room.join("Ana", "player", ana_conn)
    room.handle(ana, parse_client_message({"type": "replay"}))
    assert ana_conn.last("error")["code"] == "bad_state"  # nothing played yet
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    for tick in range(60):
        if tick == 20:
            room.handle(ana, parse_client_message({"type": "control", "action": "brake"}))
        room.step()
    room.handle(host, parse_client_message({"type": "host", "command": "end"}))
    assert ana_conn.last("debrief")["round"] == 1
    room.handle(ana, parse_client_message({"type": "replay"}))
    replay = ana_conn.last("replay")
    assert replay["round"] == 1 and replay["scenario"] == "ring" and replay["ticks"] == 60
    assert replay["names"] == {str(ana.car): "Ana"}
    assert any(entry[1] == "controls" for entry in replay["log"])
    rebuilt = world_from_stored(replay)
    assert {c.id: (c.x, c.v) for c in rebuilt.cars.values()} == {
        c.id: (c.x, c.v) for c in room.world.cars.values()
    }
    # one copy per member every few seconds: the frame is tens of kilobytes
    room.handle(ana, parse_client_message({"type": "replay"}))
    assert ana_conn.last("error")["code"] == "rate_limited"
    clock.now += 6
    room.handle(ana, parse_client_message({"type": "replay"}))
    assert len(ana_conn.of("replay")) == 2


def test_the_typed_room_message_has_the_keys_the_server_always_sent() -> None:
    """The `room` frame's keys, in the order of the frames recorded in tests/data/frames.msgpack
    (the bytes of a map depend on its order): a typed RoomState must not move them."""
    sent: list[bytes] = []

    class RawConn(FakeConn):
        def send(self, data: bytes) -> bool:
            sent.append(data)
            return True

    room, _ = make_room()
    room.join("Host", "host", RawConn())
    frame = p.decode(sent[-1])
    assert list(frame) == [
        *("type", "code", "phase", "players", "scenario", "rulebook", "round", "rounds"),
        *("locked", "clock", "scoring", "program", "host", "title", "seconds", "step", "steps"),
        *("intro", "ring"),
    ]
