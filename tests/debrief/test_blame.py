"""Blame follows the cause: a player who cuts in without a safe gap caused the crash.

The round is scripted on the real simulation: the player slows down, then moves left the
moment a much faster car is only a few metres behind in that lane. The crash that follows is
the player's in every place a figure names a driver — the debrief payload's driver rows, the
You tab, the report's JSON and CSV — and it is a traced wave root with a counterfactual cost.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from server.report import render
from shared.sim.events import crash_cause
from tests.support.debrief import Played, play, stored_report
from tests.support.harness import Harness, room_msg, seated
from tests.support.screens import debrief_ready
from tests.support.waiting import wait_for


class CutIn:
    """Slow down, then cut left in front of a car closing fast only metres behind."""

    def __init__(self) -> None:
        self.world: Any = None
        self.cut_at: int | None = None

    def __call__(self, tick: int, cars: list[int]) -> dict[int, list[tuple[str, Any]]]:
        (me,) = cars
        car = self.world.cars[me]
        if tick < 200:
            return {me: [("slower", None)]} if tick % 5 == 0 else {}
        if self.cut_at is not None or tick < 400 or car.lc_dir or car.crashed:
            return {}
        target = car.lane_index + 1
        if target >= self.world.lanes:
            return {}
        for other in self.world.cars.values():
            if other.id == me or other.lane_index != target or other.lc_dir:
                continue
            gap = (car.x - car.length - other.x) % self.world.length
            if 5.5 < gap < 9.0 and other.v - car.v > 12.0:
                self.cut_at = tick
                return {me: [("left", None)]}
        return {}


@pytest.fixture(scope="module")
def cut_in() -> tuple[Played, CutIn]:
    script = CutIn()
    played = play("open-road", 3, 75, players=1, controls=script, names=["Sol"])
    assert script.cut_at is not None, "the script found no car to cut in front of"
    return played, script


def _crash(played: Played) -> Any:
    crashes = [e for e in played.recording.events if e.kind == "crash"]
    assert crashes, "the cut-in did not end in a crash"
    return crashes[0]


def test_the_crash_event_names_the_cutter_first(cut_in: tuple[Played, CutIn]) -> None:
    played, _ = cut_in
    crash = _crash(played)
    assert crash.car == played.players[0] and crash.other != played.players[0]


def test_crashes_caused_is_the_players_in_the_payload(cut_in: tuple[Played, CutIn]) -> None:
    played, _ = cut_in
    crash = _crash(played)
    rows = {d["car"]: d for d in played.debrief["drivers"]}
    me = rows[played.players[0]]
    assert me["crashes_caused"] >= 1 and me["crashes"] >= 1 and me["name"] == "Sol"
    assert rows[crash.other]["crashes"] >= 1 and rows[crash.other]["crashes_caused"] == 0
    assert sum(d["crashes_caused"] for d in rows.values()) == played.debrief["team"]["crashes"]


def test_the_crash_is_a_traced_root_with_a_counterfactual_cost(
    cut_in: tuple[Played, CutIn],
) -> None:
    played, script = cut_in
    roots = [r for r in played.debrief["roots"] if r["kind"] == "crash"]
    assert roots, played.debrief["roots"]
    root = roots[0]
    assert root["car"] == played.players[0] and root["name"] == "Sol"
    cf = root["counterfactual"]
    assert cf is not None and isinstance(cf["cost_vs"], float)
    # the replay starts before the cut-in, so the cut-in is not made in it
    assert script.cut_at is not None and cf["from_t"] <= script.cut_at * 0.05
    assert cf["cost_vs"] > 0  # a crash that stops a lane costs the road time
    assert "Sol's crash" in root["text"]


async def test_the_you_tab_shows_the_crash_caused(cut_in: tuple[Played, CutIn]) -> None:
    played, _ = cut_in
    msg = {"type": "debrief", **played.debrief}
    car = played.players[0]
    room = seated(room_msg(phase="debrief"), 2, car)
    app = Harness(role="player", player=2, car=car, messages=(room, msg))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r")
        await pilot.press("5")
        table = app.screen.query_one("#you", DataTable)
        rows = {str(table.get_row_at(i)[0]): table.get_row_at(i) for i in range(table.row_count)}
        assert str(rows["Crashes caused"][1]) == "1"


def test_report_json_and_csv_give_the_crash_to_the_player(
    cut_in: tuple[Played, CutIn], tmp_path: Path
) -> None:
    played, _ = cut_in
    path = tmp_path / "history.sqlite3"
    data = stored_report(played, path, "CUTIN", "solo", "Sol")
    me = played.players[0]
    (stored,) = json.loads(render(data, "json"))["rounds"]
    caused = {d["car"]: d["crashes_caused"] for d in stored["debrief"]["drivers"]}
    assert caused[me] >= 1 and sum(caused.values()) == caused[me]
    rows = list(csv.DictReader(io.StringIO(render(data, "csv"))))
    by_car = {r["car"]: r for r in rows if r["record"] == "driver"}
    assert by_car[str(me)]["crashes_caused"] == str(caused[me])
    assert by_car[str(me)]["name"] == "Sol"
    assert all(r["crashes_caused"] == "0" for car, r in by_car.items() if car != str(me))


class _Car:
    def __init__(self, last_lc: int, lc_target: int) -> None:
        self.last_lc, self.lc_target = last_lc, lc_target


def test_crash_cause_rules() -> None:
    settled = _Car(-(10**9), 1)
    cutter = _Car(990, 1)
    assert crash_cause(settled, cutter, 1, 1000) == (cutter, settled)  # cut in ahead
    assert crash_cause(cutter, settled, 1, 1000) == (cutter, settled)  # moved into its side
    assert crash_cause(settled, _Car(-(10**9), 1), 1, 1000)[0] is settled  # rammed ahead
    old = _Car(100, 1)  # moved in long ago: the car behind ran into it
    assert crash_cause(settled, old, 1, 1000)[0] is settled


def test_a_crash_caused_while_a_bot_drove_for_the_player_is_not_the_members() -> None:
    """Through drops and rejoins: a stand-in bot's crash is counted apart from the member's."""
    from server.metrics import RoundMetrics
    from shared.sim.events import Event
    from shared.sim.scenario import load_scenario
    from shared.sim.world import World

    world = World(load_scenario("open-road"), seed=1)
    me = world.add_player_car()
    other = next(c for c in world.cars if c != me)
    metrics = RoundMetrics(world)
    metrics.observe(world, world.step())
    tick = world.tick
    metrics.observe(world, [Event(tick, "takeover", me, 0.0, 0)])
    metrics.observe(world, [Event(tick, "crash", me, 0.0, 0, other=other, value=3.0)])
    metrics.observe(world, [Event(tick, "handback", me, 0.0, 0)])
    metrics.observe(world, [Event(tick, "crash", me, 0.0, 0, other=other, value=3.0)])
    rows = {d["car"]: d for d in metrics.result()["drivers"]}
    assert rows[me]["crashes"] == 2
    assert rows[me]["crashes_caused"] == 1 and rows[me]["stand_in_crashes_caused"] == 1
    assert rows[me]["penalty_m"] == 500.0  # only the member's own crash costs their score
    assert rows[other]["crashes"] == 2 and rows[other]["crashes_caused"] == 0
    team = metrics.result()["team"]["crashes"]
    assert team == sum(d["crashes_caused"] + d["stand_in_crashes_caused"] for d in rows.values())
