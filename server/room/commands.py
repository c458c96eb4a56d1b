"""The host's commands (docs/protocol.md, `host`): each checked against the room's phase,
then carried out on the room.

Only the host may send them (roles are decided in server/room/roster.py, never by a client), and
each one names the phases it is valid in (`require`), so a command at the wrong moment gets a
sentence back instead of a half-changed room.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from server.council import CouncilError
from server.room.analysis import ANALYSES_PER_ROOM
from server.room.phases import DRIVING
from server.room.roster import Member
from shared.messages import HostCommand, Notice
from shared.protocol import MAX_CHAT_CHARS, ProtocolError, clean_text

if TYPE_CHECKING:
    from server.room.room import Room

_T = TypeVar("_T")

MAX_INCIDENTS = 20  # incidents a host may have on the road at once


def needed(value: _T | None) -> _T:
    """A host command's field that its command needs (`HOST_COMMAND_FIELDS`): every checked
    `host` message has it; one built without it is refused like one sent without it."""
    if value is None:
        raise ProtocolError("missing_field", "that host command needs more fields")
    return value


class HostCommands:
    """The host's commands on one room: `run` dispatches a checked `host` message."""

    def __init__(self, room: Room) -> None:
        self.room = room

    def run(self, member: Member, msg: HostCommand) -> None:
        """Carry out one `host` message, from the host only: `cmd_<command>` does it."""
        if not member.is_host:
            raise ProtocolError("forbidden", "only the host can do that")
        command = msg.command
        handler = getattr(self, f"cmd_{command}", None)
        if handler is None:
            raise ProtocolError("bad_value", f"unknown host command {command!r}")
        handler(member, msg)

    def require(self, *phases: str) -> None:
        """Refuse, with a sentence for the host, a command the room's phase does not take."""
        room = self.room
        if room.phase not in phases:
            raise ProtocolError(
                "bad_state",
                f"cannot do that while the room is {room.phase} (needs {'/'.join(phases)})",
            )

    def refuse_while_building(self) -> None:
        room = self.room
        if room.building is not None:
            raise ProtocolError(
                "busy", f"{room.building} is still being built; try again in a moment"
            )

    def cmd_start(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        self.require("lobby", "council")
        if room.building is not None:
            room.lifecycle.start_queued = True
            room.send(
                member,
                Notice(text=f"Building {room.building}: the round starts as soon as it is ready."),
            )
            return
        if room.phase == "council":
            room.lifecycle.end_council()
            return
        if room.plan.kind == "council":
            room.lifecycle.begin_council()
        else:
            room.lifecycle.begin_round()

    def cmd_pause(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        self.require("driving")
        room.phase = "paused"
        room.announce()

    def cmd_resume(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        self.require("paused")
        room.phase = "driving"
        room.announce()

    def cmd_end(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        self.require("driving", "paused", "council")
        if room.phase != "council" and room.debriefs.analysing >= ANALYSES_PER_ROOM:
            raise ProtocolError(
                "busy", "the last round is still being analysed; end this one in a moment"
            )
        if room.phase == "council":
            room.lifecycle.end_council()
        else:
            room.debriefs.end_round()

    def cmd_next(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        self.require("debrief", "lobby")
        self.refuse_while_building()
        # from the lobby: skip a step the host does not want (e.g. the practice round)
        if room.phase == "lobby" and room.step_index + 1 >= len(room.plans):
            raise ProtocolError("bad_state", "this is the last step of the program")
        if (
            room.phase == "debrief"
            and not room.program_name
            and len(room.plans) == 1 + room.step_index
        ):
            # a room of one scenario (solo practice, `host --scenario`) has no last round: the
            # next one is the same road again, with the next seed
            room.plans.append(room.plans[-1])
        room.step_index += 1
        room.lifecycle.prepare_step()
        room.announce()

    def cmd_kick(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        target = room.roster.get(needed(msg.player))
        if target is None:
            raise ProtocolError("bad_value", "no such player in this room")
        if target is member:
            raise ProtocolError("bad_value", "the host cannot kick themselves")
        room.membership.leave(target, "kicked by the host")

    def cmd_bots(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        n = int(needed(msg.value))
        if n == 0:
            return
        self.refuse_while_building()
        if room.world is None:
            raise ProtocolError("bad_state", "there is no road yet")
        world = room.world

        def change() -> int:
            return len(world.add_bots(n)) if n > 0 else -len(world.remove_bots(-n))

        def changed(added: int) -> None:
            if 0 <= added < n:
                room.send(
                    member,
                    Notice(text=f"Added {added} of {n} bots: the road has no safe gap for more."),
                )

        if room.phase == "lobby":  # nothing ticks the lobby's road: change it off the loop
            room.lifecycle.build("the new traffic", change, lambda _: (world, changed))
            if room.building is None:  # done already (an inline builder)
                room.announce()
        else:  # a live road changes between two ticks, on the loop (at most 200 cars)
            changed(change())
            room.announce()

    def cmd_incident(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        self.require("driving", "paused")
        road = room.world.road() if hasattr(room.world, "road") else {}
        if len(road.get("incidents", ())) >= MAX_INCIDENTS:
            # each one is drawn from the `room` message: thousands would not fit a frame
            raise ProtocolError(
                "bad_state",
                f"the road already has {MAX_INCIDENTS} incidents; wait for one to clear",
            )
        lanes = int(room.world.lanes)
        lane = msg.lane if msg.lane is not None else 0
        if lane >= lanes:
            raise ProtocolError("bad_value", f"this road has lanes 0–{lanes - 1}")
        x = float(msg.x if msg.x is not None else self.incident_x()) % float(room.world.length)
        seconds = float(msg.seconds if msg.seconds is not None else 30.0)
        room.world.inject_incident(lane, x, seconds)

    def cmd_lock(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        room.locked = bool(msg.value)
        room.announce()

    def cmd_extend(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        self.require("driving", "paused", "council")
        seconds = float(needed(msg.seconds))
        if room.phase == "council":
            room.council.extend(seconds)
        else:
            room.seconds = min(room.seconds + seconds, 3 * 3600.0)
        room.announce()

    def cmd_message(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        text = clean_text(needed(msg.text), MAX_CHAT_CHARS)
        if text:
            room.send_all(Notice(text=text))

    def cmd_close(self, member: Member, msg: HostCommand) -> None:
        """The host ends the session: a round under way is ended and saved first (everyone
        gets its debrief), then everyone is told the room is closed."""
        room = self.room
        if room.phase in DRIVING:
            room.debriefs.close_after = True
            room.debriefs.end_round()
        elif room.debriefs.analysing:
            room.debriefs.close_after = True
        else:
            room.membership.close_all("the host closed the room")

    def cmd_decide(self, member: Member, msg: HostCommand) -> None:
        room = self.room
        self.require("council")
        try:
            room.council.decide(needed(msg.convention), needed(msg.option))
        except CouncilError as exc:
            raise ProtocolError(exc.code, exc.message) from None
        room.announce()

    def incident_x(self) -> float:
        """By default the incident appears ahead of the host's car, or half-way round."""
        room = self.room
        host = room.host
        if host is not None and host.car is not None and host.car in room.world.cars:
            return float(room.world.cars[host.car].x) + 400.0
        return float(room.world.length) / 2
