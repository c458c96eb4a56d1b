"""The end of a round: its analysis and saving, off the tick, then the debrief for everyone.

When a round ends the room captures its inputs and outcome (server/played.py) and hands a job
to `offload`, which the server runs on a worker thread so other rooms keep ticking; the
analysis itself (`analyser`, given an `AnalysisRequest`) runs in a separate process on the real
server (see server/net.py), inline in tests — so the request is packed compactly to travel
(`pack_request`). The round is saved before its debrief is sent. The debriefed round's inputs
also go, on request, to members who replay it on their own machine (`send_replay`).
"""

from __future__ import annotations

import contextlib
import copyreg
import io
import logging
import pickle
import random
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from server import solo as solo_ladder
from server.debrief import analyse
from server.played import RoundInputs, RoundOutcome
from server.room.roster import Member
from shared.protocol import ProtocolError, encode
from shared.sim.tuning import DT

if TYPE_CHECKING:
    from server.room.room import Room

log = logging.getLogger(__name__)

HISTORY_ROUNDS = 40  # earlier rounds a debrief compares with: bounds its size (64 KiB frames)
ANALYSES_PER_ROOM = 1  # a host may not end another round while this many wait for analysis
REPLAY_COOLDOWN_S = 5.0  # a round's inputs are tens of kB: one copy per member now and then


@dataclass(frozen=True)
class AnalysisRequest:
    """Everything `server.debrief.analyse` needs for one round, detached from the live room.

    Plain data only (the round's inputs with its scenario object, its outcome with the
    recorder's Recording and its world checkpoints, the earlier rounds' debriefs), so that it
    can be pickled to an analysis process: see `pack_request`.
    """

    inputs: RoundInputs
    outcome: RoundOutcome
    previous: list[dict[str, Any]]
    round_no: int
    final: bool = False  # the program's last round: the payload carries the program's debrief


def analyse_request(request: AnalysisRequest) -> dict[str, Any]:
    """The debrief payload of one round, computed here and now (the inline `analyser`)."""
    return dict(
        analyse(
            request.inputs,
            request.outcome,
            request.previous,
            round_no=request.round_no,
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


class Debriefs:
    """One room's debriefs: the analyses under way, the earlier rounds' payloads (`history`,
    the learning curve), the last debrief for late joiners, and the last round's `replay`."""

    def __init__(self, room: Room) -> None:
        self.room = room
        self.history: list[dict[str, Any]] = []  # previous rounds' debriefs
        self.analysing = 0  # rounds handed to `offload` and not yet back
        self.last: dict[str, Any] | None = None  # the last `debrief` message, for late joiners
        # the last analysed round's inputs as a `replay` frame (encoded once, by the job), for
        # members who replay it on their own machine; None until there is one
        self.replay_frame: bytes | None = None
        self.replay_error = "there is no finished round to replay yet"
        self.replays_sent: dict[int, float] = {}
        self.close_after = False  # the host closed the room during a round

    def end_round(self) -> None:
        """Stop driving, then (off the tick) analyse, save and send the debrief."""
        room = self.room
        room.phase = "debrief"
        room.controls.clear()
        room.announce()
        job = self.job()
        self.analysing += 1
        room.offload(job, self.ready)

    def job(self) -> Callable[[], dict[str, Any]]:
        """Capture what the analysis needs now, so the job never touches the live room."""
        room = self.room
        world, scenario, plan = room.world, room.scenario, room.plan
        ticks = int(world.tick)
        round_no, seed, rulebook = room.round_no, room.seed, dict(room.rulebook)
        bots, mix = room.round_bots, room.round_mix
        observers = dict(room.observers)
        events = list(room.round_events)
        names = {**room.drivers, **{m.car: m.name for m in room.roster if m.car is not None}}
        previous = list(self.history[-HISTORY_ROUNDS:])
        final = room.lifecycle.final_round()
        inputs = RoundInputs(
            scenario=scenario,
            seed=seed,
            rulebook=rulebook,
            bots=bots,
            mix=dict(mix) if mix else None,
            log=list(world.log),
            ticks=ticks,
            scenario_name=plan.scenario,
            # a scenario registered from a file of this process: its document travels with
            # the round (built-ins have none, their name is enough everywhere)
            scenario_doc=getattr(scenario, "doc", None),
        )
        self.replay_frame = None
        self.replay_error = "this round is still being analysed; ask again in a moment"
        replay = replay_message(round_no, inputs, names)
        store, code, program, analyser = room.store, room.code, room.program_name, room.analyser
        host = room.host
        host_name = host.name if host else ""
        game_id = room.game_id
        solo_round = solo_ladder.SoloRound.capture(room)
        counts: dict[str, int] = {}
        for event in events:
            counts[event.kind] = counts.get(event.kind, 0) + 1

        def job() -> dict[str, Any]:
            metrics: dict[str, Any] = {"ticks": ticks, "events": counts}
            if "metrics" in observers:
                metrics = dict(observers["metrics"].result())
            adherence = observers["adherence"].result() if "adherence" in observers else {}
            recording = observers["recorder"].recording() if "recorder" in observers else None
            outcome = RoundOutcome(metrics, dict(adherence), recording, names, events)
            if recording is not None:
                request = AnalysisRequest(inputs, outcome, previous, round_no, final)
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
                    store.save_round(gid, round_no, inputs, outcome, payload)
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

    def ready(self, payload: dict[str, Any] | None, exc: BaseException | None) -> None:
        """Back on the room's thread: the round is saved; now everyone gets the debrief."""
        room = self.room
        self.analysing = max(0, self.analysing - 1)
        saved = exc is None and payload is not None and not payload.get("not_saved")
        if exc is not None or payload is None:
            log.error("room %s: debrief failed: %r", room.code, exc)
            self.replay_error = "this round's analysis failed, so it cannot be replayed"
            payload = {
                "round": room.round_no,
                "scenario": room.plan.scenario,
                "error": "the analysis of this round failed; the round was not saved",
            }
        else:
            room.game_id = payload.pop("_game_id", room.game_id)
            self.replay_frame = payload.pop("_replay_frame", None)
            self.replays_sent.clear()
            self.history.append(payload)
            del self.history[:-HISTORY_ROUNDS]
            if self.replay_frame is None:
                self.replay_error = (
                    "this round is too long to send for a replay here; the host can replay it"
                )
        message = {"type": "debrief", **payload}
        self.last = message
        if room.closed:
            return
        try:
            room.send_all(message)
        except ProtocolError:
            log.error("room %s: the debrief is larger than a frame", room.code)
            self.last = {
                "type": "debrief",
                "round": room.round_no,
                "error": "this round's debrief is too large to send",
            }
            room.send_all(self.last)
        if payload.get("not_saved"):  # after the debrief, so the toast is not lost in a switch
            room.tell_host(f"Round {payload.get('round')} was not saved: {payload['not_saved']}")
        if self.close_after:
            kept = "this round's debrief is saved" if saved else "this round could not be saved"
            room.membership.close_all(f"the host closed the room ({kept})")

    def send_replay(self, member: Member) -> None:
        """The debriefed round's inputs to one member, who replays it on their own machine (the
        simulation is deterministic: scenario, seed and input log are the whole round)."""
        room = self.room
        if room.phase not in ("debrief", "finished") or self.replay_frame is None:
            raise ProtocolError("bad_state", self.replay_error)
        now = room.clock()
        last = self.replays_sent.get(member.player)
        if last is not None and now - last < REPLAY_COOLDOWN_S:
            raise ProtocolError("rate_limited", "the replay is on its way; ask again shortly")
        self.replays_sent[member.player] = now
        if member.conn is not None:
            member.conn.send(self.replay_frame)


def replay_message(round_no: int, inputs: RoundInputs, names: Mapping[int, str]) -> dict[str, Any]:
    """The `replay` message of a round (docs/protocol.md): its inputs and who drove which
    car, for a member who replays it on their own machine."""
    message: dict[str, Any] = {
        "type": "replay",
        "round": round_no,
        "scenario": inputs.name,
        "seed": inputs.seed,
        "rulebook": dict(inputs.rulebook) if inputs.rulebook is not None else None,
        "bots": inputs.bots,
        "mix": dict(inputs.mix) if inputs.mix else None,
        "ticks": inputs.ticks,
        "log": inputs.log,
        "names": {str(car): name for car, name in names.items()},
    }
    if inputs.scenario_doc is not None:
        message["scenario_doc"] = inputs.scenario_doc
    return message


def save_failure(exc: BaseException) -> str:
    """Why a round could not be saved, in a few words for the host ("database or disk is
    full"), without the file's path or a traceback."""
    text = str(exc).strip() or type(exc).__name__
    return text[:160]
