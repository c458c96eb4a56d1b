"""The browser door: `http://HOST:PORT/` runs the client in a browser tab (textual-serve).

textual-serve starts one client process per tab and relays its screen over a websocket to
xterm.js in the page. We run its aiohttp application inside the game server's loop and
change three things:

- the client process is ours (`server.doors.child`): fixed environment, its own process
  group, ended whole when the tab goes;
- each browser gets a random cookie on its first visit, and its hash is the tab's
  INTERLANE_IDENTITY, so a reloaded tab gets its seat back and two players never share one;
- the page asks no other host: textual-serve's page links a web font from the internet,
  which we swap for the same font from the package's own static folder (a workshop room's
  Wi-Fi may have no internet at all).

`/?room=CODE` goes straight to that room's join form (the join card's QR code uses it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from importlib import resources
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

from server.doors.child import (
    child_argv,
    child_env,
    client_args,
    end_process_group,
    identity_from,
    room_code,
)

log = logging.getLogger("interlane.doors.web")

COOKIE = "interlane_seat"
TEMPLATE = "app_index.html"
_FONT_LINK = re.compile(r"<link[^>]*fonts\.googleapis\.com[^>]*>", re.S)
_LOCAL_FONT = """<style>
      @font-face { font-family: "Roboto Mono"; font-style: normal; font-weight: 100 700;
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf"); }
      @font-face { font-family: "Roboto Mono"; font-style: italic; font-weight: 100 700;
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf"); }
    </style>"""


def page_template() -> str:
    """textual-serve's page with its internet font link replaced by the packaged font."""
    source = resources.files("textual_serve").joinpath("templates", TEMPLATE).read_text("utf-8")
    return _FONT_LINK.sub(lambda _m: _LOCAL_FONT, source)


class DoorAppService(AppService):
    """textual-serve's per-tab service, starting our client the way our doors do."""

    def __init__(self, argv: list[str], env: dict[str, str], **kwargs: Any) -> None:
        super().__init__(" ".join(argv), **kwargs)
        self._argv, self._env = argv, env

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        env = dict(self._env)
        env.update(
            TEXTUAL_DRIVER="textual.drivers.web_driver:WebDriver",
            TEXTUAL_COLOR_SYSTEM="truecolor",
            TERM_PROGRAM="textual",
            COLUMNS=str(max(20, min(width, 1000))),
            ROWS=str(max(10, min(height, 1000))),
        )
        self._process = process = await asyncio.create_subprocess_exec(
            *self._argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def end(self) -> None:
        """Ask the client to quit, then end its whole process group whatever it does."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.stop(), 3.0)
        if self._process is not None:
            await end_process_group(self._process, grace=1.0)
        if self._task is not None:
            self._task.cancel()


class WebDoor(Server):
    """textual-serve's server, run in our loop, with our processes and our page."""

    def __init__(self, host: str, port: int, public_url: str, server_url: str, max_tabs: int):
        super().__init__(
            "interlane", host=host, port=port, title="Interlane", public_url=public_url
        )
        self.server_url = server_url
        self.max_tabs = max_tabs
        self.tabs: set[DoorAppService] = set()
        self._runner: web.AppRunner | None = None

    async def on_startup(self, app: web.Application) -> None:
        """textual-serve prints a banner here; the host's terminal is a dashboard."""

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        # the packaged page, minus its internet font (replaces the file loader set up above)
        aiohttp_jinja2.setup(app, loader=jinja2.DictLoader({TEMPLATE: page_template()}))
        return app

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        websocket_url = "ws" + self.public_url.removeprefix("http") + "/ws"
        code = room_code(request.query.get("room", ""))
        if code is not None:
            # textual.js adds its own query string to this URL, so the room goes in the path
            websocket_url += "/" + code
        context = {
            "font_size": max(8, min(to_int(request.query.get("fontsize", "16"), 16), 40)),
            "app_websocket_url": websocket_url,
            "config": {"static": {"url": self.public_url + "/static/"}},
            "application": {"name": "Interlane"},
        }
        response = aiohttp_jinja2.render_template(TEMPLATE, request, context)
        response.headers["Cache-Control"] = "no-store"
        if not _valid_cookie(request.cookies.get(COOKIE)):
            response.set_cookie(
                COOKIE,
                secrets.token_hex(16),
                max_age=7 * 24 * 3600,
                httponly=True,
                samesite="Strict",
            )
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if len(self.tabs) >= self.max_tabs:
            await websocket.close(message=b"this server has no room for another browser player")
            return websocket
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        cookie = request.cookies.get(COOKIE)
        secret = cookie if _valid_cookie(cookie) else secrets.token_hex(16)
        room = request.match_info.get("room", "")
        service = DoorAppService(
            child_argv(client_args(room, self.server_url)),
            child_env("xterm-256color", identity_from(secret or "", "web")),
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=False,
        )
        self.tabs.add(service)
        try:
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            pass
        except Exception:  # a broken tab must not take the door down
            log.exception("browser session failed")
        finally:
            self.tabs.discard(service)
            await service.end()
            with contextlib.suppress(Exception):
                await websocket.close()
        return websocket

    async def start(self) -> int:
        app = await self._make_app()
        app.router.add_get("/ws/{room}", self.handle_websocket)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host or None, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        for tab in list(self.tabs):
            await tab.end()
        if self._runner is not None:
            await self._runner.cleanup()


def _valid_cookie(value: str | None) -> bool:
    return bool(value) and re.fullmatch(r"[0-9a-f]{32}", value or "") is not None
