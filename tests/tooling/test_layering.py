"""The dependency rules of docs/architecture.md ("Dependency rules") are checked, and can fail.

pyproject.toml's [tool.importlinter] contracts run in `make test` through `lint-imports`. These
tests run the same contracts on a small fixture tree written to tmp_path (once with a forbidden
import, expecting the broken contract to be named, once without), and on the real tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

pytestmark = pytest.mark.skipif(not LINT_IMPORTS.exists(), reason="needs import-linter")


def _real_config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        config: dict[str, object] = tomllib.load(f)["tool"]["importlinter"]
    return config


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def _config_text() -> str:
    """The real contracts, minus ignores of modules the fixture tree does not have."""
    config = _real_config()
    lines = ["[tool.importlinter]"]
    contracts = config["contracts"]
    assert isinstance(contracts, list)
    for key, value in config.items():
        if key != "contracts":
            lines.append(f"{key} = {_toml_value(value)}")
    for contract in contracts:
        assert isinstance(contract, dict)
        lines.append("\n[[tool.importlinter.contracts]]")
        for key, value in contract.items():
            if key == "ignore_imports":
                value = [rule for rule in value if rule.startswith("client.launch ")]
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _write_tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


CLEAN_TREE = {
    "shared/__init__.py": "",
    "shared/protocol.py": "import msgpack\n",
    "shared/sim/__init__.py": "",
    "shared/sim/world.py": "import random\n",
    "shared/sim/car.py": "import math\n",
    "shared/lanes.py": "",
    "server/rooms.py": "",
    "client/screens/__init__.py": "",
    "client/screens/replay.py": "",
    "server/__init__.py": "",
    "server/net.py": "import asyncio\nimport websockets\nfrom shared import protocol\n",
    "client/__init__.py": "",
    "client/app.py": "import textual\nfrom shared import protocol\n",
    "client/launch.py": "from server import net\nfrom client import app\n",
}


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _fixture(tmp_path: Path, **extra: str) -> Path:
    _write_tree(
        tmp_path, {**CLEAN_TREE, **{k.replace("__", "/") + ".py": v for k, v in extra.items()}}
    )
    (tmp_path / "pyproject.toml").write_text(_config_text())
    return tmp_path


def test_fixture_without_forbidden_imports_passes(tmp_path: Path) -> None:
    result = _lint(_fixture(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("shared__lanes", "from client import app\n", "shared imports neither client nor server"),
        ("shared__lanes", "import server.net\n", "shared imports neither client nor server"),
        ("server__rooms", "from client import app\n", "server never imports client"),
        (
            "client__screens__replay",
            "from server import net\n",
            "client imports server only from client.launch",
        ),
        (
            "shared__sim__car",
            "import asyncio\n",
            "the simulation uses no network, store, UI, clock or wire format",
        ),
        (
            "shared__sim__car",
            "import time\n",
            "the simulation uses no network, store, UI, clock or wire format",
        ),
        (
            "shared__sim__car",
            "import msgpack\n",
            "the simulation uses no network, store, UI, clock or wire format",
        ),
    ],
)
def test_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, source: str, contract: str
) -> None:
    result = _lint(_fixture(tmp_path, **{module: source}))
    assert result.returncode != 0, result.stdout
    assert f"{contract} BROKEN" in result.stdout


def test_the_real_tree_keeps_every_contract() -> None:
    result = subprocess.run(
        [str(LINT_IMPORTS)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout
