"""The wording of the event feed, and the coalescing of repeated lines about one event.

One stop in a jam can make a car cross the hard-braking threshold twenty times in as many
seconds, each a `hard_brake` event; as feed lines that was twenty "Ana braked hard" on every
screen nearby. The coalescer counts them instead: a player's repeat of the same line (kind,
car and words) within `WINDOW_TICKS` of the previous one is the same event going on, and its
line says so ("Ana braked hard ×4") and carries `count`, which tells a client to replace its
earlier line for that car and kind rather than add one (docs/protocol.md, `snapshot.events`).

Lanes are named with shared.lanes, like every other screen. Counting is by tick, never by
the clock, so a room stepped tick by tick in a test coalesces exactly as a live one.
"""

from __future__ import annotations

from typing import Any

from shared.lanes import lane_number

FEED_TEXT = {
    "crash": "{name} caused a crash with {other}",  # the cause first: sim.events.crash_cause
    "near_miss": "{name} had a near miss",
    "hard_brake": "{name} braked hard",
    "incident_start": "An incident blocks lane {lane}",
    "incident_clear": "The incident in lane {lane} is cleared",
    "takeover": "A bot drives {name}'s car",
    "handback": "{name} is back at the wheel",
}
# the kinds that come in bursts: one stop's brakes, a merge's near misses, a rule broken for a
# while (adherence reports a car cruising in the passing lane again every few seconds)
REPEATING = frozenset({"hard_brake", "near_miss", "violation"})
WINDOW_TICKS = 300  # 15 s at 20 Hz: a repeat within this of the previous one is the same stop


def feed_text(kind: str, name: str, lane: int | None, other: str = "another car") -> str | None:
    """The feed line for an event kind, or None for kinds that have none (lane changes…);
    `other` is the second car of a crash."""
    template = FEED_TEXT.get(kind)
    if template is None:
        return None
    return template.format(name=name, lane="?" if lane is None else lane_number(lane), other=other)


def shock_incident_text(lane: int) -> str:
    return f"Shock: an incident blocks lane {lane_number(lane)}"


class FeedCoalescer:
    """Counts repeats of the same kind by the same car; one per round (`reset` between)."""

    def __init__(self) -> None:
        self._last: dict[tuple[str, int, str], tuple[int, int]] = {}  # key -> (tick, count)

    def reset(self) -> None:
        self._last.clear()

    def line(self, kind: str, text: str, car: int | None, tick: int) -> dict[str, Any]:
        """The feed line for one event at `tick`, with ` ×N` and `count` on a repeat."""
        line: dict[str, Any] = {"kind": kind, "text": text, "car": car}
        if car is None or kind not in REPEATING:
            return line
        key = (kind, car, text)  # the same words: two different breaches are two lines
        last = self._last.get(key)
        count = last[1] + 1 if last is not None and tick - last[0] <= WINDOW_TICKS else 1
        self._last[key] = (tick, count)
        if count > 1:
            line["text"] = f"{text} ×{count}"
            line["count"] = count
        return line
