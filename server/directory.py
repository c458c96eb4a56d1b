"""The room directory in Redis: which worker holds which room, and how busy each worker is.

Workers write, front doors read (docs/architecture.md, "Workers, front doors and the
directory"). Every entry carries a short TTL that its worker refreshes, so a worker that dies
without a word (SIGKILL, a machine switched off) drops out of the table by itself; the
supervisor of a worker it saw die removes that worker's entries at once and marks its rooms
"gone", so other front doors can tell a player the room was lost rather than never existed.
Redis being unreachable is an expected state, not a crash: every call raises
`DirectoryUnavailable` and callers fall back to what they know locally.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger("interlane.directory")

PREFIX = "interlane:"
TTL = 6  # seconds an entry lives without a refresh
REFRESH = 2.0  # seconds between a worker's refreshes
GONE_TTL = 600  # seconds a lost room is remembered as lost


class DirectoryUnavailable(Exception):
    """Redis did not answer; the message says why in one line."""


def _room(code: str) -> str:
    return f"{PREFIX}room:{code}"


def _gone(code: str) -> str:
    return f"{PREFIX}gone:{code}"


def _worker(url: str) -> str:
    return f"{PREFIX}worker:{url}"


WORKERS = f"{PREFIX}workers"


def shown_url(url: str) -> str:
    """The Redis URL for logs and status: without a password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + host))


class RedisDirectory:
    """The shared table of rooms and workers, over one Redis connection pool."""

    def __init__(self, url: str, timeout: float = 0.5) -> None:
        import redis.asyncio as aioredis

        self.url = shown_url(url)
        self._redis = aioredis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            decode_responses=True,
            retry_on_timeout=False,
        )
        self.reachable: bool | None = None  # None until the first call
        self.last_error = ""

    async def _run(self, call: Any) -> Any:
        """Await one Redis call; record whether Redis answered, log each change of state."""
        from redis.exceptions import RedisError

        try:
            result = await call
        except (RedisError, OSError) as exc:
            text = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            if self.reachable is not False:
                log.warning("the directory (Redis at %s) is unreachable: %s", self.url, text)
            self.reachable, self.last_error = False, text
            raise DirectoryUnavailable(text) from None
        if self.reachable is False:
            log.warning("the directory (Redis at %s) answers again", self.url)
        self.reachable, self.last_error = True, ""
        return result

    async def publish(self, worker_url: str, codes: list[str], load: dict[str, Any]) -> None:
        """A worker's refresh: every room it holds, and its load, each with a fresh TTL."""
        pipe = self._redis.pipeline(transaction=False)
        for code in codes:
            pipe.set(_room(code), worker_url, ex=TTL)
        pipe.set(_worker(worker_url), json.dumps(load), ex=TTL)
        pipe.sadd(WORKERS, worker_url)
        await self._run(pipe.execute())

    async def add_room(self, worker_url: str, code: str) -> None:
        await self._run(self._redis.set(_room(code), worker_url, ex=TTL))

    async def remove_room(self, worker_url: str, code: str) -> None:
        """Forget a room that ended, unless another worker holds that code now."""
        await self._run(self._drop(worker_url, code))

    async def _drop(self, worker_url: str, code: str) -> None:
        if await self._redis.get(_room(code)) == worker_url:
            await self._redis.delete(_room(code))

    async def lookup(self, code: str) -> tuple[str, str | None]:
        """("live", worker URL), ("gone", None) for a room lost with its worker, or
        ("none", None)."""
        url, gone = await self._run(self._redis.mget([_room(code), _gone(code)]))
        if url:
            return "live", str(url)
        return ("gone", None) if gone else ("none", None)

    async def workers(self) -> dict[str, dict[str, Any]]:
        """The load of every worker whose entry is alive; forgets the ones that expired."""
        urls = sorted(await self._run(self._redis.smembers(WORKERS)))
        if not urls:
            return {}
        values = await self._run(self._redis.mget([_worker(u) for u in urls]))
        alive: dict[str, dict[str, Any]] = {}
        expired = []
        for url, value in zip(urls, values, strict=True):
            if value is None:
                expired.append(url)
                continue
            try:
                load = json.loads(value)
            except ValueError:
                continue
            if isinstance(load, dict):
                alive[url] = load
        if expired:
            await self._run(self._redis.srem(WORKERS, *expired))
        return alive

    async def mark_gone(self, worker_url: str, codes: list[str]) -> None:
        """A worker died: drop it and its rooms now, and remember those rooms as lost."""
        pipe = self._redis.pipeline(transaction=False)
        for code in codes:
            pipe.delete(_room(code))
            pipe.set(_gone(code), worker_url, ex=GONE_TTL)
        pipe.delete(_worker(worker_url))
        pipe.srem(WORKERS, worker_url)
        await self._run(pipe.execute())

    async def close(self) -> None:
        # closing a pool whose server went away must not fail a shutdown
        with contextlib.suppress(Exception):
            await self._redis.aclose()
