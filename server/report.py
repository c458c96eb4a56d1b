"""Exports of a game's debriefs: Markdown, a self-contained HTML page, JSON and CSV.

The facilitator keeps these after the workshop and shares them, so each stands alone: the
HTML page carries its charts as inline SVG (no scripts, no external files), and everything
that came from a player (names above all) is escaped. The CSV holds per-driver and per-round
rows whose totals match the JSON, so a spreadsheet and the report tell the same story.

Input: `{"game": store.load_game(...) without rounds, "rounds": [stored round dicts with
"round_no", "scenario", "seed", "rulebook", "metrics", "debrief"]}` (see `gather`).
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Mapping
from typing import Any

from server.report_format import (
    DRIVER_COLUMNS,
    TEAM_ROWS,
    TEXT_RAMP,
    _cars,
    _created,
    _driver_label,
    _fmt,
    _players,
    _where_text,
    clock,
)
from server.report_html import render_html


def gather(store: Any, game_id: int) -> dict[str, Any]:
    """The report's input from the history file: every stored round with its events and its
    input log, so the JSON export holds everything needed to replay the game elsewhere."""
    game = store.load_game(game_id)
    rounds = []
    for summary in game["rounds"]:
        stored = store.load_round(game_id, summary["round_no"])
        stored["names"] = {str(k): v for k, v in stored["names"].items()}
        stored["log"] = [list(entry) for entry in stored["log"]]
        rounds.append(stored)
    info = {k: v for k, v in game.items() if k != "rounds"}
    return {"game": info, "rounds": rounds}


# ---- Markdown --------------------------------------------------------------------------------


def _md_escape(text: Any) -> str:
    """Plain text in a Markdown table or line: no markup, no HTML, no table breaks."""
    out = html.escape(str(text), quote=False)
    for ch in "\\`*_[]|#<>!":
        out = out.replace(ch, "\\" + ch)
    return " ".join(out.split())


def text_diagram(diagram: Mapping[str, Any], width: int = 72) -> list[str]:
    """The space-time diagram in characters: rows are positions, columns time bins."""
    grid = diagram.get("kmh") or []
    if not grid:
        return []
    vmax = float(diagram.get("vmax_kmh") or 1)
    step = max(1, -(-len(grid) // width))
    cols = [grid[i] for i in range(0, len(grid), step)]
    cells = len(cols[0])
    lines = []
    for j in reversed(range(cells)):
        row = []
        for col in cols:
            kmh = col[j]
            if kmh < 0:
                row.append(" ")
            else:
                k = min(len(TEXT_RAMP) - 2, int(kmh / max(vmax, 1) * (len(TEXT_RAMP) - 1)))
                row.append(TEXT_RAMP[k])
        lines.append("|" + "".join(row) + "|")
    return lines


def render_markdown(data: Mapping[str, Any]) -> str:
    game = data["game"]
    out: list[str] = [
        f"# Interlane debrief — game {game.get('id')} ({_md_escape(game.get('code', ''))})",
        "",
        f"Program: {_md_escape(game.get('program', ''))} · host: "
        f"{_md_escape(game.get('host', ''))} · {_created(game)}",
        "",
    ]
    if game.get("players"):
        out += ["Players: " + ", ".join(_md_escape(p) for p in game["players"]), ""]
    rounds = data.get("rounds", [])
    if not rounds:
        out.append("No round of this game was finished.")
        return "\n".join(out) + "\n"
    out += [
        "## Round by round",
        "",
        "| Round | Scenario | " + " | ".join(r[1] for r in TEAM_ROWS) + " |",
    ]
    out.append("|" + "---|" * (2 + len(TEAM_ROWS)))
    for r in rounds:
        team = r["debrief"].get("team", {})
        cells = [_fmt(team.get(k), d) for k, _, d in TEAM_ROWS]
        out.append(f"| {r['round_no']} | {_md_escape(r['scenario'])} | " + " | ".join(cells) + " |")
    out.append("")
    for r in rounds:
        out += _md_round(r)
    return "\n".join(out) + "\n"


def _md_round(r: Mapping[str, Any]) -> list[str]:
    d = r["debrief"]
    out = [
        f"## Round {r['round_no']}: {_md_escape(r['scenario'])} (seed {r['seed']})",
        "",
        "Rulebook: "
        + ", ".join(
            f"{_md_escape(k)}={_md_escape(v)}" for k, v in (r.get("rulebook") or {}).items()
        ),
        "",
    ]
    diagram = d.get("diagram") or {}
    lines = text_diagram(diagram)
    if lines:
        length = d.get("road", {}).get("length", 0)
        out += [
            "### Space-time diagram",
            "",
            f"Position (0–{_fmt(float(length), 0)} m, bottom to top) against time (left to right, "
            f"{clock(d.get('duration_s', 0))}). `@` stopped … `.` fast, blank: no car.",
            "",
            "```",
            *lines,
            "```",
            "",
        ]
    roots = d.get("roots") or []
    if roots:
        out += ["### Waves traced to their roots", ""]
        for root in roots:
            out.append(
                f"- {_md_escape(root['text'])} — reached {_cars(root['reached'])}, "
                f"{_fmt(root.get('delay_vs'), 0)} vehicle-seconds of delay behind it."
            )
        out.append("")
    cards = d.get("cards") or []
    if cards:
        out += ["### Insights", ""]
        for n, c in enumerate(cards, start=1):
            out += [
                f"**{n}. {_md_escape(c['title'])}** ({_md_escape(c['discipline'])})",
                "",
                f"- What happened: {_md_escape(c['pattern'])}"
                + (f" {_md_escape(_where_text(c, n))}" if c.get("where") else ""),
                f"- The idea: {_md_escape(c['idea'])}",
                f"- Question: {_md_escape(c['question'])}",
                "",
            ]
    drivers = _players(d) or list(d.get("drivers", ()))
    if drivers:
        out += ["### Drivers", "", "| Driver | " + " | ".join(h for _, h in DRIVER_COLUMNS) + " |"]
        out.append("|" + "---|" * (1 + len(DRIVER_COLUMNS)))
        for row in drivers:
            cells = [_fmt(row.get(k)) for k, _ in DRIVER_COLUMNS]
            out.append(f"| {_md_escape(_driver_label(row))} | " + " | ".join(cells) + " |")
        out.append("")
    return out


# ---- HTML ------------------------------------------------------------------------------------

# ---- JSON and CSV ----------------------------------------------------------------------------


def render_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


CSV_FIELDS: tuple[str, ...] = (
    "record",
    "round",
    "scenario",
    "car",
    "name",
    "kind",
    "personality",
    "distance_m",
    "mean_kmh",
    "delay_s",
    "crashes",
    "crashes_caused",
    "stand_in_crashes_caused",
    "near_misses",
    "hard_brakes",
    "lane_changes",
    "unsignalled_changes",
    "accel_rms",
    "penalty_m",
    "score",
    "adherence",
    "flow_vph",
)


def csv_rows(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One `round` row per round (team totals), then one `driver` row per car of that round.

    In a round row, distance_m, delay_s, crashes_caused, stand_in_crashes_caused, near_misses,
    hard_brakes, lane_changes and unsignalled_changes are the sums of that round's driver rows
    (when the payload kept every car's row: see docs/debrief.md on the size budget)."""
    rows: list[dict[str, Any]] = []
    for r in data.get("rounds", []):
        d = r["debrief"]
        team = d.get("team", {})
        drivers = list(d.get("drivers", ()))
        rows.append(
            {
                "record": "round",
                "round": r["round_no"],
                "scenario": r["scenario"],
                "distance_m": round(float(team.get("distance_km", 0)) * 1000, 1),
                "mean_kmh": team.get("mean_kmh"),
                "delay_s": team.get("delay_vs"),
                "crashes": team.get("crashes"),
                "crashes_caused": sum(int(x.get("crashes_caused") or 0) for x in drivers),
                "stand_in_crashes_caused": sum(
                    int(x.get("stand_in_crashes_caused") or 0) for x in drivers
                ),
                "near_misses": team.get("near_misses"),
                "hard_brakes": team.get("hard_brakes"),
                "lane_changes": team.get("lane_changes"),
                "unsignalled_changes": team.get("unsignalled_changes"),
                "adherence": team.get("adherence"),
                "flow_vph": team.get("flow_vph"),
            }
        )
        for drv in d.get("drivers", ()):
            row = {k: drv.get(k) for k in CSV_FIELDS if k in drv}
            row.update(record="driver", round=r["round_no"], scenario=r["scenario"])
            rows.append(row)
    return rows


def render_csv(data: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in csv_rows(data):
        writer.writerow({k: _csv_cell(v) for k, v in row.items()})
    return buf.getvalue()


def _csv_cell(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting like a formula gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


RENDERERS = {"md": render_markdown, "html": render_html, "json": render_json, "csv": render_csv}


def render(data: Mapping[str, Any], fmt: str) -> str:
    """The report in one of the formats `interlane report --format` accepts."""
    try:
        renderer = RENDERERS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown report format {fmt!r}; expected one of {sorted(RENDERERS)}"
        ) from None
    return renderer(data)
