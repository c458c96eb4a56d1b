"""A room's way through its program: each step's road built (off the loop), councils and
rounds begun and ended.

A program (server/programs.py) is a list of steps; a room of one scenario has a single round
step of its own (`plans_for`). `Lifecycle` moves the room from one step to the next through the
phases of server/room/phases.py: the lobby waits with the next road, a council agrees a
rulebook, a round drives. Building a round's world (a 200-bot world takes 15–30 ms) goes
through the room's `builder`: while a build is under way the room waits in its lobby with no
world (nothing ticks it), a `start` is queued until the world is there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from server import solo as solo_ladder
from server.adherence import AdherenceTracker
from server.council import Council
from server.metrics import RoundMetrics
from server.program_steps import DEFAULT_COUNCIL_SECONDS, DEFAULT_ROUND_SECONDS, Step
from server.programs import load_program
from server.recorder import Recorder
from shared.conventions import Rulebook, make_rulebook

if TYPE_CHECKING:
    from server.room.room import Room

log = logging.getLogger(__name__)

DEFAULT_SCENARIO = "open-road"


def plans_for(scenario: str | None, program: str | None) -> tuple[str, list[Step], bool]:
    """The steps of a room: a named program, or a single round of one scenario, and whether
    the program ends with a debrief across its rounds (`final_debrief`, docs/programs.md).

    A room of one scenario scores its round individually, and lasts as long as the scenario
    says (`seconds=None`); a program's rounds say both themselves (server/programs.py).
    Raises ValueError with a sentence for the creator when the program cannot be loaded.
    """
    if program is not None or scenario is None:
        name = program or "workshop"
        try:
            loaded = load_program(name, allow_paths=False)  # never a path from the wire
        except Exception as exc:
            raise ValueError(f"cannot load program {name!r}: {exc}") from None
        return loaded.name, list(loaded.steps), loaded.final_debrief
    name = scenario or DEFAULT_SCENARIO
    rung = solo_ladder.rung_for(name)
    if rung is not None:  # a road of the solo ladder: its challenge, brief and rulebook
        step = Step(
            "round",
            rung.title,
            None,
            scenario=name,
            rulebook=dict(rung.rulebook),
            scoring="individual",
            intro=rung.intro,
            challenge=rung.challenge,
        )
    else:
        step = Step("round", name, None, scenario=name, scoring="individual")
    return "", [step], False


def round_seconds(plan: Step, scenario: Any) -> float:
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


def run_inline(job: Callable[[], Any], done: Callable[[Any, BaseException | None], None]) -> None:
    """The default `offload`: do the work now (tests, and rooms without a server)."""
    try:
        result = job()
    except Exception as exc:
        done(None, exc)
    else:
        done(result, None)


class Lifecycle:
    """Moves its room from step to step; `build_no` and `start_queued` are its own state."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.build_no = 0  # a build whose number is no longer this one is thrown away
        self.start_queued = False  # the host asked to start while the road was being built

    def prepare_step(self, inline: bool = False) -> None:
        """Enter the current step's waiting state: a lobby with the next road (built through
        `builder`, or now when `inline`), or the end."""
        room = self.room
        room.controls.clear()
        room.council = None
        if room.step_index >= len(room.plans):
            room.phase = "finished"
            room.world = None
            return
        plan = room.plan
        room.phase = "lobby"
        if plan.kind == "council":
            room.world = None  # the last road is over; the next one is built after the council
            for member in room.roster:
                member.car = None
        if plan.kind == "round":
            if isinstance(plan.rulebook, dict):
                room.rulebook = make_rulebook(plan.rulebook)
            if plan.seed is not None:
                seed = plan.seed
            else:
                seed = (room.base_seed + room.round_no + 1) % (2**31)
            room.round_bots = room.bots if room.bots is not None else plan.bots
            room.round_mix = plan.mix
            room.seed = seed
            room.drivers = {}
            for member in room.roster:
                member.car = None
            factory, args = (
                room.world_factory,
                (
                    plan.scenario,
                    seed,
                    room.rulebook,
                    room.round_bots,
                    room.round_mix,
                ),
            )

            def built(result: tuple[Any, Any]) -> tuple[Any, Callable[[Any], None] | None]:
                room.scenario = result[0]
                room.seconds = round_seconds(plan, room.scenario)
                return result[1], None

            self.build("the next road", lambda: factory(*args), built, inline=inline)

    def build(
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
        room = self.room
        self.build_no += 1
        number = self.build_no
        room.world = None
        room.building = what
        now = [True]  # still inside this call: the caller announces

        def done(result: Any, exc: BaseException | None) -> None:
            if number != self.build_no or room.closed:
                return  # superseded, or the room is gone
            room.building = None
            queued, self.start_queued = self.start_queued, False
            if exc is not None:
                if inline:
                    raise exc
                log.error("room %s: building %s failed: %r", room.code, what, exc)
                room.tell_host(f"Could not build {what} ({exc}); start tries again.")
            else:
                room.world, follow = apply(result)
                if follow is not None:
                    follow(result)
            if now[0]:
                return
            if queued and room.phase == "lobby" and room.world is not None:
                self.begin_round()  # announces
            else:
                room.announce()

        (run_inline if inline else room.builder)(job, done)
        now[0] = False

    def begin_council(self) -> None:
        room = self.room
        voters = [m.player for m in room.roster if m.role != "spectator"]
        host = room.host
        room.council = Council(
            members=voters,
            host=host.player if host else None,
            base=room.rulebook,
            seconds=float(room.plan.seconds or DEFAULT_COUNCIL_SECONDS),
        )
        room.seconds = float(room.plan.seconds or DEFAULT_COUNCIL_SECONDS)
        room.phase = "council"
        room.ticks_in_phase = 0
        room.vote_announced, room.vote_due = None, False
        room.announce()

    def end_council(self) -> None:
        room = self.room
        if room.council is not None:
            room.rulebook = make_rulebook(room.council.result())
        room.step_index += 1
        self.prepare_step()
        room.announce()

    def begin_round(self) -> None:
        room = self.room
        if room.world is None:
            self.prepare_step()
        if room.world is None:  # the road is being built off the loop: start when it is there
            self.start_queued = True
            room.announce()
            return
        room.round_no += 1
        if room.world is not None and hasattr(room.world, "set_rulebook"):
            room.world.set_rulebook(room.rulebook)
        for member in room.roster:
            if member.wants_car:
                room.membership.seat(member)
                if member.conn is None:
                    room.membership.bot_takes(member)
        room.observers = self.make_observers()
        room.round_events = []
        room.shocks_done = set()
        room.fanout.reset()
        room.ticks_in_phase = 0
        room.phase = "driving"
        room.announce()

    def make_observers(self) -> dict[str, Any]:
        """The round's observers: metrics, adherence and recorder for every round, and the
        solo ladder's challenge observers (server/solo.py) for a solo round."""
        room = self.room
        metrics = RoundMetrics(room.world)
        adherence = AdherenceTracker(room.rulebook, room.world.road())
        metrics.adherence = adherence  # team adherence, live and in results
        found: dict[str, Any] = {"metrics": metrics, "adherence": adherence, "recorder": Recorder()}
        found.update(solo_ladder.challenge_observers(room.plan.challenge, room.world, room.roster))
        return found

    def final_round(self) -> bool:
        """Whether this is the last round of a program that ends with a debrief across its
        rounds (`final_debrief`, docs/programs.md); a one-scenario room has no last round."""
        room = self.room
        return (
            bool(room.program_name)
            and room.final_debrief
            and not any(p.kind == "round" for p in room.plans[room.step_index + 1 :])
        )
