"""The report as one self-contained HTML page: tables, insight cards and inline SVG charts.

Split from server/report.py (which dispatches the formats and keeps Markdown, JSON and CSV)
because the page's CSS and SVG drawing are most of the report's code. No scripts and no
external files; everything that came from a player is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from server.report_format import (
    DRIVER_COLUMNS,
    EMPTY_COLOUR,
    PATH_COLOURS,
    TEAM_ROWS,
    _cars,
    _created,
    _driver_label,
    _fmt,
    _players,
    _where_text,
    clock,
    colour,
)

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
