"""`interlane history` and `interlane report`: the history file, read back for people.

Both print one clear line and exit non-zero when something is wrong (no such game, a file
that is not an Interlane history), never a traceback.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
from pathlib import Path
from typing import Any

from server.report import gather, render
from server.store import Store, StoreError


def _when(stamp: Any) -> str:
    if not isinstance(stamp, int | float):
        return ""
    return _dt.datetime.fromtimestamp(stamp, _dt.UTC).strftime("%Y-%m-%d %H:%M")


def _printable(text: Any, width: int) -> str:
    """A name as it goes into a terminal table: no control characters, cut to width."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in str(text))
    return clean if len(clean) <= width else clean[: width - 1] + "…"


def print_solo_progress(results: list[dict[str, Any]]) -> None:
    """The solo ladder, rung by rung: attempts, best score and whether it was won."""
    from server.solo import progress

    print("Solo progress (the ladder: interlane solo):")
    for row in progress(results):
        best = row["best"]
        if best is None:
            score = "–"
        elif row["challenge"] == "damper":
            score = f"best cut {best:.0f}%"
        else:
            score = f"best {best:.0f}/100"
        state = "won" if row["won"] else ("not yet won" if row["attempts"] else "not tried")
        if row["challenge"] == "warm-up" and row["attempts"]:
            state = "done"
        tries = f"{row['attempts']} attempt" + ("" if row["attempts"] == 1 else "s")
        print(
            f"  {_printable(row['title'], 28):28}  {_printable(row['scenario'], 14):14}  "
            f"{tries:>11}  {score:14}  {state}"
        )


def quiet_broken_pipe(run: Any) -> Any:
    """`interlane history | head`: a reader that stops early is not an error (no traceback).

    As the Python documentation advises for SIGPIPE, stdout is pointed at devnull so that the
    interpreter's final flush does not fail again."""

    def wrapped(args: Any) -> int:
        try:
            code = int(run(args))
            sys.stdout.flush()
            return code
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
            return 0

    wrapped.__doc__ = run.__doc__
    return wrapped


def missing_db(command: str, db: str | None) -> bool:
    """True (and one sentence printed) when --db names a file that is not there: reading a
    history must never create a folder and an empty database at a mistyped path."""
    if db is None or Path(db).is_file():
        return False
    print(
        f"interlane {command}: there is no history file at {db} "
        "(check the path; without --db the default history is used)",
        file=sys.stderr,
    )
    return True


@quiet_broken_pipe
def run_history(args: Any) -> int:
    if missing_db("history", getattr(args, "db", None)):
        return 1
    try:
        with Store(getattr(args, "db", None)) as store:
            games = store.list_games()
            solo = store.solo_results()
            path = store.path
    except StoreError as exc:
        print(f"interlane history: {exc}", file=sys.stderr)
        return 1
    if solo:
        print_solo_progress(solo)
        print()
    if not games:
        print(f"No games stored in {path} yet.")
        return 0
    print(f"Games in {path}:")
    print(f"{'id':>4}  {'code':5}  {'started (UTC)':16}  {'program':12}  {'rounds':>6}  players")
    for g in games:
        players = ", ".join(_printable(p, 20) for p in g["players"]) or "–"
        print(
            f"{g['id']:>4}  {_printable(g['code'], 5):5}  {_when(g['created']):16}  "
            f"{_printable(g['program'], 12):12}  {g['rounds']:>6}  {players}"
        )
    print("Export one with: interlane report ID --format md|html|json|csv [-o FILE]")
    return 0


def _complete(store: Store, game_id: int, data: dict[str, Any]) -> None:
    """Rebuild a round's debrief from its log when the stored one is incomplete (a server
    without the analysis, or an analysis that failed)."""
    from server.debrief import analyse
    from server.played import RoundInputs, RoundOutcome
    from server.replays import scenario_from_stored

    previous: list[dict[str, Any]] = []
    for r in data["rounds"]:
        if "diagram" not in r["debrief"]:
            stored = store.load_round(game_id, r["round_no"])
            inputs = RoundInputs(
                scenario_from_stored(stored),  # by name, or from its stored document
                stored["seed"],
                stored["rulebook"],
                stored["bots"],
                stored["mix"],
                stored["log"],
                ticks=stored["ticks"],
            )
            outcome = RoundOutcome(adherence={}, names=stored["names"])
            debrief = analyse(inputs, outcome, previous, round_no=r["round_no"])
            r["debrief"] = {**r["debrief"], **debrief}
        previous.append(r["debrief"])


@quiet_broken_pipe
def run_report(args: Any) -> int:
    fmt = getattr(args, "format", "md") or "md"
    if missing_db("report", getattr(args, "db", None)):
        return 1
    try:
        with Store(getattr(args, "db", None)) as store:
            game_id = store.find_game(args.game)
            data = gather(store, game_id)
            _complete(store, game_id, data)
    except StoreError as exc:
        print(f"interlane report: {exc}", file=sys.stderr)
        return 1
    text = render(data, fmt)
    output = getattr(args, "output", None)
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(f"interlane report: cannot write {output}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"Wrote the {fmt} report of game {game_id} to {output}")
    else:
        sys.stdout.write(text)
    return 0
