"""The `interlane` entry point: help, errors without tracebacks."""

import subprocess
import sys

import pytest

from client.cli import HANDLERS, build_parser, main


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args], capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_subcommand() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for name in HANDLERS:
        assert name in result.stdout


@pytest.mark.parametrize(
    "args",
    [["fly"], ["sim", "--seconds", "ten", "--scenario", "ring"], ["server", "--port", "99999"]],
)
def test_bad_arguments_give_one_line_and_nonzero_exit(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("interlane")


def test_every_handler_is_importable() -> None:
    import importlib

    for module_name, func_name in set(HANDLERS.values()):
        module = importlib.import_module(module_name)
        assert callable(getattr(module, func_name))


def test_parser_defaults_to_solo() -> None:
    args = build_parser().parse_args(["solo"])
    assert args.command == "solo"
    assert callable(main)
