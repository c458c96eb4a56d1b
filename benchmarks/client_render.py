"""How fast the drive screen draws: frames per second and CPU at 120×40, 60 cars in view.

The app runs headless (Textual's run_test) with no server: a task feeds it snapshots at
20 Hz, as the server would, with 60 cars moving through the view, and the real clock drives
interpolation. We count the screen updates actually painted (the road's frames composed are
shown too) and the process CPU time used. Goal (issue 5): at least 30 frames per second using
at most 30% of one core — or, when Textual is capped below 30 (TEXTUAL_FPS, as a door player's
client is at 20, server/doors/child.py), a paint at every allowed frame.

    .venv/bin/python benchmarks/client_render.py [--seconds 10]
    TEXTUAL_FPS=20 .venv/bin/python benchmarks/client_render.py   # as a door player's client
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import constants  # noqa: E402

from client.app import InterlaneApp  # noqa: E402
from client.plan import Plan  # noqa: E402
from client.screens.drive import DriveScreen  # noqa: E402
from client.widgets.road import RoadView  # noqa: E402
from tests.support.fakes import joined, room, snapshot  # noqa: E402
from tests.support.frozen_app import post  # noqa: E402

CARS_IN_VIEW = 60


async def run(seconds: float, size: tuple[int, int]) -> dict[str, float]:
    app = InterlaneApp(Plan(kind="solo", name="Bench"))
    async with app.run_test(size=size) as pilot:
        post(app, joined())
        post(app, room("driving"))
        post(app, snapshot(0, extra=CARS_IN_VIEW - 9))
        while not isinstance(app.screen, DriveScreen):
            await pilot.pause(0.01)
        road = app.screen.query_one(RoadView)
        painted = 0
        display = app._display

        def counting_display(screen: Any, renderable: Any) -> None:
            nonlocal painted
            if renderable is not None:
                painted += 1
            display(screen, renderable)

        # the one place a screen update is written out, counted
        with patch.object(app, "_display", counting_display):
            await pilot.pause(0.5)  # settle: first layout, first frames
            frames0, painted0 = road.frames, painted
            cpu0, wall0 = time.process_time(), time.monotonic()
            tick = 1
            next_at = wall0
            while time.monotonic() - wall0 < seconds:
                post(app, snapshot(tick, extra=CARS_IN_VIEW - 9, events=[]))
                tick += 1
                next_at += 0.05
                await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            wall = time.monotonic() - wall0
            cpu = time.process_time() - cpu0
            frames = road.frames - frames0
            paints = painted - painted0
            in_view = len(app.state.interpolator.cars_at(time.monotonic()))
    return {
        "seconds": wall,
        "frames": frames,
        "paints": paints,
        "fps": paints / wall,
        "cpu_percent": 100.0 * cpu / wall,
        "snapshots": tick - 1,
        "cars": in_view,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    args = parser.parse_args()
    result = asyncio.run(run(args.seconds, (args.width, args.height)))
    print(f"terminal        {args.width}×{args.height} (headless)")
    print(f"cars in view    {result['cars']}")
    print(f"snapshots fed   {result['snapshots']} in {result['seconds']:.1f} s (20 Hz)")
    print(f"road frames     {result['frames']} composed")
    print(f"screen updates  {result['paints']} painted (Textual at most {constants.MAX_FPS}/s)")
    print(f"frames/s        {result['fps']:.1f} painted")
    print(f"CPU             {result['cpu_percent']:.1f}% of one core (process CPU time / wall)")
    goal_fps = min(30, 0.9 * constants.MAX_FPS)
    ok = result["fps"] >= goal_fps and result["cpu_percent"] <= 30
    print(
        f"client_render: {result['fps']:.1f} fps at {result['cpu_percent']:.1f}% CPU "
        f"with {result['cars']} cars at {args.width}×{args.height} — "
        f"{'meets' if ok else 'misses'} the goal (≥{goal_fps:.0f} fps, ≤30% CPU)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
