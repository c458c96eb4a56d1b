"""Bad input at the command line ends with one clear sentence and the right exit code, before
any TUI opens; a refused join ends the same way instead of an empty screen."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from client.app import InterlaneApp
from client.plan import Plan
from shared import protocol as p
from tests.support.server_client import WireClient
from tests.support.tui_process import ROOT, TuiProcess


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert result.stdout == ""  # no TUI was drawn
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr and "\x1b" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["join", "ab!"], "'ab!' is not a room code: a code is 5 letters and digits"),
        (["join", "ABCD"], "is not a room code"),
        (["spectate", "HELLO"], "is not a room code"),  # L and O are never in a code
        (
            ["join", "ABCDE", "--server", "http://10.0.0.5:8765"],
            "is not a game server address: use ws:// (or wss:// for TLS), e.g. ws://10.0.0.5:8765",
        ),
        (
            ["join", "ABCDE", "--server", "https://games.example.org"],
            "e.g. wss://games.example.org",
        ),
        (["join", "ABCDE", "--server", "10.0.0.5:8765"], "e.g. ws://10.0.0.5:8765"),
        (["spectate", "ABCDE", "--server", "localhost"], "e.g. ws://localhost"),
        (["host", "--server", "http://10.0.0.5:8765"], "e.g. ws://10.0.0.5:8765"),
        (["join", "ABCDE", "--cafile", "/no/such/cert.pem"], "cannot read '/no/such/cert.pem'"),
    ],
)
def test_bad_addresses_and_codes_end_before_the_tui(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert expected in one_sentence(result)


def test_codes_are_taken_as_people_type_them() -> None:
    from client.cli import build_parser

    args = build_parser().parse_args(["join", "ab-cde", "--server", "WSS://h:1"])
    assert (args.code, args.server) == ("ABCDE", "wss://h:1")


@pytest.mark.parametrize("command", [["history"], ["report", "1"], ["replay", "1"]])
def test_a_mistyped_history_path_creates_nothing(command: list[str], tmp_path: Path) -> None:
    db = tmp_path / "typo" / "games.db"
    result = run_cli(*command, "--db", str(db))
    assert result.returncode == 1
    sentence = one_sentence(result)
    assert sentence.startswith(f"interlane {command[0]}: there is no history file at {db}")
    assert not db.parent.exists()


async def exit_of(tui: TuiProcess) -> tuple[int, str]:
    deadline = time.monotonic() + 30
    while tui.proc.poll() is None:
        assert time.monotonic() < deadline, "the client did not end"
        await asyncio.sleep(0.05)
    return tui.wait(5)


async def test_a_locked_room_says_so_and_exits_1(server: Any, tmp_path: Path) -> None:
    host = await WireClient.open(server.url)
    await host.send({"type": "hello", "protocol": p.PROTOCOL_VERSION, "name": "Host"})
    await host.send({"type": "create", "protocol": p.PROTOCOL_VERSION, "name": "Host"})
    code = (await host.until("joined"))["code"]
    await host.send({"type": "host", "command": "lock", "value": True})
    await host.until("room", locked=True)
    tui = TuiProcess(["join", code, "--server", server.url, "--name", "Bo"], tmp_path)
    status, text = await exit_of(tui)
    await host.close()
    assert status == 1
    last = text.strip().splitlines()[-1].strip()
    assert last == "interlane join: the host has locked this room (ask the host to unlock it)"


async def test_no_such_room_says_so_and_exits_1(server: Any, tmp_path: Path) -> None:
    tui = TuiProcess(["spectate", "ZZZZZ", "--server", server.url], tmp_path)
    status, text = await exit_of(tui)
    assert status == 1
    assert (
        text.strip()
        .splitlines()[-1]
        .strip()
        .startswith("interlane spectate: there is no room with that code (check the code")
    )


async def test_the_screenshot_goes_to_the_current_folder_without_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import platformdirs

    monkeypatch.setattr(platformdirs, "user_downloads_dir", lambda: str(tmp_path / "none"))
    monkeypatch.chdir(tmp_path)
    app = InterlaneApp(Plan(kind="connect", url="ws://127.0.0.1:9"))
    async with app.run_test(size=(80, 24)) as pilot:
        app.deliver_screenshot(filename="shot.svg")
        deadline = time.monotonic() + 10
        shot = tmp_path / "shot.svg"
        # written on Textual's delivery thread: wait until the whole file is there (the file
        # exists, empty, before it is written), and inside the app, whose loop the thread
        # reports back to
        while not (shot.exists() and shot.read_text().rstrip().endswith("</svg>")):
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
    assert not (tmp_path / "none").exists()
    assert "<svg" in (tmp_path / "shot.svg").read_text()
