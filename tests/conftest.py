"""Shared test settings: hypothesis profiles chosen by the environment."""

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=50)
# HYPOTHESIS_PROFILE=deep: twenty times the examples of a normal run, to hunt (tests that set
# their own max_examples keep it)
settings.register_profile("deep", deadline=None, max_examples=1000)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(autouse=True)
def _own_data_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own user data folder (XDG_DATA_HOME): the client keeps rejoin
    tokens there (client/tokens.py), and a test must neither read a seat another test or a
    person left behind nor leave one."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))


@pytest.fixture(autouse=True)
def _observers_fail_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    """A round observer that raises inside a room's tick fails the test (a live room reports
    it to its host and goes on without it: server/room/room.py `Room.strict_observers`)."""
    from server.room import Room

    monkeypatch.setattr(Room, "strict_observers", True)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Any]:
    """A real game server on a free loopback port, in this process (the one `interlane solo`
    starts), with its history in the test's own folder; end-to-end tests connect to its url."""
    from server.embedded import start_embedded

    handle = start_embedded("127.0.0.1", 0, db=str(tmp_path / "games.db"))
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(autouse=True)
def _no_terminal_left_behind() -> Iterator[None]:
    """A test that runs `interlane` on a pseudo-terminal (tests/support/tui_process.py) and fails
    before its own clean-up leaves no process behind."""
    yield
    from tests.support.tui_process import TuiProcess

    TuiProcess.kill_all()
