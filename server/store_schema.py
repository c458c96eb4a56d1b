"""The history file's schema: its SQL, version by version, and the mark that says the file
is Interlane's.

server/store.py opens a file, refuses a foreign or newer one, and applies the migrations a
file lacks, each in its own transaction. Released migrations are never edited: a change to
the schema is a new entry at the end, so any older file can be brought forward step by step.
"""

from __future__ import annotations

APPLICATION_ID = 0x494E4C4E  # "INLN": marks the file as Interlane's

# Each entry takes the schema from version i to i+1. Never edit a released entry: append one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE games (
        id INTEGER PRIMARY KEY,
        code TEXT NOT NULL,
        program TEXT NOT NULL,
        host TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE players (
        id INTEGER PRIMARY KEY,
        game_id INTEGER NOT NULL REFERENCES games(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        UNIQUE (game_id, name)
    );
    CREATE TABLE rounds (
        id INTEGER PRIMARY KEY,
        game_id INTEGER NOT NULL REFERENCES games(id) ON DELETE CASCADE,
        round_no INTEGER NOT NULL,
        scenario TEXT NOT NULL,
        seed INTEGER NOT NULL,
        rulebook TEXT NOT NULL,
        bots INTEGER,
        mix TEXT,
        log BLOB NOT NULL,
        ticks INTEGER NOT NULL,
        metrics TEXT NOT NULL,
        debrief TEXT NOT NULL,
        created REAL NOT NULL,
        UNIQUE (game_id, round_no)
    );
    CREATE TABLE round_drivers (
        round_id INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
        player_id INTEGER NOT NULL REFERENCES players(id) ON DELETE CASCADE,
        car INTEGER NOT NULL,
        PRIMARY KEY (round_id, car)
    );
    CREATE TABLE events (
        round_id INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,
        tick INTEGER NOT NULL,
        kind TEXT NOT NULL,
        car INTEGER,
        x REAL,
        lane REAL,
        other INTEGER,
        value REAL,
        target INTEGER
    );
    CREATE INDEX events_round ON events (round_id, tick);
    """,
    # 2: the checked TOML document of a scenario that is not built in (JSON), so that a round
    # on a file registered in another process can still be replayed; NULL for built-ins.
    """
    ALTER TABLE rounds ADD COLUMN scenario_doc TEXT;
    """,
    # 3: solo progress, one row per solo round (server/solo.py): the ladder's challenge, the
    # score it is judged by (damper: % cut in the speed spread behind; zipper: adherence), won.
    """
    CREATE TABLE solo_results (
        id INTEGER PRIMARY KEY,
        game_id INTEGER NOT NULL REFERENCES games(id) ON DELETE CASCADE,
        round_no INTEGER NOT NULL,
        player TEXT NOT NULL,
        challenge TEXT NOT NULL,
        scenario TEXT NOT NULL,
        score REAL,
        won INTEGER NOT NULL,
        figures TEXT NOT NULL,
        created REAL NOT NULL,
        UNIQUE (game_id, round_no)
    );
    CREATE INDEX solo_results_scenario ON solo_results (scenario, created);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """Split a migration into statements (ours never contain a ';' inside a literal)."""
    return [s.strip() for s in script.split(";") if s.strip()]
