"""The damper challenge over a real websocket: `interlane solo --scenario damper-ring` against
the embedded server on a loopback port, the HUD's damper line, the wide gap from the keyboard,
the solo debrief after the round is ended, and the progress in the server's history file.

The server ticks in real time here, so the test waits for conditions (bounded), never sleeps
a fixed time, and ends the round early rather than waiting for the damping to be judged (the
judging itself is tested tick by tick in test_solo_damper.py and test_solo_room.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from client.app import InterlaneApp
from client.plan import Plan
from client.screens.drive import DriveScreen
from client.widgets.hud import Hud
from server.store import Store
from shared.messages import HostCommand
from tests.support.screens import debrief_ready
from tests.support.waiting import wait_for


async def test_the_damper_challenge_end_to_end(server: Any, tmp_path: Path) -> None:
    plan = Plan(
        kind="solo",
        url=server.url,
        name="Ana",
        scenario="damper-ring",
        seed=5,
        play=True,
        autostart=True,
    )
    app = InterlaneApp(plan)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, DriveScreen) and app.state.damper)
        hud = app.screen.query_one(Hud)
        # "measuring…" until the first samples (twice a second), then the settling-in phase
        await wait_for(pilot, lambda: "settling in" in str(hud.render()))
        room = app.state.room
        assert room is not None and room["title"] == "Wave damper"
        await pilot.press("3")
        await wait_for(pilot, lambda: (app.state.you or {}).get("gap_setting") == 3)
        app.send(HostCommand(command="end"))
        await wait_for(pilot, lambda: debrief_ready(app))
        await wait_for(pilot, lambda: (app.state.debrief or {}).get("solo") is not None)
        debrief = app.state.debrief
        assert debrief is not None
        solo = debrief["solo"]
        assert solo["challenge"] == "damper" and solo["title"] == "Wave damper"
        summary = app.screen.query_one("#solo-summary")
        await wait_for(pilot, lambda: "Wave damper:" in str(summary.render()))
    with Store(tmp_path / "games.db") as store:
        (row,) = store.solo_results("damper-ring")
        assert (row["player"], row["challenge"]) == ("Ana", "damper")
