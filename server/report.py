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
import datetime as _dt
import html
import io
import json
from collections.abc import Mapping
from typing import Any

# Speed colour scale of the space-time diagram, slowest first: (upper bound as a share of
# vmax, colour). Jams in red, free flow in green, the way traffic maps are read.
PALETTE: tuple[tuple[float, str], ...] = (
    (0.15, "#b2182b"),
    (0.35, "#ef6548"),
    (0.55, "#fdae61"),
    (0.75, "#fee08b"),
    (0.90, "#a6d96a"),
    (9.99, "#1a9850"),
)
EMPTY_COLOUR = "#f4f4f4"
TEXT_RAMP = "@%#*+=-:. "  # slowest to fastest, for the Markdown diagram


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


def clock(t: float) -> str:
    """Seconds as m:ss, the way the round clock showed it."""
    t = max(0, int(round(t)))
    return f"{t // 60}:{t % 60:02d}"


def colour(kmh: float, vmax: float) -> str:
    if kmh < 0:
        return EMPTY_COLOUR
    share = kmh / max(vmax, 1.0)
    for bound, col in PALETTE:
        if share <= bound:
            return col
    return PALETTE[-1][1]


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _created(game: Mapping[str, Any]) -> str:
    stamp = game.get("created")
    if not isinstance(stamp, int | float):
        return ""
    return _dt.datetime.fromtimestamp(stamp, _dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# short headers (they wrap between words): the round table fits a 1280 px screen
TEAM_ROWS: tuple[tuple[str, str, int], ...] = (
    ("flow_vph", "Flow veh/h", 0),
    ("mean_kmh", "Mean km/h", 1),
    ("speed_sd_kmh", "Speed sd km/h", 1),
    ("delay_vs", "Delay veh·s", 0),
    ("delay_per_car_s", "Delay/car s", 1),
    ("crashes", "Crashes", 0),
    ("near_misses", "Near misses", 0),
    ("hard_brakes", "Hard brakes", 0),
    ("lane_changes", "Lane changes", 0),
    ("unsignalled_changes", "Unsignalled", 0),
    ("adherence", "Adherence /100", 0),
)
# players' paths on the diagram: dark, distinct colours that do not read as a speed
PATH_COLOURS = ("#000000", "#5e3c99", "#0571b0", "#7b3294", "#2d004b", "#01665e")
DRIVER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("distance_m", "Distance (m)"),
    ("mean_kmh", "Mean km/h"),
    ("delay_s", "Delay (s)"),
    ("crashes_caused", "Crashes caused"),
    ("near_misses", "Near misses"),
    ("hard_brakes", "Hard brakes"),
    ("unsignalled_changes", "Unsignalled"),
    ("accel_rms", "Accel RMS"),
    ("adherence", "Adherence"),
    ("score", "Score (m)"),
)


def _cars(n: Any) -> str:
    """'1 car', '3 cars'."""
    return f"{n} car" if n == 1 else f"{n} cars"


def _driver_label(d: Mapping[str, Any]) -> str:
    if d.get("name"):
        return str(d["name"])
    return f"bot {d.get('car')} ({d.get('personality') or 'bot'})"


def _players(debrief: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [d for d in debrief.get("drivers", ()) if d.get("kind") == "player"]


# ---- Markdown --------------------------------------------------------------------------------


def _where_text(card: Mapping[str, Any], number: int) -> str:
    """Where to look on the diagram for a card's pattern (box `number` there)."""
    where = card.get("where")
    if not where:
        return ""
    return (
        f"(box {number} on the diagram: {clock(where['t0'])}–{clock(where['t1'])}, "
        f"{where['x0']:.0f}–{where['x1']:.0f} m)"
    )


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

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
.wide{overflow-x:auto}table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}td,th{border:1px solid #ccc;padding:.2em .4em;
text-align:right}th{font-weight:600;font-size:.85em;vertical-align:bottom}th:first-child,td:first-child{text-align:left}.card{border-left:4px solid #4575b4;
padding:.3em 1em;margin:1em 0;background:#f7f9fc}.card h4{margin:.3em 0}.muted{color:#666}
svg{display:block;margin:.5em 0}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def svg_diagram(d: Mapping[str, Any], width: int = 900, height: int = 360) -> str:
    """The space-time diagram as inline SVG: time left to right, position bottom to top."""
    diagram = d.get("diagram") or {}
    grid = diagram.get("kmh") or []
    if not grid:
        return ""
    times, cells = len(grid), len(grid[0])
    vmax = float(diagram.get("vmax_kmh") or 1)
    left, bottom = 50, 30
    w, h = width - left - 10, height - bottom - 10
    cw, ch = w / times, h / cells
    parts = [
        f'<svg class="diagram" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="space-time diagram">',
        f'<rect x="{left}" y="10" width="{w:.1f}" height="{h:.1f}" fill="{EMPTY_COLOUR}"/>',
    ]
    # one path per colour, each a run of equal-coloured cells along time drawn as one box:
    # a tenth of the bytes of a rectangle per cell, the same picture
    runs: dict[str, list[str]] = {}
    for j in range(cells):
        y = 10 + h - (j + 1) * ch
        i = 0
        while i < times:
            kmh = grid[i][j]
            if kmh < 0:
                i += 1
                continue
            fill = colour(kmh, vmax)
            start = i
            while i < times and grid[i][j] >= 0 and colour(grid[i][j], vmax) == fill:
                i += 1
            x0, x1 = left + start * cw, left + i * cw + 0.3
            runs.setdefault(fill, []).append(
                f"M{x0:.1f} {y:.1f}H{x1:.1f}V{y + ch + 0.3:.1f}H{x0:.1f}z"
            )
    for fill, boxes in runs.items():
        parts.append(f'<path fill="{fill}" d="{"".join(boxes)}"/>')
    length = float(d.get("road", {}).get("length") or cells * diagram.get("x_bin_m", 1))
    duration = times * float(diagram.get("t_bin_s", 1))
    for n, path in enumerate(d.get("paths") or []):
        parts.append(_svg_path(path, left, h, cw, length, PATH_COLOURS[n % len(PATH_COLOURS)]))

    def px(t: float) -> float:
        return left + min(max(t / max(duration, 1e-9), 0.0), 1.0) * w

    def py(x: float) -> float:
        return 10 + h - min(max(x / max(length, 1e-9), 0.0), 1.0) * h

    for number, card in enumerate(d.get("cards") or [], start=1):
        where = card.get("where")
        if not where:
            continue
        x0, x1 = float(where["x0"]), float(where["x1"])
        spans = [(x0, x1)] if x0 <= x1 else [(x0, length), (0.0, x1)]
        t0, t1 = px(float(where["t0"])), max(px(float(where["t1"])), px(float(where["t0"])) + 3)
        for lo, hi in spans:
            parts.append(
                f'<rect x="{t0:.1f}" y="{py(hi):.1f}" width="{t1 - t0:.1f}" '
                f'height="{max(py(lo) - py(hi), 3):.1f}" fill="none" stroke="#2166ac" '
                f'stroke-width="1.5" stroke-dasharray="4 2"/>'
            )
        parts.append(
            f'<text x="{t1 + 2:.1f}" y="{py(spans[0][1]) + 10:.1f}" font-size="11" '
            f'fill="#2166ac">{number}</text>'
        )
    for root in d.get("roots") or []:
        cx, cy = px(float(root["t"])), py(float(root["x"]))
        parts.append(
            f'<path d="M{cx - 4:.1f},{cy - 4:.1f}L{cx + 4:.1f},{cy + 4:.1f}M{cx - 4:.1f},'
            f'{cy + 4:.1f}L{cx + 4:.1f},{cy - 4:.1f}" stroke="#000" stroke-width="2">'
            f"<title>{_e(root.get('text', ''))}</title></path>"
        )
    for k in range(5):
        t = duration * k / 4
        parts.append(
            f'<text x="{left + w * k / 4:.0f}" y="{height - 10}" font-size="11" '
            f'text-anchor="middle">{clock(t)}</text>'
        )
        parts.append(
            f'<text x="{left - 4}" y="{10 + h - h * k / 4 + 4:.0f}" font-size="11" '
            f'text-anchor="end">{length * k / 4:.0f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_path(
    path: Mapping[str, Any],
    left: float,
    h: float,
    cw: float,
    length: float,
    stroke: str = PATH_COLOURS[0],
) -> str:
    """A player's path as polylines, broken where the car wraps past the ring's end, with the
    player's name written at the end of its longest piece."""
    segments: list[list[str]] = [[]]
    prev = None
    for i, x in enumerate(path.get("x") or []):
        if x < 0 or (prev is not None and abs(x - prev) > length / 2):
            segments.append([])
        if x >= 0:
            px = left + (i + 0.5) * cw
            py = 10 + h - x / max(length, 1) * h
            segments[-1].append(f"{px:.1f},{py:.1f}")
        prev = x if x >= 0 else None
    name = _e(path.get("name") or path.get("car"))
    title = f"<title>{name}</title>"
    pieces = [s for s in segments if len(s) > 1]
    lines = [
        f'<polyline points="{" ".join(s)}" fill="none" stroke="{stroke}" stroke-width="1.5">'
        f"{title}</polyline>"
        for s in pieces
    ]
    if pieces:
        longest = max(pieces, key=len)
        mid = longest[len(longest) // 2].split(",")
        lines.append(
            f'<text x="{float(mid[0]) + 3:.1f}" y="{float(mid[1]) - 3:.1f}" font-size="11" '
            f'fill="{stroke}" stroke="#fff" stroke-width="3" paint-order="stroke">{name}</text>'
        )
    return "".join(lines)


def svg_series(d: Mapping[str, Any], width: int = 900, height: int = 160) -> str:
    """Mean speed (line) and stopped cars (bars) over time."""
    series = d.get("series") or {}
    speeds = series.get("mean_kmh") or []
    if not speeds:
        return ""
    stopped = series.get("stopped") or [0] * len(speeds)
    top = max(max(speeds), 1.0)
    stop_top = max(max(stopped), 1.0)
    left, w, h = 50, width - 60, height - 30
    step = w / len(speeds)
    points = " ".join(
        f"{left + (i + 0.5) * step:.1f},{10 + h - v / top * h:.1f}" for i, v in enumerate(speeds)
    )
    bars = "".join(
        f'<rect x="{left + i * step:.1f}" y="{10 + h - s / stop_top * h * 0.5:.1f}" '
        f'width="{step:.1f}" height="{s / stop_top * h * 0.5:.1f}" fill="#d6604d" opacity=".5"/>'
        for i, s in enumerate(stopped)
        if s > 0
    )
    return (
        f'<svg class="series" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="mean speed over time">'
        f'<rect x="{left}" y="10" width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>{bars}'
        f'<polyline points="{points}" fill="none" stroke="#2166ac" stroke-width="2"/>'
        f'<text x="{left - 4}" y="18" font-size="11" text-anchor="end">{top:.0f}</text>'
        f'<text x="{left - 4}" y="{10 + h}" font-size="11" text-anchor="end">0</text></svg>'
    )


def render_html(data: Mapping[str, Any]) -> str:
    game = data["game"]
    rounds = data.get("rounds", [])
    title = f"Interlane debrief — game {game.get('id')} ({game.get('code', '')})"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="muted">Program {_e(game.get("program", ""))} · host '
        f"{_e(game.get('host', ''))} · {_e(_created(game))}</p>",
    ]
    if game.get("players"):
        out.append("<p>Players: " + ", ".join(_e(p) for p in game["players"]) + "</p>")
    if not rounds:
        out.append("<p>No round of this game was finished.</p>")
    else:
        out.append('<h2>Round by round</h2><div class="wide"><table><tr><th>Round</th>')
        out.append("<th>Scenario</th>")
        out.append("".join(f"<th>{_e(label)}</th>" for _, label, _ in TEAM_ROWS) + "</tr>")
        for r in rounds:
            team = r["debrief"].get("team", {})
            out.append(f"<tr><td>{_e(r['round_no'])}</td><td>{_e(r['scenario'])}</td>")
            out.append("".join(f"<td>{_e(_fmt(team.get(k), dg))}</td>" for k, _, dg in TEAM_ROWS))
            out.append("</tr>")
        out.append("</table></div>")
    for r in rounds:
        out += _html_round(r)
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _html_round(r: Mapping[str, Any]) -> list[str]:
    d = r["debrief"]
    rulebook = ", ".join(f"{k}={v}" for k, v in (r.get("rulebook") or {}).items())
    out = [
        f'<section id="round-{_e(r["round_no"])}">',
        f"<h2>Round {_e(r['round_no'])}: {_e(r['scenario'])} (seed {_e(r['seed'])})</h2>",
        f'<p class="muted">Rulebook: {_e(rulebook)}</p>',
        "<h3>Space-time diagram</h3>",
        '<p class="muted">Position along the ring (up) against time (right), coloured by '
        "speed: red stopped, green free. Dark lines, each labelled with its name: the players' "
        "paths; ✕: wave roots; numbered boxes: where each insight card's pattern is.</p>",
        svg_diagram(d),
        "<h3>Behaviour over time</h3>",
        '<p class="muted">Blue: mean speed (km/h, axis from 0 to the top figure shown). Red '
        "bars: stopped cars.</p>",
        svg_series(d),
    ]
    roots = d.get("roots") or []
    if roots:
        out.append("<h3>Waves traced to their roots</h3><ul>")
        for root in roots:
            out.append(
                f"<li>{_e(root['text'])} — reached {_e(_cars(root['reached']))}, "
                f"{_e(_fmt(root.get('delay_vs'), 0))} vehicle-seconds of delay behind it.</li>"
            )
        out.append("</ul>")
    cards = d.get("cards") or []
    if cards:
        out.append("<h3>Insights</h3>")
        for n, c in enumerate(cards, start=1):
            out.append(
                f'<div class="card"><h4>{n}. {_e(c["title"])} <span class="muted">'
                f"({_e(c['discipline'])})</span></h4><p><b>What happened:</b> {_e(c['pattern'])}"
                f" {_e(_where_text(c, n))}"
                f"</p><p><b>The idea:</b> {_e(c['idea'])}</p><p><b>Question:</b> "
                f"{_e(c['question'])}</p></div>"
            )
    drivers = _players(d) or list(d.get("drivers", ()))
    if drivers:
        out.append('<h3>Drivers</h3><div class="wide"><table><tr><th>Driver</th>')
        out.append("".join(f"<th>{_e(h)}</th>" for _, h in DRIVER_COLUMNS) + "</tr>")
        for row in drivers:
            out.append(f"<tr><td>{_e(_driver_label(row))}</td>")
            out.append("".join(f"<td>{_e(_fmt(row.get(k)))}</td>" for k, _ in DRIVER_COLUMNS))
            out.append("</tr>")
        out.append("</table></div>")
    out.append("</section>")
    return out


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
