"""The drive screen's cheap repaints. The road repaints only the rows that changed
(client/widgets/road.py): after any run of frames the screen must show exactly what a fresh
widget shows for the last frame alone, and rows that did not change are not rendered again.
The HUD asks for a new layout only when its height may change (client/widgets/hud.py), and
the minimap repaints only the rows a new ring summary changes (client/widgets/minimap.py)."""

from __future__ import annotations

import random

from textual.app import App, ComposeResult

from client.state import CarView
from client.widgets.hud import Hud
from client.widgets.minimap import Minimap, minimap_rows
from client.widgets.road import RoadView, View, compose_frame
from shared.protocol import FLAG_BRAKING, FLAG_HAZARD, FLAG_PLAYER, FLAG_SIGNAL_LEFT, FLAG_TRUCK

SIZE = (80, 17)
ROAD = {"length": 2000.0, "lanes": 3, "gantry": 300.0}
FLAGS = (0, FLAG_BRAKING, FLAG_HAZARD, FLAG_PLAYER, FLAG_SIGNAL_LEFT, FLAG_TRUCK)


class RoadApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RoadView(id="road")


def frames(seed: int, count: int) -> list[View]:
    """Cars that move, change lanes and flags, a camera that follows car 1, blinking."""
    rng = random.Random(seed)
    cars = {i: [rng.uniform(0, 200), float(rng.randrange(3)), rng.choice(FLAGS)] for i in range(12)}
    views = []
    for k in range(count):
        for car in cars.values():
            car[0] += rng.uniform(0, 3)
            if rng.random() < 0.2:
                car[1] = min(2.0, max(0.0, car[1] + rng.choice((-0.5, 0.5))))
            if rng.random() < 0.1:
                car[2] = rng.choice(FLAGS)
        views.append(
            View(
                cars=tuple(CarView(i, x, lane, 20.0, int(f)) for i, (x, lane, f) in cars.items()),
                road=ROAD,
                centre_x=cars[1][0],
                you=1,
                names={3: "Ada"},
                blink_on=k % 3 != 0,
                lanes=3,
            )
        )
    return views


def screen_text(app: App[None]) -> list[str]:
    road = app.query_one(RoadView)
    return [road.render_line(y).text for y in range(road.size.height)]


async def test_partial_repaints_end_on_the_same_picture_as_a_full_draw() -> None:
    views = frames(seed=7, count=25)
    moving = RoadApp()
    async with moving.run_test(size=SIZE) as pilot:
        road = moving.query_one(RoadView)
        for view in views:
            road.show(view)
            await pilot.pause()
        width, height = road.size
        assert screen_text(moving) == [s.text for s in compose_frame(views[-1], width, height)]
        moved = moving.export_screenshot()
    still = RoadApp()
    async with still.run_test(size=SIZE) as pilot:
        still.query_one(RoadView).show(views[-1])
        await pilot.pause()
        await pilot.pause()
        assert still.export_screenshot() == moved


async def test_only_changed_rows_are_marked_for_repaint() -> None:
    views = frames(seed=3, count=3)
    app = RoadApp()
    async with app.run_test(size=SIZE) as pilot:
        road = app.query_one(RoadView)
        road.show(views[0])
        await pilot.pause()
        # the same cars one column on: the verge and plain asphalt rows stay as they were
        view = views[0]
        nudged = View(
            tuple(CarView(c.id, c.x + 2.0, c.lane, c.v, c.flags) for c in view.cars),
            view.road,
            view.centre_x,
            view.you,
            view.names,
            view.blink_on,
            view.lanes,
        )
        before = [s.text for s in compose_frame(view, *road.size)]
        after = [s.text for s in compose_frame(nudged, *road.size)]
        changed = {y for y, (a, b) in enumerate(zip(before, after, strict=True)) if a != b}
        road.show(nudged)
        dirty = {y for region in road._repaint_regions for y in region.line_range}
        assert changed and dirty == changed
        await pilot.pause()
        assert screen_text(app) == after


class HudApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Hud(id="hud")


async def test_hud_grows_for_a_banner_and_repaints_a_new_speed_without_a_layout() -> None:
    app = HudApp()
    async with app.run_test(size=(100, 12)) as pilot:
        hud = app.query_one(Hud)
        you = {"v": 20.0, "target": 25.0, "lane": 1, "gap": 2}
        hud.show(you, None, None, 3, "0:10")
        await pilot.pause()
        plain_height = hud.size.height
        hud.show(you, None, None, 3, "0:10", banner=" PAUSED ")
        assert hud._layout_required
        await pilot.pause()
        assert hud.size.height == plain_height + 1
        hud.show({**you, "v": 30.0}, None, None, 3, "0:11", banner=" PAUSED ")
        assert not hud._layout_required
        await pilot.pause()
        assert "108 km/h" in str(hud.render())
        hud.show({**you, "v": 30.0}, None, None, 3, "0:11")
        await pilot.pause()
        assert hud.size.height == plain_height


class MapApp(App[None]):
    CSS = "Minimap { height: 5; }"

    def compose(self) -> ComposeResult:
        yield Minimap(id="minimap")


async def test_minimap_repaints_the_rows_a_new_ring_changes_and_ends_right() -> None:
    rng = random.Random(11)
    road = {"length": 2000.0, "gantry": 500.0}
    rings = [[rng.uniform(0, 130) for _ in range(40)]]
    for _ in range(12):
        ring = list(rings[-1])
        ring[rng.randrange(40)] = rng.uniform(0, 130)
        rings.append(ring)
    app = MapApp()
    async with app.run_test(size=(80, 8)) as pilot:
        minimap = app.query_one(Minimap)
        for k, ring in enumerate(rings):
            minimap.show(ring, 2000.0, 100.0 + 30 * k, road)
            await pilot.pause()
        width, height = minimap.size
        shown = [minimap.render_line(y).text for y in range(height)]
        fresh = minimap_rows(rings[-1], width, 2000.0, round(100.0 + 30 * 12, -1), road, height)
        assert shown == [s.text for s in fresh]
        # a ring that only changes a slow segment's colour row, not the marker row
        ring = list(rings[-1])
        ring[0] = 5.0 if ring[0] > 60 else 125.0
        minimap.show(ring, 2000.0, 100.0 + 30 * 12, road)
        dirty = {y for region in minimap._repaint_regions for y in region.line_range}
        assert dirty and 0 not in dirty
        await pilot.pause()
        moved = app.export_screenshot()
    still = MapApp()
    async with still.run_test(size=(80, 8)) as pilot:
        still.query_one(Minimap).show(ring, 2000.0, 100.0 + 30 * 12, road)
        await pilot.pause()
        assert still.export_screenshot() == moved
