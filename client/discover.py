"""Find a room's server on the LAN: what `interlane join CODE` does without `--server`.

Servers announce `_interlane._tcp` with their open room codes in TXT (server.doors.lan).
We browse for a couple of seconds and take the first server that lists the code. Nothing
found means a question to the player, never a hang.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

SERVICE_TYPE = "_interlane._tcp.local."
LOOK_SECONDS = 2.5


def _rooms_of(info: Any) -> set[str]:
    raw = (info.properties or {}).get(b"rooms") or b""
    try:
        return {code for code in raw.decode("ascii").split(",") if code}
    except UnicodeDecodeError:
        return set()


def find_room(code: str, seconds: float = LOOK_SECONDS, interfaces: Any = None) -> str | None:
    """ws://HOST:PORT of a server on the LAN announcing room `code`, or None after `seconds`."""
    try:
        from zeroconf import InterfaceChoice, ServiceBrowser, ServiceStateChange, Zeroconf
    except ImportError:
        return None
    found: list[str] = []
    done = threading.Event()

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: Any) -> None:
        if state_change not in (ServiceStateChange.Added, ServiceStateChange.Updated):
            return
        info = zeroconf.get_service_info(service_type, name, timeout=int(seconds * 1000))
        if info is None or code not in _rooms_of(info):
            return
        addresses = info.parsed_addresses()
        if addresses and info.port:
            found.append(f"ws://{addresses[0]}:{info.port}")
            done.set()

    try:
        zc = Zeroconf(interfaces=interfaces if interfaces is not None else InterfaceChoice.All)
    except OSError:  # no multicast here at all
        return None
    try:
        ServiceBrowser(zc, SERVICE_TYPE, handlers=[on_change])
        done.wait(seconds)
    finally:
        zc.close()
    return found[0] if found else None


def ask_for_server(code: str) -> str | None:
    """Ask the player for the address after a look found nothing; None when we cannot ask."""
    print(
        f"No Interlane server on this network announced room {code} "
        "(the Wi-Fi may block discovery).",
        file=sys.stderr,
    )
    if not sys.stdin.isatty():
        print(
            "interlane join: give the address with --server ws://HOST:PORT "
            "(the host's screen shows it)",
            file=sys.stderr,
        )
        return None
    try:
        answer = input("Server address from the host's screen (e.g. 192.168.1.20:8765): ")
    except EOFError:
        return None
    answer = answer.strip()
    if not answer:
        return None
    return answer if answer.startswith(("ws://", "wss://")) else f"ws://{answer}"


def resolve_server(code: str, seconds: float = LOOK_SECONDS) -> str | None:
    """The server for `code`: found on the LAN, else typed by the player, else None."""
    print(f"Looking for room {code} on this network…", file=sys.stderr, flush=True)
    started = time.monotonic()
    url = find_room(code, seconds)
    if url is not None:
        print(f"Found it at {url} ({time.monotonic() - started:.1f} s).", file=sys.stderr)
        return url
    return ask_for_server(code)
