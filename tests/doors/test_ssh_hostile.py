"""A hostile SSH client gets nothing but the game, and a flood does not stop a player."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from pathlib import Path

import asyncssh
import pytest
from asyncssh.auth import KbdIntPrompts, KbdIntResponse

from server.doors.runner import DoorConfig
from tests.support.doors import (
    join,
    live_server,
    make_room,
    room_of,
    ssh_door,
    start_round,
    target,
    until,
)


class AnonClient(asyncssh.SSHClient):
    """An SSH client with no key answers the door's empty keyboard-interactive round."""

    def kbdint_auth_requested(self) -> str:
        return ""

    def kbdint_challenge_received(
        self, name: str, instructions: str, lang: str, prompts: KbdIntPrompts
    ) -> KbdIntResponse | None:
        return [] if not prompts else None


async def connect(port: int) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1",
        port,
        username="ABCDE",
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        client_factory=AnonClient,
    )


async def test_exec_sftp_forwarding_and_bare_shell_are_refused(tmp_path: Path) -> None:
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path)
    async with live_server(config) as (_server, doors):
        conn = await connect(ssh_door(doors).port)
        async with conn:
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.run("id")  # exec
            with pytest.raises((asyncssh.SFTPError, asyncssh.ChannelOpenError)):
                await conn.start_sftp_client()  # the sftp subsystem
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_connection("127.0.0.1", _server.port)  # -L forwarding
            with pytest.raises(asyncssh.ChannelListenError):
                await conn.forward_remote_port("127.0.0.1", 0, "127.0.0.1", 22)  # -R
            with pytest.raises(asyncssh.ChannelOpenError):
                await conn.open_unix_connection("/run/anything.sock")
            # a shell without a pty: a sentence and the door closes (no shell ever starts)
            result = await conn.run(term_type=None)
            assert "needs a terminal" in str(result.stdout) and result.exit_status == 1
            assert not ssh_door(doors).sessions
            with pytest.raises(asyncssh.ChannelOpenError, match="X11 forwarding request failed"):
                await conn.create_process(
                    term_type="xterm",
                    term_size=(80, 24),
                    x11_forwarding=True,
                    x11_display="127.0.0.1:99",
                    x11_auth_path=str(tmp_path / "no-xauth"),
                )


async def test_player_env_never_reaches_the_child(tmp_path: Path) -> None:
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path)
    async with live_server(config) as (server, doors):
        _host, _code = await make_room(server.port)
        conn = await connect(ssh_door(doors).port)
        async with conn:
            process = await conn.create_process(
                term_type="xterm\x1b]0;evil",  # junk TERM: replaced
                term_size=(80, 24),
                env={"LD_PRELOAD": "/tmp/evil.so", "PYTHONSTARTUP": "/tmp/evil.py", "LANG": "xx"},
            )
            await until(lambda: any(s.process for s in ssh_door(doors).sessions))
            (session,) = ssh_door(doors).sessions
            assert session.process is not None
            environ = Path(f"/proc/{session.process.pid}/environ").read_bytes().split(b"\0")
            names = {item.split(b"=", 1)[0] for item in environ if item}
            assert b"LD_PRELOAD" not in names and b"PYTHONSTARTUP" not in names
            assert b"DISPLAY" not in names and b"SSH_AUTH_SOCK" not in names
            assert b"TERM=xterm-256color" in environ and b"LANG=C.UTF-8" in environ
            ident = next(item for item in environ if item.startswith(b"INTERLANE_IDENTITY="))
            assert ident.startswith(b"INTERLANE_IDENTITY=ssh-session-")
            process.close()
        await _host.close()


async def test_a_client_key_names_the_seat(tmp_path: Path) -> None:
    """The same key twice: the same identity; no key: a new one each session."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path)
    async with live_server(config) as (server, doors):
        _host, code = await make_room(server.port)
        seen = []
        for keys in ([key], [key], None, None):
            conn = await asyncssh.connect(
                "127.0.0.1",
                ssh_door(doors).port,
                username=code,
                known_hosts=None,
                client_keys=keys,
                agent_path=None,
                client_factory=AnonClient,
            )
            async with conn:
                process = await conn.create_process(term_type="xterm", term_size=(80, 24))
                await until(lambda: any(s.process for s in ssh_door(doors).sessions))
                (session,) = ssh_door(doors).sessions
                seen.append(session.owner.identity())
                process.close()
            await until(lambda: not ssh_door(doors).sessions)
        assert seen[0] == seen[1] and seen[0].startswith("ssh-key-")
        assert len({seen[1], seen[2], seen[3]}) == 3
        await _host.close()


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's client")
async def test_flood_from_one_address_is_limited_while_a_player_drives(tmp_path: Path) -> None:
    config = DoorConfig(ssh_port=0, announce=False, key_folder=tmp_path)
    # the real ticker at 20 Hz this time: the point is that it keeps time under the flood
    async with live_server(config, manual=False) as (server, doors):
        host, code = await make_room(server.port)
        player = await join(server, doors, code, "Honest")
        car = await start_round(server, host, code, player, "Honest")
        tick_before = room_of(server, code).world.tick
        refused_before = ssh_door(doors).refused  # the honest player's own connection counted

        async def attempt() -> None:
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection("127.0.0.1", ssh_door(doors).port)
                writer.write(b"SSH-2.0-flood\r\n")
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(reader.read(100), 2.0)
                writer.close()

        started = asyncio.get_running_loop().time()
        await asyncio.gather(*(attempt() for _ in range(200)))
        elapsed = asyncio.get_running_loop().time() - started
        refused = ssh_door(doors).refused - refused_before
        assert refused >= 200 - 20, refused  # 20 a minute from one address, the player's first

        # the honest player still drives: its key still reaches its car
        before = target(server, code, car)
        player.send(b"\x1b[A")
        await until(lambda: target(server, code, car) > before)
        ticks = room_of(server, code).world.tick - tick_before
        assert ticks > 0
        print(f"flood of 200 took {elapsed:.2f} s; the room ran {ticks} ticks meanwhile")
        await player.close()
        await host.close()
        assert os.path.exists(tmp_path / "ssh_host_ed25519_key")
