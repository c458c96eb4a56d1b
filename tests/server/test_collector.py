"""The garbage-collection schedule (server/collector.py): survivors are frozen out of the
collector's sight, and a full collection follows closed rooms without running for each."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from server.collector import Collector
from server.net import GameServer
from shared.messages import Create
from tests.support.fake_world import fake_factory
from tests.support.room import FakeConn


class FakeGc:
    """Records what the policy asks of the `gc` module."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def freeze(self) -> None:
        self.calls.append("freeze")

    def unfreeze(self) -> None:
        self.calls.append("unfreeze")

    def collect(self, generation: int = 2) -> int:
        self.calls.append(f"collect{generation}")
        return 3


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_every_step_freezes_and_full_collections_follow_closed_rooms_at_most_once_a_gap() -> None:
    clock, fake = Clock(), FakeGc()
    policy = Collector(full_gap=60.0, full_every=900.0, clock=clock, collector=fake)
    clock.now = 1.0
    policy.step()
    assert fake.calls == ["freeze"]  # nothing closed: no full collection
    policy.room_closed()
    policy.room_closed()
    clock.now = 30.0
    policy.step()
    assert fake.calls[-1] == "freeze" and "collect2" not in fake.calls  # within the gap
    clock.now = 61.0
    policy.step()
    assert fake.calls[-3:] == ["unfreeze", "collect2", "freeze"]  # one for both rooms
    assert policy.full_runs == 1 and policy.freed == 3 and policy.rooms_closed == 0
    clock.now = 500.0
    policy.step()
    assert policy.full_runs == 1  # no room closed since
    clock.now = 961.0
    policy.step()
    assert policy.full_runs == 2  # however quiet, nothing is held longer than full_every


class Node:
    def __init__(self) -> None:
        self.other: Any = None


def test_a_frozen_cycle_is_freed_by_the_full_collection_after_a_room_closes() -> None:
    clock = Clock()
    policy = Collector(full_gap=60.0, clock=clock)
    try:
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the cyclic collector can free it
        alive = weakref.ref(a)
        policy.step()  # frozen with everything else that exists now
        del a, b
        gc.collect()
        assert alive() is not None  # out of the collector's sight while frozen
        policy.room_closed()
        clock.now = 61.0
        policy.step()
        assert alive() is None
    finally:
        gc.unfreeze()


def test_the_server_tells_its_collector_when_a_room_closes() -> None:
    server = GameServer(manual=True, world_factory=fake_factory, analysis_workers=0)
    room, _ = server.create_room(FakeConn(), Create(protocol=1, name="Host", scenario="test-road"))
    server._close_room(room, "")
    assert server.collector.rooms_closed == 1
