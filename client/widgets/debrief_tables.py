"""The debrief's tables: round by round, the wave roots, you against the team, the program.

The debrief screen (client/screens/debrief.py) composes empty DataTables and fills them from
the `debrief` message (docs/debrief.md) with these functions each time a payload arrives; they
only add columns and rows (the screen clears each table first), so what a table shows is a pure
function of the payload. Every string from the server goes in as plain Text.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from client.screens.roomview import fmt_clock, plain
from client.widgets.debrief_format import CAUSE_WORDS, agreed, kind_word, number, numbers, plural

# key in drivers[], label, format
PERSONAL: tuple[tuple[str, str, str], ...] = (
    ("distance_m", "Distance (km)", "km"),
    ("mean_kmh", "Mean speed (km/h)", "0"),
    ("delay_s", "Delay (s)", "0"),
    ("crashes", "Crashes involved", "0"),
    ("crashes_caused", "Crashes caused", "0"),
    ("near_misses", "Near misses", "0"),
    ("hard_brakes", "Hard brakes", "0"),
    ("lane_changes", "Lane changes", "0"),
    ("unsignalled_changes", "Unsignalled changes", "0"),
    ("accel_rms", "Smoothness: accel RMS (m/s², lower is smoother)", "2"),
    ("adherence", "Adherence (0–100)", "0"),
    ("score", "Score (m)", "0"),
)

ROUND_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("flow_vph", "Flow veh/h", "0"),
    ("mean_kmh", "Mean km/h", "0"),
    ("delay_per_car_s", "Delay/car s", "0"),
    ("crashes", "Crashes", "0"),
    ("near_misses", "Near misses", "0"),
    ("hard_brakes", "Hard brakes", "0"),
    ("unsignalled_changes", "Unsignalled", "0"),
    ("adherence", "Adherence", "0"),
)


def fill_rounds(table: DataTable[Any], payload: dict[str, Any]) -> None:
    """Round by round (the payload's `rounds`), the round on screen marked ▶."""
    table.add_column("Round", key="round")
    table.add_column("Scenario", key="scenario")
    for key, label, _ in ROUND_COLUMNS:
        table.add_column(label, key=key)
    solo = isinstance(payload.get("solo"), dict)  # one driver agreed nothing with anyone
    table.add_column("Rules in force" if solo else "Agreed rules", key="rules")
    current = payload.get("round")
    for i, row in enumerate(payload.get("rounds") or []):
        if not isinstance(row, dict):
            continue
        mark = "▶ " if row.get("round") == current else "  "
        table.add_row(
            Text(f"{mark}{number(row.get('round'))}"),
            Text(plain(row.get("scenario"), 30)),
            *(Text(number(row.get(key), fmt)) for key, _, fmt in ROUND_COLUMNS),
            Text(
                agreed(row.get("rulebook")).replace("none agreed", "none")
                if solo
                else agreed(row.get("rulebook"))
            ),
            key=str(i),
        )


def fill_roots(table: DataTable[Any], roots: list[dict[str, Any]]) -> Text:
    """The traced wave roots, one row each (row key: the root's index); returns the roots'
    sentences for under the table."""
    for label in ("When", "Where", "Who", "What", "Reached", "Amplif.", "Delay veh·s"):
        table.add_column(label)
    table.add_column("Cost vs steady veh·s")
    lines = Text()
    for i, root in enumerate(roots):
        counterfactual = root.get("counterfactual")
        cost = counterfactual.get("cost_vs") if isinstance(counterfactual, dict) else None
        if root.get("kind") == "incident":  # an incident is nobody's driving
            who = CAUSE_WORDS.get(str(root.get("cause")), "the road")
        elif isinstance(root.get("name"), str):
            who = root["name"]
        else:
            who = f"car {root.get('car')}"
        amp = root.get("amplification")
        table.add_row(
            Text(fmt_clock(root.get("t"))),
            Text(number(root.get("x"), "km") + " km"),
            Text(plain(who, 40)),
            Text(kind_word(root)),
            Text(plural(root.get("reached"), "car")),
            Text(f"×{number(amp, '2')}" if isinstance(amp, int | float) else "–"),
            Text(number(root.get("delay_vs"))),
            Text(number(cost) if cost is not None else "not replayed"),
            key=str(i),
        )
        if root.get("text"):
            lines.append("• ")
            lines.append(plain(root.get("text"), 300))
            lines.append("\n")
    if not roots:
        lines = Text(
            "No braking wave was traced to a single root this round: no brake, cut-in, "
            "crash or incident made the cars behind brake in turn.",
            style="dim",
        )
    return lines


def fill_you(table: DataTable[Any], payload: dict[str, Any], car: int | None) -> None:
    """The player's own figures beside the team's average."""
    table.add_column("Figure")
    table.add_column("You")
    table.add_column("Team average")
    drivers = [d for d in payload.get("drivers") or [] if isinstance(d, dict)]
    mine = next((d for d in drivers if d.get("car") == car and car is not None), None)
    for key, label, fmt in PERSONAL:
        values = numbers([d.get(key) for d in drivers])
        average = sum(values) / len(values) if values else None
        table.add_row(
            Text(label),
            Text(number(mine.get(key), fmt) if mine else "–"),
            Text(number(average, fmt)),
        )


def fill_program_rounds(table: DataTable[Any], rows: list[dict[str, Any]]) -> None:
    """The end-of-program debrief's rounds side by side (docs/debrief.md `program`)."""
    table.add_column("Round", key="round")
    for label in ("Delay/car s", "Flow veh/h", "Hard brakes", "Crashes", "Adherence"):
        table.add_column(label)
    table.add_column("Agreed rules", key="rules")
    for i, row in enumerate(rows):
        table.add_row(
            Text(number(row.get("round"))),
            *(
                Text(number(row.get(k)))
                for k in ("delay_per_car_s", "flow_vph", "hard_brakes", "crashes", "adherence")
            ),
            Text(agreed(row.get("rulebook"))),
            key=str(i),
        )


def program_changes(program: dict[str, Any]) -> Text:
    """What changed when the rules changed, through the program."""
    changes = Text("When the rules changed", style="bold")
    found = [c for c in program.get("changes") or [] if isinstance(c, dict)]
    for change in found:
        changes.append("\n• ")
        changes.append(plain(change.get("text"), 600))
    if not found:
        changes.append("\nThe rules stayed the same through the program.", style="dim")
    return changes
