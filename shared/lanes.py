"""How a lane is numbered for people, on every screen, feed line, report and sign.

Internally (the simulation, the protocol's numeric `lane` fields) lane 0 is the rightmost.
People see lane 1 as the rightmost and count leftwards, the way a driver on a keep-right
road counts lanes from the slow one; docs/protocol.md says so for the numeric fields. Every
text that names a lane goes through `lane_name`, so the HUD, the feed, the replay and the
closure signs can never disagree again.
"""

from __future__ import annotations


def lane_number(index: int) -> int:
    """The number a person sees for the internal lane `index` (0 = rightmost -> 1)."""
    return int(index) + 1


def lane_name(index: int) -> str:
    """ "lane 1" for the rightmost lane, "lane 2" for the one left of it, and so on."""
    return f"lane {lane_number(index)}"
