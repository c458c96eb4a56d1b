"""The debrief screen reads an incident root as the incident it was: the reveal and the Waves
tab name what blocked the lane (the host), never a driver, with the cost the server's replay
without the incident found. The payload is a real analysis of a scripted round."""

from __future__ import annotations

from textual.widgets import DataTable

from tests.support.debrief import INCIDENT_TICK, SECONDS, InjectIncident, play
from tests.support.harness import Harness, room_msg
from tests.support.screens import debrief_ready
from tests.support.waiting import wait_for


async def test_the_reveal_and_the_waves_tab_name_the_hosts_incident() -> None:
    played = play("rush-hour", 3, SECONDS, controls=InjectIncident(INCIDENT_TICK, 0, 300.0, 30.0))
    payload = played.payload
    assert payload is not None and payload["roots"][0]["kind"] == "incident"
    cost = payload["roots"][0]["counterfactual"]["cost_vs"]
    app = Harness(
        role="host",
        car=None,
        messages=(room_msg(phase="debrief"), {"type": "debrief", **payload}),
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: debrief_ready(app))
        await pilot.press("r")
        verdict = lambda: str(app.screen.query_one("#guess-result").render())  # noqa: E731
        await wait_for(pilot, lambda: "costliest wave" in verdict())
        assert "began with the host's incident in lane 1 at 0:20" in verdict()
        assert f"it cost the road {cost:.0f} vehicle-seconds" in verdict()
        await pilot.press("3")
        row = app.screen.query_one("#roots", DataTable).get_row_at(0)
        assert [str(c) for c in row[2:4]] == ["the host", "incident"]
