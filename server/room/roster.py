"""Who is in a room: members, their roles, names and rejoin tokens.

This module knows nothing of traffic or of websockets. A member's connection is anything
with `send(bytes) -> bool` and `close(code, reason)`; the network layer supplies real ones
and tests supply lists. Roles are decided here once (host, player, spectator) and checked by
the room on every command, so no client can promote itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from shared.protocol import MAX_NAME_CHARS, clean_name

REJOIN_SECONDS = 120.0  # a dropped member may come back with its token for this long
TOKEN_BYTES = 18  # 24 url-safe characters
SAY_BURST = 8.0  # chat lines and votes a member may send at once…
SAY_PER_SECOND = 2.0  # …and per second after that


class Conn(Protocol):
    """The room's view of a client connection."""

    def send(self, data: bytes) -> bool:
        """Queue a frame; False when skipped (slow client or closed)."""
        ...

    def close(self, code: int, reason: str) -> None: ...


@dataclass
class Member:
    """One person in a room. `player` ids are never reused within a room."""

    player: int
    name: str
    role: str  # "host" | "player" | "spectator"
    token: str
    conn: Conn | None = None
    car: int | None = None
    wants_car: bool = False  # players, and a host who also plays (solo)
    left_at: float | None = None  # clock time of the disconnection, None while connected
    said: float = 0.0  # chat/vote allowance: SAY_BURST lines, refilled at SAY_PER_SECOND
    said_at: float | None = None

    def may_say(self, now: float) -> bool:
        """Whether one more chat line or vote is allowed now. Each one is sent to the whole
        room, so one fast typist must not multiply into a flood for everyone."""
        if self.said_at is None:
            self.said = SAY_BURST
        else:
            self.said = min(SAY_BURST, self.said + (now - self.said_at) * SAY_PER_SECOND)
        self.said_at = now
        if self.said >= 1.0:
            self.said -= 1.0
            return True
        return False

    @property
    def connected(self) -> bool:
        return self.conn is not None

    @property
    def is_host(self) -> bool:
        return self.role == "host"

    def roster_entry(self) -> dict[str, Any]:
        """The member as listed in the `room` message."""
        return {
            "id": self.player,
            "name": self.name,
            "role": self.role,
            "car": self.car,
            "connected": self.connected,
        }


class RosterError(Exception):
    """A join or rejoin that cannot be granted; `code` goes into the error message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Roster:
    """The members of one room, their unique names and their tokens."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._members: dict[int, Member] = {}
        self._by_token: dict[str, Member] = {}
        self._next_id = 1

    def __iter__(self) -> Iterator[Member]:
        return iter(list(self._members.values()))

    def __len__(self) -> int:
        return len(self._members)

    def get(self, player: int) -> Member | None:
        return self._members.get(player)

    def by_token(self, token: str) -> Member | None:
        return self._by_token.get(token)

    def by_car(self, car: int) -> Member | None:
        for member in self._members.values():
            if member.car == car:
                return member
        return None

    @property
    def host(self) -> Member | None:
        for member in self._members.values():
            if member.is_host:
                return member
        return None

    def unique_name(self, raw: str, fallback: str = "Driver") -> str:
        """A cleaned name no other member has: "Ana", then "Ana 2", "Ana 3"…"""
        base = clean_name(raw) or fallback
        taken = {m.name.casefold() for m in self._members.values()}
        if base.casefold() not in taken:
            return base
        n = 2
        while True:
            suffix = f" {n}"
            candidate = base[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix
            if candidate.casefold() not in taken:
                return candidate
            n += 1

    def add(self, name: str, role: str, conn: Conn | None, wants_car: bool) -> Member:
        member = Member(
            player=self._next_id,
            name=self.unique_name(name),
            role=role,
            token=secrets.token_urlsafe(TOKEN_BYTES),
            conn=conn,
            wants_car=wants_car,
        )
        self._next_id += 1
        self._members[member.player] = member
        self._by_token[member.token] = member
        return member

    def remove(self, member: Member) -> None:
        self._members.pop(member.player, None)
        self._by_token.pop(member.token, None)

    def away_by_name(self, raw: str) -> Member | None:
        """The away player called `raw` (after cleaning, any case), whose seat a person may
        take back from another machine; never a connected member, a host or a spectator."""
        name = clean_name(raw).casefold()
        for member in self._members.values():
            if member.role == "player" and member.conn is None and member.name.casefold() == name:
                return member
        return None

    def disconnect(self, member: Member) -> None:
        member.conn = None
        member.left_at = self._clock()

    def rejoin(self, token: str, conn: Conn) -> Member:
        """Give a returning client its member back (same id, name, role and car)."""
        member = self._by_token.get(token)
        if member is None:
            raise RosterError("token", "that token is unknown or has expired; join again")
        if member.conn is not None:
            # the old connection is probably dead but not yet noticed: the token wins
            old = member.conn
            member.conn = None
            old.close(1000, "replaced by a new connection")
        member.conn = conn
        member.left_at = None
        return member

    def expire(self) -> list[Member]:
        """Drop members gone for longer than REJOIN_SECONDS; return them."""
        now = self._clock()
        gone = [
            m
            for m in self._members.values()
            if m.left_at is not None and now - m.left_at > REJOIN_SECONDS
        ]
        for member in gone:
            self.remove(member)
        return gone

    def connected(self) -> list[Member]:
        return [m for m in self._members.values() if m.conn is not None]

    def entries(self) -> list[dict[str, Any]]:
        return [m.roster_entry() for m in self._members.values()]
