"""A room: its members, its program of rounds, and the world of the current round.

`Room` is synchronous and knows nothing of sockets: the network layer hands it checked
messages (`handle`) and calls `step()` once per tick; the room answers by calling `send` on
its members' connections. That is what lets the tests step a room tick by tick without any
clock, and what guarantees that nothing a client sends can stall the tick (no handler
awaits anything, and each does a bounded amount of work).

The room holds the state every part reads (roster, program, phase, world, council, observers)
and the tick; its collaborators do one job each: `membership` (server/room/membership.py),
`commands` (the host's, server/room/commands.py), `lifecycle` (from step to step and phase to
phase, server/room/lifecycle.py and phases.py), `fanout` (snapshots, feed and the `room`
message, server/room/fanout.py) and `debriefs` (the end-of-round analysis, saving and
replays, server/room/analysis.py).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from server.council import CouncilError
from server.feed import shock_incident_text
from server.program_steps import Step
from server.room.analysis import AnalysisRequest, Debriefs, analyse_request
from server.room.commands import HostCommands
from server.room.fanout import Fanout, fit_room_message, frame
from server.room.lifecycle import Lifecycle, default_world_factory, plans_for, run_inline
from server.room.membership import Membership
from server.room.phases import DRIVING, Phases
from server.room.roster import Conn, Member, Roster
from shared.conventions import Rulebook, default_rulebook
from shared.messages import (
    Chat,
    ChatLine,
    ClientMessage,
    Control,
    ErrorReply,
    HostCommand,
    Leave,
    Notice,
    Propose,
    ReplayRequest,
    RoomState,
    ServerMessage,
    Vote,
)
from shared.protocol import MAX_CHAT_CHARS, ProtocolError, clean_text
from shared.sim.tuning import DT

log = logging.getLogger(__name__)

MAX_CONTROLS_PER_TICK = 8  # per car: more in one tick is noise, not driving
ROOM_EVERY_TICKS = 100  # a periodic `room` so a countdown never drifts far on a client
VOTE_ANNOUNCE_TICKS = 4  # in a large council, votes are announced at most 5 times a second
VOTE_ANNOUNCE_MEMBERS = 40  # up to this many members, every vote is announced at once


class Room:
    """One room: its members, its program of rounds, and the world of the current round."""

    # An observer (metrics, adherence, recorder, the solo coach) that raises inside the tick:
    # False in a live room, which reports it and goes on without it (`_observer_failed`); the
    # tests set True (tests/conftest.py) so the bug fails the test that provoked it.
    strict_observers = False

    def __init__(
        self,
        code: str,
        *,
        clock: Callable[[], float],
        scenario: str | None = None,
        program: str | None = None,
        bots: int | None = None,
        seed: int | None = None,
        world_factory: Callable[..., tuple[Any, Any]] = default_world_factory,
        offload: Callable[..., None] = run_inline,
        analyser: Callable[[AnalysisRequest], dict[str, Any]] = analyse_request,
        store: Any | None = None,
        builder: Callable[..., None] = run_inline,
    ) -> None:
        self.code = code
        self.clock = clock
        self.roster = Roster(clock)
        self.program_name, self.plans, self.final_debrief = plans_for(scenario, program)
        self.bots = bots
        self.base_seed = seed if seed is not None else secrets.randbelow(2**31 - 1000)
        self.world_factory = world_factory
        self.offload = offload
        self.builder = builder  # where worlds are built, like `offload` (off the loop)
        self.building: str | None = None  # what is being built off the loop, if anything
        self.analyser = analyser
        self.store = store
        self.game_id: int | None = None
        self.step_index = 0
        self.round_no = 0  # rounds started so far (1-based number of the current one)
        self.phases = Phases()
        self.locked = False
        self.rulebook: Rulebook = default_rulebook()
        self.scenario: Any = None
        self.world: Any = None
        self.council: Any = None
        self.observers: dict[str, Any] = {}
        self.round_events: list[Any] = []
        self.seconds = 0.0  # length of the current round or council
        self.seed = self.base_seed
        self.round_bots: int | None = bots
        self.round_mix: dict[str, float] | None = None
        self.vote_announced: int | None = None  # tick (in the phase) of the last one
        self.vote_due = False  # a vote waits to be announced
        self.closed = False
        self.controls: dict[int, list[tuple[str, Any]]] = {}  # car -> this tick's controls
        self.ticks_in_phase = 0
        self.shocks_done: set[int] = set()
        # car -> name of the member who drove it this round: a member whose seat expired
        # (away too long) still owns what they did, in the debrief and the stored round
        self.drivers: dict[int, str] = {}
        # the collaborators, one job each
        self.membership = Membership(self)
        self.commands = HostCommands(self)
        self.fanout = Fanout(self)
        self.debriefs = Debriefs(self)
        self.lifecycle = Lifecycle(self)
        self.lifecycle.prepare_step(inline=True)  # a scenario that cannot be built fails the create

    @property
    def phase(self) -> str:
        """lobby, council, driving, paused, debrief or finished (server/room/phases.py)."""
        return self.phases.current

    @phase.setter
    def phase(self, phase: str) -> None:
        self.phases.enter(phase)

    @property
    def plan(self) -> Step:
        """The current step of the program (the last one once the program is over)."""
        return self.plans[min(self.step_index, len(self.plans) - 1)]

    @property
    def host(self) -> Member | None:
        return self.roster.host

    @property
    def empty(self) -> bool:
        return len(self.roster) == 0

    def clock_seconds(self) -> float:
        """What the `room` message's clock shows: seconds left in the round or council."""
        if self.phase in DRIVING and self.world is not None:
            return max(0.0, round(self.seconds - self.world.tick * DT, 1))
        if self.phase == "council" and self.council is not None:
            return float(round(self.council.remaining, 1))
        return 0.0

    # ---- sending ---------------------------------------------------------------------

    def send(self, member: Member, message: ServerMessage | Mapping[str, Any]) -> None:
        """One message to one member (if connected). Messages are typed; the debrief payload
        and the replay (docs/debrief.md) travel as the maps the analysis built."""
        if member.conn is not None:
            member.conn.send(frame(message))

    def send_all(self, message: ServerMessage | Mapping[str, Any]) -> None:
        """One message to every connected member, encoded once."""
        data = frame(message)
        for member in self.roster.connected():
            assert member.conn is not None
            member.conn.send(data)

    def room_message(self) -> RoomState:
        """The room's state as every member's screen shows it (docs/protocol.md, `room`)."""
        host = self.host
        return RoomState(
            code=self.code,
            phase=self.phase,
            players=self.roster.entries(),
            scenario=self.plan.scenario,
            rulebook=dict(self.rulebook),
            round=self.round_no,
            rounds=sum(1 for p in self.plans if p.kind == "round"),
            locked=self.locked,
            clock=self.clock_seconds(),
            scoring=self.plan.scoring,
            program=self.program_name,
            host=host.player if host else None,
            title=self.plan.title,
            seconds=self.seconds,
            step=self.step_index + 1,
            steps=len(self.plans),
            intro=self.plan.intro,
            council=(
                self.council.state()
                if self.council is not None and self.phase == "council"
                else None
            ),
            ring=self.world.road()
            if self.world is not None and hasattr(self.world, "road")
            else None,
        )

    def announce(self) -> None:
        """Tell everyone the room's state (phase, roster, rulebook): on every change."""
        data = fit_room_message(self.room_message())
        for member in self.roster.connected():
            assert member.conn is not None
            member.conn.send(data)

    def tell_host(self, text: str) -> None:
        """A `notice` for the host alone (why something they asked for did not happen)."""
        host = self.host
        if host is not None:
            self.send(host, Notice(text=text))

    # ---- membership (server/room/membership.py) ---------------------------------------

    def join(self, name: str, role: str, conn: Conn, wants_car: bool | None = None) -> Member:
        """A new member (see `Membership.join`)."""
        return self.membership.join(name, role, conn, wants_car)

    def rejoin(self, token: str, conn: Conn) -> Member:
        """A returning member gets its id, role and car back."""
        return self.membership.rejoin(token, conn)

    def disconnect(self, member: Member) -> None:
        """The connection dropped: a bot drives the car until the member rejoins."""
        self.membership.disconnect(member)

    def leave(self, member: Member, reason: str = "left") -> None:
        """The member is gone for good (left or kicked): its token no longer works."""
        self.membership.leave(member, reason)

    # ---- messages from members -------------------------------------------------------

    def handle(self, member: Member, msg: ClientMessage) -> None:
        """One checked message from a member. Errors go back to the sender only."""
        try:
            match msg:
                case Control():
                    self._control(member, msg)
                case HostCommand():
                    self.commands.run(member, msg)
                case Propose() | Vote():
                    self._council_vote(member, msg)
                case Chat():
                    self._chat(member, msg)
                case Leave():
                    self.leave(member)
                case ReplayRequest():
                    self.debriefs.send_replay(member)
                case _:
                    raise ProtocolError("bad_state", f"{msg.TYPE} is not expected inside a room")
        except ProtocolError as exc:
            self.send(member, ErrorReply(code=exc.code, message=exc.message))

    def _control(self, member: Member, msg: Control) -> None:
        if member.car is None:
            raise ProtocolError("no_car", "you have no car to drive (spectators watch)")
        if self.phase != "driving":
            raise ProtocolError("bad_state", f"nothing to drive while the room is {self.phase}")
        queue = self.controls.setdefault(member.car, [])
        if len(queue) < MAX_CONTROLS_PER_TICK:
            queue.append((msg.action, msg.value))

    def _chat(self, member: Member, msg: Chat) -> None:
        if member.role == "spectator":
            raise ProtocolError("forbidden", "spectators watch; they do not chat")
        if not member.may_say(self.clock()):
            raise ProtocolError("rate_limited", "you are chatting too fast; wait a moment")
        text = clean_text(msg.text, MAX_CHAT_CHARS)
        if text:
            self.send_all(ChatLine(player=member.player, name=member.name, text=text))

    def _council_vote(self, member: Member, msg: Propose | Vote) -> None:
        if self.phase != "council" or self.council is None:
            raise ProtocolError("bad_state", "proposals and votes happen in the council")
        if member.role == "spectator":
            raise ProtocolError("forbidden", "spectators do not vote")
        if not member.may_say(self.clock()):
            raise ProtocolError("rate_limited", "you are voting too fast; wait a moment")
        try:
            if isinstance(msg, Propose):
                self.council.propose(member.player, msg.convention, msg.option)
            else:
                self.council.vote(member.player, msg.convention, msg.option)
        except CouncilError as exc:
            raise ProtocolError(exc.code, exc.message) from None
        self._announce_vote()

    def _announce_vote(self) -> None:
        """A vote changes the council's state for everyone: announce it now — unless the room
        is large and a vote was announced in the last VOTE_ANNOUNCE_TICKS ticks, then on the
        tick that ends that wait (`step`). A hundred members voting at once is then a few
        `room` messages a second, not one per vote to each of them."""
        small = len(self.roster) <= VOTE_ANNOUNCE_MEMBERS
        last = self.vote_announced
        if small or last is None or self.ticks_in_phase - last >= VOTE_ANNOUNCE_TICKS:
            self.vote_announced = self.ticks_in_phase
            self.vote_due = False
            self.announce()
        else:
            self.vote_due = True

    # ---- the tick ----------------------------------------------------------------------

    def step(self) -> None:
        """One tick of the room (the server calls it at 20 Hz for every room)."""
        self.membership.expire()
        if not self.roster.connected():
            return  # nobody is watching: the round waits (its members may rejoin)
        if self.phase == "driving":
            self._drive()
        elif self.phase == "council" and self.council is not None:
            self.ticks_in_phase += 1
            if self.council.advance(DT):
                self.lifecycle.end_council()
            elif self.ticks_in_phase % ROOM_EVERY_TICKS == 0:
                self.vote_due = False
                self.announce()
            elif self.vote_due:
                self._announce_vote()

    def _drive(self) -> None:
        world = self.world
        self._apply_shocks()
        controls, self.controls = self.controls, {}
        events = world.step(controls)
        self.round_events.extend(e for e in events if getattr(e, "kind", "") != "gantry")
        violations: list[Any] = []
        for key, observer in list(self.observers.items()):
            try:
                result = observer.observe(world, events)
            except Exception as exc:
                if self.strict_observers:
                    raise
                self._observer_failed(key, exc)
                continue
            if key == "adherence" and result:
                violations = list(result)
        self.fanout.feed.extend(self.fanout.feed_lines(events, violations))
        if "damper" in self.observers:  # the solo coach's line, when it changes
            self.fanout.feed.extend(self.observers["damper"].feed(world))
        self.fanout.send_snapshots()
        self.fanout.feed = []
        self.ticks_in_phase += 1
        if self.ticks_in_phase % ROOM_EVERY_TICKS == 0:
            self.announce()
        if world.tick * DT >= self.seconds:
            self.debriefs.end_round()

    def _observer_failed(self, key: str, exc: Exception) -> None:
        """A live room goes on without an observer that raised (it would raise again every
        tick): the traceback goes to the log, and the host learns which of the round's
        figures the debrief will be without, rather than finding them missing."""
        log.error(
            "room %s: observer %s failed; stopped for this round", self.code, key, exc_info=exc
        )
        self.observers.pop(key, None)
        self.tell_host(
            f"This round's {key} stopped working ({type(exc).__name__}): "
            "its debrief will be without those figures."
        )

    def _apply_shocks(self) -> None:
        for index, (at, kind, args) in enumerate(self.plan.shocks):
            if index in self.shocks_done or self.world.tick * DT < at:
                continue
            self.shocks_done.add(index)
            try:
                if kind == "incident":
                    lane = int(args.get("lane", 0))
                    x = float(args.get("x", float(self.world.length) / 2))
                    seconds = float(args.get("seconds", 60.0))
                    self.world.inject_incident(lane, x, seconds, "shock")
                    text = shock_incident_text(lane)
                elif kind == "bots":
                    count = int(args.get("count", 5))
                    if count >= 0:
                        self.world.add_bots(count)
                        text = "Shock: more traffic joins the road"
                    else:
                        self.world.remove_bots(-count)
                        text = "Shock: some traffic leaves the road"
                else:
                    log.warning("room %s: unknown shock kind %r", self.code, kind)
                    continue
            except Exception:
                log.exception("room %s: shock %r failed", self.code, kind)
                continue
            self.fanout.feed.append({"kind": "shock", "text": text})
