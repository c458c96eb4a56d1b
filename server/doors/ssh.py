"""The SSH door: `ssh -p 2222 CODE@HOST` and a player is at the join form of room CODE.

asyncssh runs the SSH side in the game server's event loop. Each session that asks for a
pty gets a new pty and, as the leader of a new session on it, the real client
(`server.doors.child`); bytes are copied both ways and every window resize is passed on.

Anonymous, but nothing but the game: no password is asked; a public key a client offers
is accepted (proved, so its fingerprint can name the player's seat), else an empty
keyboard-interactive round lets anyone in. Exec, subsystems (SFTP), port, agent and X11
forwarding are all refused, and so is a session without a pty. Connections are capped,
rate-limited per address, and closed after a while without a key. See docs/workshop.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import struct
import termios
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

from server.doors.child import child_argv, child_env, client_args, end_process_group, identity_from

log = logging.getLogger("interlane.doors.ssh")

HOST_KEY_FILE = "ssh_host_ed25519_key"


@dataclass(frozen=True)
class SshLimits:
    max_sessions: int = 60
    connections_per_minute: int = 20  # new connections from one address
    idle_seconds: float = 20 * 60.0
    login_seconds: float = 20.0


def host_key(folder: Path) -> asyncssh.SSHKey:
    """The door's host key, made on first use and kept (0600) in the user data folder."""
    path = folder / HOST_KEY_FILE
    if path.exists():
        return asyncssh.read_private_key(str(path))
    folder.mkdir(parents=True, exist_ok=True)
    key = asyncssh.generate_private_key("ssh-ed25519", comment="interlane door")
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key.export_private_key())
    os.replace(tmp, path)
    return key


class AddressLimiter:
    """At most `per_minute` new connections per address in any 60 s (a sliding window)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str) -> bool:
        now = self.clock()
        if len(self._seen) > 10_000:  # a flood of addresses must not grow this for ever
            self._seen.clear()
        window = self._seen.setdefault(address, deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.per_minute:
            return False
        window.append(now)
        return True


@dataclass
class SshDoor:
    """The running door: what the dashboard shows and what tests look at."""

    port: int
    fingerprint: str
    sessions: set[DoorSession] = field(default_factory=set)
    refused: int = 0  # connections turned away by the cap or the rate limit
    _acceptor: Any = None

    def close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
        for session in list(self.sessions):
            session.hang_up("The game server is stopping.")

    async def wait_closed(self) -> None:
        if self._acceptor is not None:
            await self._acceptor.wait_closed()
        while self.sessions:
            await asyncio.sleep(0.05)


class DoorConnection(asyncssh.SSHServer):
    """One SSH connection: who it is, and the refusals."""

    def __init__(self, door: SshDoor, limiter: AddressLimiter, limits: SshLimits, url: str):
        self.door, self.limiter, self.limits, self.url = door, limiter, limits, url
        self.conn: asyncssh.SSHServerConnection | None = None
        self.key_fingerprint: str | None = None
        self.session_secret = secrets.token_hex(16)

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        if not self.limiter.allow(str(peer[0])):
            self.door.refused += 1
            conn.close()

    def begin_auth(self, username: str) -> bool:
        return True  # ask for something, so a client's key can name its seat

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        # any key: asyncssh then checks the client holds it, so the fingerprint is its own
        self.key_fingerprint = key.get_fingerprint("sha256")
        return True

    def kbdint_auth_supported(self) -> bool:
        return True

    def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> bool:
        return True  # no prompt: a client without keys is in

    def password_auth_supported(self) -> bool:
        return False

    def identity(self) -> str:
        if self.key_fingerprint is not None:
            return identity_from(self.key_fingerprint, "ssh-key")
        return identity_from(self.session_secret, "ssh-session")

    def session_requested(self) -> DoorSession | bool:
        if len(self.door.sessions) >= self.limits.max_sessions:
            self.door.refused += 1
            return DoorSession(
                self,
                refuse="This Interlane server has no room for another SSH player; "
                "try the browser door.",
            )
        return DoorSession(self)

    # every kind of forwarding: no
    def connection_requested(
        self, dest_host: str, dest_port: int, orig_host: str, orig_port: int
    ) -> bool:
        return False

    def server_requested(self, listen_host: str, listen_port: int) -> bool:
        return False

    def unix_connection_requested(self, dest_path: str) -> bool:
        return False

    def unix_server_requested(self, listen_path: str) -> bool:
        return False

    def tun_requested(self, unit: int | None) -> bool:
        return False

    def tap_requested(self, unit: int | None) -> bool:
        return False


class DoorSession(asyncssh.SSHServerSession[bytes]):
    """One session: a pty and the client process on it, until either side goes."""

    def __init__(self, owner: DoorConnection, refuse: str | None = None) -> None:
        self.owner = owner
        self.refuse = refuse
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.term = "xterm-256color"
        self.size = (80, 24)
        self.has_pty = False
        self.master: int | None = None
        self.process: asyncio.subprocess.Process | None = None
        self.last_input = time.monotonic()
        self._tasks: list[asyncio.Task[None]] = []
        self._ended = False

    # -- what the client asks ------------------------------------------------------

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan

    def pty_requested(
        self, term_type: str, term_size: tuple[int, int, int, int], term_modes: Any
    ) -> bool:
        self.has_pty = True
        self.term = term_type
        self.size = (max(1, term_size[0] or 80), max(1, term_size[1] or 24))
        return True

    def exec_requested(self, command: str) -> bool:
        return False

    def subsystem_requested(self, subsystem: str) -> bool:
        return False  # SFTP and everything else

    def shell_requested(self) -> bool:
        return True  # the "shell" is the game; answered in session_started

    def session_started(self) -> None:
        if self.refuse is not None:
            self._say_and_close(self.refuse)
        elif not self.has_pty:
            self._say_and_close("Interlane needs a terminal: run ssh without -T (or with -t).")
        else:
            self.owner.door.sessions.add(self)  # counted now, so the cap holds in a rush
            self._tasks.append(asyncio.ensure_future(self._start()))

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        self.size = (max(1, width), max(1, height))
        if self.master is not None:
            _set_size(self.master, *self.size)

    def data_received(self, data: bytes, datatype: Any) -> None:
        self.last_input = time.monotonic()
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.write(self.master, data)

    def eof_received(self) -> bool:
        self.hang_up(None)
        return False

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal: str) -> None:
        pass  # a player's signal never reaches the child

    def pause_writing(self) -> None:
        if self.master is not None:
            asyncio.get_running_loop().remove_reader(self.master)

    def resume_writing(self) -> None:
        if self.master is not None and not self._ended:
            asyncio.get_running_loop().add_reader(self.master, self._pty_readable)

    def connection_lost(self, exc: Exception | None) -> None:
        self.hang_up(None)

    # -- the child -----------------------------------------------------------------

    async def _start(self) -> None:
        master, slave = os.openpty()
        self.master = master
        _set_size(master, *self.size)
        os.set_blocking(master, False)
        username = self.owner.conn.get_extra_info("username") if self.owner.conn else ""
        try:
            self.process = await asyncio.create_subprocess_exec(
                *child_argv(client_args(username or "", self.owner.url)),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=child_env(self.term, self.owner.identity()),
                cwd=str(Path.home()) if Path.home().is_dir() else "/",
                start_new_session=True,
            )
        except OSError as exc:
            log.error("cannot start a door client: %s", exc)
            os.close(slave)
            self._say_and_close("The game could not start on this server; tell the host.")
            return
        os.close(slave)
        if self._ended:  # the player left while the child was starting
            await end_process_group(self.process)
            return
        asyncio.get_running_loop().add_reader(master, self._pty_readable)
        self._tasks.append(asyncio.ensure_future(self._watch_idle()))
        await self.process.wait()
        self.hang_up(None)

    def _pty_readable(self) -> None:
        assert self.master is not None
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: the child closed its side (it quit)
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.master)
            return
        if self.chan is not None:
            self.chan.write(data)

    async def _watch_idle(self) -> None:
        idle = self.owner.limits.idle_seconds
        while not self._ended:
            left = idle - (time.monotonic() - self.last_input)
            if left <= 0:
                minutes = max(1, round(idle / 60))
                self.hang_up(f"Closed after {minutes} min without a key. Come back any time.")
                return
            await asyncio.sleep(min(left, 5.0))

    def hang_up(self, message: str | None) -> None:
        """End the child's whole process group, say `message`, close the channel. Idempotent."""
        if self._ended:
            return
        self._ended = True
        asyncio.ensure_future(self._finish(message))

    async def _finish(self, message: str | None) -> None:
        loop = asyncio.get_running_loop()
        if self.master is not None:
            loop.remove_reader(self.master)
        if self.process is not None:
            await end_process_group(self.process)
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = None
        self.owner.door.sessions.discard(self)
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        if self.chan is not None:
            if message:
                # leave the alternate screen and show the cursor before saying why
                with contextlib.suppress(Exception):
                    self.chan.write(b"\x1b[?1049l\x1b[?25h\r\n" + message.encode() + b"\r\n")
            with contextlib.suppress(Exception):
                self.chan.exit(0)

    def _say_and_close(self, text: str) -> None:
        self._ended = True
        if self.chan is not None:
            self.chan.write(text.encode() + b"\r\n")
            self.chan.exit(1)


def _set_size(fd: int, cols: int, rows: int) -> None:
    with contextlib.suppress(OSError):
        fcntl.ioctl(
            fd, termios.TIOCSWINSZ, struct.pack("HHHH", min(rows, 1000), min(cols, 1000), 0, 0)
        )


async def start_ssh_door(
    host: str,
    port: int,
    server_url: str,
    key_folder: Path,
    limits: SshLimits | None = None,
) -> SshDoor:
    """Listen for SSH on host:port; each session's client connects to `server_url`."""
    limits = limits or SshLimits()
    key = host_key(key_folder)
    door = SshDoor(port=port, fingerprint=key.get_fingerprint("sha256"))
    limiter = AddressLimiter(limits.connections_per_minute)
    acceptor = await asyncssh.create_server(
        lambda: DoorConnection(door, limiter, limits, server_url),
        host or None,
        port,
        server_host_keys=[key],
        agent_forwarding=False,
        x11_forwarding=False,
        allow_scp=False,
        sftp_factory=None,
        login_timeout=limits.login_seconds,
        keepalive_interval=30,
        keepalive_count_max=3,
        encoding=None,
        line_editor=False,  # the client draws the screen; bytes go through untouched
    )
    door._acceptor = acceptor
    door.port = acceptor.get_port()
    return door
