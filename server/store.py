"""SQLite persistence: games, players, rounds, their input logs and events.

One file (in the user's data directory unless told otherwise) keeps the server's history so
that a restarted server lists its earlier games and `interlane report` can rebuild any debrief.
A round is written in one transaction, before its debrief is shown: a server killed at any
moment loses at most the round in progress. The file is marked with an application id and a
schema version, so a foreign or corrupt file is refused with a sentence instead of a traceback,
and an older file is migrated forward step by step.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import msgpack
import platformdirs

from server.played import RoundInputs, RoundOutcome
from server.store_schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION, statements

DB_FILENAME = "interlane.sqlite3"


class StoreError(Exception):
    """The history file cannot be used; the message is one sentence for the person at the CLI."""


def default_path() -> Path:
    """Where the history lives when nobody chose: the platform's per-user data directory."""
    return Path(platformdirs.user_data_dir("interlane", appauthor=False)) / DB_FILENAME


def encode_log(log: Sequence[Any]) -> bytes:
    """The world's input log as a compact blob (msgpack, then zlib): logs are mostly repetition."""
    packed: bytes = msgpack.packb([list(entry) for entry in log], use_bin_type=True)
    return zlib.compress(packed, 6)


def decode_log(blob: bytes) -> list[tuple[Any, ...]]:
    """The inverse of encode_log: a list of (tick, op, args) tuples."""
    entries = msgpack.unpackb(zlib.decompress(blob), raw=False, strict_map_key=False)
    return [tuple(entry) for entry in entries]


def _json(value: Any) -> str:
    """JSON for the text columns; non-finite numbers would not survive, so they are refused."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if hasattr(value, "__dataclass_fields__"):
        return {k: getattr(value, k) for k in value.__dataclass_fields__}
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


def _event_row(round_id: int, event: Any) -> tuple[Any, ...]:
    """An Event (dataclass) or a mapping with the same fields, as a row of the events table."""
    get = event.get if isinstance(event, Mapping) else lambda k: getattr(event, k, None)

    def num(value: Any) -> float | None:
        if value is None or isinstance(value, bool):
            return None if value is None else float(value)
        value = float(value)
        return value if math.isfinite(value) else None

    return (
        round_id,
        int(get("tick") or 0),
        str(get("kind")),
        get("car"),
        num(get("x")),
        num(get("lane")),
        get("other"),
        num(get("value")),
        get("target"),
    )


class Store:
    """The history file. Safe to share between threads: every call holds one lock."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the folder for {self.path}: {exc.strerror}") from None
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open {self.path}: {exc}") from None
        self._db.row_factory = sqlite3.Row
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise StoreError(
                f"{self.path} is not a readable Interlane history file ({exc}); "
                "move it aside or choose another file with --db"
            ) from None
        except StoreError:
            self._db.close()
            raise

    # ---- opening and migrations -------------------------------------------------------------

    def _open(self) -> None:
        db = self._db
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app_id != APPLICATION_ID and (tables or version):
            raise StoreError(
                f"{self.path} is an SQLite database, but not an Interlane history file; "
                "choose another file with --db"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer Interlane (schema {version}, this one "
                f"knows {SCHEMA_VERSION}); upgrade Interlane to read it"
            )
        if tables:
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                lines = [ln for ln in str(check).splitlines() if not ln.startswith("***")]
                first = (lines[0] if lines else str(check))[:120]
                raise StoreError(
                    f"{self.path} is damaged ({first}); restore it from a copy or choose "
                    "another file with --db"
                )
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path} cannot be opened for writing (journal mode {mode})")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA foreign_keys=ON")
        self._migrate(version)

    def _migrate(self, version: int) -> None:
        """Apply each missing migration in its own transaction, then stamp the new version."""
        for number in range(version, SCHEMA_VERSION):
            with self._db:
                self._db.execute("BEGIN")
                for statement in statements(MIGRATIONS[number]):
                    self._db.execute(statement)
                self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                self._db.execute(f"PRAGMA user_version = {number + 1}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- writing ----------------------------------------------------------------------------

    def create_game(self, code: str, program_name: str, host_name: str) -> int:
        """A new game (a room's run of a program); returns its id, used by every later call."""
        try:
            with self._lock, self._db:
                cur = self._db.execute(
                    "INSERT INTO games (code, program, host, created) VALUES (?, ?, ?, ?)",
                    (str(code), str(program_name), str(host_name), time.time()),
                )
                return int(cur.lastrowid or 0)
        except sqlite3.Error as exc:  # a full disk, a file made read-only…
            raise StoreError(f"cannot start a game in {self.path.name}: {exc}") from None

    def save_round(
        self,
        game_id: int,
        round_no: int,
        inputs: RoundInputs,
        outcome: RoundOutcome,
        debrief: Mapping[str, Any],
    ) -> int:
        """Commit a finished round in one transaction and return its id.

        The inputs are stored whole (scenario name and, when it is not built in, its document,
        so that a process that never registered that file can replay the round), with the
        outcome's metrics, events and drivers. Without `outcome.names`, the names in the
        debrief's driver rows are used; without `inputs.ticks`, the metrics' `ticks`, so that
        a replay knows where the round ended even if its last ticks had no inputs.
        """
        names = outcome.names
        if names is None:
            names = {
                int(d["car"]): str(d["name"])
                for d in debrief.get("drivers", ())
                if d.get("name") and d.get("kind") == "player"
            }
        metrics = outcome.metrics or {}
        ticks = inputs.ticks
        if ticks is None:
            ticks = int(metrics.get("ticks", 0) or 0)
        rulebook, mix, doc = inputs.rulebook, inputs.mix, inputs.scenario_doc
        row = (
            game_id,
            int(round_no),
            inputs.name,
            int(inputs.seed),
            _json(dict(rulebook) if rulebook is not None else None),
            None if inputs.bots is None else int(inputs.bots),
            None if mix is None else _json(dict(mix)),
            encode_log(inputs.log),
            int(ticks),
            _json(metrics),
            _json(debrief),
            time.time(),
            None if doc is None else _json(dict(doc)),
        )
        with self._lock:
            try:
                with self._db:
                    self._db.execute("BEGIN IMMEDIATE")
                    cur = self._db.execute(
                        "INSERT INTO rounds (game_id, round_no, scenario, seed, rulebook, bots,"
                        " mix, log, ticks, metrics, debrief, created, scenario_doc)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        row,
                    )
                    round_id = int(cur.lastrowid or 0)
                    self._db.executemany(
                        "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (_event_row(round_id, e) for e in outcome.events),
                    )
                    for car, name in names.items():
                        self._db.execute(
                            "INSERT OR IGNORE INTO players (game_id, name) VALUES (?, ?)",
                            (game_id, name),
                        )
                        pid = self._db.execute(
                            "SELECT id FROM players WHERE game_id = ? AND name = ?",
                            (game_id, name),
                        ).fetchone()[0]
                        self._db.execute(
                            "INSERT INTO round_drivers VALUES (?, ?, ?)", (round_id, pid, int(car))
                        )
            except sqlite3.IntegrityError as exc:
                raise StoreError(f"cannot save round {round_no} of game {game_id}: {exc}") from None
            except sqlite3.Error as exc:  # a full disk, a file made read-only…: the transaction
                raise StoreError(str(exc)) from None  # was rolled back, so the next one may try
        return round_id

    # ---- reading ----------------------------------------------------------------------------

    def list_games(self) -> list[dict[str, Any]]:
        """Every game, newest first, with its round count and player names."""
        with self._lock:
            games = self._db.execute(
                "SELECT g.id, g.code, g.program, g.host, g.created,"
                " (SELECT count(*) FROM rounds r WHERE r.game_id = g.id) AS rounds"
                " FROM games g ORDER BY g.id DESC"
            ).fetchall()
            result = []
            for g in games:
                players = [
                    r[0]
                    for r in self._db.execute(
                        "SELECT name FROM players WHERE game_id = ? ORDER BY id", (g["id"],)
                    )
                ]
                result.append({**dict(g), "players": players})
        return result

    def find_game(self, ref: str | int) -> int:
        """A game id from what a person typed: its number or its room code (the latest game)."""
        with self._lock:
            text = str(ref).strip()
            if text.isdigit():
                row = self._db.execute("SELECT id FROM games WHERE id = ?", (int(text),)).fetchone()
            else:
                row = self._db.execute(
                    "SELECT id FROM games WHERE upper(code) = upper(?) ORDER BY id DESC LIMIT 1",
                    (text,),
                ).fetchone()
        if row is None:
            raise StoreError(f"no game {text!r} in {self.path}; `interlane history` lists them")
        return int(row[0])

    def load_game(self, game_id: int) -> dict[str, Any]:
        """A game with the summary of each stored round (its team figures), for history views."""
        with self._lock:
            game = self._db.execute(
                "SELECT id, code, program, host, created FROM games WHERE id = ?", (game_id,)
            ).fetchone()
            if game is None:
                raise StoreError(f"no game {game_id} in {self.path}")
            rounds = self._db.execute(
                "SELECT round_no, scenario, seed, rulebook, ticks, metrics, created FROM rounds"
                " WHERE game_id = ? ORDER BY round_no",
                (game_id,),
            ).fetchall()
            players = [
                r[0]
                for r in self._db.execute(
                    "SELECT name FROM players WHERE game_id = ? ORDER BY id", (game_id,)
                )
            ]
        return {
            **dict(game),
            "players": players,
            "rounds": [
                {
                    "round_no": r["round_no"],
                    "scenario": r["scenario"],
                    "seed": r["seed"],
                    "rulebook": json.loads(r["rulebook"]),
                    "ticks": r["ticks"],
                    "metrics": json.loads(r["metrics"]),
                    "created": r["created"],
                }
                for r in rounds
            ],
        }

    def load_round(self, game_id: int, round_no: int) -> dict[str, Any]:
        """Everything stored about one round: enough to replay it and to rebuild its report."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM rounds WHERE game_id = ? AND round_no = ?", (game_id, round_no)
            ).fetchone()
            if row is None:
                raise StoreError(f"game {game_id} has no round {round_no} in {self.path}")
            events = [
                dict(e)
                for e in self._db.execute(
                    "SELECT tick, kind, car, x, lane, other, value, target FROM events"
                    " WHERE round_id = ? ORDER BY rowid",
                    (row["id"],),
                )
            ]
            names = {
                int(r[0]): r[1]
                for r in self._db.execute(
                    "SELECT d.car, p.name FROM round_drivers d JOIN players p ON p.id = d.player_id"
                    " WHERE d.round_id = ?",
                    (row["id"],),
                )
            }
        try:
            log = decode_log(row["log"])
        except (zlib.error, ValueError, msgpack.UnpackException) as exc:
            raise StoreError(f"the input log of round {round_no} is damaged ({exc})") from None
        try:
            doc = None if row["scenario_doc"] is None else json.loads(row["scenario_doc"])
        except (TypeError, ValueError) as exc:
            raise StoreError(f"the scenario of round {round_no} is damaged ({exc})") from None
        return {
            "game_id": game_id,
            "round_no": row["round_no"],
            "scenario": row["scenario"],
            "scenario_doc": doc,  # None: a built-in scenario, or a round stored before schema 2
            "seed": row["seed"],
            "rulebook": json.loads(row["rulebook"]),
            "bots": row["bots"],
            "mix": json.loads(row["mix"]) if row["mix"] is not None else None,
            "log": log,
            "ticks": row["ticks"],
            "metrics": json.loads(row["metrics"]),
            "debrief": json.loads(row["debrief"]),
            "events": events,
            "names": names,
            "created": row["created"],
        }

    # ---- solo progress ------------------------------------------------------------------------

    def save_solo_result(
        self,
        game_id: int,
        round_no: int,
        player: str,
        challenge: str,
        scenario: str,
        score: float | None,
        won: bool,
        figures: Mapping[str, Any],
    ) -> None:
        """Keep one solo round's result (a second save of the same round replaces the first)."""
        value = None if score is None or not math.isfinite(float(score)) else float(score)
        row = (game_id, int(round_no), str(player), str(challenge), str(scenario), value)
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO solo_results (game_id, round_no, player, challenge,"
                " scenario, score, won, figures, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, int(bool(won)), _json(dict(figures)), time.time()),
            )

    def solo_results(self, scenario: str | None = None) -> list[dict[str, Any]]:
        """Solo results, oldest first; only one scenario's when given (like with like)."""
        query = (
            "SELECT game_id, round_no, player, challenge, scenario, score, won, figures, created"
            " FROM solo_results"
        )
        args: tuple[Any, ...] = ()
        if scenario is not None:
            query += " WHERE scenario = ?"
            args = (str(scenario),)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created, id", args).fetchall()
        return [
            {**dict(r), "won": bool(r["won"]), "figures": json.loads(r["figures"])} for r in rows
        ]

    def round_numbers(self, game_id: int) -> list[int]:
        with self._lock:
            return [
                int(r[0])
                for r in self._db.execute(
                    "SELECT round_no FROM rounds WHERE game_id = ? ORDER BY round_no", (game_id,)
                )
            ]
