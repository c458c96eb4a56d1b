"""Run inside a fresh network namespace by tests/doors/test_lan.py (multicast on loopback).

`found`: a live server announces a room made after it started; `interlane join CODE`
without --server finds it and joins. `none`: no server at all; the player is asked.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

from server.doors.runner import DoorConfig
from tests.support.doors import PtyProgram, live_server, make_room, member, until

CLIENT = [sys.executable, "-m", "client.cli"]


def env() -> dict[str, str]:
    return {"PATH": os.defpath, "HOME": os.environ.get("HOME", "/tmp"), "TERM": "xterm-256color"}


async def found() -> None:
    async with live_server(DoorConfig(announce=True)) as (server, doors):
        assert doors.announcer is not None
        host, code = await make_room(server.port)  # after the first announcement
        player = await PtyProgram.start([*CLIENT, "join", code, "--name", "Nia"], env=env())
        await player.wait_for(f"Looking for room {code}")
        await until(lambda: member(server, code, "Nia") is not None)
        await player.close()
        await host.close()
    print("found: OK")


async def none() -> None:
    started = time.monotonic()
    result = subprocess.run(
        [*CLIENT, "join", "ZZZZZ"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env(),
        timeout=30,
    )
    took = time.monotonic() - started
    assert result.returncode == 2, result
    assert "No Interlane server on this network announced room ZZZZZ" in result.stderr
    assert "--server ws://HOST:PORT" in result.stderr
    assert took < 10, took
    player = await PtyProgram.start([*CLIENT, "join", "ZZZZZ"], env=env())
    await player.wait_for("Server address from the host's screen")
    player.send(b"\r")  # nothing typed: a clean end, no hang
    await until(lambda: player.process.returncode is not None)
    assert player.process.returncode == 2
    await player.close()
    print(f"none: OK ({took:.1f} s)")


if __name__ == "__main__":
    asyncio.run({"found": found, "none": none}[sys.argv[1]]())
