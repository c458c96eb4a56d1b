"""The join card: each open door with the host's LAN address and its port, and a QR code."""

from __future__ import annotations

from pathlib import Path

import segno
from textual.widgets import Static

from client.app import InterlaneApp
from client.plan import Plan
from client.screens.host import HostScreen
from client.screens.spectator import SpectatorScreen
from client.widgets.joincard import JoinCardScreen, doors_of, qr_rows
from server.doors.runner import DoorConfig
from shared.protocol import PROTOCOL_VERSION
from tests.support.doors import live_server, ssh_door
from tests.support.harness import Harness, room_msg, screen_text
from tests.support.waiting import wait_for

LAN = "192.0.2.20"  # what the card must show (the doors themselves listen on loopback here)


def test_qr_rows_draw_segnos_matrix() -> None:
    data = f"http://{LAN}:8000/?room=ABCDE"
    matrix = [list(row) for row in segno.make(data, error="l", micro=False).matrix_iter(border=2)]
    rows = qr_rows(data)
    back = []
    for row in rows:
        back.append([1 if ch in "█▀" else 0 for ch in row])
        back.append([1 if ch in "█▄" else 0 for ch in row])
    assert back[: len(matrix)] == matrix


def test_doors_from_the_network_are_checked() -> None:
    welcome = {
        "doors": [
            {"kind": "ssh", "host": "[red]x[/red]", "port": 2222},  # markup: out
            {"kind": "ssh", "host": "\x1b[2J", "port": 2222},  # an escape: out
            {"kind": "web", "host": LAN, "port": 70000},  # no such port: out
            {"kind": "web", "host": LAN, "port": True},  # a bool is no port: out
            {"kind": "shell", "host": LAN, "port": 22},  # unknown kind: out
            {"kind": "ssh", "host": LAN, "port": 2222, "fingerprint": "x\x1b"},
            "junk",
        ]
    }
    (door,) = doors_of(welcome)
    assert (door.kind, door.host, door.port, door.fingerprint) == ("ssh", LAN, 2222, None)
    assert doors_of({"doors": "nope"}) == [] and doors_of(None) == []


async def test_dashboard_shows_each_open_door_with_address_and_port(tmp_path: Path) -> None:
    config = DoorConfig(ssh_port=0, web_port=0, announce=False, address=LAN, key_folder=tmp_path)
    async with live_server(config, manual=False) as (server, doors):
        plan = Plan(
            kind="host", url=f"ws://127.0.0.1:{server.port}", name="Host", scenario="open-road"
        )
        app = InterlaneApp(plan)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))
            await wait_for(pilot, lambda: app.state.code is not None)
            code = app.state.code
            ssh = f"ssh -p {ssh_door(doors).port} {code}@{LAN}"
            web = f"http://{LAN}:{doors.web.port}"
            await wait_for(pilot, lambda: ssh in screen_text(app))
            assert web in screen_text(app)
            await pilot.press("j")
            await wait_for(pilot, lambda: isinstance(app.screen, JoinCardScreen))
            await pilot.pause()
            card = screen_text(app)
            assert ssh in card and web in card
            # not announced on the LAN here, so the card gives the address too
            assert f"interlane join {code} --server" in card
            assert f"ws://{LAN}:{server.port}" in card
            words = str(app.screen.query_one("#joincard-text", Static).content)
            assert ssh_door(doors).fingerprint in words  # drawn wrapped at 80 columns
            assert "█" in card  # the QR code
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, HostScreen))


async def test_card_fits_80x24(tmp_path: Path) -> None:
    config = DoorConfig(
        ssh_port=0,
        web_port=0,
        announce=True,
        address=LAN,
        key_folder=tmp_path,
        mdns_interfaces=["127.0.0.1"],  # never announce beyond this machine from a test
    )
    async with live_server(config, manual=False) as (server, doors):
        if doors.announcer is not None:
            await doors.announcer.close()  # the card only reads the flag
        plan = Plan(
            kind="host", url=f"ws://127.0.0.1:{server.port}", name="Host", scenario="open-road"
        )
        app = InterlaneApp(plan)
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.state.code is not None)
            code = app.state.code
            await wait_for(pilot, lambda: app.state.welcome is not None)
            await pilot.press("j")
            await wait_for(pilot, lambda: isinstance(app.screen, JoinCardScreen))
            await pilot.pause()
            lines = screen_text(app).splitlines()
            qr = [line for line in lines if "█▀▀▀▀▀█" in line]
            assert len(qr) == 2  # the top and bottom finder patterns: the whole code shows
            card = "\n".join(lines)
            assert f"ssh -p {ssh_door(doors).port} {code}@{LAN}" in card
            assert f"interlane join {code}" in card and "--server" not in card


async def test_only_open_doors_are_shown(tmp_path: Path) -> None:
    config = DoorConfig(web_port=0, announce=False, address=LAN)
    async with live_server(config, manual=False) as (server, doors):
        plan = Plan(
            kind="host", url=f"ws://127.0.0.1:{server.port}", name="Host", scenario="open-road"
        )
        app = InterlaneApp(plan)
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.state.code is not None)
            web = f"http://{LAN}:{doors.web.port}"
            await wait_for(pilot, lambda: web in screen_text(app))
            assert "ssh -p" not in screen_text(app)
            await pilot.press("j")
            await wait_for(pilot, lambda: isinstance(app.screen, JoinCardScreen))
            await pilot.pause()
            assert "ssh" not in screen_text(app).lower()


async def test_projector_view_lists_the_doors() -> None:
    room = room_msg(phase="driving")
    welcome = {
        "type": "welcome",
        "protocol": PROTOCOL_VERSION,
        "server": "interlane",
        "scenarios": [],
        "programs": [],
        "doors": [
            {"kind": "ws", "host": LAN, "port": 8765, "announced": True},
            {"kind": "ssh", "host": LAN, "port": 2222, "fingerprint": "SHA256:" + "A" * 43},
            {"kind": "web", "host": LAN, "port": 8000},
        ],
    }
    app = Harness(role="spectator", messages=(welcome, room))
    code = room["code"]
    async with app.run_test(size=(160, 45)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SpectatorScreen))
        await pilot.pause()
        text = screen_text(app)
        assert f"ssh -p 2222 {code}@{LAN}" in text and f"http://{LAN}:8000" in text
        await pilot.press("j")
        await wait_for(pilot, lambda: isinstance(app.screen, JoinCardScreen))
        await pilot.pause()
        assert f"interlane join {code}" in screen_text(app)
