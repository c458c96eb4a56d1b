"""The gate: what a connection, an address and the whole server may do, and what it costs.

Every frame a client sends is decoded once, here (`Gate.read`), into a typed message
(shared/messages/) before anything else sees it; what fails gets an `error` with a code and
a sentence. Abuse (bad frames or too many of them) adds up on a per-connection score that
decays with time; past a threshold the connection is closed with 1008.

Limits count what a message costs, not only how many there are (docs/protocol.md, "Limits"):
websocket PINGs spend the same allowance as messages (server/net_conn.py); host commands that
build a world or start an analysis spend a smaller per-address budget and a server-wide one;
the analyses waiting for a process are bounded; open connections, handshakes still in
progress and rooms driving are counted per address.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server.rooms import Registry
from shared.messages import ClientMessage, decode_client_frame
from shared.protocol import ProtocolError
from shared.ratelimit import Bucket

if TYPE_CHECKING:
    from server.net_conn import Client, GuardedConnection
    from server.round import Room


@dataclass
class Limits:
    """The defences' thresholds. Tests and the load benchmark loosen some of them."""

    messages_per_second: float = 40.0  # a held key repeats ~30 times a second
    message_burst: float = 80.0
    abuse_close: float = 50.0  # abuse points that close a connection with 1008
    abuse_decay: float = 2.0  # points forgiven per second
    joins_per_second: float = 0.5  # per remote address: a classroom behind one NAT still fits
    join_burst: float = 40.0
    connections_per_address: int = 256  # open sockets from one address (a NAT-ed classroom fits)
    write_buffer: int = 64 * 1024  # bytes queued for a client before it is skipped
    max_rooms: int = 2000
    ping_interval: float = 5.0
    ping_timeout: float = 10.0
    # a connection whose unsent bytes stay above this for `stuck_seconds` is dropped, whatever
    # filled its buffer (PONGs to a PING flood, frames to a client that never reads)
    stuck_bytes: int = 1024 * 1024
    stuck_seconds: float = 3.0
    # host commands that build a world or start an analysis (COSTLY_COMMANDS), per address
    costly_per_second: float = 1.0
    costly_burst: float = 20.0
    # …and server-wide: a 200-bot world takes 15–30 ms to build on the loop (measured on a
    # busy 2-core machine), so ten a second is at most a third of the loop's time
    costly_total_per_second: float = 10.0
    costly_total_burst: float = 40.0
    analyses_waiting: int = 8  # rounds waiting for (or in) analysis, server-wide
    driving_rooms_per_address: int = 40  # rooms started from one address and not yet over
    handshakes_per_address: int = 64  # sockets from one address still in the opening handshake
    open_timeout: float = 5.0  # seconds a socket may take to finish its opening handshake


COSTLY_COMMANDS = frozenset({"start", "end", "next", "bots"})
"""Host commands that build a world (start after a council, next, bots add cars) or start a
round's analysis and save (end): each is worth hundreds of ordinary messages."""
DRIVING_PHASES = ("driving", "paused")


class Gate:
    """The server's defences, per connection, per remote address and server-wide."""

    def __init__(
        self, limits: Limits, registry: Registry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self.registry = registry  # the rooms, to count the ones driving from an address
        self.clock = clock
        self._joins: dict[str, Bucket] = {}
        self._costly: dict[str, Bucket] = {}  # per address: COSTLY_COMMANDS
        self._costly_total = Bucket(
            limits.costly_total_per_second, limits.costly_total_burst, clock()
        )
        self._per_address: dict[str, int] = {}  # open connections
        self._handshakes: dict[str, int] = {}  # per address: sockets still in the handshake
        self.handshakes_refused = 0
        self._started_from: dict[str, str] = {}  # room code → address of its last `start`

    # ---- sockets and connections per address -------------------------------------------

    def handshake_began(self, connection: GuardedConnection, transport: Any) -> None:
        """A socket was accepted: count it against its address until its handshake ends."""
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
        if self._handshakes.get(address, 0) >= self.limits.handshakes_per_address:
            self.handshakes_refused += 1
            transport.abort()  # no log line: a flood of these must not flood the log
            return
        self._handshakes[address] = self._handshakes.get(address, 0) + 1
        connection.handshake_address = address

    def handshake_ended(self, connection: GuardedConnection) -> None:
        address = connection.handshake_address
        if address is None:
            return
        connection.handshake_address = None
        left = self._handshakes.get(address, 1) - 1
        if left > 0:
            self._handshakes[address] = left
        else:
            self._handshakes.pop(address, None)

    def connected(self, address: str) -> bool:
        """Count a new connection from `address`; False (not counted) past the limit."""
        if self._per_address.get(address, 0) >= self.limits.connections_per_address:
            return False
        self._per_address[address] = self._per_address.get(address, 0) + 1
        return True

    def disconnected(self, address: str) -> None:
        left = self._per_address.get(address, 1) - 1
        if left > 0:
            self._per_address[address] = left
        else:
            self._per_address.pop(address, None)

    # ---- frames --------------------------------------------------------------------------

    def over_allowance(self, client: Client, now: float) -> str | None:
        """Spend one message of the connection's allowance. None when it is allowed; when it
        is not, the client is told `rate_limited` and struck: "" to drop the frame, or the
        reason to close the connection with when it has earned a close."""
        if client.bucket.take(now):
            return None
        client.reply_error("rate_limited", "too many messages; slow down", now)
        return "too many messages" if client.strike(now, 0.5) else ""

    def read(self, frame: bytes | str) -> ClientMessage:
        """The frame as its typed message: decoded and checked once, for everything after."""
        return decode_client_frame(frame)

    def refused(self, client: Client, exc: ProtocolError, now: float) -> str | None:
        """A message was refused: the client gets the `error`; the reason to close the
        connection with (1008) when that is the answer, else None."""
        client.reply_error(exc.code, exc.message, now)
        if exc.code == "protocol":
            return "unsupported protocol version"
        if client.strike(now):
            return "too many bad messages"
        return None

    # ---- joins and costly host commands ----------------------------------------------------

    def join_allowed(self, address: str) -> bool:
        now = self.clock()
        bucket = self._joins.get(address)
        if bucket is None:
            if len(self._joins) > 10_000:
                self._joins.clear()
            bucket = self._joins[address] = Bucket(
                self.limits.joins_per_second, self.limits.join_burst, now
            )
        return bucket.take(now)

    def check_cost(self, command: str, room: Room, address: str, analyses_waiting: int) -> None:
        """Refuse a host command the server cannot afford now (its own budget, per address)."""
        if (
            command == "end"
            and room.phase in DRIVING_PHASES
            and analyses_waiting >= self.limits.analyses_waiting
        ):
            raise ProtocolError(
                "busy",
                "the server is still analysing other rounds; end this one in a moment "
                "(it also ends by itself when its time is up)",
            )
        if command == "start" and room.phase not in DRIVING_PHASES:
            driving = sum(
                1
                for code, source in self._started_from.items()
                if source == address
                and code != room.code
                and (other := self.registry.get(code)) is not None
                and other.phase in DRIVING_PHASES
            )
            if driving >= self.limits.driving_rooms_per_address:
                raise ProtocolError(
                    "busy", "too many rounds are driving from your address; end one first"
                )
        if command in COSTLY_COMMANDS:
            now = self.clock()
            bucket = self._costly.get(address)
            if bucket is None:
                if len(self._costly) > 10_000:
                    self._costly.clear()
                bucket = self._costly[address] = Bucket(
                    self.limits.costly_per_second, self.limits.costly_burst, now
                )
            if not bucket.take(now):
                raise ProtocolError(
                    "rate_limited",
                    "too many rounds started, ended or skipped from your address; wait a bit",
                )
            if not self._costly_total.take(now):
                raise ProtocolError(
                    "busy", "the server is starting many rounds right now; try again in a moment"
                )

    def started(self, room: Room, address: str) -> None:
        """A round of `room` was started from `address`: it counts there while driving."""
        self._started_from[room.code] = address

    def forget(self, code: str) -> None:
        """Room `code` is gone."""
        self._started_from.pop(code, None)
