"""Who is in a room, as the room's life sees it: joining, coming back, leaving, a seat (a car)
in the current round, and a host while anyone is there.

The roster itself (ids, names, tokens, roles) is server/room/roster.py's; this is what joining or
leaving does to the round: a player's car is handed to a bot while they are away and back to
them when they return, a member's vote leaves the council with them, and when the host goes,
the earliest player takes over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from server.room.phases import DRIVING
from server.room.roster import Conn, Member, RosterError
from shared.messages import Bye, Joined, Notice
from shared.protocol import MAX_ROOM_MEMBERS

if TYPE_CHECKING:
    from server.room.room import Room


def joined(code: str, member: Member) -> Joined:
    """The `joined` a member gets on arriving and on coming back (its car once it has one)."""
    return Joined(
        code=code, role=member.role, token=member.token, player=member.player, car=member.car
    )


class Membership:
    """Joins, rejoins and departures of one room's members, and their cars."""

    def __init__(self, room: Room) -> None:
        self.room = room

    def join(self, name: str, role: str, conn: Conn, wants_car: bool | None = None) -> Member:
        """A new member. The room's first `host` comes from create; here role is player/spectator."""
        room = self.room
        if room.closed or room.phase == "finished":
            raise RosterError("finished", "this room has finished")
        away = room.roster.away_by_name(name) if role == "player" else None
        if away is not None:
            # the same person on another machine (their laptop died): their seat, car and
            # everything they did so far, never while the original is still connected
            return self.take_back(away, conn)
        if room.locked and role != "host":
            raise RosterError("locked", "the host has locked this room")
        if len(room.roster) >= MAX_ROOM_MEMBERS:
            raise RosterError(
                "full", f"this room is full ({MAX_ROOM_MEMBERS} players and spectators)"
            )
        car_wanted = role == "player" if wants_car is None else wants_car
        member = room.roster.add(name, role, conn, car_wanted)
        room.send(member, joined(room.code, member))
        if car_wanted and room.world is not None and room.phase in DRIVING:
            self.seat(member)
        if room.council is not None and role != "spectator":
            room.council.join(member.player)
        self.ensure_host()  # the first to arrive in a room its host left takes it over
        room.announce()
        if room.phase == "debrief" and room.debriefs.last is not None:
            room.send(member, room.debriefs.last)
        return member

    def rejoin(self, token: str, conn: Conn) -> Member:
        """A returning member gets its id, role and car back; the bot hands the car back."""
        room = self.room
        member = room.roster.rejoin(token, conn)
        self.welcome_back(member)
        return member

    def take_back(self, member: Member, conn: Conn) -> Member:
        """An away player's seat, claimed by name: the host is told who came back."""
        room = self.room
        member = room.roster.rejoin(member.token, conn)
        host = room.host
        if host is not None and host is not member:
            room.send(host, Notice(text=f"{member.name} rejoined"))
        self.welcome_back(member)
        return member

    def welcome_back(self, member: Member) -> None:
        room = self.room
        room.send(member, joined(room.code, member))
        if member.car is not None and room.world is not None and member.car in room.world.cars:
            room.world.set_controller(member.car, "player")
        room.announce()
        if room.phase == "debrief" and room.debriefs.last is not None:
            room.send(member, room.debriefs.last)

    def disconnect(self, member: Member) -> None:
        """The connection dropped: a bot drives the car until the member rejoins."""
        room = self.room
        if room.roster.get(member.player) is not member or member.conn is None:
            return
        room.roster.disconnect(member)
        self.bot_takes(member)
        room.announce()

    def leave(self, member: Member, reason: str = "left") -> None:
        """The member is gone for good (left or kicked): its token no longer works."""
        room = self.room
        if room.roster.get(member.player) is not member:
            return
        self.bot_takes(member)
        room.roster.remove(member)
        if room.council is not None:
            room.council.leave(member.player)
        if member.conn is not None:
            room.send(member, Bye(reason=reason))
            member.conn.close(1000, reason)
            member.conn = None
        self.ensure_host()
        room.announce()

    def expire(self) -> None:
        """Members away longer than their rejoin window lose their seat (server/room/roster.py):
        a bot keeps their car, the council their vote no longer, and a host is found."""
        room = self.room
        for member in room.roster.expire():
            self.bot_takes(member)
            if room.council is not None:
                room.council.leave(member.player)
            self.ensure_host()
            room.announce()

    def bot_takes(self, member: Member) -> None:
        room = self.room
        if member.car is not None and room.world is not None and member.car in room.world.cars:
            room.world.set_controller(member.car, "bot", personality="steady")

    def seat(self, member: Member) -> None:
        """Give a member a car in the current world."""
        room = self.room
        if member.car is None or member.car not in room.world.cars:
            member.car = room.world.add_player_car()
        room.drivers[member.car] = member.name

    def ensure_host(self) -> None:
        """A room always has a host while it has members: the earliest player takes over."""
        room = self.room
        if room.host is not None:
            return
        candidates = [m for m in room.roster if m.role == "player"] or list(room.roster)
        if candidates:
            candidates[0].role = "host"
            if room.council is not None:
                room.council.set_host(candidates[0].player)
            room.send(candidates[0], Notice(text="You are now the host."))

    def close_all(self, reason: str) -> None:
        """Tell every member `bye` and let them go; the server drops the room once empty."""
        room = self.room
        room.phase = "finished"
        for member in list(room.roster):
            self.bot_takes(member)
            room.roster.remove(member)
            if member.conn is not None:
                room.send(member, Bye(reason=reason))
                member.conn.close(1000, reason[:100])
                member.conn = None
        room.closed = True
