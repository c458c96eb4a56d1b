"""The browser door in the system's headless Chromium, against a live room."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from server.doors.runner import DoorConfig
from server.doors.web import DoorAppService, page_template
from tests.support.cdp import Browser, find_browser
from tests.support.doors import (
    car_of,
    group_alive,
    live_server,
    make_room,
    member,
    plain,
    target,
    until,
)

needs_browser = pytest.mark.skipif(
    find_browser() is None, reason="needs Debian's chromium (.ci/run installs it)"
)


def test_page_asks_no_other_host() -> None:
    page = page_template()
    assert "googleapis" not in page and "RobotoMono-VariableFont_wght.ttf" in page


@needs_browser
async def test_browser_joins_by_code_drives_and_stays_on_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = bytearray()  # what the door relayed to the page: the client's terminal output
    relay = DoorAppService.on_data

    async def on_data(self: DoorAppService, payload: bytes) -> None:
        screen.extend(payload)
        await relay(self, payload)

    monkeypatch.setattr(DoorAppService, "on_data", on_data)
    config = DoorConfig(web_port=0, announce=False, address="127.0.0.1")
    async with live_server(config) as (server, doors):
        host, code = await make_room(server.port)
        browser = await Browser.launch(tmp_path / "profile")
        try:
            await browser.open_page()
            base = f"http://127.0.0.1:{doors.web.port}"
            await browser.goto(base + "/")
            await until(lambda: len(doors.web.tabs) == 1)
            (tab,) = doors.web.tabs
            # the join form has the room code field focused: type it, then a name
            await until(lambda: bool(tab._process and tab._process.returncode is None))

            async def focused() -> bool:
                return bool(
                    await browser.evaluate(
                        "(() => { const t = document.querySelector('.xterm-helper-textarea');"
                        " if (!t) return false; t.focus(); return true; })()"
                    )
                )

            await until_async(focused)
            await wait_screen(screen, "Room code")
            await browser.type_text(code.lower())
            await wait_screen(screen, code.lower())  # the field shows what was typed
            shown = len(screen)
            await browser.press("Tab", 9)  # to the name field
            # typing on before the form has redrawn its focus would land in the code field
            # (a person is never that fast); the redraw is the sign the focus moved
            await until(lambda: len(screen) > shown)
            await browser.type_text("Webb")
            await browser.press("Enter", 13)
            try:
                await until(lambda: member(server, code, "Webb") is not None)
            except AssertionError:
                words = re.findall(r"[A-Za-z][A-Za-z .:/0-9,]{3,}", plain(bytes(screen)))
                raise AssertionError(f"not joined; the screen said {words[-30:]}") from None

            await host.send({"type": "host", "command": "start"})
            await until(
                lambda: car_of(server, code, "Webb") is not None,
                tick=lambda: server.advance(1),
            )
            car = car_of(server, code, "Webb")
            assert car is not None
            await wait_screen(screen, "Lane left", tick=lambda: server.advance(1))
            before = target(server, code, car)
            await browser.press("ArrowUp", 38)
            await until(lambda: target(server, code, car) > before, tick=lambda: server.advance(1))

            # every request of the page went to the door itself
            urls = browser.requested_urls()
            assert any(u.startswith("ws://") for u in urls)
            assert any("RobotoMono" in u for u in urls)
            outside = [
                u for u in urls if urlsplit(u).netloc not in ("", f"127.0.0.1:{doors.web.port}")
            ]
            assert outside == [], outside

            # closing the tab ends its client and everything the client started
            pid = tab._process.pid
            await browser.close_page()
            await until(lambda: not doors.web.tabs and not group_alive(pid))
        finally:
            await browser.close()
            await host.close()


async def until_async(check: Callable[[], Awaitable[bool]]) -> None:
    import asyncio
    import time

    end = time.monotonic() + 30
    while not await check():
        assert time.monotonic() < end, "never"
        await asyncio.sleep(0.1)


async def wait_screen(
    screen: bytearray, text: str, tick: Callable[[], Awaitable[object]] | None = None
) -> None:
    """Until the terminal output the door sent the page shows `text`."""

    async def shows() -> bool:
        if tick is not None:
            await tick()
        return text in plain(bytes(screen))

    try:
        await until_async(shows)
    except AssertionError:
        words = re.findall(r"[A-Za-z][A-Za-z .:/0-9,]{3,}", plain(bytes(screen)))
        raise AssertionError(f"{text!r} never showed; the screen said {words[-40:]}") from None


async def test_a_browser_cookie_names_the_seat_and_the_env_is_fixed() -> None:
    """The same browser (cookie) twice: one identity; another browser: another."""
    from urllib.request import Request, urlopen

    from websockets.asyncio.client import connect

    config = DoorConfig(web_port=0, announce=False, address="127.0.0.1")
    async with live_server(config) as (server, doors):
        base = f"127.0.0.1:{doors.web.port}"

        def first_visit() -> str:
            with urlopen(Request(f"http://{base}/?room=zzzzz&x=<b>")) as page:
                cookie = page.headers["Set-Cookie"].split(";")[0]
                assert "HttpOnly" in page.headers["Set-Cookie"]
                return cookie

        import asyncio

        mine, theirs = [await asyncio.to_thread(first_visit) for _ in range(2)]
        identities = []
        for cookie in (mine, mine, theirs):
            ws = await connect(
                f"ws://{base}/ws?width=80&height=24",
                additional_headers={"Cookie": cookie, "X-Evil": "1"},
            )
            await until(lambda: any(t._process for t in doors.web.tabs))
            (tab,) = doors.web.tabs
            environ = Path(f"/proc/{tab._process.pid}/environ").read_bytes().split(b"\0")
            identities.append(next(e for e in environ if e.startswith(b"INTERLANE_IDENTITY=")))
            assert not any(e.startswith(b"LD_PRELOAD") for e in environ)
            await ws.close()
            await until(lambda: not doors.web.tabs)
        assert identities[0] == identities[1] != identities[2]
        assert identities[0].startswith(b"INTERLANE_IDENTITY=web-")
