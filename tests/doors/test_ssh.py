"""The SSH door with the system's OpenSSH client under a pty, against a live room."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import pytest

from server.doors.runner import DoorConfig, Doors
from server.doors.ssh import SshLimits
from tests.support.doors import (
    PtyProgram,
    group_alive,
    join,
    live_server,
    make_room,
    room_of,
    ssh_argv,
    ssh_door,
    ssh_env,
    start_round,
    target,
    until,
)

pytestmark = pytest.mark.skipif(
    shutil.which("ssh") is None, reason="needs OpenSSH's client (apt-get install openssh-client)"
)


def door_children(doors: Doors) -> list[int]:
    return [s.process.pid for s in ssh_door(doors).sessions if s.process is not None]


async def test_ssh_player_joins_drives_and_quits_leaving_nothing(tmp_path: Path) -> None:
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path)
    async with live_server(config) as (server, doors):
        host, code = await make_room(server.port)
        player = await join(server, doors, code, "Dora")
        (child,) = door_children(doors)
        car = await start_round(server, host, code, player, "Dora")
        before = target(server, code, car)
        player.send(b"\x1b[A")  # ↑: faster
        # the server's `you` for the car (what the player's HUD gets) says the new target
        await until(lambda: target(server, code, car) > before, tick=lambda: server.advance(1))
        player.send(b"\x11")  # ctrl+q: mid-round the client asks first
        await player.wait_for("Leave")
        player.send(b"y")
        await until(lambda: player.process.returncode is not None)
        await until(lambda: not group_alive(child) and not ssh_door(doors).sessions)
        await player.close()
        await host.close()
    assert (tmp_path / "ssh_host_ed25519_key").stat().st_mode & 0o777 == 0o600


async def test_cut_connection_ends_the_whole_child_group(tmp_path: Path) -> None:
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path)
    async with live_server(config) as (server, doors):
        host, code = await make_room(server.port)
        player = await join(server, doors, code, "Cut")
        (child,) = door_children(doors)
        car = await start_round(server, host, code, player, "Cut")
        os.kill(player.process.pid, signal.SIGKILL)  # the laptop lid closes mid-round
        await until(lambda: not group_alive(child) and not ssh_door(doors).sessions)
        # the game goes on without it: the car is a bot's now
        await until(
            lambda: room_of(server, code).world.cars[car].controller == "bot",
            tick=lambda: server.advance(1),
        )
        await player.close()
        await host.close()


async def test_resize_reaches_the_client_and_80x24_works(tmp_path: Path) -> None:
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path)
    async with live_server(config) as (server, doors):
        host, code = await make_room(server.port)
        player = await PtyProgram.start(ssh_argv(ssh_door(doors).port, code), env=ssh_env())
        await player.wait_for("Your name")
        (session,) = ssh_door(doors).sessions
        assert session.size == (80, 24)
        player.resize(120, 40)
        os.kill(player.process.pid, signal.SIGWINCH)  # a terminal tells ssh this way
        await until(lambda: session.size == (120, 40))
        import fcntl
        import struct
        import termios

        assert session.master is not None
        packed = fcntl.ioctl(session.master, termios.TIOCGWINSZ, b"\0" * 8)
        rows, cols, _, _ = struct.unpack("HHHH", packed)
        assert (cols, rows) == (120, 40)
        await player.close()
        await host.close()


async def test_watch_code_spectates_and_other_names_get_the_form(tmp_path: Path) -> None:
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path)
    async with live_server(config) as (server, doors):
        host, code = await make_room(server.port)
        watcher = await PtyProgram.start(
            ssh_argv(ssh_door(doors).port, f"watch-{code}"), env=ssh_env()
        )
        await until(lambda: len(room_of(server, code).roster) >= 2)
        stranger = await PtyProgram.start(ssh_argv(ssh_door(doors).port, "alice"), env=ssh_env())
        await stranger.wait_for("Room code")
        args = {
            tuple(Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[3:5])
            for pid in door_children(doors)
        }
        assert args == {(b"spectate", code.encode()), (b"join", b"")}
        for program in (watcher, stranger):
            await program.close()
        await host.close()


async def test_idle_session_is_closed_with_a_message(tmp_path: Path) -> None:
    limits = SshLimits(idle_seconds=3.0)
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path, ssh_limits=limits)
    async with live_server(config) as (server, doors):
        host, code = await make_room(server.port)
        player = await PtyProgram.start(ssh_argv(ssh_door(doors).port, code), env=ssh_env())
        await player.wait_for("Your name")
        (child,) = door_children(doors)
        player.seen_at = 0  # on a slow machine the notice may come in the same read
        await player.wait_for("without a key")
        await until(lambda: player.process.returncode is not None)
        assert not group_alive(child)
        await player.close()
        await host.close()


async def test_session_cap_turns_the_next_player_away(tmp_path: Path) -> None:
    limits = SshLimits(max_sessions=1)
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path, ssh_limits=limits)
    async with live_server(config) as (server, doors):
        host, code = await make_room(server.port)
        first = await PtyProgram.start(ssh_argv(ssh_door(doors).port, code), env=ssh_env())
        await first.wait_for("Your name")
        second = await PtyProgram.start(ssh_argv(ssh_door(doors).port, code), env=ssh_env())
        await second.wait_for("no room for another SSH player")
        await until(lambda: second.process.returncode is not None)
        assert len(ssh_door(doors).sessions) == 1
        for program in (first, second):
            await program.close()
        await host.close()
