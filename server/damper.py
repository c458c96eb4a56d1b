"""The wave-damper challenge: does one smooth driver calm the waves for the cars behind?

Stern et al. (2018) put one smoothly driven car among about twenty human drivers on a ring and
the stop-and-go waves died out. Here the player tries the same on the damper ring, and this
module measures it the only fair way: against the same round (same scenario, seed and bots)
with the player's car driven by a typical bot of that road. The simulation is a pure function
of scenario, seed and inputs (docs/architecture.md), so that counterfactual is a second world,
copied from the live one when the round begins, its player's car handed to a steady bot, and
stepped in lockstep with every input except the player's. Nothing is estimated or constant.

Compared are the cars behind the player (the `BEHIND` nearest in its lane, the ones a damper
can help): the spread of their speeds (standard deviation across them, averaged over samples
every half second), their hard brakes and their stopped time, before and after the player
started damping: from when they took the wide gap, but not before the first `SETTLE_S`
seconds (the ring forms its waves while the player settles in). The challenge is won when the
spread behind is down by at least `GOAL_CUT` against the counterfactual over "after". When it
is not, `coach` says what to change.

The tracker is a round observer (server/room/room.py): `observe(world, events)` after every tick,
`live()` for the HUD, `result()` for the debrief and the solo progress.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from server.metrics import STOPPED_MPS
from shared.sim.tuning import DT

SAMPLE_TICKS = 10  # measure twice a second
BEHIND = 6  # the cars right behind the player, the ones a damper helps first
SETTLE_S = 30.0  # "before": the first half-minute, while the waves form and the player settles
GOAL_CUT = 0.2  # won: the speed spread behind down by a fifth against the counterfactual
COACH_WINDOW_S = 20.0  # the coach looks at the player's last 20 s of driving
COACH_BRAKE = 2.0  # m/s²: firmer than this is braking, not easing off
COACH_BRAKE_SHARE = 0.05  # ... for more than this share of the window
COACH_FAST_KMH = 8.0  # a target this far above the ring's mean is too fast to damp
COACH_REPEAT_S = 20.0  # the same advice again after this long, while it still holds

COACH_BRAKING = "You are braking as hard as the car ahead: leave more room and coast."
COACH_GAP = "Press 3 for the wide gap: the room ahead of you is what soaks up a wave."
COACH_FAST = (
    "Your target is {target} km/h but the ring averages {mean} km/h: press ↓ to drive at the "
    "average and let the gap breathe."
)
COACH_STEADY = (
    "The waves behind you are {pct}% of what they would be without you: hold one steady speed "
    "near the average and let the gap grow and shrink."
)


class Sample(NamedTuple):
    """The cars behind one car at one moment (and the hard brakes since the last sample)."""

    t: float  # seconds into the round
    spread: float  # m/s, standard deviation of their speeds
    stopped: int  # how many of them were stopped
    hard_brakes: int


@dataclass
class Tally:
    """What the cars behind one car went through over a stretch of the round."""

    samples: int = 0
    spread_sum: float = 0.0  # m/s, summed over samples
    hard_brakes: int = 0
    stopped_s: float = 0.0  # car-seconds below the stopped speed

    @classmethod
    def of(cls, samples: Iterable[Sample]) -> Tally:
        tally = cls()
        for sample in samples:
            tally.samples += 1
            tally.spread_sum += sample.spread
            tally.stopped_s += sample.stopped * SAMPLE_TICKS * DT
            tally.hard_brakes += sample.hard_brakes
        return tally

    @property
    def spread_kmh(self) -> float | None:
        return None if not self.samples else self.spread_sum / self.samples * 3.6

    def as_dict(self) -> dict[str, Any]:
        spread = self.spread_kmh
        return {
            "spread_kmh": None if spread is None else round(spread, 2),
            "hard_brakes": self.hard_brakes,
            "stopped_s": round(self.stopped_s, 1),
            "seconds": round(self.samples * SAMPLE_TICKS * DT, 1),
        }


def cars_behind(world: Any, car_id: int, count: int = BEHIND) -> list[Any]:
    """The `count` nearest cars behind a car in its lane (round the ring), nearest first."""
    me = world.cars.get(car_id)
    if me is None:
        return []
    length = world.length
    lane = me.lane_index
    others = [
        ((me.x - other.x) % length, other.id, other)
        for other in world.cars.values()
        if other.id != car_id and other.lane_index == lane
    ]
    others.sort(key=lambda item: (item[0], item[1]))
    return [other for _d, _id, other in others[:count]]


def spread(speeds: Sequence[float]) -> float:
    """Population standard deviation of speeds (m/s); 0 for fewer than two."""
    if len(speeds) < 2:
        return 0.0
    mean = sum(speeds) / len(speeds)
    return math.sqrt(sum((v - mean) ** 2 for v in speeds) / len(speeds))


class _Side:
    """One world's measurement, sample by sample: the live round or its counterfactual."""

    def __init__(self) -> None:
        self.samples: list[Sample] = []
        self.behind: set[int] = set()
        self._hard = 0

    def count_events(self, events: Iterable[Any]) -> None:
        for event in events:
            if getattr(event, "kind", "") == "hard_brake" and event.car in self.behind:
                self._hard += 1

    def sample(self, world: Any, car: int) -> None:
        cars = cars_behind(world, car)
        self.behind = {c.id for c in cars}
        speeds = [c.v for c in cars]
        stopped = sum(1 for v in speeds if v < STOPPED_MPS)
        self.samples.append(Sample(world.tick * DT, spread(speeds), stopped, self._hard))
        self._hard = 0

    def before(self, split: float) -> Tally:
        return Tally.of(s for s in self.samples if s.t < split)

    def after(self, split: float) -> Tally:
        return Tally.of(s for s in self.samples if s.t >= split)


def typical_bot(world: Any, car_id: int) -> None:
    """Hand a car of `world` (a private copy) to a steady bot with the road's own habits."""
    car = world.cars.get(car_id)
    if car is None:
        return
    if car.controller == "bot":  # a bot-to-bot change is ignored: over to the player first
        world.set_controller(car_id, "player")
    world.set_controller(car_id, "bot", "steady")


class DamperTracker:
    """Measures one player's damping live, against the counterfactual stepped alongside.

    Made when the round begins (the player's car seated, nothing stepped yet): `world` is
    copied, and in the copy the player's car is driven by a typical bot from the first tick.
    """

    def __init__(self, world: Any, car: int) -> None:
        self.car = car
        self.shadow = copy.deepcopy(world)
        typical_bot(self.shadow, car)
        self._seen = len(world.log)
        self.you = _Side()
        self.without = _Side()
        self._said, self._said_at = "", 0.0
        self.wide_gap_at: float | None = None  # when the player first took the wide gap
        self._tallies = (Tally(), Tally(), Tally(), Tally())  # you/without × before/after
        self._recent: deque[tuple[bool, int, float, float]] = deque(
            maxlen=max(1, int(COACH_WINDOW_S / (SAMPLE_TICKS * DT)))
        )

    # ---- stepping ----------------------------------------------------------------------

    def observe(self, world: Any, events: list[Any]) -> None:
        """After each live tick: step the counterfactual through the same inputs but ours."""
        new = world.log[self._seen :]
        self._seen = len(world.log)
        shadow_events: list[Any] = []

        def keep(_stepped: Any, stepped_events: list[Any]) -> None:
            shadow_events.extend(stepped_events)

        # the player's controls and hand-overs are left out: the bot drives that car
        self.shadow.run_log(
            [e for e in new if e[1] != "add_player"],
            until_tick=world.tick,
            skip_cars={self.car},
            on_step=keep,
        )
        self.you.count_events(events)
        self.without.count_events(shadow_events)
        if world.tick % SAMPLE_TICKS:
            return
        self.you.sample(world, self.car)
        self.without.sample(self.shadow, self.car)
        me = world.cars.get(self.car)
        if me is not None:
            mean = sum(c.v for c in world.cars.values()) / len(world.cars)
            braking = me.a <= -COACH_BRAKE
            setting = int(getattr(me, "gap_setting", 2))
            self._recent.append((braking, setting, me.v0, mean))
            if setting == 3 and self.wide_gap_at is None:
                self.wide_gap_at = world.tick * DT
        split = self.split()
        self._tallies = (
            self.you.before(split),
            self.you.after(split),
            self.without.before(split),
            self.without.after(split),
        )

    def split(self) -> float:
        """When the damping is measured from: the player's wide gap (they started damping),
        but not before the first `SETTLE_S` seconds, while the ring forms its waves."""
        return max(SETTLE_S, self.wide_gap_at or 0.0)

    # ---- figures -----------------------------------------------------------------------

    def ratio(self) -> float | None:
        """The spread behind the player over its counterfactual's, after the settling-in."""
        mine, theirs = self._tallies[1].spread_kmh, self._tallies[3].spread_kmh
        if mine is None or theirs is None or theirs <= 0.0:
            return None
        return mine / theirs

    def won(self) -> bool:
        ratio = self.ratio()
        return ratio is not None and ratio <= 1.0 - GOAL_CUT

    def coach(self) -> str | None:
        """What the player should change, or None while they are winning (or still settling)."""
        ratio = self.ratio()
        if ratio is None or ratio <= 1.0 - GOAL_CUT or not self._recent:
            return None
        recent = list(self._recent)
        braking = sum(1 for b, *_ in recent if b) / len(recent)
        if braking > COACH_BRAKE_SHARE:
            return COACH_BRAKING
        if recent[-1][1] < 3:
            return COACH_GAP
        target_kmh = recent[-1][2] * 3.6
        mean_kmh = sum(m for *_, m in recent) / len(recent) * 3.6
        if target_kmh > mean_kmh + COACH_FAST_KMH:
            return COACH_FAST.format(target=round(target_kmh), mean=round(mean_kmh))
        return COACH_STEADY.format(pct=round(ratio * 100))

    def feed(self, world: Any) -> list[dict[str, Any]]:
        """An event-feed line for the player when the coach's advice changes (and again every
        `COACH_REPEAT_S` while it still holds), and once when they start winning."""
        if world.tick % SAMPLE_TICKS or self._tallies[1].samples == 0:
            return []
        line = self.coach()
        key = "won" if self.won() else (line or "")[:24]
        now = world.tick * DT
        if key == self._said and (key == "won" or now - self._said_at < COACH_REPEAT_S):
            return []
        self._said, self._said_at = key, now
        if key == "won":
            ratio = self.ratio() or 0.0
            line = (
                f"You are damping the waves: the cars behind you spread {round((1 - ratio) * 100)}% "
                "less than behind a typical driver. Keep it steady."
            )
        if not line:
            return []
        me = world.cars.get(self.car)
        x = me.x if me is not None else 0.0
        return [{"kind": "coach", "text": f"Coach: {line}", "car": self.car, "x": x}]

    def live(self) -> dict[str, Any]:
        """The HUD's figures: spread behind you and without you, the change, the coach line."""
        you_before, you_after, without_before, without_after = self._tallies
        mine, theirs = you_after.spread_kmh, without_after.spread_kmh
        if mine is None:  # not damping yet, or settling in: the figures so far
            mine, theirs = you_before.spread_kmh, without_before.spread_kmh
        ratio = self.ratio()
        return {
            "spread_kmh": None if mine is None else round(mine, 1),
            "without_kmh": None if theirs is None else round(theirs, 1),
            "change_pct": None if ratio is None else round((ratio - 1.0) * 100),
            "goal_pct": -round(GOAL_CUT * 100),
            "settling": you_after.samples == 0,
            "won": self.won(),
            "coach": self.coach(),
        }

    def result(self) -> dict[str, Any]:
        """The debrief's figures (docs/debrief.md, "damper"): before and after, you and without."""
        ratio = self.ratio()
        you_before, you_after, without_before, without_after = self._tallies
        return {
            "challenge": "damper",
            "car": self.car,
            "behind": BEHIND,
            "settle_s": SETTLE_S,
            "wide_gap_s": self.wide_gap_at,
            "from_s": self.split(),
            "goal_pct": -round(GOAL_CUT * 100),
            "before": {"you": you_before.as_dict(), "without": without_before.as_dict()},
            "after": {"you": you_after.as_dict(), "without": without_after.as_dict()},
            "change_pct": None if ratio is None else round((ratio - 1.0) * 100),
            "won": self.won(),
            "coach": self.coach(),
        }


def verdict_text(result: Mapping[str, Any]) -> str:
    """One sentence for the debrief: won or not, with the figures it rests on."""
    after = result.get("after") or {}
    mine = (after.get("you") or {}).get("spread_kmh")
    theirs = (after.get("without") or {}).get("spread_kmh")
    change = result.get("change_pct")
    if mine is None or theirs is None or change is None:
        return "The round ended before the damping could be measured."
    goal = -int(result.get("goal_pct", -25))
    head = "You damped the waves" if result.get("won") else "Not damped yet"
    return (
        f"{head}: the speeds of the {result.get('behind', BEHIND)} cars behind you spread "
        f"{mine:.1f} km/h against {theirs:.1f} km/h with a typical driver in your seat "
        f"({change:+d}%; the goal is -{goal}% or better)."
    )
