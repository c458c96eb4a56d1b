"""Solo practice: the ladder of challenges, a debrief that speaks to one person, and progress.

A room is solo when its only member drives (`interlane solo`). Its rounds are the ladder of
the `solo-practice` program (server/programs/solo-practice.toml): see the waves, damp them,
merge with the zipper, damp them again with trucks and fog. This module

- makes the challenge's observers when a round begins (the damper, server/damper.py);
- turns the general debrief (server/debrief.py) into one for one person: cards that speak of
  agreeing rules or of a group are left out, "round by round" keeps only the same road's
  attempts, and cards about the player's own smoothness, the waves they absorbed or passed on
  and their earlier attempts are added;
- keeps each solo round's result in the history file (server/store.py, `solo_results`) and
  offers the next challenge on the debrief.

docs/programs.md ("The solo ladder") describes the ladder and how each challenge is judged.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

LADDER_PROGRAM = "solo-practice"
ZIPPER_GOAL = 80  # the zipper is won at this adherence (0–100) to the round's rules
MAX_EARLIER = 5  # earlier attempts shown on the debrief

# Cards of the general debrief that only make sense for a group: a rulebook agreed in a
# council, a commons shared by people who could talk, a group's learning round over round.
GROUP_CARDS = frozenset({"shared_vision", "team_learning", "commons", "mental_models"})
# Questions of the cards a solo player keeps, asked of one person instead of a group.
SOLO_QUESTIONS = {
    "distant_cause": "When you were stuck in a wave, where had it started? Where will you look "
    "next time?",
    "personal_mastery": "What did you watch or do when you drove most smoothly, and what will "
    "you try next time?",
}


@dataclass(frozen=True)
class Rung:
    """One challenge of the ladder: a round step of the solo-practice program."""

    title: str
    scenario: str
    challenge: str
    intro: str = ""
    rulebook: Mapping[str, str] = field(default_factory=dict)
    seconds: float | None = None


def ladder() -> list[Rung]:
    """The ladder's challenges, in order (empty if the program cannot be read)."""
    from server.programs import load_program

    try:
        program = load_program(LADDER_PROGRAM, allow_paths=False)
    except Exception:
        log.exception("cannot read the solo ladder")
        return []
    return [
        Rung(
            step.title,
            step.scenario,
            step.challenge,
            step.intro,
            dict(step.rulebook) if isinstance(step.rulebook, Mapping) else {},
            step.seconds,
        )
        for step in program.rounds
    ]


def rung_for(scenario: str) -> Rung | None:
    """The ladder's challenge on a scenario, for `interlane solo --scenario damper-ring`."""
    return next((r for r in ladder() if r.scenario == scenario and r.challenge), None)


def is_solo(roster: Iterable[Any]) -> bool:
    """One member, and that member drives."""
    members = list(roster)
    return len(members) == 1 and getattr(members[0], "car", None) is not None


def challenge_observers(challenge: str, world: Any, roster: Iterable[Any]) -> dict[str, Any]:
    """The observers a challenge round needs, made as it begins (cars seated, no tick yet)."""
    if challenge != "damper" or world is None:
        return {}
    cars = [m.car for m in roster if getattr(m, "car", None) is not None]
    if len(cars) != 1 or cars[0] not in world.cars:
        return {}  # the damper is measured for one driver; a shared road has no single seat
    from server.damper import DamperTracker

    return {"damper": DamperTracker(world, cars[0])}


# ---- the debrief -------------------------------------------------------------------------


def solo_cards(
    cards: Sequence[Mapping[str, Any]], extra: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The general cards a solo player keeps (questions asked of one person), then `extra`."""
    kept = []
    for card in cards:
        if card.get("id") in GROUP_CARDS:
            continue
        card = dict(card)
        if card.get("id") in SOLO_QUESTIONS:
            card["question"] = SOLO_QUESTIONS[str(card["id"])]
        kept.append(card)
    return [*extra, *kept]


def _card(cid: str, title: str, pattern: str, idea: str, question: str, figures: Any) -> dict:
    return {
        "id": cid,
        "discipline": "personal mastery",
        "title": title,
        "pattern": pattern,
        "where": None,
        "idea": idea,
        "question": question,
        "figures": figures,
    }


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def damper_card(result: Mapping[str, Any]) -> dict[str, Any] | None:
    """The damper's figures, before and after the settling-in, you against a typical driver."""
    from server.damper import verdict_text

    before, after = result.get("before") or {}, result.get("after") or {}
    you, without = after.get("you") or {}, after.get("without") or {}
    if you.get("spread_kmh") is None or without.get("spread_kmh") is None:
        return None
    b_you, b_without = before.get("you") or {}, before.get("without") or {}
    settle = float(result.get("settle_s", 30) or 30)
    start = float(result.get("from_s", settle) or settle)
    wide = result.get("wide_gap_s")
    if isinstance(wide, int | float) and wide >= settle:
        since = f"From {_clock(start)}, when you took the wide gap"
        until = f"Before it, until {_clock(start)}"
    else:
        since = f"After the first {settle:.0f} s (the waves forming)"
        until = f"In the first {settle:.0f} s"
    pattern = verdict_text(result) + (
        f" {since}, the cars behind you had {you.get('hard_brakes', 0)} hard brakes and "
        f"{you.get('stopped_s', 0):.0f} car-seconds stopped, against "
        f"{without.get('hard_brakes', 0)} and {without.get('stopped_s', 0):.0f} without you."
    )
    if b_you.get("spread_kmh") is not None and b_without.get("spread_kmh") is not None:
        pattern += (
            f" {until}, the spread was {b_you['spread_kmh']:.1f} km/h against "
            f"{b_without['spread_kmh']:.1f} km/h."
        )
    if result.get("coach"):
        pattern += f" Coach: {result['coach']}"
    return _card(
        "damper",
        "One smooth car calms the cars behind",
        pattern,
        "Stern et al. (2018) put one smoothly driven car among about twenty drivers on a ring: "
        "the stop-and-go waves died out. A wide gap lets you absorb a wave instead of passing it "
        "on; a steady speed near the average gives the cars behind nothing to react to.",
        "When a wave reached you, did you use the room ahead of you, or pass the braking on?",
        dict(result),
    )


def waves_card(payload: Mapping[str, Any], car: int) -> dict[str, Any] | None:
    """The waves that reached the player: absorbed (nobody behind braked in turn) or passed on."""
    reached = absorbed = started = 0
    for root in payload.get("roots") or ():
        chain = list(root.get("chain") or ())
        if root.get("car") == car:
            started += 1
            continue
        if car in chain:
            reached += 1
            if chain.index(car) == len(chain) - 1:
                absorbed += 1
    me = next((d for d in payload.get("drivers") or () if d.get("car") == car), None)
    if not reached and not started and me is None:
        return None
    parts = []
    if reached:
        parts.append(
            f"Of the {reached} traced wave{'s' if reached != 1 else ''} that reached you, you "
            f"absorbed {absorbed} (nobody behind you braked in turn) and passed on "
            f"{reached - absorbed}."
        )
    else:
        parts.append("None of the traced waves reached you.")
    if started:
        parts.append(f"You started {started} yourself.")
    figures: dict[str, Any] = {"reached": reached, "absorbed": absorbed, "started": started}
    if me is not None and me.get("accel_rms") is not None:
        parts.append(
            f"Your speed varied at {me['accel_rms']:.2f} m/s² (RMS), with "
            f"{me.get('hard_brakes', 0)} hard brake{'s' if me.get('hard_brakes') != 1 else ''}."
        )
        figures.update(accel_rms=me["accel_rms"], hard_brakes=me.get("hard_brakes", 0))
    question = (
        "Which wave did you pass on, and how much more room would you have needed to absorb it?"
        if reached > absorbed
        else "When a slow patch comes towards you on the strip at the top, what will you do "
        "with the room ahead of you?"
    )
    return _card(
        "absorbed",
        "Waves you absorbed or passed on",
        " ".join(parts),
        "A wave travels backwards only as long as each driver brakes as hard as the one ahead. "
        "The driver with room to ease off instead of braking is where it ends.",
        question,
        figures,
    )


def attempts_card(
    title: str, score: float | None, label: str, earlier: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """This attempt against the earlier attempts of the same road (like with like)."""
    scores = [float(e["score"]) for e in earlier if e.get("score") is not None]
    if score is None or not scores:
        return None
    best = max(scores)
    pattern = (
        f"Attempt {len(earlier) + 1} at {title}: {label} {score:.0f}, against {scores[-1]:.0f} "
        f"last time and {best:.0f} at your best" + (" — a new best." if score > best else ".")
    )
    return _card(
        "attempts",
        "You against your earlier attempts",
        pattern,
        "Personal mastery: compared with your own earlier attempts on the same road, a change "
        "is yours, not the road's.",
        "What did you do differently this time, and what will you keep?",
        {"score": score, "earlier": scores[-MAX_EARLIER:], "best": best},
    )


@dataclass
class SoloRound:
    """What the debrief job needs of a solo round, captured when the round ends."""

    car: int
    name: str
    title: str
    scenario: str
    challenge: str
    damper: Any = None
    next_in_program: Rung | None = None
    program: str = ""

    @classmethod
    def capture(cls, room: Any) -> SoloRound | None:
        """From the live room at the end of a round; None when the room is not solo."""
        if not is_solo(room.roster):
            return None
        member = next(iter(room.roster))
        plan = room.plan
        following = [p for p in room.plans[room.step_index + 1 :] if p.kind == "round"]
        nxt = None
        if following:
            p = following[0]
            nxt = Rung(p.title, p.scenario, p.challenge, p.intro)
        return cls(
            car=int(member.car),
            name=str(member.name),
            title=str(plan.title),
            scenario=str(plan.scenario),
            challenge=str(plan.challenge),
            damper=room.observers.get("damper"),
            next_in_program=nxt,
            program=str(room.program_name),
        )

    # ---- scoring -----------------------------------------------------------------------

    def score(self, payload: Mapping[str, Any]) -> tuple[float | None, bool, str]:
        """(score, won, what the score is) of this round's challenge."""
        if self.challenge == "damper":
            result = payload.get("damper") or {}
            change = result.get("change_pct")
            return (
                (None if change is None else -float(change)),
                bool(result.get("won")),
                "% spread cut",
            )
        me = next((d for d in payload.get("drivers") or () if d.get("car") == self.car), None)
        if self.challenge == "zipper":
            adherence = None if me is None else me.get("adherence")
            value = None if adherence is None else float(adherence)
            return value, value is not None and value >= ZIPPER_GOAL, "rules kept /100"
        if self.challenge == "warm-up":
            return None, True, ""
        return None, False, ""

    # ---- the debrief -------------------------------------------------------------------

    def adapt(self, payload: dict[str, Any], store: Any | None) -> None:
        """Make the round's debrief one for one person, and add the solo block (docs/debrief.md)."""
        if self.damper is not None:
            payload["damper"] = self.damper.result()
        earlier = []
        if store is not None:
            with contextlib.suppress(Exception):  # progress is a bonus: never lose the debrief
                earlier = [
                    r
                    for r in store.solo_results(self.scenario)
                    if r.get("challenge") == self.challenge and r.get("player") == self.name
                ]
        score, won, label = self.score(payload)
        extra = []
        if payload.get("damper"):
            card = damper_card(payload["damper"])
            if card is not None:
                extra.append(card)
        card = waves_card(payload, self.car)
        if card is not None:
            extra.append(card)
        card = attempts_card(self.title, score, label, earlier)
        if card is not None:
            extra.append(card)
        payload["cards"] = solo_cards(payload.get("cards") or [], extra)
        # round by round: the same road only (a ring against an open road says nothing)
        payload["rounds"] = [
            row for row in payload.get("rounds") or [] if row.get("scenario") == self.scenario
        ]
        best_scores = [float(e["score"]) for e in earlier if e.get("score") is not None]
        solo: dict[str, Any] = {
            "challenge": self.challenge,
            "title": self.title,
            "score": score,
            "score_label": label,
            "won": won,
            "attempt": len(earlier) + 1,
            "best": max([*best_scores, *([score] if score is not None else [])], default=None),
            "earlier": best_scores[-MAX_EARLIER:],
            "coach": (payload.get("damper") or {}).get("coach"),
            "next": self._next(store, won),
        }
        if payload.get("damper"):
            from server.damper import verdict_text

            solo["verdict"] = verdict_text(payload["damper"])
        payload["solo"] = solo

    def _next(self, store: Any | None, won: bool) -> dict[str, Any] | None:
        """The next challenge to offer: the program's next round, else the first rung of the
        ladder after this one not yet won (then any before it; this round counted), with how
        to start it."""
        if self.next_in_program is not None:
            r = self.next_in_program
            return {"title": r.title, "scenario": r.scenario, "how": "press n"}
        done: set[tuple[str, str]] = set()
        if store is not None:
            with contextlib.suppress(Exception):
                done = {
                    (r["scenario"], r["challenge"])
                    for r in store.solo_results()
                    if r.get("won") and r.get("player") == self.name
                }
        if won:
            done.add(self._key())
        rungs = ladder()
        here = next(
            (i for i, r in enumerate(rungs) if (r.scenario, r.challenge) == self._key()), -1
        )
        for rung in [*rungs[here + 1 :], *rungs[: max(here, 0)]]:
            if (rung.scenario, rung.challenge) not in done:
                return {
                    "title": rung.title,
                    "scenario": rung.scenario,
                    "how": f"interlane solo --scenario {rung.scenario}",
                }
        return None

    def _key(self) -> tuple[str, str]:
        return (self.scenario, self.challenge)

    def save(self, store: Any, game_id: int, round_no: int, payload: Mapping[str, Any]) -> None:
        """Keep this round's result in the history's solo progress."""
        solo = payload.get("solo") or {}
        figures = dict(payload.get("damper") or {})
        if not figures:
            figures = {k: solo.get(k) for k in ("score_label", "attempt")}
        store.save_solo_result(
            game_id,
            round_no,
            self.name,
            self.challenge,
            self.scenario,
            solo.get("score"),
            bool(solo.get("won")),
            figures,
        )


def progress(results: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per ladder rung (then any other road): attempts, best score, won — for `history`."""
    rungs = ladder()
    order = [(r.scenario, r.challenge, r.title) for r in rungs]
    seen = {(s, c) for s, c, _ in order}
    for r in results:
        key = (str(r["scenario"]), str(r["challenge"]))
        if key not in seen:
            seen.add(key)
            order.append((key[0], key[1], key[0]))
    rows = []
    for scenario, challenge, title in order:
        mine = [r for r in results if r["scenario"] == scenario and r["challenge"] == challenge]
        scores = [float(r["score"]) for r in mine if r.get("score") is not None]
        rows.append(
            {
                "title": title,
                "scenario": scenario,
                "challenge": challenge or "free drive",
                "attempts": len(mine),
                "best": max(scores) if scores else None,
                "won": any(r.get("won") for r in mine),
            }
        )
    return rows
