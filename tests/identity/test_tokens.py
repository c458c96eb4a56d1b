"""The seat store (client/tokens.py): one token per server and room, 0600, written whole."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from client.tokens import KEEP_SECONDS, SeatStore, seats_path


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_seat_comes_back_for_the_same_server_and_room(tmp_path: Path) -> None:
    store = SeatStore(tmp_path / "seats.json")
    assert store.save("ws://10.0.0.5:8765/", "abcde", "tok-1", "Ana", "player")
    seat = store.get("ws://10.0.0.5:8765", "ABCDE")
    assert seat is not None and (seat.token, seat.name, seat.role) == ("tok-1", "Ana", "player")
    assert store.get("ws://10.0.0.6:8765", "ABCDE") is None  # another server
    assert store.get("ws://10.0.0.5:8765", "ABCDF") is None  # another room


def test_the_file_is_private_and_never_left_half_written(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "seats.json"
    store = SeatStore(path)
    store.save("ws://h:1", "ABCDE", "secret", "Ana", "player")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    store.save("ws://h:1", "FGHJK", "secret2", "Ana", "player")
    assert sorted(p.name for p in path.parent.iterdir()) == ["seats.json"]  # no temp files


def test_a_broken_file_is_an_empty_store_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "seats.json"
    path.write_text("{not json")
    store = SeatStore(path)
    assert store.get("ws://h:1", "ABCDE") is None
    assert store.save("ws://h:1", "ABCDE", "t", "Ana", "player")
    assert store.get("ws://h:1", "ABCDE") is not None
    path.write_text('{"ws://h:1 ABCDE": {"token": 5}}')
    assert store.get("ws://h:1", "ABCDE") is None


def test_forget_and_old_seats_go(tmp_path: Path) -> None:
    clock = Clock()
    store = SeatStore(tmp_path / "seats.json", clock=clock)
    store.save("ws://h:1", "ABCDE", "t1", "Ana", "player")
    store.forget("ws://h:1", "ABCDE")
    assert store.get("ws://h:1", "ABCDE") is None
    store.save("ws://h:1", "ABCDE", "t1", "Ana", "player")
    clock.now += KEEP_SECONDS + 1
    store.save("ws://h:1", "FGHJK", "t2", "Ana", "player")  # a write drops stale seats
    assert store.get("ws://h:1", "ABCDE") is None
    assert store.get("ws://h:1", "FGHJK") is not None


def test_the_newest_hosted_room_on_a_server_is_found(tmp_path: Path) -> None:
    clock = Clock()
    store = SeatStore(tmp_path / "seats.json", clock=clock)
    store.save("wss://s:1", "AAAAA", "t1", "Host", "host")
    clock.now += 5
    store.save("wss://s:1", "BBBBB", "t2", "Host", "host")
    store.save("wss://s:1", "CCCCC", "t3", "Ana", "player")
    store.save("wss://other:1", "DDDDD", "t4", "Host", "host")
    seat = store.host_seat("wss://s:1")
    assert seat is not None and seat.code == "BBBBB"
    assert store.host_seat("wss://nowhere:1") is None


def test_an_unwritable_folder_loses_the_seat_quietly(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    store = SeatStore(blocker / "seats.json")  # a folder that cannot exist
    assert store.save("ws://h:1", "ABCDE", "t", "Ana", "player") is False


def test_the_default_file_is_in_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert seats_path() == tmp_path / "interlane" / "seats.json"


def test_door_players_never_share_a_seat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Door sessions run as the host's OS user: each door identity has a seats file of its own,
    and the same identity coming back (same SSH key, same browser) finds its seat."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    monkeypatch.setenv("INTERLANE_IDENTITY", "ssh-key-aaaa")
    ana = seats_path()
    SeatStore(ana).save("ws://127.0.0.1:8765", "KX7PQ", "token-ana", "Ana", "player")
    monkeypatch.setenv("INTERLANE_IDENTITY", "web-bbbb")
    bo = seats_path()
    assert bo != ana and bo.parent.parent == ana.parent.parent == tmp_path / "interlane" / "doors"
    assert SeatStore(bo).get("ws://127.0.0.1:8765", "KX7PQ") is None
    monkeypatch.delenv("INTERLANE_IDENTITY")
    assert SeatStore(seats_path()).get("ws://127.0.0.1:8765", "KX7PQ") is None  # nor the host
    monkeypatch.setenv("INTERLANE_IDENTITY", "ssh-key-aaaa")
    seat = SeatStore(seats_path()).get("ws://127.0.0.1:8765", "KX7PQ")
    assert seat is not None and seat.token == "token-ana"
    monkeypatch.setenv("INTERLANE_IDENTITY", "../../etc")  # not a door's key: the plain store
    assert seats_path() == tmp_path / "interlane" / "seats.json"
