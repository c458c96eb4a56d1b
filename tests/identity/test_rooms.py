"""A person keeps their seat (by token or, from another machine, by name), and a host ends a
room on purpose: stepped tick by tick on the fake world, without sockets."""

from __future__ import annotations

from typing import Any

import pytest

from server.rooms import REJOIN_SECONDS, RosterError
from shared import protocol as p
from shared.messages import parse_client_message
from tests.server.test_room import FakeConn, make_room


class FakeStore:
    """Records what a round is saved with."""

    def __init__(self) -> None:
        self.names: list[dict[int, str]] = []

    def create_game(self, code: str, program: str, host: str) -> int:
        return 1

    def save_round(self, *args: Any, names: dict[int, str], **kwargs: Any) -> None:
        self.names.append(dict(names))


def test_an_away_player_gets_the_seat_back_by_name_and_the_host_is_told() -> None:
    room, _ = make_room()
    host_conn = FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=False)
    ana = room.join("Ana", "player", FakeConn())
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    car = ana.car
    room.disconnect(ana)
    laptop = FakeConn()
    back = room.join(" ana ", "player", laptop)  # another machine: no token, same name
    assert back is ana and back.player == ana.player and back.car == car
    assert room.world.cars[car].controller == "player"
    assert laptop.last("joined")["player"] == ana.player
    assert host_conn.last("notice")["text"] == "Ana rejoined"
    assert [m.name for m in room.roster] == ["Host", "Ana"]


def test_a_connected_players_seat_is_never_taken_by_name() -> None:
    room, _ = make_room()
    room.join("Host", "host", FakeConn(), wants_car=False)
    ana = room.join("Ana", "player", FakeConn())
    other = room.join("Ana", "player", FakeConn())
    assert other is not ana and other.name == "Ana 2"


def test_a_host_or_spectator_seat_is_not_taken_by_name() -> None:
    room, _ = make_room()
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    watcher = room.join("Wall", "spectator", FakeConn())
    room.disconnect(host)
    room.disconnect(watcher)
    assert room.join("Host", "player", FakeConn()) is not host
    assert room.join("Wall", "spectator", FakeConn()) is not watcher


def test_a_locked_room_still_gives_an_away_player_their_seat() -> None:
    room, _ = make_room()
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    ana = room.join("Ana", "player", FakeConn())
    room.handle(host, parse_client_message({"type": "host", "command": "lock", "value": True}))
    room.disconnect(ana)
    assert room.join("Ana", "player", FakeConn()) is ana
    with pytest.raises(RosterError):
        room.join("Bo", "player", FakeConn())


def test_a_driver_whose_seat_expired_still_owns_the_round() -> None:
    store = FakeStore()
    room, clock = make_room(store=store, analyser=lambda request: {"names": request.names})
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    ana = room.join("Ana", "player", FakeConn())
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    car = ana.car
    assert car is not None
    room.disconnect(ana)
    clock.now += REJOIN_SECONDS + 1
    room.step()  # Ana's seat expires; a bot drives her car to the end
    assert room.roster.get(ana.player) is None
    room.handle(host, parse_client_message({"type": "host", "command": "end"}))
    assert store.names == [{car: "Ana"}]


def test_close_mid_round_saves_the_debrief_then_tells_everyone() -> None:
    store = FakeStore()
    room, _ = make_room(store=store, analyser=lambda request: {})
    host_conn, ana_conn, wall_conn = FakeConn(), FakeConn(), FakeConn()
    host = room.join("Host", "host", host_conn, wants_car=False)
    room.join("Ana", "player", ana_conn)
    room.join("Wall", "spectator", wall_conn)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    room.step()
    room.handle(host, parse_client_message({"type": "host", "command": "close"}))
    assert len(store.names) == 1  # the round was saved
    for conn in (host_conn, ana_conn, wall_conn):
        kinds = [f["type"] for f in conn.frames]
        assert kinds.index("debrief") < kinds.index("bye")  # the debrief first, then goodbye
        assert "the host closed the room" in conn.last("bye")["reason"]
        assert conn.closed is not None
    assert room.empty and room.closed  # the server drops it on its next tick


def test_close_in_the_lobby_tells_everyone_at_once() -> None:
    room, _ = make_room()
    host = room.join("Host", "host", FakeConn(), wants_car=False)
    ana_conn = FakeConn()
    room.join("Ana", "player", ana_conn)
    room.handle(host, parse_client_message({"type": "host", "command": "close"}))
    assert ana_conn.last("bye")["reason"] == "the host closed the room"
    assert room.empty


def test_only_the_host_may_close() -> None:
    room, _ = make_room()
    room.join("Host", "host", FakeConn(), wants_car=False)
    ana_conn = FakeConn()
    ana = room.join("Ana", "player", ana_conn)
    room.handle(ana, parse_client_message({"type": "host", "command": "close"}))
    assert ana_conn.last("error")["code"] == "forbidden"
    assert not room.closed


def test_close_is_a_host_command_of_the_protocol() -> None:
    msg = p.validate({"type": "host", "command": "close"}, p.CLIENT_MESSAGES)
    assert msg["command"] == "close"
