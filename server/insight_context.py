"""What every insight card is built from: the round's Context, the wording and the card's shape.

The detectors (server/insights_systems.py, server/insights_disciplines.py) each read the same
Context, word their figures the same way ("3 cars", "1:05") and return the same card
(docs/debrief.md, `cards`); server/insights.py puts them in teaching order. Keeping what they
share here keeps each detector module to its own lessons.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from server.recorder import Recording
from server.wave_chains import Root
from server.waves import ring_box, ring_distance
from shared.lanes import lane_name

CUT_IN = "cut_in"
WHAT = {
    "brake": "brake",
    "cut_in": "lane change",
    "tap": "light braking",
    "crash": "crash",
    "incident": "incident",
}
INCIDENT_CAUSES = {"host": "the host's", "scenario": "the scenario's", "shock": "the shock's"}
# What counts as material (docs/debrief.md, "Thresholds"): a root's counterfactual cost, or a
# traced wave's delay, of at least MATERIAL_VS vehicle-seconds or MATERIAL_SHARE of the
# round's whole delay, whichever is less — but never below MATERIAL_FLOOR_VS, so a tiny round
# does not headline noise.
MATERIAL_VS = 60.0
MATERIAL_SHARE = 0.02
MATERIAL_FLOOR_VS = 10.0


def material_vs(round_delay_vs: float | None) -> float:
    """The smallest cost (vehicle-seconds) worth a card or a reveal in a round with this
    total delay: see MATERIAL_VS."""
    share = MATERIAL_SHARE * max(0.0, float(round_delay_vs or 0.0))
    return round(max(MATERIAL_FLOOR_VS, min(MATERIAL_VS, share)), 1)


def effect(value: float, threshold: float, unit: str) -> dict[str, Any]:
    """A card's effect size beside the threshold it passed (docs/debrief.md, `effect`)."""
    return {"value": round(float(value), 3), "threshold": round(float(threshold), 3), "unit": unit}


def sentence(text: str) -> str:
    """Text that starts a sentence, with its first letter capitalised ("a hurried bot …")."""
    return text[:1].upper() + text[1:] if text else text


def count(n: int, noun: str) -> str:
    """'1 hard brake', '3 hard brakes': card text reads as written by a person."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def cars_phrase(n: int) -> str:
    return count(n, "car")


def drivers_phrase(n: int) -> str:
    return count(n, "driver")


def clock(t: float) -> str:
    t = max(0, int(round(t)))
    return f"{t // 60}:{t % 60:02d}"


@dataclass
class Context:
    """Everything the detectors read, assembled once by the debrief."""

    rec: Recording
    roots: list[Root]
    drivers: list[dict[str, Any]]
    team: dict[str, Any]
    rulebook: Mapping[str, str]
    previous: list[dict[str, Any]]  # earlier rounds' rows (see debrief.round_row)
    round_no: int
    names: Mapping[int, str]
    taps: list[Root] = field(default_factory=list)  # growing waves from gentle braking
    material_vs: float = 0.0  # the round's threshold (material_vs); 0 in unit tests
    solo: bool = False  # one player, nobody to agree with: wording says "the rulebook"
    by_car: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_car = {d["car"]: d for d in self.drivers}
        # when a bot drove a player's car for its disconnected player: car -> [(from, to)]
        self.stand_ins: dict[int, list[tuple[int, int]]] = {}
        began: dict[int, int] = {}
        for ev in getattr(self.rec, "events", ()):
            if ev.kind == "takeover" and ev.car is not None:
                began.setdefault(ev.car, ev.tick)
            elif ev.kind == "handback" and ev.car in began:
                self.stand_ins.setdefault(ev.car, []).append((began.pop(ev.car), ev.tick))
        for car, tick in began.items():
            self.stand_ins.setdefault(car, []).append((tick, 10**12))

    @property
    def chains(self) -> list[Root]:
        """Every traced wave that mattered: the roots, then the waves that grew out of a tap,
        each with a delay of at least the round's material threshold."""
        return [r for r in (*self.roots, *self.taps) if r.delay_vs >= self.material_vs]

    def costliest(self) -> Root | None:
        """The root the Waves tab lists first, when its counterfactual cost is material
        (debrief.rank_roots puts such a root first)."""
        root = self.roots[0] if self.roots else None
        cf = root.counterfactual if root is not None else None
        if root is None or cf is None or cf["cost_vs"] < max(self.material_vs, 1.0):
            return None
        return root

    def stand_in(self, car: int, tick: int | None) -> bool:
        """Whether a bot drove this player's car at `tick` (its player had dropped)."""
        return tick is not None and any(a <= tick < b for a, b in self.stand_ins.get(car, ()))

    def label(self, car: int, tick: int | None = None) -> str:
        """A driver as people will read it: the player's name, or which bot it was — at
        `tick`, the bot standing in for a dropped player is not named as the player."""
        name = self.names.get(car)
        if name and self.stand_in(car, tick):
            return f"the bot driving for {name} (car {car})"
        if name:
            return name
        personality = self.rec.personalities.get(car) or "bot"
        return f"a {personality} bot (car {car})"

    def origin(self, root: Root) -> str:
        """What started a root, lower case: "Ana's lane change", or for an incident "the
        host's incident in lane 2" — an incident is named by its cause, never a driver."""
        if root.kind == "incident":
            whose = INCIDENT_CAUSES.get(root.cause, "the")
            return f"{whose} incident in {lane_name(root.lane)}"
        return f"{self.label(root.car, root.tick)}'s {WHAT[root.kind]}"

    def t(self, frame: int) -> float:
        return self.rec.frame_time(frame)


def make_card(
    cid: str,
    discipline: str,
    title: str,
    pattern: str,
    idea: str,
    question: str,
    figures: dict[str, Any],
    where: dict[str, float] | None = None,
    size: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "id": cid,
        "discipline": discipline,
        "title": title,
        "pattern": sentence(pattern),
        "where": where,
        "idea": idea,
        "question": question,
        "figures": figures,
        "effect": size,
    }


def diagram_window(ctx: Context, root: Root, upto: int | None = None) -> dict[str, float]:
    """The window on the diagram from the root to the last car it reached (or chain[upto]):
    the shortest stretch of the ring holding all their places (waves.ring_box)."""
    last = len(root.chain) - 1 if upto is None else upto
    x0, x1 = ring_box(root.xs[: last + 1], ctx.rec.length)
    return {
        "t0": round(ctx.t(root.frames[0]), 1),
        "t1": round(ctx.t(root.frames[last]), 1),
        "x0": round(x0, 1),
        "x1": round(x1, 1),
    }


def chain_span(ctx: Context, root: Root) -> tuple[float, float]:
    """How far (m, the shorter way round the ring) and how long after the root (s) its last
    reached car braked."""
    dx = ring_distance(root.xs[0], root.xs[-1], ctx.rec.length)
    dt = ctx.t(root.frames[-1]) - ctx.t(root.frames[0])
    return dx, dt


def longest_chain(roots: Sequence[Root]) -> Root | None:
    best = max(roots, key=lambda r: (r.reached, r.delay_vs), default=None)
    return best
