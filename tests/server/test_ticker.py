"""The tick scheduler with a fake clock: no drift, catch-up after hiccups, late ticks counted."""

from __future__ import annotations

import asyncio

from server.ticker import Ticker, percentile


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def run(ticker: Ticker, ticks: int) -> None:
    asyncio.run(ticker.run(max_ticks=ticks))


def test_ticks_land_on_their_deadlines_without_drift() -> None:
    t = FakeTime()
    starts: list[float] = []

    def step() -> None:
        starts.append(t.now)
        t.now += 0.013  # each tick takes 13 ms of "work"

    ticker = Ticker(step, clock=t.clock, sleep=t.sleep)
    run(ticker, 1000)
    assert [round(s, 9) for s in starts] == [round(i * 0.05, 9) for i in range(1000)]
    assert ticker.stats.late == 0 and ticker.stats.dropped == 0
    assert abs(ticker.stats.summary()["p99_ms"] - 13.0) < 1e-6


def test_a_hiccup_is_caught_up_and_counted() -> None:
    t = FakeTime()
    starts: list[float] = []

    def step() -> None:
        starts.append(t.now)
        if len(starts) == 10:
            t.now += 0.32  # a 320 ms stall inside tick 10

    ticker = Ticker(step, clock=t.clock, sleep=t.sleep)
    run(ticker, 40)
    # ticks 10..16 were due during the stall: they run back to back, then the rate resumes
    assert all(abs(starts[i] - starts[9] - 0.32) < 1e-9 for i in range(10, 16))
    assert abs(starts[39] - 39 * 0.05) < 1e-9  # no drift after the catch-up
    assert ticker.stats.late >= 4 and ticker.stats.dropped == 0
    assert abs(ticker.stats.max_lateness - (0.32 + 0.45 - 0.5)) < 1e-9


def test_a_long_stall_drops_ticks_instead_of_bursting() -> None:
    t = FakeTime()
    count = [0]

    def step() -> None:
        count[0] += 1
        if count[0] == 3:
            t.now += 5.0  # 100 ticks' worth

    ticker = Ticker(step, clock=t.clock, sleep=t.sleep, max_catchup=10)
    run(ticker, 20)
    assert ticker.stats.dropped >= 85
    assert ticker.stats.ticks == 20


def test_percentile_by_nearest_rank() -> None:
    assert percentile([], 99) == 0.0
    assert percentile([float(i) for i in range(101)], 99) == 99.0
    assert percentile([5.0], 50) == 5.0


def test_rooms_tick_in_groups_spread_over_the_period_each_at_20_hz() -> None:
    from server.net import TICK_GROUPS, GameServer
    from shared.messages import Create
    from tests.server.test_room import FakeConn
    from tests.support.fake_world import fake_factory

    server = GameServer(manual=True, world_factory=fake_factory, analysis_workers=0)
    create = Create(protocol=1, name="Host", scenario="test-road")
    rooms = [server.create_room(FakeConn(), create)[0] for _ in range(12)]
    ticks = {room.code: 0 for room in rooms}
    for room in rooms:

        def counted(code: str = room.code) -> None:
            ticks[code] += 1

        room.step = counted  # type: ignore[method-assign]
    sizes = [sum(1 for g in server._group_of.values() if g == k) for k in range(TICK_GROUPS)]
    assert max(sizes) - min(sizes) <= 1  # new rooms go to the quietest group
    for _ in range(3 * TICK_GROUPS):  # three room periods of ticker steps
        server.step_group()
    assert set(ticks.values()) == {3}  # every room ticked once per period, none twice
