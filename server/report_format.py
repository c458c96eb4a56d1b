"""What the report's pages share: number formats, the speed palette, the table columns.

The Markdown page (server/report.py) and the HTML page (server/report_html.py) show the same
tables and the same space-time diagram, so their wording and colours live here once.
"""

from __future__ import annotations

import datetime as _dt
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


def _where_text(card: Mapping[str, Any], number: int) -> str:
    """Where to look on the diagram for a card's pattern (box `number` there)."""
    where = card.get("where")
    if not where:
        return ""
    return (
        f"(box {number} on the diagram: {clock(where['t0'])}–{clock(where['t1'])}, "
        f"{where['x0']:.0f}–{where['x1']:.0f} m)"
    )
