"""What the world's parts share: the attributes that motion and lane changing read.

World is assembled from mixins (shared/sim/motion.py, shared/sim/lanes.py) so that each file
keeps one job; this base class declares the state they work on, for the type checker, and
reads the one cache they all use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shared.sim.car import Car
    from shared.sim.road import Ramp, Road


class WorldState:
    tick: int
    length: float
    lanes: int
    cars: dict[int, Car]
    geo: Road
    _order: list[Car]
    _lanes: list[list[Car]]
    _xs: list[list[float] | None]
    _obs: list[list[tuple[float, float, str]]]
    _any_obs: bool
    _ramp_of: list[Ramp | None]  # each lane's ramp, if it is one (Road.ramp_lane)
    _plain: bool
    _overlaps: set[tuple[int, int]]
    # the cars that entered or left a lane during this step's motion, each with its lane before
    _moved: list[tuple[Car, float]]

    def _lane_xs(self, k: int) -> list[float]:
        """The positions of lane k's cars, in its list's order: made by every step's lane scan
        (Motion._scan_lanes), else here once after the lanes were rebuilt."""
        xs = self._xs[k]
        if xs is None:
            xs = [c.x for c in self._lanes[k]]
            self._xs[k] = xs
        return xs
