"""Start and stop the doors a host asked for, next to a running GameServer.

Called by `interlane server` (server.serve) and `interlane host` (server.embedded) once the
game server listens. What is open ends up in `GameServer.doors`, which the server sends in
`welcome` (docs/protocol.md) so the host dashboard and projector view can draw the join card.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.doors.lan import Announcer, lan_address
from server.doors.ssh import SshDoor, SshLimits, start_ssh_door

log = logging.getLogger("interlane.doors")


@dataclass(frozen=True)
class DoorConfig:
    ssh_port: int | None = None  # None: no SSH door (0: any free port, for tests)
    web_port: int | None = None
    announce: bool = True
    ssh_limits: SshLimits = field(default_factory=SshLimits)
    max_tabs: int = 60
    key_folder: Path | None = None  # where the SSH host key lives (default: user data)
    mdns_interfaces: Any = None  # zeroconf's interface choice (tests pin loopback)
    address: str | None = None  # the LAN address to show (default: found)


def data_folder() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("interlane", appauthor=False))


class Doors:
    """The running doors of one server."""

    def __init__(self) -> None:
        self.ssh: SshDoor | None = None
        self.web: Any = None
        self.announcer: Announcer | None = None
        self.address = "127.0.0.1"

    def describe(self, ws_port: int) -> list[dict[str, Any]]:
        """What `welcome.doors` says: each open way in, with the LAN address and port."""
        doors: list[dict[str, Any]] = [
            {
                "kind": "ws",
                "host": self.address,
                "port": ws_port,
                "announced": self.announcer is not None,
            }
        ]
        if self.ssh is not None:
            doors.append(
                {
                    "kind": "ssh",
                    "host": self.address,
                    "port": self.ssh.port,
                    "fingerprint": self.ssh.fingerprint,
                }
            )
        if self.web is not None:
            doors.append({"kind": "web", "host": self.address, "port": self.web.port})
        return doors

    async def close(self) -> None:
        if self.announcer is not None:
            await self.announcer.close()
        if self.web is not None:
            await self.web.close()
        if self.ssh is not None:
            self.ssh.close()
            await self.ssh.wait_closed()


def is_loopback(listen_host: str) -> bool:
    """Whether a server listening on `listen_host` can only be reached from this machine."""
    try:
        return ipaddress.ip_address(listen_host).is_loopback
    except ValueError:
        return listen_host == "localhost"


async def start_doors(server: Any, listen_host: str, config: DoorConfig) -> Doors:
    """Open the asked-for doors beside `server` (a started GameServer). Raises OSError when
    a port is taken; doors already opened are closed first."""
    doors = Doors()
    doors.address = config.address or lan_address(listen_host)
    loopback = "127.0.0.1" if listen_host in ("", "0.0.0.0", "::") else listen_host
    server_url = f"ws://{loopback}:{server.port}"
    try:
        if config.ssh_port is not None:
            folder = config.key_folder or data_folder()
            doors.ssh = await start_ssh_door(
                listen_host, config.ssh_port, server_url, folder, config.ssh_limits
            )
        if config.web_port is not None:
            from server.doors.web import WebDoor

            public = f"http://{doors.address}:{config.web_port}"
            doors.web = WebDoor(listen_host, config.web_port, public, server_url, config.max_tabs)
            port = await doors.web.start()
            if config.web_port == 0:  # a test's free port: the page must name the real one
                doors.web.public_url = f"http://{doors.address}:{port}"
        if config.announce:
            interfaces = config.mdns_interfaces
            if interfaces is None and is_loopback(listen_host):
                # a server only this machine can reach says so only on this machine
                interfaces = ["127.0.0.1"]
            doors.announcer = Announcer(
                doors.address,
                server.port,
                lambda: [code for code, _room in server.registry.rooms.items()],
                interfaces,
            )
            try:
                await doors.announcer.start()
            except Exception as exc:  # no multicast here (OSError, zeroconf's own errors)
                log.warning("no LAN announcement: %s", exc)  # the game runs without it
                with contextlib.suppress(Exception):
                    await doors.announcer.close()
                doors.announcer = None
    except BaseException:
        await doors.close()
        raise
    server.doors = doors.describe(server.port)
    return doors
