"""The Makefile repairs a half-built virtualenv on its own.

An interrupted first `make play` (ctrl+c while pip upgrades itself) used to leave a `.venv`
whose python existed, so make thought the venv was done, while its pip was broken: every later
`make play` failed until `make clean`. These tests ask make for its plan (`make -n`) in a copy
of the project's Makefile with a fake venv, so they need no network and create no venv.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def _project_copy(tmp_path: Path) -> Path:
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def _fake_python(venv: Path, *, pip_works: bool) -> None:
    """A venv python that answers `-m pip --version` as a whole or a broken pip would."""
    bin_dir = venv / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "python"
    code = 0 if pip_works else 1
    script.write_text(f"#!/bin/sh\nexit {code}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)


def _make(project: Path, target: str) -> subprocess.CompletedProcess[str]:
    """`make -n TARGET` as a person would run it (not as a sub-make of `make test`, whose
    inherited flags would add "Entering directory" lines)."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(
        ["make", "--no-print-directory", "-n", target],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def _plan(project: Path, target: str) -> str:
    done = _make(project, target)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _rebuilds(plan: str) -> bool:
    return "rm -rf .venv" in plan and "-m venv .venv" in plan


def test_half_built_venv_without_ready_stamp_is_built_again(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    # what ctrl+c during pip's self-upgrade leaves: a python, no ready stamp, a broken pip
    _fake_python(project / ".venv", pip_works=False)
    plan = _plan(project, "play")
    assert _rebuilds(plan), plan
    assert "pip install" in plan and "interlane solo" in plan


def test_ready_venv_whose_pip_broke_is_built_again(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    venv = project / ".venv"
    _fake_python(venv, pip_works=False)
    for stamp in (".venv-ready", ".installed-play", ".installed-test"):
        (venv / stamp).touch()
    done = _make(project, "test")
    assert "damaged" in done.stdout + done.stderr
    assert _rebuilds(done.stdout), done.stdout


def test_whole_venv_is_left_alone(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    venv = project / ".venv"
    _fake_python(venv, pip_works=True)
    for stamp in (".venv-ready", ".installed-play"):
        (venv / stamp).touch()
    plan = _plan(project, "play")
    assert not _rebuilds(plan), plan
    assert "pip install" not in plan
    assert plan.strip().endswith("interlane solo")


def test_installs_use_the_pinned_constraints(tmp_path: Path) -> None:
    project = _project_copy(tmp_path)
    plan = _plan(project, "test")
    installs = [line for line in plan.splitlines() if "pip install" in line and "-e" in line]
    assert installs and all("-c constraints.txt" in line for line in installs), plan
    pins = [
        line
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert pins and all("==" in line for line in pins)
    assert any(line.lower().startswith("ruff==") for line in pins)
