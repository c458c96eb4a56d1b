"""Who is where in each lane, for the adherence tracker: the lanes sorted by position, the car
ahead of every car, which lanes are open at a place, and whether a car is passing someone.

The keep-right (or keep-left) and following measures of server/adherence.py need these views of
the road every tick, for every car; they are worked out here once per tick from the sorted lanes
(see _leaders and _passing for why that is cheaper than asking the world per car). A mixin of
AdherenceTracker (server/adherence_model.py says why the tracker is made of parts).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping

from server.adherence_model import (
    BLOCK_AFTER_M,
    BLOCK_BEFORE_M,
    BY_X,
    PASS_AHEAD_MIN_M,
    PASS_AHEAD_S,
    PASS_BEHIND_M,
    PASS_DV,
    CarLike,
    TrackerState,
)


class LaneChecks(TrackerState):
    """The per-lane views the tracker's measures read (see the module docstring)."""

    def _lanes(self, cars: Mapping[int, CarLike]) -> dict[int, tuple[list[float], list[CarLike]]]:
        """Cars per lane they occupy (both lanes during a change), sorted by position."""
        grouped: dict[int, list[CarLike]] = {}
        floor = math.floor
        for car in cars.values():
            lane = car.lane
            low = floor(lane)
            members = grouped.get(low)
            if members is None:
                grouped[low] = [car]
            else:
                members.append(car)
            if lane != low:
                members = grouped.get(low + 1)
                if members is None:
                    grouped[low + 1] = [car]
                else:
                    members.append(car)
        lanes = {}
        for lane, members in grouped.items():
            members.sort(key=BY_X)
            lanes[lane] = ([c.x for c in members], members)
        return lanes

    def _leaders(self, lanes: Mapping[int, tuple[list[float], list[CarLike]]]) -> None:
        """Bumper-to-bumper gap and car ahead for every car, as world.leader_of defines them,
        kept in each car's record (lead_gap, leader) with this pass's mark; a car without one
        (alone in its lane) has nothing ahead.

        Computed here from the sorted lanes (one pass, O(n log n) per tick) rather than by
        calling world.leader_of per car, which scans a whole lane each time. A lane's end or a
        blocked spot before the car ahead hides it (gap to the obstacle, no leader). A car
        changing lanes is in two: the nearer of its two gaps counts (the first lane's on a tie).
        """
        records = self.records
        length = self.length
        now = self._pass
        for lane, (xs, members) in lanes.items():
            if len(members) < 2:
                continue
            stops = self._stops(lane)
            ahead, ax = members[0], xs[0]  # the last car's car ahead is the first, round the ring
            for car, x in zip(reversed(members), reversed(xs), strict=False):  # same lengths
                distance = ax - x
                if not 0.0 < distance < length:  # round the ring (% leaves the rest as it is)
                    distance %= length
                try:
                    gap = distance - ahead.length
                except AttributeError:
                    gap = distance - 5.0
                leader: CarLike | None = ahead
                if stops:
                    for stop in stops:
                        d = (stop - x) % length
                        if d < distance and d < gap:
                            gap, leader = d, None
                record = records[car.id]
                if record.lead_pass != now or gap < record.lead_gap:
                    record.lead_pass, record.lead_gap, record.leader = now, gap, leader
                ahead, ax = car, x

    def _stops(self, lane: int) -> list[float]:
        """Where `lane` ends or is blocked: closure starts and blocked spots."""
        stops = [start for start, _span, _warn in self._closures.get(lane, ())]
        if self.blocks:
            stops += [b.x for b in self.blocks if b.lane == lane]
        return stops

    def _lane_open(self, lane: int, x: float) -> bool:
        if lane in self._ramp_lanes:
            return False  # an acceleration lane is never a cruising lane
        length = self.length
        for start, span, warn in self._closures.get(lane, ()):
            if (start - x) % length <= warn or (x - start) % length <= span:
                return False  # in the warning zone (_ahead) or the closed span (_within)
        for block in self.blocks:
            if block.lane == lane and (
                (block.x - x) % length <= BLOCK_BEFORE_M or (x - block.x) % length <= BLOCK_AFTER_M
            ):
                return False
        return True

    def _side(self, lane: int) -> tuple[range, int, bool]:
        """The lanes "to the right" of `lane` in the convention's sense (lower indices under
        keep right), nearest first; the one beside it; whether they are all open everywhere
        (no closure or ramp: only a blocked spot can close them). Memoised per lane."""
        known = self._sides.get(lane)
        if known is None:
            if self.passing == "right":
                side, beside = range(lane - 1, -1, -1), lane - 1
            else:
                side, beside = range(lane + 1, self.lanes), lane + 1
            known = self._sides[lane] = (side, beside, self._special_lanes.isdisjoint(side))
        return known

    def _hogging(
        self, car: CarLike, lane: int, lanes: Mapping[int, tuple[list[float], list[CarLike]]]
    ) -> bool:
        """Whether a car settled in its lane at speed is in a passing lane (an open lane on its
        cruising side) without passing anyone (see _passing)."""
        side, beside, plain = self._sides.get(lane) or self._side(lane)
        if not side:
            return False
        if plain and not self.blocks:  # every lane of the side is open
            return not self._passing(car, side, lanes, beside)
        x = car.x
        open_side = [k for k in side if self._lane_open(k, x)]
        return bool(open_side) and not self._passing(car, open_side, lanes, beside)

    def _passing(
        self,
        car: CarLike,
        side: Iterable[int],
        lanes: Mapping[int, tuple[list[float], list[CarLike]]],
        beside: int,
    ) -> bool:
        """Whether a car in a lane of `side` from PASS_BEHIND_M behind to the look-ahead is
        slower (so this car is passing it), or one beside it in lane `beside` blocks the move
        back. The lanes' positions are sorted, so bisection finds the stretch (twice where it
        wraps round the ring)."""
        x, v = car.x, car.v
        slower = v - PASS_DV
        length = self.length
        ahead = PASS_AHEAD_S * v
        lo, hi = x - PASS_BEHIND_M, x + (ahead if ahead > PASS_AHEAD_MIN_M else PASS_AHEAD_MIN_M)
        if lo < 0 or hi >= length:
            return self._passing_round(car, side, lanes, beside, lo, hi)
        half = length / 2
        for lane in side:  # the usual case: the stretch does not wrap round the ring
            entry = lanes.get(lane)
            if entry is None:
                continue
            xs, members = entry
            k, end = bisect_left(xs, lo), len(xs)
            while k < end and xs[k] <= hi:  # members[k : bisect_right(xs, hi)]
                other = members[k]
                if other.v < slower:
                    return True
                if lane == beside:
                    dx = (other.x - x) % length  # _signed(other.x - x)
                    if abs(dx - length if dx > half else dx) <= PASS_BEHIND_M:
                        return True
                k += 1
        return False

    def _passing_round(
        self,
        car: CarLike,
        side: Iterable[int],
        lanes: Mapping[int, tuple[list[float], list[CarLike]]],
        beside: int,
        lo: float,
        hi: float,
    ) -> bool:
        """_passing where the stretch [lo, hi] wraps round the ring's start or end."""
        x, slower = car.x, car.v - PASS_DV
        length = self.length
        shifts = [0.0]
        if lo < 0:
            shifts.append(length)
        if hi >= length:
            shifts.append(-length)
        for lane in side:
            entry = lanes.get(lane)
            if entry is None:
                continue
            xs, members = entry
            for shift in shifts:
                i, j = bisect_left(xs, lo + shift), bisect_right(xs, hi + shift)
                for other in members[i:j]:
                    if other.v < slower:
                        return True
                    if lane == beside and abs(self._signed(other.x - x)) <= PASS_BEHIND_M:
                        return True
        return False
