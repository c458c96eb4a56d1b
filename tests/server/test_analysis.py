"""The debrief analysis runs in a separate process: its inputs survive the trip exactly, the
round is still saved before the debrief is sent, and what cannot travel is analysed on a
thread instead."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from server.net import GameServer, Limits
from server.room import Room
from server.room.analysis import AnalysisRequest, analyse_packed, analyse_request, pack_request
from server.room.lifecycle import default_world_factory
from server.store import Store
from shared.messages import parse_client_message
from shared.sim.scenario import SCENARIO_DIR, register_scenario
from tests.support.room import FakeConn
from tests.support.server_client import WireClient


def short_scenario(tmp_path: Path, seconds: int = 3) -> str:
    """open-road, as long as `seconds`, registered by name for rooms of this process."""
    text = (SCENARIO_DIR / "open-road.toml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^seconds = \d+", f"seconds = {seconds}", text, count=1)
    assert n == 1
    path = tmp_path / "short-open-road.toml"
    path.write_text(text, encoding="utf-8")
    return register_scenario(path)


def a_request(scenario: str, checkpoint_every: int = 0) -> AnalysisRequest:
    """The analysis request of a real 3-second round, captured from a room."""
    captured: list[AnalysisRequest] = []

    def analyser(request: AnalysisRequest) -> dict[str, Any]:
        captured.append(request)
        return analyse_request(request)

    room = Room("ABCDE", clock=time.monotonic, scenario=scenario, bots=8, seed=4, analyser=analyser)
    host = room.join("Host", "host", FakeConn(), wants_car=True)
    room.handle(host, parse_client_message({"type": "host", "command": "start"}))
    if checkpoint_every:
        room.observers["recorder"].checkpoint_ticks = checkpoint_every
    while room.phase == "driving":
        room.step()
    assert len(captured) == 1
    return captured[0]


def test_a_packed_request_unpacks_to_worlds_that_run_on_identically(tmp_path: Path) -> None:
    request = a_request(short_scenario(tmp_path), checkpoint_every=20)
    assert request.outcome.recording is not None, "the round was recorded"
    checkpoints = request.outcome.recording.checkpoints
    assert checkpoints, "the round kept world copies"
    back = pickle.loads(pack_request(request))
    assert isinstance(back, AnalysisRequest)
    assert back.inputs.log == request.inputs.log
    assert back.outcome.metrics == request.outcome.metrics
    recording = back.outcome.recording
    assert recording is not None, "the recording travels with the request"
    assert sorted(recording.checkpoints) == sorted(checkpoints)
    for tick, original in checkpoints.items():
        mine, theirs = copy.deepcopy(original), recording.checkpoints[tick]
        for _ in range(100):  # every car's own random generator must have come through exactly
            mine.step({})
            theirs.step({})
        assert [(c.id, c.x, c.v, c.lane) for c in mine.cars.values()] == [
            (c.id, c.x, c.v, c.lane) for c in theirs.cars.values()
        ]
    assert analyse_packed(pack_request(request)) == analyse_request(request)


def test_inputs_that_cannot_be_pickled_are_analysed_on_the_thread(tmp_path: Path) -> None:
    request = a_request(short_scenario(tmp_path))

    class Names(dict):  # a local class: pickle cannot name it
        pass

    names = Names(request.outcome.names or {})
    request = dataclasses.replace(
        request, outcome=dataclasses.replace(request.outcome, names=names)
    )
    server = GameServer(manual=True, analysis_workers=1)
    payload = server.analyse(request)
    assert server.analysis.ran == {"process": 0, "thread": 1}
    assert payload["round"] == 1 and payload["drivers"]
    assert server.analysis.pool is None  # nothing was started for it


@pytest.fixture
async def process_server(tmp_path: Path) -> AsyncIterator[GameServer]:
    store = Store(tmp_path / "history.db")
    srv = GameServer(
        manual=True,
        limits=Limits(join_burst=1000),
        store=store,
        world_factory=default_world_factory,
        analysis_workers=1,
    )
    await srv.start("127.0.0.1", 0)
    yield srv
    await srv.stop()
    store.close()


async def test_the_debrief_is_analysed_in_a_process_after_the_round_is_saved(
    process_server: GameServer, tmp_path: Path
) -> None:
    server = process_server
    name = short_scenario(tmp_path, seconds=2)
    host = await WireClient.open(f"ws://127.0.0.1:{server.port}")
    await host.send({"type": "create", "protocol": 1, "name": "Host", "scenario": name})
    await host.until("joined")
    room = next(iter(server.registry))
    await host.send({"type": "host", "command": "start"})
    await host.until("room", phase="driving")
    await server.advance(40)
    await host.until("room", phase="debrief")
    debrief = await host.until("debrief")  # the analysis process answers; no sleeping here
    assert debrief["round"] == 1 and name.startswith(debrief["scenario"])  # the file's own name
    assert "error" not in debrief and "cards" in debrief and "diagram" in debrief
    assert server.analysis.ran == {"process": 1, "thread": 0}
    assert isinstance(server.store, Store) and room.game_id is not None
    assert server.store.load_round(room.game_id, 1)["seed"] == room.seed  # saved before sending
    await host.close()


def test_an_analysis_process_ends_when_its_server_is_killed() -> None:
    """`exit_with` is what ends a pool's process after a kill -9 of its server (before it,
    tests/debrief/test_crash.py left an idle analysis process and a forkserver behind)."""
    import subprocess
    import sys

    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    watcher = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from server.net_analysis import exit_with; exit_with({server.pid}, 0.05)",
        ],
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            watcher.wait(timeout=0.5)  # the server is alive: the watcher stays
        server.kill()
        server.wait()
        assert watcher.wait(timeout=30) == 0
    finally:
        for proc in (server, watcher):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
