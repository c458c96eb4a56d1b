"""The websocket client of the light players (benchmarks/load/light_player.py), by hand.

A light player reads its socket in batches and walks the frame headers itself, so that the
load benchmark (benchmarks/server_load.py) leaves the cores to the server it measures; why,
and how the players use it, is in light_player.py's docstring. This module is the wire side:
the opening handshake (HTTP/1.1 Upgrade with the User-Agent websockets sends, no compression
offered; a front door's redirect is followed), the frames RFC 6455 allows a server to send
(walk_frames), a client's masked frames (client_frame), and LightSocket, the connection read
only when its owner drains it, answering PINGs and a CLOSE by itself.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import socket
import struct
from typing import Any
from urllib.parse import urljoin, urlsplit

from websockets.http11 import USER_AGENT

from shared.protocol import MAX_FRAME_BYTES, parse_server_frame

ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 section 1.3
OP_CONTINUATION, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA
FINAL_BINARY = 0x80 | OP_BINARY  # the first header byte of (nearly) every server frame
REDIRECT_STATUSES = (301, 302, 303, 307, 308)  # as websockets' client follows them
MAX_REDIRECTS = 10
MAX_RESPONSE_HEAD = 64 * 1024
OPEN_TIMEOUT = 20.0  # seconds for the opening handshake, redirects included (as drive_bot)
CLOSE_TIMEOUT = 10.0  # seconds a closing handshake may take before the socket is dropped
CLOSE_NORMAL, CLOSE_ABNORMAL, CLOSE_PROTOCOL, CLOSE_TOO_BIG = 1000, 1006, 1002, 1009

BUFFER_BYTES = 16 * 1024  # a socket's read buffer to start with; it grows to a drain's size
MIN_SPACE = 4 * 1024  # a recv_into gets at least this much room (the buffer doubles)

Frame = tuple[int, int, int]
"""A frame found in a buffer: its first header byte (FIN, RSV, opcode), where its payload
starts and where it ends."""


class FrameError(Exception):
    """The server sent something RFC 6455 does not allow a server to send."""


class HandshakeError(Exception):
    """The opening handshake failed (refused, a bad answer, too many redirects)."""


def walk_frames(
    buf: bytes | bytearray, start: int, end: int, max_size: int = MAX_FRAME_BYTES
) -> tuple[list[Frame], int]:
    """The complete frames in buf[start:end], and where the first incomplete one starts.

    Payloads are located, never copied or read. A masked frame (a server must not mask,
    RFC 6455 section 5.1) or one larger than `max_size` raises FrameError.
    """
    frames: list[Frame] = []
    at = start
    unpack = struct.unpack_from
    while end - at >= 2:
        size = buf[at + 1]
        if size & 0x80:
            raise FrameError("a frame from the server is masked")
        head = at + 2
        if size == 126:
            if end - head < 2:
                break
            (size,) = unpack("!H", buf, head)
            head += 2
        elif size == 127:
            if end - head < 8:
                break
            (size,) = unpack("!Q", buf, head)
            head += 8
        if size > max_size:
            raise FrameError(f"a frame of {size} bytes (the limit is {max_size})")
        if end - head < size:
            break
        frames.append((buf[at], head, head + size))
        at = head + size
    return frames, at


def client_frame(opcode: int, payload: bytes, mask: bytes | None = None) -> bytes:
    """One final frame from a client: masked with `mask` (four random bytes if None)."""
    key = os.urandom(4) if mask is None else mask
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + size.to_bytes(8, "big")
    keys = (key * (size // 4 + 1))[:size]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(size, "big")
    return head + key + body


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept a server answers to Sec-WebSocket-Key `key`."""
    return base64.b64encode(hashlib.sha1(key.encode() + ACCEPT_GUID).digest()).decode()


async def _request(url: str) -> tuple[socket.socket, int, dict[str, str], bytes]:
    """Connect and send the opening handshake for `url`: the socket, the response's status,
    its headers (lower-case names) and the bytes that came after them, once checked."""
    parts = urlsplit(url)
    if parts.scheme != "ws" or not parts.hostname:
        raise HandshakeError(f"not a ws:// URL: {url}")
    port = parts.port or 80
    loop = asyncio.get_running_loop()
    family, kind, proto, _, address = (
        await loop.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio's transports
        await loop.sock_connect(sock, address)
        key = base64.b64encode(os.urandom(16)).decode()
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        if port != 80:
            host += f":{port}"
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # the headers websockets' client sends, in its order (websockets.client.connect)
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nUser-Agent: {USER_AGENT}\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode("ascii"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                raise HandshakeError("the server closed the connection during the handshake")
            data += chunk
            if len(data) > MAX_RESPONSE_HEAD:
                raise HandshakeError("the server's response head is too long")
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ", 2)[1])
        except (IndexError, ValueError) as exc:
            raise HandshakeError(f"not an HTTP response: {lines[0]!r}") from exc
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if status == 101:
            tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
            if headers.get("upgrade", "").lower() != "websocket" or "upgrade" not in tokens:
                raise HandshakeError("the server did not upgrade to a websocket")
            if headers.get("sec-websocket-accept") != accept_key(key):
                raise HandshakeError("wrong Sec-WebSocket-Accept")
            if "sec-websocket-extensions" in headers:
                raise HandshakeError("the server chose an extension; none was offered")
    except BaseException:
        sock.close()
        raise
    return sock, status, headers, rest


class LightSocket:
    """A client websocket on a non-blocking socket, read only when its owner drains it.

    There is no reader callback, task or object per frame: `drain()` reads all the socket
    holds and returns where the data frames' payloads are in `buf`, having answered PINGs
    and a CLOSE itself. `ended` resolves with the server's close code (1006 without one)
    once the TCP connection is over.
    """

    def __init__(self, sock: socket.socket, first: bytes, url: str) -> None:
        self.sock = sock
        self.url = url  # where the handshake ended, after any redirect
        peer = sock.getpeername()
        self.port: int = peer[1] if isinstance(peer, tuple) else 0  # the server's (a worker's)
        self.buf = bytearray(max(BUFFER_BYTES, 2 * len(first)))
        self.buf[: len(first)] = first
        self._have = len(first)  # bytes in buf
        self._start = 0  # where the frames the last drain did not return start
        self._outbox = b""  # bytes the socket did not take yet
        self.ended: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.close_sent: float | None = None  # loop time our CLOSE was sent
        self.close_received: int | None = None  # the code of the server's CLOSE
        self.pings = 0  # PINGs answered

    @classmethod
    async def open(cls, url: str, timeout: float = OPEN_TIMEOUT) -> LightSocket:
        """Connect to `url` (ws://), following redirects as websockets' client does."""
        async with asyncio.timeout(timeout):
            for _ in range(MAX_REDIRECTS + 1):
                sock, status, headers, rest = await _request(url)
                if status == 101:
                    return cls(sock, rest, url)
                sock.close()
                if status not in REDIRECT_STATUSES or "location" not in headers:
                    raise HandshakeError(f"the server answered HTTP {status}")
                url = urljoin(url, headers["location"])
        raise HandshakeError(f"more than {MAX_REDIRECTS} redirects")

    @property
    def clean(self) -> bool:
        """Whether the connection ended with a closing handshake (both CLOSEs, then EOF)."""
        return self.ended.done() and self.close_received is not None and bool(self.close_sent)

    def send(self, payload: bytes) -> None:
        """Send one binary message (never blocks: what the socket does not take waits)."""
        if self.close_sent is None and not self.ended.done():
            self._write(client_frame(OP_BINARY, payload))

    def start_close(self, code: int = CLOSE_NORMAL) -> None:
        """Send CLOSE; drains go on until the server's CLOSE and its end of the stream."""
        if self.close_sent is None and not self.ended.done():
            self._write(client_frame(OP_CLOSE, code.to_bytes(2, "big")))
            self.close_sent = asyncio.get_running_loop().time()

    def closing_too_long(self) -> bool:
        """Whether our CLOSE has waited for its answer past CLOSE_TIMEOUT."""
        sent = self.close_sent
        return sent is not None and asyncio.get_running_loop().time() - sent > CLOSE_TIMEOUT

    def abort(self, code: int = CLOSE_ABNORMAL) -> None:
        """Drop the connection now (no handshake)."""
        if not self.ended.done():
            self.sock.close()
            self.ended.set_result(self.close_received or code)

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """The closing handshake, awaited (for hosts and tests; a player uses start_close)."""
        self.start_close()
        try:
            async with asyncio.timeout(timeout):
                while not self.ended.done():
                    self.drain()
                    if not self.ended.done():
                        await self.readable()
        except TimeoutError:
            self.abort()

    async def readable(self) -> None:
        """Until the socket has something to read (for setting up; a player never waits)."""
        loop = asyncio.get_running_loop()
        fd = self.sock.fileno()
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        try:
            await ready
        finally:
            loop.remove_reader(fd)

    async def until(self, kind: str) -> dict[str, Any]:
        """The next message of `kind`, parsed; those before it are dropped (for setting up)."""
        while True:
            for _, begin, end in self.drain():
                message = parse_server_frame(bytes(self.buf[begin:end]))
                if message["type"] == kind:
                    return message
            if self.ended.done():
                raise ConnectionError(f"the connection ended (code {self.ended.result()})")
            await self.readable()

    def drain(self) -> list[Frame]:
        """Read all the socket holds; the data frames it completed, oldest first.

        Their payloads are buf[begin:end] until the next drain. PINGs are answered, a CLOSE
        is answered and no data after it returned; at the end of the stream the socket is
        closed and `ended` resolved. Fragmented messages are refused: the game server sends
        every message as one frame (server/net.py, Client.send).
        """
        if self.ended.done():
            return []
        if self._outbox:
            self._write(b"")
        buf, have, start = self.buf, self._have, self._start
        if start:  # the incomplete frame the last drain left goes to the front
            have -= start
            buf[:have] = buf[start : start + have]
            self._start = 0
        sock, eof = self.sock, False
        while True:
            space = len(buf) - have
            if space < MIN_SPACE:
                buf.extend(bytes(len(buf)))
                space = len(buf) - have
            try:
                got = sock.recv_into(memoryview(buf)[have:])
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                eof = True
                break
            if not got:
                eof = True
                break
            have += got
            if got < space:  # the socket is drained (what comes meanwhile waits for the next)
                break
        self._have = have
        try:
            frames, self._start = walk_frames(buf, 0, have)
        except FrameError:
            self._fail(CLOSE_PROTOCOL)
            return []
        out: list[Frame] = []
        for frame in frames:
            first = frame[0]
            if first == FINAL_BINARY:
                if self.close_received is None:
                    out.append(frame)
                continue
            opcode = first & 0x0F
            if first & 0x70 or (opcode < OP_CLOSE and not first & 0x80):
                self._fail(CLOSE_PROTOCOL)  # RSV bits without an extension, or a fragment
                return []
            if opcode == OP_PING:
                self.pings += 1
                self._write(client_frame(OP_PONG, bytes(buf[frame[1] : frame[2]])))
            elif opcode == OP_CLOSE:
                self._closed_by_server(bytes(buf[frame[1] : frame[2]]))
            elif opcode == OP_TEXT and self.close_received is None:
                out.append(frame)  # the owner refuses it, as the protocol does
            elif opcode not in (OP_PONG, OP_TEXT):
                self._fail(CLOSE_PROTOCOL)
                return []
        if eof:
            self.sock.close()
            self.ended.set_result(self.close_received or CLOSE_ABNORMAL)
        return out

    def _closed_by_server(self, payload: bytes) -> None:
        code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
        if self.close_received is None:
            self.close_received = code
            if self.close_sent is None:  # echo its code; the server then ends the stream
                self._write(client_frame(OP_CLOSE, payload[:2]))
                self.close_sent = asyncio.get_running_loop().time()

    def _fail(self, code: int) -> None:
        """Fail the connection (RFC 6455 section 7.1.7): CLOSE with `code`, then drop it."""
        if self.close_sent is None:
            self._write(client_frame(OP_CLOSE, code.to_bytes(2, "big")))
        self.abort(code)

    def _write(self, data: bytes) -> None:
        data = self._outbox + data if self._outbox else data
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            sent = len(data)  # the connection is gone: the next drain ends it
        self._outbox = data[sent:]
