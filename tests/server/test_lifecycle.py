"""Stateful: any interleaving of joins, drops, rejoins, leaves, kicks, controls, host commands
and ticks keeps a room consistent, and every frame it sends passes the client's gate."""

from __future__ import annotations

from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from server.rooms import RosterError
from server.round import Room
from shared import protocol as p
from shared.messages import parse_client_message
from tests.server.test_room import Clock, FakeConn
from tests.support.fake_world import fake_factory

COMMANDS = st.sampled_from(p.HOST_COMMANDS)


class RoomLife(RuleBasedStateMachine):
    @initialize(play=st.booleans())
    def create(self, play: bool) -> None:
        self.clock = Clock()
        self.room = Room("ABCDE", clock=self.clock, scenario="x", world_factory=fake_factory)
        self.conns: dict[int, FakeConn] = {}
        self.tokens: dict[int, str] = {}
        self.gone: set[int] = set()  # left or kicked: their tokens must fail
        conn = FakeConn()
        host = self.room.join("Host", "host", conn, wants_car=play)
        self.conns[host.player] = conn
        self.tokens[host.player] = host.token

    def _members(self) -> list[Any]:
        return list(self.room.roster)

    @rule(name=st.text(max_size=30), spectator=st.booleans())
    def join(self, name: str, spectator: bool) -> None:
        conn = FakeConn()
        try:
            m = self.room.join(name, "spectator" if spectator else "player", conn)
        except RosterError as exc:
            assert exc.code in ("locked", "finished")
            return
        assert m.name and len(m.name) <= p.MAX_NAME_CHARS
        self.conns[m.player] = conn
        self.tokens[m.player] = m.token

    @precondition(lambda self: len(self.room.roster) > 0)
    @rule(i=st.integers(0, 50))
    def drop(self, i: int) -> None:
        members = self._members()
        self.room.disconnect(members[i % len(members)])

    @precondition(lambda self: len(self.tokens) > 0)
    @rule(i=st.integers(0, 50))
    def rejoin(self, i: int) -> None:
        player = sorted(self.tokens)[i % len(self.tokens)]
        conn = FakeConn()
        try:
            m = self.room.rejoin(self.tokens[player], conn)
        except RosterError:
            assert player in self.gone or self.room.roster.get(player) is None
            return
        assert m.player == player and player not in self.gone
        self.conns[player] = conn

    @precondition(lambda self: len(self.room.roster) > 0)
    @rule(i=st.integers(0, 50))
    def leave(self, i: int) -> None:
        members = self._members()
        m = members[i % len(members)]
        self.room.handle(m, parse_client_message({"type": "leave"}))
        self.gone.add(m.player)

    @precondition(lambda self: len(self.room.roster) > 0)
    @rule(i=st.integers(0, 50), command=COMMANDS, j=st.integers(0, 50), value=st.integers(-5, 5))
    def command(self, i: int, command: str, j: int, value: int) -> None:
        members = self._members()
        m = members[i % len(members)]
        target = members[j % len(members)]
        msg = {
            "type": "host",
            "command": command,
            "player": target.player,
            "value": value,
            "seconds": 5,
            "text": "hi",
            "convention": "passing",
            "option": "right",
        }
        before = (self.room.phase, self.room.locked)
        self.room.handle(m, parse_client_message(msg))
        if not m.is_host and self.room.roster.get(m.player) is m:
            assert (self.room.phase, self.room.locked) == before
        if command == "kick" and self.room.roster.get(target.player) is None:
            self.gone.add(target.player)

    @precondition(lambda self: len(self.room.roster) > 0)
    @rule(i=st.integers(0, 50), action=st.sampled_from(p.CONTROL_ACTIONS))
    def control(self, i: int, action: str) -> None:
        members = self._members()
        value = {"gap": 2, "assist": "off"}.get(action)
        msg = {"type": "control", "action": action, **({"value": value} if value else {})}
        self.room.handle(members[i % len(members)], parse_client_message(msg))

    @rule(ticks=st.integers(1, 30), seconds=st.sampled_from([0.0, 0.05, 60.0]))
    def tick(self, ticks: int, seconds: float) -> None:
        for _ in range(ticks):
            self.clock.now += seconds
            self.room.step()

    @invariant()
    def consistent(self) -> None:
        room = self.room
        assert room.phase in p.PHASES
        members = list(room.roster)
        hosts = [m for m in members if m.is_host]
        assert len(hosts) == (1 if members else 0)
        if room.phase in ("driving", "paused"):
            for m in members:
                if m.wants_car and m.connected:
                    assert m.car in room.world.cars
                    assert room.world.cars[m.car].controller == "player"
                if m.car is not None and not m.connected:
                    assert room.world.cars[m.car].controller == "bot"
        cars = [m.car for m in members if m.car is not None]
        assert len(cars) == len(set(cars)), "two members share a car"
        names = [m.name.casefold() for m in members]
        assert len(names) == len(set(names))


TestRoomLife = RoomLife.TestCase
TestRoomLife.settings = settings(max_examples=60, stateful_step_count=30, deadline=None)


def test_a_slow_client_is_skipped_not_waited_for() -> None:
    from types import SimpleNamespace

    from websockets.protocol import OPEN

    from server.net import Limits
    from server.net_conn import Client, binary_frame_header

    class Transport:
        def __init__(self) -> None:
            self.buffered = 0
            self.written: list[bytes] = []

        def is_closing(self) -> bool:
            return False

        def get_write_buffer_size(self) -> int:
            return self.buffered

        def write(self, data: bytes) -> None:
            self.written.append(data)

    class Ws:
        def __init__(self) -> None:
            self.transport = Transport()
            self.protocol = SimpleNamespace(state=OPEN, extensions=[])
            self.send_in_progress = None

    ws = Ws()
    client = Client(ws, Limits(write_buffer=1000), now=0.0)  # type: ignore[arg-type]
    assert client.send(b"a")
    ws.transport.buffered = 5000  # the socket has not drained earlier frames
    assert not client.send(b"b") and not client.send(b"c")
    ws.transport.buffered = 0
    assert client.send(b"d")
    frames = [binary_frame_header(1) + b"a", binary_frame_header(1) + b"d"]
    assert ws.transport.written == frames and client.skipped == 2


def test_removing_bots_spares_a_dropped_players_car() -> None:
    """Found by RoomLife: the host plays, drops, the round starts, one bot is removed."""
    room = Room("ABCDE", clock=Clock(), scenario="x", world_factory=fake_factory)
    host = room.join("Host", "host", FakeConn(), wants_car=True)
    room.disconnect(host)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    assert host.car is not None and room.world.cars[host.car].controller == "bot"
    room.handle(host, parse_client_message({"type": "host", "command": "bots", "value": -1}))
    assert room.world.cars[host.car].controller == "bot"  # still there, a bot driving it
