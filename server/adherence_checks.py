"""Each convention's measure for the adherence tracker: keep right or left, merging at a closure,
the speed limit, the two-second rule and hazard lights at a queue's tail.

server/adherence.py's observe() decides, per car and tick, which measures apply (its module
docstring holds the definitions); the methods here count the time or the event against the
car's record and report a breach to the event feed. A mixin of AdherenceTracker
(server/adherence_model.py says why the tracker is made of parts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.adherence_model import (
    DEFAULT_WARN_M,
    DT,
    EARLY_ZONE_M,
    GAP_GRACE_TICKS,
    GAP_RULE_S,
    HAZARD_GRACE_TICKS,
    KEEP_GRACE_TICKS,
    KEEP_REPORT_TICKS,
    QUEUE_FAST_V,
    QUEUE_LOOKAHEAD_M,
    QUEUE_SLOW_V,
    SPEED_REPORT_TICKS,
    SPEED_TOLERANCE,
    TURN_WINDOW_TICKS,
    ZIPPER_ZONE_M,
    CarLike,
    EventLike,
    Record,
    TrackerState,
    Violation,
)


class ConventionChecks(TrackerState):
    """Count and report each convention's breaches (see the module docstring)."""

    # --- keep right / keep left ---------------------------------------------------------

    def _hog(self, car: CarLike, record: Record, out: list[Violation]) -> None:
        """A tick in the passing lane with nobody to pass: counts after the grace, and every
        KEEP_REPORT_S of it is reported once."""
        record.keep_ticks += 1
        over = record.keep_ticks - KEEP_GRACE_TICKS
        if over > 0:
            record.passing_lane_s += DT
            if (over - 1) % KEEP_REPORT_TICKS == 0:
                self._report(
                    car.id,
                    "passing",
                    "{name} is cruising in the passing lane with nobody to pass",
                    out,
                )

    # --- merging at a closure -------------------------------------------------------------

    def _closure_of(self, lane: int, x: float) -> dict[str, Any] | None:
        """The closure of `lane` whose warning zone or closed span holds x."""
        for closure in self.road.get("closures", ()):
            if int(closure["lane"]) != lane:
                continue
            start, end = float(closure["start"]), float(closure["end"])
            warn = self._warn_length(closure)
            if self._ahead(x, start) <= warn + EARLY_ZONE_M or self._within(x, start, end):
                return closure
        return None

    @staticmethod
    def _warn_length(closure: Mapping[str, Any]) -> float:
        """Metres of warning signs before the closure (the road's `warn`)."""
        warn = closure.get("warn")
        return DEFAULT_WARN_M if warn is None else max(0.0, float(warn))

    def _merge(self, event: EventLike, out: list[Violation]) -> None:
        assert event.car is not None
        closure = self._closure_of(event.lane, event.x)
        if closure is None:
            return  # a ramp merge: the merge convention is about closures
        record = self.records.setdefault(event.car, Record())
        record.merges += 1
        left = (
            float(event.value)
            if event.value is not None
            else self._ahead(event.x, float(closure["start"]))
        )
        warn = self._warn_length(closure)
        key = (event.lane, float(closure["start"]))
        previous_other, previous_tick = self._last_merge.get(key, (None, -(10**9)))
        self._last_merge[key] = (event.other, self._tick)
        in_turn = (
            event.other is None
            or event.other != previous_other
            or self._tick - previous_tick > TURN_WINDOW_TICKS
        )
        if in_turn:
            record.merges_in_turn += 1
        if self.rulebook["merge"] == "zipper":
            in_place = left <= ZIPPER_ZONE_M
            if not in_place:
                text = f"{{name}} merged {left:.0f} m before the end instead of zipping"
                self._report(event.car, "merge", text, out)
            elif not in_turn:
                self._report(event.car, "merge", "{name} merged out of turn", out)
            if in_place and in_turn:
                record.merges_in_place += 1
        else:
            # merged is when the car leaves the closing lane, never when it signals: a
            # signal at the signs and a ride to the end would otherwise score as early
            in_place = left >= warn - EARLY_ZONE_M
            if in_place:
                record.merges_in_place += 1
            else:
                text = f"{{name}} stayed in the closing lane until {left:.0f} m before the end"
                self._report(event.car, "merge", text, out)

    # --- speed, gap, hazards ------------------------------------------------------------

    def _limit_at(self, x: float) -> float | None:
        limit = self.limit
        length = self.length
        for start, span, zone_limit in self._zones:
            if (x - start) % length <= span:  # _within(x, start, end)
                limit = zone_limit if limit is None else min(limit, zone_limit)
        return limit

    def _speed(self, car: CarLike, record: Record, out: list[Violation]) -> None:
        """A moving car (its moving time counted) on a road whose limit varies along it."""
        limit = self._limit_at(car.x)
        if limit is None or car.v <= limit + SPEED_TOLERANCE:
            record.speed_ticks = 0
            return
        self._speeding(car, record, limit, out)

    def _speeding(self, car: CarLike, record: Record, limit: float, out: list[Violation]) -> None:
        """A car over `limit` this tick: count it, and report a streak once when it is 3 s long."""
        record.speeding_s += DT
        record.speed_ticks += 1
        if record.speed_ticks == SPEED_REPORT_TICKS:
            text = (
                f"{{name}} is speeding: {car.v * 3.6:.0f} km/h where the limit is {limit * 3.6:.0f}"
            )
            self._report(car.id, "speed", text, out)

    def _following(self, car: CarLike, record: Record, gap: float, out: list[Violation]) -> None:
        """The two-second rule for a car following another closely enough for it to apply
        (observe() checks that: the rule in force, a car ahead within GAP_FOLLOW_S, speed)."""
        v = car.v
        record.following_s += DT
        headway = (0.0 if gap < 0.0 else gap) / v  # max(gap, 0.0), NaN kept
        if headway >= GAP_RULE_S:
            record.gap_ticks = 0
            return
        record.gap_ticks += 1
        if record.gap_ticks > GAP_GRACE_TICKS:
            record.close_s += DT
            if record.gap_ticks == GAP_GRACE_TICKS + 1:
                text = f"{{name}} is following too close ({headway:.1f} s gap)"
                self._report(car.id, "following", text, out)

    def _hazards(
        self, car: CarLike, record: Record, gap: float, leader: CarLike | None, out: list[Violation]
    ) -> None:
        """Hazard lights at a queue's tail (observe() calls this only when it is in force)."""
        if record.queue_grace >= 0:
            record.queue_warned = record.queue_warned or car.hazard
            record.queue_grace += 1
            if record.queue_grace >= HAZARD_GRACE_TICKS:
                record.queue_grace = -1
                record.queue_tails += 1
                if record.queue_warned:
                    record.hazards_used += 1
                else:
                    self._report(
                        car.id,
                        "hazards",
                        "{name} reached the tail of a queue without hazard lights",
                        out,
                    )
            return
        if not record.queue_open:  # the usual case: is an approach starting?
            if (
                car.v >= QUEUE_FAST_V
                and leader is not None
                and gap <= QUEUE_LOOKAHEAD_M
                and leader.v <= QUEUE_SLOW_V
            ):
                record.queue_open, record.queue_warned = True, car.hazard
            return
        approaching = leader is not None and gap <= QUEUE_LOOKAHEAD_M and leader.v <= QUEUE_SLOW_V
        record.queue_warned = record.queue_warned or car.hazard
        if car.v <= QUEUE_SLOW_V:
            record.queue_open = False
            record.queue_grace = 0
        elif not approaching:
            record.queue_open = False  # the queue dissolved or the car left the lane
