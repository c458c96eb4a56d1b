"""The host's address on the LAN, and the zeroconf announcement players' clients look for.

`lan_address` is what the join card shows: the address other machines reach, never
127.0.0.1 unless there is no other. The announcement is one `_interlane._tcp` service per
server whose TXT record lists the open room codes, kept current as rooms come and go, so
`interlane join CODE` finds the server without an address (client.discover).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("interlane.doors.lan")

SERVICE_TYPE = "_interlane._tcp.local."
TXT_ROOMS_LIMIT = 240  # one TXT string is at most 255 bytes, "rooms=" included
ANNOUNCE_EVERY = 1.0  # seconds between looks at the room list


def lan_address(listen_host: str = "0.0.0.0") -> str:
    """The IPv4 address others on the LAN use to reach us.

    A server bound to one address is reached there. Otherwise the interface of the default
    route (found with a UDP "connect", which sends nothing), else the first non-loopback
    interface address, else 127.0.0.1.
    """
    if listen_host not in ("", "0.0.0.0", "::"):
        return listen_host
    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        address = probe.getsockname()[0]
        if not ipaddress.ip_address(address).is_loopback and address != "0.0.0.0":
            return str(address)
    with contextlib.suppress(Exception):
        import ifaddr

        for adapter in ifaddr.get_adapters():
            for ip in adapter.ips:
                if isinstance(ip.ip, str) and not ipaddress.ip_address(ip.ip).is_loopback:
                    return ip.ip
    return "127.0.0.1"


def rooms_txt(codes: Iterable[str]) -> str:
    """The TXT value listing room codes, cut to fit one TXT string."""
    text = ""
    for code in sorted(codes):
        candidate = f"{text},{code}" if text else code
        if len(candidate) > TXT_ROOMS_LIMIT:
            break
        text = candidate
    return text


class Announcer:
    """Registers the service and re-announces when the set of room codes changes."""

    def __init__(
        self,
        address: str,
        port: int,
        codes: Callable[[], Iterable[str]],
        interfaces: Any = None,
    ) -> None:
        self.address, self.port, self.codes = address, port, codes
        self.interfaces = interfaces
        self._zc: Any = None
        self._info: Any = None
        self._task: asyncio.Task[None] | None = None
        self._shown = ""

    def _service(self, rooms: str) -> Any:
        from zeroconf import ServiceInfo

        name = f"Interlane {socket.gethostname()[:40]} {self.port}.{SERVICE_TYPE}"
        return ServiceInfo(
            SERVICE_TYPE,
            name,
            addresses=[socket.inet_aton(self.address)],
            port=self.port,
            properties={"rooms": rooms, "path": "/"},
            server=f"{socket.gethostname()[:40]}.local.",
        )

    async def start(self) -> None:
        from zeroconf import InterfaceChoice
        from zeroconf.asyncio import AsyncZeroconf

        choice = self.interfaces if self.interfaces is not None else InterfaceChoice.All
        self._zc = AsyncZeroconf(interfaces=choice)
        self._shown = rooms_txt(self.codes())
        self._info = self._service(self._shown)
        await self._zc.async_register_service(self._info, allow_name_change=True)
        self._task = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(ANNOUNCE_EVERY)
            rooms = rooms_txt(self.codes())
            if rooms == self._shown:
                continue
            self._shown = rooms
            info = self._service(rooms)
            info.name = self._info.name  # keep the name zeroconf settled on
            try:
                await self._zc.async_update_service(info)
                self._info = info
            except Exception:  # an announcement that fails must not stop the game
                log.exception("cannot update the LAN announcement")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._zc is not None:
            with contextlib.suppress(Exception):
                await self._zc.async_unregister_all_services()
            await self._zc.async_close()
