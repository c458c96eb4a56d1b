"""Helpers for the door tests: a real program under a pty, a live server with doors, and a
room on it that an SSH player joins the way a person would."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import re
import signal
import struct
import termios
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from server.doors.runner import DoorConfig, Doors, start_doors
from server.doors.ssh import SshDoor
from server.net import GameServer, Limits
from server.room import Room
from server.room.lifecycle import default_world_factory
from server.room.roster import Member
from server.snapshots import you_detail
from tests.support.server_client import WireClient

DEADLINE = 30.0  # a safety net for a broken door, never what a test waits on
_ANSI = re.compile(
    rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[PX^_][^\x1b]*\x1b\\|.)"
)


def plain(data: bytes) -> str:
    """Terminal output without its escape sequences, as text."""
    return _ANSI.sub(b"", data).decode("utf-8", "replace")


class PtyProgram:
    """A program on the slave side of a new pty, as a terminal user would run it."""

    def __init__(self, process: asyncio.subprocess.Process, master: int) -> None:
        self.process, self.master = process, master
        self.output = bytearray()
        self.seen_at = 0
        asyncio.get_running_loop().add_reader(master, self._readable)

    @classmethod
    async def start(
        cls, argv: list[str], cols: int = 80, rows: int = 24, env: dict[str, str] | None = None
    ) -> PtyProgram:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.set_blocking(master, False)
        process = await asyncio.create_subprocess_exec(
            *argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        return cls(process, master)

    def _readable(self) -> None:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            return
        self.output.extend(data)

    def text(self) -> str:
        return plain(bytes(self.output))

    async def wait_for(self, needle: str, tick: Callable[[], Any] | None = None) -> None:
        """Until `needle` shows in the output after what earlier waits saw."""
        end = time.monotonic() + DEADLINE
        while True:
            text = plain(bytes(self.output[self.seen_at :]))
            if needle in text:
                self.seen_at = len(self.output)
                return
            if time.monotonic() > end:
                raise AssertionError(f"{needle!r} never showed; last output:\n{text[-2000:]}")
            if tick is not None:
                await tick()
            await asyncio.sleep(0.05)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def resize(self, cols: int, rows: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    async def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        asyncio.get_running_loop().remove_reader(self.master)
        with contextlib.suppress(OSError):
            os.close(self.master)


def ssh_argv(port: int, user: str, *extra: str) -> list[str]:
    """The system's OpenSSH client, ignoring the tester's own config, keys and known hosts."""
    return [
        "ssh",
        "-F",
        "/dev/null",
        "-p",
        str(port),
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "LogLevel=ERROR",
        "-o",
        "PubkeyAuthentication=no",
        *extra,
        f"{user}@127.0.0.1",
    ]


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


async def until(check: Callable[[], bool], tick: Callable[[], Any] | None = None) -> None:
    """Until `check()` holds (advancing the server with `tick` while we wait)."""
    end = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() > end:
            raise AssertionError("the condition never held")
        if tick is not None:
            await tick()
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def live_server(
    config: DoorConfig, manual: bool = True
) -> AsyncIterator[tuple[GameServer, Doors]]:
    """A real game server on a free loopback port with the doors of `config` open."""
    server = GameServer(
        manual=manual, limits=Limits(join_burst=1000), world_factory=default_world_factory
    )
    await server.start("127.0.0.1", 0)
    doors = await start_doors(server, "127.0.0.1", config)
    try:
        yield server, doors
    finally:
        await doors.close()
        await server.stop()


def ssh_door(doors: Doors) -> SshDoor:
    """The SSH door of `doors`, which the test's config opened."""
    assert doors.ssh is not None, "the config opened no SSH door"
    return doors.ssh


def room_of(server: GameServer, code: str) -> Room:
    """The live room `code` on `server`."""
    room = server.registry.get(code)
    assert room is not None, f"no room {code}"
    return room


async def make_room(port: int) -> tuple[WireClient, str]:
    """A host on the websocket creates an open-road room; returns the host and the code."""
    host = await WireClient.open(f"ws://127.0.0.1:{port}")
    await host.send(
        {"type": "create", "protocol": 1, "name": "Host", "scenario": "open-road", "seed": 1}
    )
    return host, (await host.until("joined"))["code"]


def member(server: GameServer, code: str, name: str) -> Member | None:
    return next((m for m in room_of(server, code).roster if m.name == name), None)


def car_of(server: GameServer, code: str, name: str) -> int | None:
    """The car of member `name` of room `code`; None before the round gives it one."""
    joined = member(server, code, name)
    return None if joined is None else joined.car


def ssh_env() -> dict[str, str]:
    """A bare environment for `ssh`: no agent, no home, no config of the tester's."""
    return {"PATH": os.environ.get("PATH", os.defpath), "HOME": "/nonexistent", "TERM": "xterm"}


async def join(server: GameServer, doors: Doors, code: str, name: str) -> PtyProgram:
    """An ssh player types its name in the join form of `code` and is in the room."""
    player = await PtyProgram.start(ssh_argv(ssh_door(doors).port, code), env=ssh_env())
    await player.wait_for("Your name")
    player.send(name.encode() + b"\r")
    await until(lambda: member(server, code, name) is not None)
    return player


async def start_round(
    server: GameServer, host: WireClient, code: str, player: PtyProgram, name: str
) -> int:
    """The host starts; the player sees the drive screen. Returns the player's car."""
    await host.send({"type": "host", "command": "start"})
    await player.wait_for("Lane left", tick=lambda: server.advance(1))
    joined = member(server, code, name)
    assert joined is not None and joined.car is not None
    return joined.car


def target(server: GameServer, code: str, car: int) -> int:
    """The car's target speed in km/h, as the server's `you` (the player's HUD) says it."""
    detail = you_detail(room_of(server, code).world, car)
    assert detail is not None
    return detail["target_kmh"]
