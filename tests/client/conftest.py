"""Fixtures shared by the client's tests."""

from __future__ import annotations

import pytest

from shared.sim.world import World
from tests.support.replay import store_ring_round


@pytest.fixture(scope="module")
def stored_round(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, int, World]:
    """A 20 s round on the ring with one player who brakes, saved in a fresh history file."""
    return store_ring_round(tmp_path_factory.mktemp("replay"))
