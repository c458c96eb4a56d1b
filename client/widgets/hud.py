"""The HUD: your speed and settings, the round clock, your and the team's figures, the rules.

Every figure carries its unit or a word ("96 km/h", "gap 1.8 s", "lane 2 of 3"), and states
such as signals or manual driving are spelled out, so nothing depends on colour. Built as
`rich.text.Text` from data, never as markup, so no name or server string can style it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text
from textual.widgets import Static

from client.state import finite, you_value
from shared.conventions import CATALOGUE

GAP_NAMES = {1: "close", 2: "normal", 3: "wide"}
RULE_SHORT = {
    ("passing", "right"): "keep right",
    ("passing", "left"): "keep left",
    ("passing", "free"): "pass either side",
    ("signal", "required"): "signal ≥2 s",
    ("signal", "optional"): "signals optional",
    ("following", "two_second"): "2-second gap",
    ("following", "none"): "no gap rule",
    ("merge", "zipper"): "zipper merge",
    ("merge", "early"): "early merge",
    ("hazards", "yes"): "hazards at queue tail",
    ("hazards", "no"): "no tail hazards",
}


def clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def kmh(mps: float) -> int:
    """Km/h for the HUD. A finite speed can still overflow once converted (a server's junk,
    1e308 m/s): it shows as a clamped figure, never a crash of the drawing."""
    value = mps * 3.6
    if value != value:  # NaN
        return 0
    return round(max(-9999.0, min(9999.0, value)))


def rules_summary(rulebook: Mapping[str, Any] | None) -> str:
    """One line for the whole rulebook, e.g. "keep right · signal ≥2 s · limit 100 km/h"."""
    if not rulebook:
        return "no rules agreed"
    parts = []
    for convention in CATALOGUE:
        value = rulebook.get(convention.key)
        if value is None:
            continue
        if convention.key == "speed_limit":
            parts.append("no limit" if value == "none" else f"limit {value} km/h")
        else:
            parts.append(RULE_SHORT.get((convention.key, str(value)), f"{convention.key} {value}"))
    return " · ".join(parts)


def speed_line(you: Mapping[str, Any] | None, lanes: int) -> Text:
    """Speed, target, gap, lane, signals, assist."""
    text = Text()
    if not you:
        text.append("waiting for your car…", style="italic")
        return text
    v = finite(you_value(you, "v"), 0.0)
    text.append(f"{kmh(v):>3} km/h", style="bold")
    target_kmh = finite(you_value(you, "target_kmh"))
    if target_kmh is None:
        target = finite(you_value(you, "target", "target_speed"))
        target_kmh = kmh(target) if target is not None else None
    if target_kmh is not None:
        text.append(f"  target {round(target_kmh)} km/h")
    gap_s = finite(you_value(you, "gap_s", "headway"))
    setting = you_value(you, "gap_setting", "gap")
    text.append("  │ gap ")
    if gap_s is not None and gap_s < 99:
        text.append(f"{gap_s:.1f} s", style="bold")
    else:
        text.append("clear")
    if isinstance(setting, int) and setting in GAP_NAMES:
        text.append(f" ({GAP_NAMES[setting]})")
    lane = finite(you_value(you, "lane"))
    if lane is not None and -1 < lane < 16:
        text.append(f"  │ lane {int(lane + 0.5) + 1} of {lanes}")
    signal = you_value(you, "signal", default=0)
    if you_value(you, "hazard", default=False):
        text.append("  │ ▲▼ HAZARDS", style="bold")
    elif signal == -1 or signal == "left":
        text.append("  │ ◀ signal left", style="bold")
    elif signal == 1 or signal == "right":
        text.append("  │ signal right ▶", style="bold")
    assist = you_value(you, "assist", default=True)
    text.append("  │ ")
    text.append("ASSIST" if assist else "MANUAL", style="reverse" if not assist else "bold")
    if you_value(you, "crashed", default=False):
        text.append("  │ ╳ CRASHED", style="bold reverse")
    return text


def scores_line(
    you: Mapping[str, Any] | None,
    team: Mapping[str, Any] | None,
    clock: str | None,
    individual: Mapping[str, Any] | None = None,
) -> Text:
    """Round clock, individual figures and the team's."""
    text = Text()
    if clock:
        text.append(f"Round {clock}", style="bold")
        text.append("  │ ")
    distance = finite(you_value(you, "distance", "distance_m"))
    text.append("You ")
    if distance is not None:
        text.append(f"{distance / 1000:.2f} km", style="bold")
    else:
        text.append("–")
    score = finite((individual or {}).get("score"))
    if score is not None:
        text.append(f" · score {round(score)}")
    penalty = finite((individual or {}).get("penalty_m"))
    if penalty is not None and penalty > 0:
        text.append(f" · penalty {round(penalty)} m")
    if not team:
        return text  # individual rounds: the team's figures are not shown live
    text.append("  │ Team ")
    parts = []
    flow, mean, delay = (finite(team.get(k)) for k in ("flow_vph", "mean_kmh", "delay_vs"))
    crashes, misses, adherence = (
        finite(team.get(k)) for k in ("crashes", "near_misses", "adherence")
    )
    if flow is not None:
        parts.append(f"{round(flow)} veh/h")
    if mean is not None:
        parts.append(f"avg {round(mean)} km/h")
    if delay is not None:
        parts.append(f"delay {round(delay)} veh·s")
    if crashes is not None:
        parts.append(f"{round(crashes)} crash" + ("" if crashes == 1 else "es"))
    if misses is not None:
        parts.append(f"{round(misses)} near miss" + ("" if misses == 1 else "es"))
    if adherence is not None:
        parts.append(f"rules kept {round(adherence)}%")
    text.append(" · ".join(parts) or "–")
    return text


def damper_line(damper: Mapping[str, Any] | None) -> Text | None:
    """The wave-damper challenge's live line: the spread of speeds behind you against a
    typical driver in your seat (server/damper.py), and the coach's advice when not winning."""
    if not damper:
        return None
    text = Text("Damper: ", style="bold")
    mine, theirs = finite(damper.get("spread_kmh")), finite(damper.get("without_kmh"))
    if mine is None or theirs is None:
        text.append("measuring…")
        return text
    text.append(f"waves behind you {mine:.1f} km/h, {theirs:.1f} without you")
    change, goal = finite(damper.get("change_pct")), finite(damper.get("goal_pct"))
    if damper.get("settling") or change is None:
        text.append(" · settling in (30 s)", style="dim")
    else:
        text.append(f" · {change:+.0f}%", style="bold")
        if goal is not None:
            text.append(f" (goal {goal:.0f}%)")
        if damper.get("won"):
            text.append(" · damping ✓", style="bold #009e73")
    coach = damper.get("coach")
    if isinstance(coach, str) and coach:
        text.append("\nCoach: ", style="bold #009e73")
        text.append(coach[:300])
    return text


class Hud(Static):
    """Three lines under the road; updated per snapshot, not per frame."""

    DEFAULT_CSS = """
    Hud { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._last_text: Text | None = None

    def show(
        self,
        you: Mapping[str, Any] | None,
        team: Mapping[str, Any] | None,
        rulebook: Mapping[str, Any] | None,
        lanes: int,
        clock: str | None,
        banner: str | None = None,
        individual: Mapping[str, Any] | None = None,
        damper: Mapping[str, Any] | None = None,
    ) -> None:
        text = Text()
        if banner:
            text.append(banner, style="bold reverse")
            text.append("\n")
        text.append_text(speed_line(you, lanes))
        text.append("\n")
        text.append_text(scores_line(you, team, clock, individual))
        text.append("\n")
        solo = damper_line(damper)
        if solo is not None:  # the damper challenge: its figures matter more than the rules
            text.append_text(solo)
        else:
            text.append("Rules: ", style="bold")
            text.append(rules_summary(rulebook))
        if self._last_text is not None and self._last_text == text:
            return
        self._last_text = text
        self.update(text)
