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

from client.state import finite
from shared.conventions import CATALOGUE
from shared.lanes import lane_name

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


Piece = tuple[str, Text]  # (separator before it, the phrase): a HUD line breaks only between


def fit(pieces: list[Piece], width: int) -> Text:
    """The pieces joined by their separators, a new line started where the next one would
    not fit in `width` cells: "avg 87 km/h" never splits as "avg 87" / "km/h"."""
    text = Text()
    column = 0
    for index, (sep, phrase) in enumerate(pieces):
        if index and width > 0 and column + len(sep) + phrase.cell_len > width:
            text.append("\n")
            column = 0
        elif index:
            text.append(sep)
            column += len(sep)
        text.append_text(phrase)
        column += phrase.cell_len
    return text


def _phrase(*parts: str | tuple[str, str]) -> Text:
    return Text.assemble(*parts)


def speed_pieces(you: Mapping[str, Any] | None, lanes: int) -> list[Piece]:
    """Speed, target, gap, lane, signals, assist: the snapshot's `you` map as the server
    sends it (server/snapshots.py `you_detail`, docs/protocol.md)."""
    if not you:
        return [("", Text("waiting for your car…", style="italic"))]
    bar = "  │ "
    v = finite(you.get("v"), 0.0)
    pieces: list[Piece] = [("", _phrase((f"{kmh(v):>3} km/h", "bold")))]
    target_kmh = finite(you.get("target_kmh"))
    if target_kmh is not None:
        pieces.append(("  ", _phrase(f"target {round(target_kmh)} km/h")))
    gap_s = finite(you.get("gap_s"))
    setting = you.get("gap_setting")
    gap = _phrase("gap ")
    if gap_s is not None and gap_s < 99:
        gap.append(f"{gap_s:.1f} s", style="bold")
    else:
        gap.append("clear")
    if isinstance(setting, int) and setting in GAP_NAMES:
        gap.append(f" ({GAP_NAMES[setting]})")
    pieces.append((bar, gap))
    lane = finite(you.get("lane"))
    if lane is not None and -1 < lane < 16:
        pieces.append((bar, _phrase(f"{lane_name(int(lane + 0.5))} of {lanes}")))
    signal = you.get("signal", 0)
    if you.get("hazard", False):
        pieces.append((bar, _phrase(("▲▼ HAZARDS", "bold"))))
    elif signal == -1:
        pieces.append((bar, _phrase(("◀ signal left", "bold"))))
    elif signal == 1:
        pieces.append((bar, _phrase(("signal right ▶", "bold"))))
    assist = you.get("assist", True)
    pieces.append((bar, _phrase(("ASSIST", "bold") if assist else ("MANUAL", "reverse"))))
    if you.get("crashed", False):
        pieces.append((bar, _phrase(("╳ CRASHED", "bold reverse"))))
    return pieces


def speed_line(you: Mapping[str, Any] | None, lanes: int) -> Text:
    """Speed, target, gap, lane, signals, assist, on one line."""
    return fit(speed_pieces(you, lanes), 0)


def scores_pieces(
    you: Mapping[str, Any] | None,
    team: Mapping[str, Any] | None,
    clock: str | None,
    individual: Mapping[str, Any] | None = None,
) -> list[Piece]:
    """Round clock, individual figures and the team's."""
    pieces: list[Piece] = []
    if clock:
        pieces.append(("", _phrase((f"Round {clock}", "bold"))))
    distance = finite((you or {}).get("distance"))
    mine = _phrase("You ")
    if distance is not None:
        mine.append(f"{distance / 1000:.2f} km", style="bold")
    else:
        mine.append("–")
    pieces.append(("  │ ", mine))
    score = finite((individual or {}).get("score"))
    if score is not None:
        pieces.append((" · ", _phrase(f"score {round(score)}")))
    penalty = finite((individual or {}).get("penalty_m"))
    if penalty is not None and penalty > 0:
        pieces.append((" · ", _phrase(f"penalty {round(penalty)} m")))
    if not team:
        return pieces  # individual rounds: the team's figures are not shown live
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
    first, *rest = parts or ["–"]
    pieces.append(("  │ ", _phrase(f"Team {first}")))
    pieces.extend((" · ", _phrase(part)) for part in rest)
    return pieces


def scores_line(
    you: Mapping[str, Any] | None,
    team: Mapping[str, Any] | None,
    clock: str | None,
    individual: Mapping[str, Any] | None = None,
) -> Text:
    """Round clock, individual figures and the team's, on one line."""
    return fit(_no_lead(scores_pieces(you, team, clock, individual)), 0)


def rules_pieces(rulebook: Mapping[str, Any] | None) -> list[Piece]:
    first, *rest = rules_summary(rulebook).split(" · ")
    return [("", Text.assemble(("Rules: ", "bold"), first))] + [
        (" · ", Text(part)) for part in rest
    ]


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
    """Three lines under the road (more where they must wrap, between phrases only);
    updated per snapshot, not per frame."""

    DEFAULT_CSS = """
    Hud { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self._last_text: Text | None = None
        self._last_shape: tuple[int, bool] | None = None
        self._pieces: (
            tuple[str | None, list[Piece], list[Piece], list[Piece], Text | None] | None
        ) = None

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
        self._pieces = (
            banner,
            speed_pieces(you, lanes),
            _no_lead(scores_pieces(you, team, clock, individual)),
            rules_pieces(rulebook),
            damper_line(damper),
        )
        self._refit()

    def on_resize(self) -> None:
        self._refit()

    def _refit(self) -> None:
        """Lay the pieces out to the HUD's width, breaking lines only between phrases."""
        if self._pieces is None:
            return
        banner, speed, scores, rules, solo = self._pieces
        width = self.content_size.width
        text = Text()
        if banner:
            text.append(banner, style="bold reverse")
            text.append("\n")
        text.append_text(Text("\n").join(fit(pieces, width) for pieces in (speed, scores)))
        text.append("\n")
        # the damper challenge: its figures matter more than the rules
        text.append_text(solo if solo is not None else fit(rules, width))
        if self._last_text is not None and self._last_text == text:
            return
        self._last_text = text
        # A new layout of the whole screen costs far more than drawing the HUD: ask for one
        # only when the HUD's height may change (another line count, or a line wider than the
        # HUD that would wrap); a new speed or clock figure is a repaint of these lines only.
        lines = text.split("\n", allow_blank=True)
        shape = (len(lines), any(line.cell_len > width for line in lines))
        layout = shape != self._last_shape or shape[1]
        self._last_shape = shape
        self.update(text, layout=layout)


def _no_lead(pieces: list[Piece]) -> list[Piece]:
    """A line's first piece has no separator before it."""
    return [("", pieces[0][1]), *pieces[1:]] if pieces else pieces
