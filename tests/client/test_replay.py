"""The replay screen rebuilds a stored round exactly and scrubs it from any car's view."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.plan import Plan
from client.screens.replay import SAMPLE_TICKS, ReplayScreen, build_frames
from server.replays import load_stored
from server.store import Store
from shared.protocol import unpack_car
from shared.sim.world import World
from tests.support.harness import EVIL_NAME, Harness, screen_text
from tests.support.replay import TICKS
from tests.support.waiting import wait_for


def test_frames_match_the_original_round(stored_round: tuple[str, int, World]) -> None:
    db, game, world = stored_round
    stored = load_stored(db, game, None)
    frames, road = build_frames(stored)
    assert len(frames) == TICKS // SAMPLE_TICKS + 1
    assert road["length"] == world.length
    last = frames[-1]
    assert last.tick == TICKS
    for row in last.cars:
        car_id, lane, x, v, _ = unpack_car(row)
        car = world.cars[car_id]
        assert x == pytest.approx(car.x, abs=0.05) and v == pytest.approx(car.v, abs=0.005)


async def replay_app(db: str, game: int) -> Harness:
    """`interlane replay GAME --db FILE`: the replay screen, no network."""
    return Harness(role="", plan=Plan(kind="replay", game=str(game), db=db), rounds=load_stored)


async def test_scrub_follow_and_jump_to_root(stored_round: tuple[str, int, World]) -> None:
    db, game, world = stored_round
    app = await replay_app(db, game)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await wait_for(pilot, lambda: screen.loaded or screen.error is not None)
        assert screen.error is None
        me = next(iter(screen.names))
        assert screen.follow == me  # starts on the player's car
        # loading ends in a worker; the screen paints its first frame after: wait for it
        await wait_for(pilot, lambda: f"car {me} ({EVIL_NAME})" in screen_text(app))
        await pilot.press("right", "right", "pagedown")
        assert screen.index == 2 + 20
        await wait_for(pilot, lambda: "0:11 / 0:20" in screen_text(app))
        await pilot.press("end")
        assert screen.frame is not None and screen.frame.tick == TICKS
        car = screen.followed_car()
        assert car is not None and car.x == pytest.approx(world.cars[me].x, abs=0.05)
        await pilot.press("right_square_bracket")
        assert screen.follow != me
        await pilot.press("w")
        assert screen.follow == me and screen.index == 0
        await wait_for(pilot, lambda: f"{EVIL_NAME}'s brake at 0:05" in screen_text(app))


async def test_play_advances_and_stops_at_the_end(stored_round: tuple[str, int, World]) -> None:
    db, game, _ = stored_round
    app = await replay_app(db, game)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await wait_for(pilot, lambda: screen.loaded)
        await pilot.press("end", "left", "space")
        assert screen.playing
        for _ in range(200):
            if not screen.playing:
                break
            await pilot.pause(0.05)
        assert not screen.playing and screen.index == len(screen.frames) - 1


async def test_missing_round_is_reported_not_raised(tmp_path: Path) -> None:
    db = str(tmp_path / "empty.sqlite")
    Store(db)
    app = await replay_app(db, 42)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await wait_for(pilot, lambda: screen.error is not None)
        assert "cannot be replayed" in screen_text(app)


async def test_the_app_opens_the_replay_from_its_plan(stored_round: tuple[str, int, World]) -> None:
    """`interlane replay GAME --db FILE` → Plan(kind="replay") → this screen, no network."""
    from client.app import InterlaneApp
    from client.plan import Plan

    db, game, _ = stored_round
    app = InterlaneApp(Plan(kind="replay", game=str(game), db=db), rounds=load_stored)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ReplayScreen))
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await wait_for(pilot, lambda: screen.loaded or screen.error is not None)
        assert screen.error is None and len(screen.frames) == TICKS // SAMPLE_TICKS + 1
