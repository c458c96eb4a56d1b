"""A room's life: lobby → (council) → driving ⇄ paused → debrief → next … → finished.

`Room` is synchronous and knows nothing of sockets: the network layer hands it validated
messages (`handle`) and calls `step()` once per tick; the room answers by calling `send` on
its members' connections. That is what lets the tests step a room tick by tick without any
clock, and what guarantees that nothing a client sends can stall the tick (no handler
awaits anything, and each does a bounded amount of work).

Other modules plug in here when they exist (council, programs, metrics, adherence, recorder,
store, debrief): each is imported on demand, and a room without one still runs (a single
round of the chosen scenario; a debrief with the round's own counts). The slow end-of-round
work (analysis, saving) goes through `offload`, which the server runs on a worker thread so
other rooms keep ticking; the analysis itself (`analyser`, given an `AnalysisRequest`) runs in
a separate process on the real server (see server.net), inline in tests. Building the next
round's world (a 200-bot world takes 15–30 ms) goes through `builder` the same way: while a
build is under way the room waits in its lobby with no world (nothing ticks it), a `start`
is queued until the world is there and `next` / `bots` are answered `busy`.
"""

from __future__ import annotations

import contextlib
import copyreg
import importlib
import io
import logging
import pickle
import random
import secrets
import zlib
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from server import solo as solo_ladder
from server.feed import FeedCoalescer, feed_text, shock_incident_text
from server.rooms import Conn, Member, Roster, RosterError
from server.snapshots import SnapshotEncoder, TickView, snapshot_parts
from shared.conventions import Rulebook, default_rulebook, make_rulebook
from shared.messages import (
    Bye,
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
from shared.protocol import (
    MAX_CHAT_CHARS,
    MAX_ROOM_MEMBERS,
    ProtocolError,
    clean_text,
    encode,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

DT = 0.05
DEFAULT_SCENARIO = "open-road"
DEFAULT_ROUND_SECONDS = 240.0
DEFAULT_COUNCIL_SECONDS = 180.0
MAX_CONTROLS_PER_TICK = 8  # per car: more in one tick is noise, not driving
REPLAY_COOLDOWN_S = 5.0  # a round's inputs are tens of kB: one copy per member now and then
TEAM_EVERY_TICKS = 10  # the team figures change slowly: twice a second is enough
RING_EVERY_TICKS = 5  # the minimap's mean speeds are recomputed 4 times a second
ROOM_EVERY_TICKS = 100  # a periodic `room` so a countdown never drifts far on a client
HISTORY_ROUNDS = 40  # earlier rounds a debrief compares with: bounds its size (64 KiB frames)
MAX_INCIDENTS = 20  # incidents a host may have on the road at once
VOTE_ANNOUNCE_TICKS = 4  # in a large council, votes are announced at most 5 times a second
VOTE_ANNOUNCE_MEMBERS = 40  # up to this many members, every vote is announced at once
ANALYSES_PER_ROOM = 1  # a host may not end another round while this many wait for analysis
WATCHERS = ("host", "spectator")  # roles that see the whole ring and the team figures


def optional_module(name: str) -> Any | None:
    """Import a collaborator module if it exists; a room runs without it otherwise."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None
    except Exception:  # a half-written module must not take the server down
        log.exception("cannot import %s", name)
        return None


@dataclass
class Plan:
    """One step of a room's program, normalised from server.programs.Step (or a default)."""

    kind: str  # "round" | "council"
    title: str
    scenario: str
    seconds: float | None  # None: the scenario's own length (a single-round room)
    rulebook: Any = "keep"  # "keep" | "council" | dict
    scoring: str = "individual"
    shocks: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    bots: int | None = None
    mix: dict[str, float] | None = None
    seed: int | None = None
    intro: str = ""
    challenge: str = ""  # the solo ladder's task ("damper": server.damper measures it)


def plans_for(scenario: str | None, program: str | None) -> tuple[str, list[Plan], bool]:
    """The steps of a room: a named program, or a single round of one scenario, and whether
    the program ends with a debrief across its rounds (`final_debrief`, docs/programs.md).

    Raises ValueError with a sentence for the creator when the program cannot be loaded.
    """
    programs = optional_module("server.programs")
    if program is not None or (scenario is None and programs is not None):
        if programs is None:
            raise ValueError("this server has no workshop programs")
        name = program or "workshop"
        try:
            loaded = programs.load_program(name, allow_paths=False)  # never a path from the wire
        except Exception as exc:
            raise ValueError(f"cannot load program {name!r}: {exc}") from None
        plans = []
        for step in loaded.steps:
            plans.append(
                Plan(
                    kind=str(getattr(step, "kind", "round")),
                    title=str(getattr(step, "title", "") or ""),
                    scenario=""
                    if getattr(step, "kind", "round") == "council"
                    else str(getattr(step, "scenario", None) or scenario or DEFAULT_SCENARIO),
                    seconds=float(
                        getattr(step, "seconds", None)
                        or (
                            DEFAULT_COUNCIL_SECONDS
                            if getattr(step, "kind", "") == "council"
                            else DEFAULT_ROUND_SECONDS
                        )
                    ),
                    rulebook=getattr(step, "rulebook", "keep"),
                    scoring=str(getattr(step, "scoring", "individual") or "individual"),
                    shocks=[
                        (float(s[0]), str(s[1]), dict(s[2]) if len(s) > 2 and s[2] else {})
                        for s in getattr(step, "shocks", ()) or ()
                    ],
                    bots=getattr(step, "bots", None),
                    mix=getattr(step, "mix", None),
                    seed=getattr(step, "seed", None),
                    intro=str(getattr(step, "intro", "") or ""),
                    challenge=str(getattr(step, "challenge", "") or ""),
                )
            )
        if not any(p.kind == "round" for p in plans):
            raise ValueError(f"program {name!r} has no rounds")
        final = bool(getattr(loaded, "final_debrief", True))
        return str(getattr(loaded, "name", name)), plans, final
    name = scenario or DEFAULT_SCENARIO
    rung = solo_ladder.rung_for(name)
    if rung is not None:  # a road of the solo ladder: its challenge, brief and rulebook
        return (
            "",
            [
                Plan(
                    "round",
                    rung.title,
                    name,
                    None,
                    dict(rung.rulebook),
                    intro=rung.intro,
                    challenge=rung.challenge,
                )
            ],
            False,
        )
    return "", [Plan("round", name, name, None)], False  # as long as the scenario says


def round_seconds(plan: Plan, scenario: Any) -> float:
    """A round's length: the program step's, else the scenario's own `seconds`, else 4:00."""
    if plan.seconds is not None:
        return float(plan.seconds)
    own = getattr(scenario, "seconds", None)
    if isinstance(own, (int, float)) and not isinstance(own, bool) and 0 < own <= 24 * 3600:
        return float(own)
    return DEFAULT_ROUND_SECONDS


def default_world_factory(
    scenario_name: str,
    seed: int,
    rulebook: Rulebook,
    bots: int | None,
    mix: Mapping[str, float] | None = None,
) -> tuple[Any, Any]:
    """Load the scenario and build its World (shared.sim). Returns (scenario, world)."""
    from shared.sim.scenario import load_scenario
    from shared.sim.world import World

    scenario = load_scenario(scenario_name, allow_paths=False)  # names from the network
    return scenario, World(
        scenario, seed=seed, rulebook=rulebook, bots=bots, mix=dict(mix) if mix else None
    )


@dataclass
class AnalysisRequest:
    """Everything `server.debrief.analyse` needs for one round, detached from the live room.

    Plain data only (the scenario object, lists, dicts, the recorder's Recording with its
    world checkpoints), so that it can be pickled to an analysis process: see `pack_request`.
    """

    scenario: Any
    seed: int
    rulebook: dict[str, str]
    bots: int | None
    mix: dict[str, float] | None
    log: list[Any]
    recording: Any
    metrics: dict[str, Any]
    adherence: dict[Any, Any]
    names: dict[int, str]
    previous: list[dict[str, Any]]
    round_no: int
    ticks: int
    final: bool = False  # the program's last round: the payload carries the program's debrief


def analyse_request(request: AnalysisRequest) -> dict[str, Any]:
    """The debrief payload of one round, computed here and now (the inline `analyser`)."""
    from server.debrief import analyse

    return dict(
        analyse(
            request.scenario,
            request.seed,
            request.rulebook,
            request.bots,
            request.mix,
            request.log,
            request.recording,
            request.metrics,
            request.adherence,
            request.names,
            request.previous,
            round_no=request.round_no,
            ticks=request.ticks,
            final=request.final,
        )
    )


def _restore_random(version: int, words: bytes, gauss: float | None) -> random.Random:
    rng = random.Random()
    rng.setstate((version, tuple(array("I", words)), gauss))
    return rng


def _reduce_random(rng: random.Random) -> tuple[Any, ...]:
    """A Random as its 625 state words in one bytes object, not 625 separately pickled ints.

    Every car of every world checkpoint carries its own generator: pickled the ordinary way
    they were most of a recording's bytes and of the time spent pickling it.
    """
    version, internal, gauss = rng.getstate()
    return _restore_random, (version, array("I", internal).tobytes(), gauss)


def pack_request(request: AnalysisRequest) -> bytes:
    """Pickle a request for an analysis process (raises if some input cannot be pickled)."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    table = copyreg.dispatch_table.copy()
    table[random.Random] = _reduce_random  # exact type only: subclasses pickle as usual
    pickler.dispatch_table = table
    pickler.dump(request)
    return buffer.getvalue()


def analyse_packed(data: bytes) -> dict[str, Any]:
    """The entry point in an analysis process: unpickle a `pack_request` and analyse it."""
    request = pickle.loads(data)
    if not isinstance(request, AnalysisRequest):
        raise TypeError("an analysis process was sent something other than a request")
    return analyse_request(request)


def run_inline(job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
    """The default `offload`: do the work now (tests, and rooms without a server)."""
    try:
        result = job()
    except Exception as exc:
        done(None, exc)
    else:
        done(result, None)


class Room:
    """One room: its members, its program of rounds, and the world of the current round."""

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
        self._build_no = 0  # a build whose number is no longer this one is thrown away
        self._start_queued = False  # the host asked to start while the road was being built
        self.analyser = analyser
        self.store = store
        self.game_id: int | None = None
        self.step_index = 0
        self.round_no = 0  # rounds started so far (1-based number of the current one)
        self.phase = "lobby"
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
        self.last_debrief: dict[str, Any] | None = None
        # the last analysed round's inputs as a `replay` frame (encoded once, by the debrief
        # job), for members who replay it on their own machine; None until there is one
        self._replay_frame: bytes | None = None
        self._replay_error = "there is no finished round to replay yet"
        self._replays_sent: dict[int, float] = {}
        self.history: list[dict[str, Any]] = []  # previous rounds' debriefs (learning curve)
        self.analysing = 0  # rounds of this room handed to `offload` and not yet back
        self._vote_announced = -VOTE_ANNOUNCE_TICKS  # tick (in the phase) of the last one
        self._vote_due = False  # a vote waits to be announced
        self._too_big_logged = False
        self.closed = False
        self._controls: dict[int, list[tuple[str, Any]]] = {}
        self._feed: list[dict[str, Any]] = []
        self._coalescer = FeedCoalescer()  # "Ana braked hard ×4", not four lines
        self._ring: list[int] | None = None  # the last packed ring summary (minimap)
        # periodic work (team figures, ring summary) falls on a different tick in each room,
        # so that a server's rooms do not all do it on the same tick
        self._stagger = zlib.crc32(code.encode()) % (TEAM_EVERY_TICKS * RING_EVERY_TICKS)
        self._ticks_in_phase = 0
        self._shocks_done: set[int] = set()
        # car -> name of the member who drove it this round: a member whose seat expired
        # (away too long) still owns what they did, in the debrief and the stored round
        self._drivers: dict[int, str] = {}
        self._close_after_debrief = False  # the host closed the room during a round
        self._prepare_step(inline=True)  # a scenario that cannot be built fails the create

    # ---- properties ------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        return self.plans[min(self.step_index, len(self.plans) - 1)]

    @property
    def host(self) -> Member | None:
        return self.roster.host

    @property
    def empty(self) -> bool:
        return len(self.roster) == 0

    def clock_seconds(self) -> float:
        """What the `room` message's clock shows: seconds left in the round or council."""
        if self.phase in ("driving", "paused") and self.world is not None:
            return max(0.0, round(self.seconds - self.world.tick * DT, 1))
        if self.phase == "council" and self.council is not None:
            return float(round(self.council.remaining, 1))
        return 0.0

    # ---- sending ---------------------------------------------------------------------

    def send(self, member: Member, message: ServerMessage | Mapping[str, Any]) -> None:
        """One message to one member (if connected). The room's own messages are typed; the
        debrief and the membership messages are still composed as maps."""
        if member.conn is not None:
            member.conn.send(_frame(message))

    def send_all(self, message: ServerMessage | Mapping[str, Any]) -> None:
        """One message to every connected member, encoded once."""
        data = _frame(message)
        for member in self.roster.connected():
            assert member.conn is not None
            member.conn.send(data)

    def room_message(self) -> RoomState:
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

    # ---- membership ------------------------------------------------------------------

    def join(self, name: str, role: str, conn: Conn, wants_car: bool | None = None) -> Member:
        """A new member. The room's first `host` comes from create; here role is player/spectator."""
        if self.closed or self.phase == "finished":
            raise RosterError("finished", "this room has finished")
        away = self.roster.away_by_name(name) if role == "player" else None
        if away is not None:
            # the same person on another machine (their laptop died): their seat, car and
            # everything they did so far, never while the original is still connected
            return self._take_back(away, conn)
        if self.locked and role != "host":
            raise RosterError("locked", "the host has locked this room")
        if len(self.roster) >= MAX_ROOM_MEMBERS:
            raise RosterError(
                "full", f"this room is full ({MAX_ROOM_MEMBERS} players and spectators)"
            )
        car_wanted = role == "player" if wants_car is None else wants_car
        member = self.roster.add(name, role, conn, car_wanted)
        self.send(
            member,
            {
                "type": "joined",
                "code": self.code,
                "role": member.role,
                "token": member.token,
                "player": member.player,
                **({"car": member.car} if member.car is not None else {}),
            },
        )
        if car_wanted and self.world is not None and self.phase in ("driving", "paused"):
            self._seat(member)
        if self.council is not None and role != "spectator":
            self.council.join(member.player)
        self._ensure_host()  # the first to arrive in a room its host left takes it over
        self.announce()
        if self.phase == "debrief" and self.last_debrief is not None:
            self.send(member, self.last_debrief)
        return member

    def rejoin(self, token: str, conn: Conn) -> Member:
        """A returning member gets its id, role and car back; the bot hands the car back."""
        member = self.roster.rejoin(token, conn)
        self._welcome_back(member)
        return member

    def _take_back(self, member: Member, conn: Conn) -> Member:
        """An away player's seat, claimed by name: the host is told who came back."""
        member = self.roster.rejoin(member.token, conn)
        host = self.host
        if host is not None and host is not member:
            self.send(host, {"type": "notice", "text": f"{member.name} rejoined"})
        self._welcome_back(member)
        return member

    def _welcome_back(self, member: Member) -> None:
        self.send(
            member,
            {
                "type": "joined",
                "code": self.code,
                "role": member.role,
                "token": member.token,
                "player": member.player,
                **({"car": member.car} if member.car is not None else {}),
            },
        )
        if member.car is not None and self.world is not None and member.car in self.world.cars:
            self.world.set_controller(member.car, "player")
        self.announce()
        if self.phase == "debrief" and self.last_debrief is not None:
            self.send(member, self.last_debrief)

    def disconnect(self, member: Member) -> None:
        """The connection dropped: a bot drives the car until the member rejoins."""
        if self.roster.get(member.player) is not member or member.conn is None:
            return
        self.roster.disconnect(member)
        self._bot_takes(member)
        self.announce()

    def leave(self, member: Member, reason: str = "left") -> None:
        """The member is gone for good (left or kicked): its token no longer works."""
        if self.roster.get(member.player) is not member:
            return
        self._bot_takes(member)
        self.roster.remove(member)
        if self.council is not None:
            self.council.leave(member.player)
        if member.conn is not None:
            self.send(member, {"type": "bye", "reason": reason})
            member.conn.close(1000, reason)
            member.conn = None
        self._ensure_host()
        self.announce()

    def _bot_takes(self, member: Member) -> None:
        if member.car is not None and self.world is not None and member.car in self.world.cars:
            self.world.set_controller(member.car, "bot", personality="steady")

    def _seat(self, member: Member) -> None:
        """Give a member a car in the current world."""
        if member.car is None or member.car not in self.world.cars:
            member.car = self.world.add_player_car()
        self._drivers[member.car] = member.name

    def _ensure_host(self) -> None:
        """A room always has a host while it has members: the earliest player takes over."""
        if self.host is not None:
            return
        candidates = [m for m in self.roster if m.role == "player"] or list(self.roster)
        if candidates:
            candidates[0].role = "host"
            if self.council is not None:
                self.council.set_host(candidates[0].player)
            self.send(candidates[0], {"type": "notice", "text": "You are now the host."})

    # ---- messages from members -------------------------------------------------------

    def handle(self, member: Member, msg: ClientMessage) -> None:
        """One checked message from a member. Errors go back to the sender only."""
        try:
            match msg:
                case Control():
                    self._control(member, msg)
                case HostCommand():
                    self._host_command(member, msg)
                case Propose() | Vote():
                    self._council_vote(member, msg)
                case Chat():
                    self._chat(member, msg)
                case Leave():
                    self.leave(member)
                case ReplayRequest():
                    self._send_replay(member)
                case _:
                    raise ProtocolError("bad_state", f"{msg.TYPE} is not expected inside a room")
        except ProtocolError as exc:
            self.send(member, ErrorReply(code=exc.code, message=exc.message))

    def _control(self, member: Member, msg: Control) -> None:
        if member.car is None:
            raise ProtocolError("no_car", "you have no car to drive (spectators watch)")
        if self.phase != "driving":
            raise ProtocolError("bad_state", f"nothing to drive while the room is {self.phase}")
        queue = self._controls.setdefault(member.car, [])
        if len(queue) < MAX_CONTROLS_PER_TICK:
            queue.append((msg.action, msg.value))

    def _send_replay(self, member: Member) -> None:
        """The debriefed round's inputs to one member, who replays it on their own machine (the
        simulation is deterministic: scenario, seed and input log are the whole round)."""
        if self.phase not in ("debrief", "finished") or self._replay_frame is None:
            raise ProtocolError("bad_state", self._replay_error)
        now = self.clock()
        last = self._replays_sent.get(member.player)
        if last is not None and now - last < REPLAY_COOLDOWN_S:
            raise ProtocolError("rate_limited", "the replay is on its way; ask again shortly")
        self._replays_sent[member.player] = now
        if member.conn is not None:
            member.conn.send(self._replay_frame)

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
        council_mod = optional_module("server.council")
        try:
            if isinstance(msg, Propose):
                self.council.propose(member.player, msg.convention, msg.option)
            else:
                self.council.vote(member.player, msg.convention, msg.option)
        except Exception as exc:
            if council_mod is not None and isinstance(exc, council_mod.CouncilError):
                raise ProtocolError(exc.code, exc.message) from None
            raise
        self._announce_vote()

    def _announce_vote(self) -> None:
        """A vote changes the council's state for everyone: announce it now — unless the room
        is large and a vote was announced in the last VOTE_ANNOUNCE_TICKS ticks, then on the
        tick that ends that wait (`step`). A hundred members voting at once is then a few
        `room` messages a second, not one per vote to each of them."""
        small = len(self.roster) <= VOTE_ANNOUNCE_MEMBERS
        if small or self._ticks_in_phase - self._vote_announced >= VOTE_ANNOUNCE_TICKS:
            self._vote_announced = self._ticks_in_phase
            self._vote_due = False
            self.announce()
        else:
            self._vote_due = True

    # ---- host commands ---------------------------------------------------------------

    def _host_command(self, member: Member, msg: HostCommand) -> None:
        if not member.is_host:
            raise ProtocolError("forbidden", "only the host can do that")
        command = msg.command
        handler = getattr(self, f"_cmd_{command}", None)
        if handler is None:
            raise ProtocolError("bad_value", f"unknown host command {command!r}")
        handler(member, msg)

    def _require(self, *phases: str) -> None:
        if self.phase not in phases:
            raise ProtocolError(
                "bad_state",
                f"cannot do that while the room is {self.phase} (needs {'/'.join(phases)})",
            )

    def _cmd_start(self, member: Member, msg: HostCommand) -> None:
        self._require("lobby", "council")
        if self.building is not None:
            self._start_queued = True
            self.send(
                member,
                Notice(text=f"Building {self.building}: the round starts as soon as it is ready."),
            )
            return
        if self.phase == "council":
            self._end_council()
            return
        if self.plan.kind == "council":
            self._begin_council()
        else:
            self._begin_round()

    def _cmd_pause(self, member: Member, msg: HostCommand) -> None:
        self._require("driving")
        self.phase = "paused"
        self.announce()

    def _cmd_resume(self, member: Member, msg: HostCommand) -> None:
        self._require("paused")
        self.phase = "driving"
        self.announce()

    def _cmd_end(self, member: Member, msg: HostCommand) -> None:
        self._require("driving", "paused", "council")
        if self.phase != "council" and self.analysing >= ANALYSES_PER_ROOM:
            raise ProtocolError(
                "busy", "the last round is still being analysed; end this one in a moment"
            )
        if self.phase == "council":
            self._end_council()
        else:
            self._end_round()

    def _refuse_while_building(self) -> None:
        if self.building is not None:
            raise ProtocolError(
                "busy", f"{self.building} is still being built; try again in a moment"
            )

    def _cmd_next(self, member: Member, msg: HostCommand) -> None:
        self._require("debrief", "lobby")
        self._refuse_while_building()
        # from the lobby: skip a step the host does not want (e.g. the practice round)
        if self.phase == "lobby" and self.step_index + 1 >= len(self.plans):
            raise ProtocolError("bad_state", "this is the last step of the program")
        if (
            self.phase == "debrief"
            and not self.program_name
            and len(self.plans) == 1 + self.step_index
        ):
            # a room of one scenario (solo practice, `host --scenario`) has no last round: the
            # next one is the same road again, with the next seed
            self.plans.append(self.plans[-1])
        self.step_index += 1
        self._prepare_step()
        self.announce()

    def _cmd_kick(self, member: Member, msg: HostCommand) -> None:
        target = self.roster.get(_needed(msg.player))
        if target is None:
            raise ProtocolError("bad_value", "no such player in this room")
        if target is member:
            raise ProtocolError("bad_value", "the host cannot kick themselves")
        self.leave(target, "kicked by the host")

    def _cmd_bots(self, member: Member, msg: HostCommand) -> None:
        n = int(_needed(msg.value))
        if n == 0:
            return
        self._refuse_while_building()
        if self.world is None:
            raise ProtocolError("bad_state", "there is no road yet")
        world = self.world

        def change() -> int:
            return len(world.add_bots(n)) if n > 0 else -len(world.remove_bots(-n))

        def changed(added: int) -> None:
            if 0 <= added < n:
                self.send(
                    member,
                    Notice(text=f"Added {added} of {n} bots: the road has no safe gap for more."),
                )

        if self.phase == "lobby":  # nothing ticks the lobby's road: change it off the loop
            self._build("the new traffic", change, lambda _: (world, changed))
            if self.building is None:  # done already (an inline builder)
                self.announce()
        else:  # a live road changes between two ticks, on the loop (at most 200 cars)
            changed(change())
            self.announce()

    def _cmd_incident(self, member: Member, msg: HostCommand) -> None:
        self._require("driving", "paused")
        road = self.world.road() if hasattr(self.world, "road") else {}
        if len(road.get("incidents", ())) >= MAX_INCIDENTS:
            # each one is drawn from the `room` message: thousands would not fit a frame
            raise ProtocolError(
                "bad_state",
                f"the road already has {MAX_INCIDENTS} incidents; wait for one to clear",
            )
        lanes = int(self.world.lanes)
        lane = msg.lane if msg.lane is not None else 0
        if lane >= lanes:
            raise ProtocolError("bad_value", f"this road has lanes 0–{lanes - 1}")
        x = float(msg.x if msg.x is not None else self._incident_x()) % float(self.world.length)
        seconds = float(msg.seconds if msg.seconds is not None else 30.0)
        self.world.inject_incident(lane, x, seconds)

    def _incident_x(self) -> float:
        """By default the incident appears ahead of the host's car, or half-way round."""
        host = self.host
        if host is not None and host.car is not None and host.car in self.world.cars:
            return float(self.world.cars[host.car].x) + 400.0
        return float(self.world.length) / 2

    def _cmd_lock(self, member: Member, msg: HostCommand) -> None:
        self.locked = bool(msg.value)
        self.announce()

    def _cmd_extend(self, member: Member, msg: HostCommand) -> None:
        self._require("driving", "paused", "council")
        seconds = float(_needed(msg.seconds))
        if self.phase == "council":
            self.council.extend(seconds)
        else:
            self.seconds = min(self.seconds + seconds, 3 * 3600.0)
        self.announce()

    def _cmd_message(self, member: Member, msg: HostCommand) -> None:
        text = clean_text(_needed(msg.text), MAX_CHAT_CHARS)
        if text:
            self.send_all(Notice(text=text))

    def _cmd_close(self, member: Member, msg: HostCommand) -> None:
        """The host ends the session: a round under way is ended and saved first (everyone
        gets its debrief), then everyone is told the room is closed."""
        if self.phase in ("driving", "paused"):
            self._close_after_debrief = True
            self._end_round()
        elif self.analysing:
            self._close_after_debrief = True
        else:
            self.close_all("the host closed the room")

    def close_all(self, reason: str) -> None:
        """Tell every member `bye` and let them go; the server drops the room once empty."""
        self.phase = "finished"
        for member in list(self.roster):
            self._bot_takes(member)
            self.roster.remove(member)
            if member.conn is not None:
                self.send(member, Bye(reason=reason))
                member.conn.close(1000, reason[:100])
                member.conn = None
        self.closed = True

    def _cmd_decide(self, member: Member, msg: HostCommand) -> None:
        self._require("council")
        council_mod = optional_module("server.council")
        try:
            self.council.decide(_needed(msg.convention), _needed(msg.option))
        except Exception as exc:
            if council_mod is not None and isinstance(exc, council_mod.CouncilError):
                raise ProtocolError(exc.code, exc.message) from None
            raise
        self.announce()

    # ---- the program's steps ---------------------------------------------------------

    def _prepare_step(self, inline: bool = False) -> None:
        """Enter the current step's waiting state: a lobby with the next road (built through
        `builder`, or now when `inline`), or the end."""
        self._controls.clear()
        self.council = None
        if self.step_index >= len(self.plans):
            self.phase = "finished"
            self.world = None
            return
        plan = self.plan
        self.phase = "lobby"
        if plan.kind == "council":
            self.world = None  # the last road is over; the next one is built after the council
            for member in self.roster:
                member.car = None
        if plan.kind == "round":
            if isinstance(plan.rulebook, dict):
                self.rulebook = make_rulebook(plan.rulebook)
            if plan.seed is not None:
                seed = plan.seed
            else:
                seed = (self.base_seed + self.round_no + 1) % (2**31)
            self.round_bots = self.bots if self.bots is not None else plan.bots
            self.round_mix = plan.mix
            self.seed = seed
            self._drivers = {}
            for member in self.roster:
                member.car = None
            factory, args = (
                self.world_factory,
                (
                    plan.scenario,
                    seed,
                    self.rulebook,
                    self.round_bots,
                    self.round_mix,
                ),
            )

            def built(result: tuple[Any, Any]) -> tuple[Any, Callable[[Any], None] | None]:
                self.scenario = result[0]
                self.seconds = round_seconds(plan, self.scenario)
                return result[1], None

            self._build("the next road", lambda: factory(*args), built, inline=inline)

    def _build(
        self,
        what: str,
        job: Callable[[], Any],
        apply: Callable[[Any], tuple[Any, Callable[[Any], None] | None]],
        inline: bool = False,
    ) -> None:
        """Run `job` (which builds or changes a world) through `builder`, with the room in its
        lobby and no world meanwhile, so nothing ticks or reads a half-built one; `apply`
        turns the result into (the world, a follow-up given the result). The same arguments
        give the same world wherever it is built: determinism does not depend on the thread.
        A failure leaves the room without a road and the host told why (`start` retries)."""
        self._build_no += 1
        number = self._build_no
        self.world = None
        self.building = what
        now = [True]  # still inside this call: the caller announces

        def done(result: Any, exc: BaseException | None) -> None:
            if number != self._build_no or self.closed:
                return  # superseded, or the room is gone
            self.building = None
            queued, self._start_queued = self._start_queued, False
            if exc is not None:
                if inline:
                    raise exc
                log.error("room %s: building %s failed: %r", self.code, what, exc)
                self.tell_host(f"Could not build {what} ({exc}); start tries again.")
            else:
                self.world, follow = apply(result)
                if follow is not None:
                    follow(result)
            if now[0]:
                return
            if queued and self.phase == "lobby" and self.world is not None:
                self._begin_round()  # announces
            else:
                self.announce()

        (run_inline if inline else self.builder)(job, done)
        now[0] = False

    def _begin_council(self) -> None:
        council_mod = optional_module("server.council")
        if council_mod is None:
            # no council on this server: keep the rulebook and go on to the next step
            self.step_index += 1
            self._prepare_step()
            self.announce()
            return
        voters = [m.player for m in self.roster if m.role != "spectator"]
        host = self.host
        self.council = council_mod.Council(
            members=voters,
            host=host.player if host else None,
            base=self.rulebook,
            seconds=float(self.plan.seconds or DEFAULT_COUNCIL_SECONDS),
        )
        self.seconds = float(self.plan.seconds or DEFAULT_COUNCIL_SECONDS)
        self.phase = "council"
        self._ticks_in_phase = 0
        self._vote_announced, self._vote_due = -VOTE_ANNOUNCE_TICKS, False
        self.announce()

    def _end_council(self) -> None:
        if self.council is not None:
            self.rulebook = make_rulebook(self.council.result())
        self.step_index += 1
        self._prepare_step()
        self.announce()

    def _begin_round(self) -> None:
        if self.world is None:
            self._prepare_step()
        if self.world is None:  # the road is being built off the loop: start when it is there
            self._start_queued = True
            self.announce()
            return
        self.round_no += 1
        if self.world is not None and hasattr(self.world, "set_rulebook"):
            self.world.set_rulebook(self.rulebook)
        for member in self.roster:
            if member.wants_car:
                self._seat(member)
                if member.conn is None:
                    self._bot_takes(member)
        self.observers = self._make_observers()
        self.round_events = []
        self._shocks_done = set()
        self._coalescer.reset()
        self._ticks_in_phase = 0
        self._ring = None
        self.phase = "driving"
        self.announce()

    def _make_observers(self) -> dict[str, Any]:
        """Whichever of metrics / adherence / recorder exist, built for this round's world."""
        found: dict[str, Any] = {}
        makers = (
            ("metrics", "server.metrics", lambda m: m.RoundMetrics(self.world)),
            (
                "adherence",
                "server.adherence",
                lambda m: m.AdherenceTracker(self.rulebook, self.world.road()),
            ),
            ("recorder", "server.recorder", lambda m: m.Recorder()),
        )
        for key, module_name, make in makers:
            module = optional_module(module_name)
            if module is None:
                continue
            try:
                found[key] = make(module)
            except Exception:
                log.exception("room %s: cannot start %s", self.code, key)
        if "metrics" in found and "adherence" in found:
            found["metrics"].adherence = found["adherence"]  # team adherence, live and in results
        found.update(solo_ladder.challenge_observers(self.plan.challenge, self.world, self.roster))
        return found

    # ---- the tick ----------------------------------------------------------------------

    def step(self) -> None:
        """One tick of the room (the server calls it at 20 Hz for every room)."""
        for member in self.roster.expire():
            self._bot_takes(member)
            if self.council is not None:
                self.council.leave(member.player)
            self._ensure_host()
            self.announce()
        if not self.roster.connected():
            return  # nobody is watching: the round waits (its members may rejoin)
        if self.phase == "driving":
            self._drive()
        elif self.phase == "council" and self.council is not None:
            self._ticks_in_phase += 1
            if self.council.advance(DT):
                self._end_council()
            elif self._ticks_in_phase % ROOM_EVERY_TICKS == 0:
                self._vote_due = False
                self.announce()
            elif self._vote_due:
                self._announce_vote()

    def _drive(self) -> None:
        world = self.world
        self._apply_shocks()
        controls, self._controls = self._controls, {}
        events = world.step(controls)
        self.round_events.extend(e for e in events if getattr(e, "kind", "") != "gantry")
        violations: list[Any] = []
        for key, observer in list(self.observers.items()):
            try:
                result = observer.observe(world, events)
            except Exception:
                log.exception("room %s: observer %s failed; dropped", self.code, key)
                del self.observers[key]
                continue
            if key == "adherence" and result:
                violations = list(result)
        self._feed.extend(self._feed_lines(events, violations))
        if "damper" in self.observers:  # the solo coach's line, when it changes
            self._feed.extend(self.observers["damper"].feed(world))
        self._send_snapshots()
        self._feed = []
        self._ticks_in_phase += 1
        if self._ticks_in_phase % ROOM_EVERY_TICKS == 0:
            self.announce()
        if world.tick * DT >= self.seconds:
            self._end_round()

    def _apply_shocks(self) -> None:
        for index, (at, kind, args) in enumerate(self.plan.shocks):
            if index in self._shocks_done or self.world.tick * DT < at:
                continue
            self._shocks_done.add(index)
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
            self._feed.append({"kind": "shock", "text": text})

    def _name_of(self, car: int | None) -> str:
        if car is None:
            return "someone"
        member = self.roster.by_car(car)
        return member.name if member is not None else f"car {car}"

    def _feed_lines(self, events: list[Any], violations: list[Any]) -> list[dict[str, Any]]:
        lines = []
        for event in events:
            other = self._name_of(event.other) if event.other is not None else "another car"
            text = feed_text(event.kind, self._name_of(event.car), event.lane, other)
            if text is None:
                continue
            if event.kind in ("near_miss", "hard_brake") and self.roster.by_car(event.car) is None:
                continue  # bots' brakes are too many to list; players' are the lesson
            line = self._coalescer.line(event.kind, text, event.car, self.world.tick)
            line["x"] = event.x
            lines.append(line)
        for violation in violations:
            car = getattr(violation, "car", None)
            if car is None or self.roster.by_car(car) is None:
                continue  # bots' breaches count in adherence; listing them would flood the feed
            render = getattr(violation, "render", None)  # fills "{name}" in the template
            text = str(render(self._name_of(car)) if callable(render) else violation.text)
            line = self._coalescer.line("violation", text, car, self.world.tick)
            line["x"] = self.world.cars[car].x if car in self.world.cars else 0.0
            lines.append(line)
        return lines[:20]

    def _send_snapshots(self) -> None:
        world = self.world
        phase = world.tick + self._stagger
        ring = self._ring if phase % RING_EVERY_TICKS else None
        view = TickView(world, ring)
        self._ring = view.ring
        encoder = SnapshotEncoder(world, view)
        extra_team: dict[str, Any] = {}
        metrics: Any = self.observers.get("metrics")
        with_live = phase % TEAM_EVERY_TICKS == 0
        with_scores = metrics is not None and with_live
        members = self.roster.connected()
        team_for_players = self.plan.scoring == "team"
        # the facilitator (host) and the projector (spectators) always see the team figures;
        # players only when the round is scored as a team
        if with_scores and (team_for_players or any(m.role in WATCHERS for m in members)):
            try:
                extra_team["team"] = metrics.live()
            except Exception:
                log.exception("room %s: metrics.live failed", self.code)
        whole: bytes | None = None  # the whole-ring frame, the same for every car-less watcher
        for member in members:
            conn = member.conn
            assert conn is not None
            car = member.car
            watcher = member.role in WATCHERS
            extra = extra_team if team_for_players or watcher else None
            try:
                if car is None and (watcher or team_for_players):
                    if whole is None:
                        rows, events, _ = snapshot_parts(world, view, None, True, self._feed)
                        whole = encoder.encode(rows, events, None, extra_team)
                    conn.send(whole)
                    continue
                rows, events, you = snapshot_parts(world, view, car, watcher, self._feed)
                if with_scores and you is not None:
                    try:
                        you["score"] = metrics.individual(car)
                    except Exception:
                        log.exception("room %s: metrics.individual failed", self.code)
                damper: Any = self.observers.get("damper")
                if damper is not None and you is not None and car == damper.car and with_live:
                    you["damper"] = damper.live()  # the solo coach's figures (server/damper.py)
                conn.send(encoder.encode(rows, events, you, extra))
            except ProtocolError:
                # a view too crowded for one frame: this member misses the tick, the room
                # goes on (logged once a room, not twenty times a second)
                if not self._too_big_logged:
                    self._too_big_logged = True
                    log.error("room %s: a snapshot exceeds the frame limit; skipped", self.code)

    # ---- the end of a round ------------------------------------------------------------

    def _end_round(self) -> None:
        """Stop driving, then (off the tick) analyse, save and send the debrief."""
        self.phase = "debrief"
        self._controls.clear()
        self.announce()
        job = self._debrief_job()
        self.analysing += 1
        self.offload(job, self._debrief_ready)

    def _final_round(self) -> bool:
        """Whether this is the last round of a program that ends with a debrief across its
        rounds (`final_debrief`, docs/programs.md); a one-scenario room has no last round."""
        return (
            bool(self.program_name)
            and self.final_debrief
            and not any(p.kind == "round" for p in self.plans[self.step_index + 1 :])
        )

    def _debrief_job(self) -> Callable[[], dict[str, Any]]:
        """Capture what the analysis needs now, so the job never touches the live room."""
        world, scenario, plan = self.world, self.scenario, self.plan
        ticks = int(world.tick)
        round_no, seed, rulebook = self.round_no, self.seed, dict(self.rulebook)
        bots, mix = self.round_bots, self.round_mix
        observers = dict(self.observers)
        events = list(self.round_events)
        names = {**self._drivers, **{m.car: m.name for m in self.roster if m.car is not None}}
        previous = list(self.history[-HISTORY_ROUNDS:])
        final = self._final_round()
        log_copy = list(world.log)
        self._replay_frame = None
        self._replay_error = "this round is still being analysed; ask again in a moment"
        replay = {
            "type": "replay",
            "round": round_no,
            "scenario": plan.scenario,
            "seed": seed,
            "rulebook": rulebook,
            "bots": bots,
            "mix": dict(mix) if mix else None,
            "ticks": ticks,
            "log": log_copy,
            "names": {str(car): name for car, name in names.items()},
        }
        # a scenario registered from a file of this process: its document travels with the
        # round (built-ins have none, their name is enough everywhere)
        scenario_doc = getattr(scenario, "doc", None)
        if scenario_doc is not None:
            replay["scenario_doc"] = scenario_doc
        store, code, program, analyser = self.store, self.code, self.program_name, self.analyser
        host = self.host
        host_name = host.name if host else ""
        game_id = self.game_id
        solo_round = solo_ladder.SoloRound.capture(self)
        counts: dict[str, int] = {}
        for event in events:
            counts[event.kind] = counts.get(event.kind, 0) + 1

        def job() -> dict[str, Any]:
            metrics: dict[str, Any] = {"ticks": ticks, "events": counts}
            if "metrics" in observers:
                metrics = dict(observers["metrics"].result())
            adherence = observers["adherence"].result() if "adherence" in observers else {}
            recording = observers["recorder"].recording() if "recorder" in observers else None
            debrief_mod = optional_module("server.debrief")
            if debrief_mod is not None and recording is not None:
                request = AnalysisRequest(
                    scenario=scenario,
                    seed=seed,
                    rulebook=rulebook,
                    bots=bots,
                    mix=dict(mix) if mix else None,
                    log=log_copy,
                    recording=recording,
                    metrics=metrics,
                    adherence=dict(adherence),
                    names=names,
                    previous=previous,
                    round_no=round_no,
                    ticks=ticks,
                    final=final,
                )
                payload = dict(analyser(request))
            else:
                payload = {
                    "round": round_no,
                    "scenario": plan.scenario,
                    "seed": seed,
                    "rulebook": rulebook,
                    "duration_s": round(ticks * DT, 2),
                    "ticks": ticks,
                    "metrics": metrics,
                }
            payload["round"] = round_no
            payload["title"] = plan.title
            if solo_round is not None:  # a debrief for one person, with the solo progress
                solo_round.adapt(payload, store)
            gid = game_id
            if store is not None:
                try:
                    if gid is None:
                        gid = store.create_game(code, program or plan.scenario, host_name)
                    store.save_round(
                        gid,
                        round_no,
                        plan.scenario,
                        seed,
                        rulebook,
                        bots,
                        mix,
                        log_copy,
                        metrics,
                        events,
                        payload,
                        names=names,
                        ticks=ticks,
                        scenario_doc=scenario_doc,
                    )
                    if solo_round is not None:
                        solo_round.save(store, gid, round_no, payload)
                except Exception as exc:
                    # a full disk must not cost the room its debrief: it is shown (and kept
                    # here for replay) marked as not saved; the next round tries again
                    log.error("room %s: round %d was not saved: %s", code, round_no, exc)
                    payload["not_saved"] = save_failure(exc)
            payload["_game_id"] = gid
            with contextlib.suppress(ProtocolError):  # too long for a frame: no remote replay
                payload["_replay_frame"] = encode(replay)
            return payload

        return job

    def _debrief_ready(self, payload: dict[str, Any] | None, exc: BaseException | None) -> None:
        """Back on the room's thread: the round is saved; now everyone gets the debrief."""
        self.analysing = max(0, self.analysing - 1)
        saved = exc is None and payload is not None and not payload.get("not_saved")
        if exc is not None or payload is None:
            log.error("room %s: debrief failed: %r", self.code, exc)
            self._replay_error = "this round's analysis failed, so it cannot be replayed"
            payload = {
                "round": self.round_no,
                "scenario": self.plan.scenario,
                "error": "the analysis of this round failed; the round was not saved",
            }
        else:
            self.game_id = payload.pop("_game_id", self.game_id)
            self._replay_frame = payload.pop("_replay_frame", None)
            self._replays_sent.clear()
            self.history.append(payload)
            del self.history[:-HISTORY_ROUNDS]
            if self._replay_frame is None:
                self._replay_error = (
                    "this round is too long to send for a replay here; the host can replay it"
                )
        message = {"type": "debrief", **payload}
        self.last_debrief = message
        if self.closed:
            return
        try:
            self.send_all(message)
        except ProtocolError:
            log.error("room %s: the debrief is larger than a frame", self.code)
            self.last_debrief = {
                "type": "debrief",
                "round": self.round_no,
                "error": "this round's debrief is too large to send",
            }
            self.send_all(self.last_debrief)
        if payload.get("not_saved"):  # after the debrief, so the toast is not lost in a switch
            self.tell_host(f"Round {payload.get('round')} was not saved: {payload['not_saved']}")
        if self._close_after_debrief:
            kept = "this round's debrief is saved" if saved else "this round could not be saved"
            self.close_all(f"the host closed the room ({kept})")


def save_failure(exc: BaseException) -> str:
    """Why a round could not be saved, in a few words for the host ("database or disk is
    full"), without the file's path or a traceback."""
    text = str(exc).strip() or type(exc).__name__
    return text[:160]


def fit_room_message(message: RoomState) -> bytes:
    """The `room` message encoded within the frame limit, whatever the room holds.

    The member cap keeps the roster well inside a frame; should the council's vote list or
    long names still push it over, the per-member votes go first (the tallies stay), then the
    roster is cut to the members a screen needs most (host, connected players) with
    `players_more` counting the rest — never an exception inside a room's tick. A client
    refuses a roster longer than the cap, so it is never sent one.
    """
    players = sorted(
        message.players,
        key=lambda p: (p.get("role") != "host", not p.get("connected"), p.get("id", 0)),
    )
    if len(players) > MAX_ROOM_MEMBERS:
        keep = MAX_ROOM_MEMBERS
        message = replace(message, players=players[:keep], players_more=len(players) - keep)
    with contextlib.suppress(ProtocolError):
        return message.encode()
    council = message.council
    if isinstance(council, dict) and "votes" in council:
        message = replace(message, council={k: v for k, v in council.items() if k != "votes"})
        with contextlib.suppress(ProtocolError):
            return message.encode()
    keep = min(len(players), MAX_ROOM_MEMBERS)
    while keep > 0:
        keep //= 2
        trimmed = replace(message, players=players[:keep], players_more=len(players) - keep)
        with contextlib.suppress(ProtocolError):
            return trimmed.encode()
    bare = replace(
        message, council=None, ring=None, intro=None, players=[], players_more=len(players)
    )
    return bare.encode()


def _frame(message: ServerMessage | Mapping[str, Any]) -> bytes:
    """A message's bytes, typed or (the debrief, membership messages) still a map."""
    if isinstance(message, Mapping):
        return encode(message)
    return message.encode()


def _needed(value: _T | None) -> _T:
    """A host command's field that its command needs (`HOST_COMMAND_FIELDS`): every checked
    `host` message has it; one built without it is refused like one sent without it."""
    if value is None:
        raise ProtocolError("missing_field", "that host command needs more fields")
    return value
