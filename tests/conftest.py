"""Shared test settings: hypothesis profiles chosen by the environment."""

import os

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
