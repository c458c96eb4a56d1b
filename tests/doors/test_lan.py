"""LAN discovery for real: zeroconf multicast inside a network namespace of our own.

Multicast must not leave this machine, so each case runs in a new network namespace
(`unshare -n`) whose only interface is loopback with multicast switched on. Where
namespaces are not allowed (not root, or a container without the capability) the
namespace cases skip and say so; the TXT and address tests below still run.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from server.doors.lan import TXT_ROOMS_LIMIT, lan_address, rooms_txt

ROOT = Path(__file__).resolve().parents[2]


def _namespace_works() -> bool:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-n", "ip", "link", "set", "lo", "up"], capture_output=True, timeout=10
    )
    return probe.returncode == 0


needs_netns = pytest.mark.skipif(
    not _namespace_works(), reason="needs `unshare -n` (root) for a private multicast network"
)


def in_namespace(case: str) -> subprocess.CompletedProcess[str]:
    script = (
        "ip link set lo up && ip link set lo multicast on && "
        f"exec {sys.executable} -m tests.support.lan_scenario {case}"
    )
    return subprocess.run(
        ["unshare", "-n", "sh", "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@needs_netns
def test_join_without_server_finds_the_announced_room() -> None:
    result = in_namespace("found")
    assert result.returncode == 0 and "found: OK" in result.stdout, result.stdout + result.stderr


@needs_netns
def test_join_with_no_server_on_the_lan_asks_and_does_not_hang() -> None:
    result = in_namespace("none")
    assert result.returncode == 0 and "none: OK" in result.stdout, result.stdout + result.stderr


def test_room_codes_fit_one_txt_string() -> None:
    codes = [f"A{n:04d}" for n in range(100)]
    text = rooms_txt(codes)
    assert len(text) <= TXT_ROOMS_LIMIT and text.startswith("A0000,A0001")
    assert rooms_txt([]) == ""


def test_lan_address_is_not_loopback_when_there_is_a_network() -> None:
    assert lan_address("10.1.2.3") == "10.1.2.3"  # bound to one address: that one
    found = lan_address()
    has_network = (
        any(
            not line.split()[3].startswith("127.")
            for line in subprocess.run(
                ["ip", "-4", "-o", "addr"], capture_output=True, text=True
            ).stdout.splitlines()
        )
        if shutil.which("ip")
        else False
    )
    assert (found != "127.0.0.1") == has_network
