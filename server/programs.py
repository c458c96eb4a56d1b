"""Workshop programs: the sequence of rounds and councils a room runs, read from TOML.

A program file looks like this (the built-ins are in server/programs/*.toml)::

    name = "workshop"
    title = "Workshop"
    description = "Every driver for themselves, then shared rules, then a shock."
    final_debrief = true          # optional, default true: a debrief across all rounds

    [[steps]]
    kind = "round"
    title = "Every driver for themselves"
    scenario = "rush-hour"        # a built-in scenario name, or a .toml path relative to this file
    seconds = 240                 # optional, default 240
    rulebook = {}                 # "keep" | "council" | a table of conventions (missing = default)
    scoring = "individual"        # "individual" | "team"
    bots = 24                     # optional: override the scenario's car count
    mix = { steady = 0.5, hurried = 0.2, distracted = 0.1, local = 0.2 }   # optional
    seed = 7                      # optional: fix the round's seed
    intro = "No rules yet: drive as you like."   # optional, shown before the round
    challenge = "damper"          # optional: the solo ladder's task (server/solo.py)

    [[steps.shocks]]              # optional, any number
    at = 90                       # seconds into the round
    kind = "incident"             # "incident" {lane, x, seconds} | "bots" {count: +add / -remove}
    lane = 1
    x = 1200
    seconds = 40

    [[steps]]
    kind = "council"
    title = "Agree a rulebook"
    seconds = 180

`rulebook = "council"` takes the result of the latest council before the round; "keep" (the
default, except for the first round, whose default is `{}`) takes the previous round's rulebook.

Every mistake in a file becomes a `ProgramError` that names the file, the line, the key (steps
counted from 1, e.g. `steps[3].scenario`) and what was expected, because a facilitator editing
a program an hour before a workshop needs to fix it fast.

A checked program is a `Program` of `Step`s with their `Shock`s (server/program_steps.py).
This module finds and reads the files: `list_programs()`, `program_path(name)`, `load_program(name, allow_paths=False)` for names that came over the
network, and `register_program(path) -> name` for a file given on the host's command line.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from server.program_steps import (
    DEFAULT_COUNCIL_SECONDS,
    DEFAULT_ROUND_SECONDS,
    Program,
    ProgramError,
    Shock,
    Step,
)
from shared.conventions import CONVENTIONS, Rulebook, make_rulebook

PROGRAM_DIR = Path(__file__).with_name("programs")
MIN_SECONDS, MAX_SECONDS = 10.0, 3600.0
BOT_KINDS = ("steady", "hurried", "distracted", "local")
CHALLENGES = ("warm-up", "damper", "zipper")  # what a solo round measures (docs/programs.md)
SHOCK_KINDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "incident": {"lane": int, "x": (int, float), "seconds": (int, float)},
    "bots": {"count": int},
}

_PROGRAM_KEYS = ("name", "title", "description", "final_debrief", "steps")
_ROUND_KEYS = (
    "kind",
    "title",
    "scenario",
    "seconds",
    "rulebook",
    "scoring",
    "bots",
    "mix",
    "seed",
    "intro",
    "shocks",
    "challenge",
)
_COUNCIL_KEYS = ("kind", "title", "seconds", "intro")


_REGISTERED: dict[str, Path] = {}
"""Program files this server process accepted from its own command line, by name."""

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def list_programs() -> list[str]:
    """Names of the programs a room may ask for: the built-ins and any registered files."""
    return sorted({p.stem for p in PROGRAM_DIR.glob("*.toml")} | set(_REGISTERED))


def register_program(path: str | Path) -> str:
    """Check a program file now and make it available by name to rooms of this process.

    For `interlane host --program FILE`: the file is read on the host's own machine, its
    mistakes are reported before the server starts, and the room is then created with the
    returned name, so that no network message ever carries a path to open.
    """
    program = load_program(str(path))
    base = program.name if _NAME.fullmatch(program.name) else "custom"
    name, n = base, 1
    builtins = {p.stem for p in PROGRAM_DIR.glob("*.toml")}
    while name in builtins or (name in _REGISTERED and _REGISTERED[name] != Path(path).resolve()):
        n += 1
        name = f"{base}-{n}"
    _REGISTERED[name] = Path(path).resolve()
    return name


def program_path(name_or_path: str, *, allow_paths: bool = True) -> Path:
    """The file behind a program name (built-in or registered), or a path when allowed."""
    if _NAME.fullmatch(name_or_path):
        builtin = PROGRAM_DIR / f"{name_or_path}.toml"
        if builtin.is_file():
            return builtin
        if name_or_path in _REGISTERED:
            return _REGISTERED[name_or_path]
    if allow_paths:
        path = Path(name_or_path)
        if path.is_file():
            return path
        expected = f"a program file or one of the programs {list_programs()}"
    else:
        expected = f"one of the programs {list_programs()}"
    raise ProgramError(
        name_or_path if allow_paths else repr(name_or_path)[1:-1][:64], None, None, expected
    )


def load_program(name_or_path: str, *, allow_paths: bool = True) -> Program:
    """Load and check a program by name (see list_programs) or, if allowed, a TOML file's path.

    Anything a network client names must be loaded with `allow_paths=False`: a room may run a
    built-in or a registered program, never a file a stranger points at.
    """
    path = program_path(name_or_path, allow_paths=allow_paths)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProgramError(str(path), None, None, f"a readable UTF-8 file ({exc})") from exc
    return parse_program(text, source=str(path), default_name=path.stem)


def parse_program(text: str, source: str = "<program>", default_name: str = "program") -> Program:
    """Check a program's TOML text; `source` names it in errors, relative paths resolve from it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        raise ProgramError(source, line, None, f"valid TOML ({exc})") from exc
    return _Checker(text, source).program(data, default_name)


class _Checker:
    """Walks the parsed TOML, turning every problem into a ProgramError with its line."""

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.lines = _key_lines(text)
        self.base_dir = Path(source).parent if source and not source.startswith("<") else Path()

    def fail(self, path: tuple[str | int, ...], expected: str, got: Any = None) -> ProgramError:
        return ProgramError(self.source, self._line(path), _dotted(path), expected, got)

    def _line(self, path: tuple[str | int, ...]) -> int | None:
        for cut in range(len(path), 0, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return None

    def program(self, data: dict[str, Any], default_name: str) -> Program:
        self._no_unknown_keys(data, (), _PROGRAM_KEYS)
        name = self._text(data, ("name",), default=default_name)
        title = self._text(data, ("title",), default=name)
        description = self._text(data, ("description",), default="")
        final_debrief = data.get("final_debrief", True)
        if not isinstance(final_debrief, bool):
            raise self.fail(("final_debrief",), "true or false", final_debrief)
        raw_steps = data.get("steps")
        if not isinstance(raw_steps, list) or not raw_steps:
            raise self.fail(("steps",), "one or more [[steps]] tables", raw_steps)
        steps: list[Step] = []
        for index, raw in enumerate(raw_steps):
            steps.append(self.step(raw, index, steps))
        if not any(s.kind == "round" for s in steps):
            raise self.fail(("steps",), 'at least one step with kind = "round"')
        return Program(name, title, steps, description, final_debrief, self.source)

    def step(self, raw: Any, index: int, earlier: list[Step]) -> Step:
        at: tuple[str | int, ...] = ("steps", index)
        if not isinstance(raw, dict):
            raise self.fail(at, "a [[steps]] table", raw)
        kind = raw.get("kind")
        if kind not in ("round", "council"):
            raise self.fail((*at, "kind"), '"round" or "council"', kind)
        if kind == "council":
            self._no_unknown_keys(raw, at, _COUNCIL_KEYS)
            return Step(
                kind="council",
                title=self._text(raw, (*at, "title"), default="Council"),
                seconds=self._seconds(raw, (*at, "seconds"), DEFAULT_COUNCIL_SECONDS),
                intro=self._text(raw, (*at, "intro"), default=""),
            )
        self._no_unknown_keys(raw, at, _ROUND_KEYS)
        seconds = self._seconds(raw, (*at, "seconds"), DEFAULT_ROUND_SECONDS)
        scenario = self._scenario(raw, (*at, "scenario"))
        road = self._road(scenario, (*at, "scenario"))
        return Step(
            kind="round",
            title=self._text(raw, (*at, "title"), default=f"Round {index + 1}"),
            seconds=seconds,
            scenario=scenario,
            rulebook=self._rulebook(raw, (*at, "rulebook"), earlier),
            scoring=self._choice(raw, (*at, "scoring"), ("individual", "team"), "team"),
            shocks=self._shocks(raw, (*at, "shocks"), seconds, road),
            bots=self._int(raw, (*at, "bots"), 0, 200),
            mix=self._mix(raw, (*at, "mix")),
            seed=self._int(raw, (*at, "seed"), 0, 2**31 - 1),
            intro=self._text(raw, (*at, "intro"), default=""),
            challenge=self._choice(raw, (*at, "challenge"), ("", *CHALLENGES), ""),
        )

    # --- field checkers ---------------------------------------------------------------

    def _no_unknown_keys(
        self, raw: Mapping[str, Any], at: tuple[str | int, ...], known: tuple[str, ...]
    ) -> None:
        for key in raw:
            if key not in known:
                raise self.fail((*at, key), f"no key {key!r} here; known keys are {list(known)}")

    def _text(self, raw: Mapping[str, Any], path: tuple[str | int, ...], default: str) -> str:
        value = raw.get(str(path[-1]), default)
        if not isinstance(value, str) or len(value) > 2000:
            raise self.fail(path, "a string (at most 2000 characters)", value)
        return value

    def _seconds(
        self, raw: Mapping[str, Any], path: tuple[str | int, ...], default: float
    ) -> float:
        value = raw.get(str(path[-1]), default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not MIN_SECONDS <= value <= MAX_SECONDS
        ):
            raise self.fail(
                path, f"a number of seconds from {MIN_SECONDS:g} to {MAX_SECONDS:g}", value
            )
        return float(value)

    def _int(
        self, raw: Mapping[str, Any], path: tuple[str | int, ...], low: int, high: int
    ) -> int | None:
        value = raw.get(str(path[-1]))
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.fail(path, f"a whole number from {low} to {high}", value)
        return value

    def _choice(
        self,
        raw: Mapping[str, Any],
        path: tuple[str | int, ...],
        choices: tuple[str, ...],
        default: str,
    ) -> str:
        value = raw.get(str(path[-1]), default)
        if value not in choices:
            raise self.fail(path, " or ".join(f'"{c}"' for c in choices), value)
        return str(value)

    def _scenario(self, raw: Mapping[str, Any], path: tuple[str | int, ...]) -> str:
        value = raw.get(str(path[-1]))
        if not isinstance(value, str) or not value:
            raise self.fail(path, "a scenario name or a path to a scenario .toml file", value)
        if value.endswith(".toml") or "/" in value or "\\" in value:
            resolved = (self.base_dir / value).resolve()
            if not resolved.is_file():
                raise self.fail(path, "an existing scenario file", str(resolved))
            return str(resolved)
        known = known_scenarios()
        if known is not None and value not in known:
            raise self.fail(path, f"one of the scenarios {known}", value)
        return value

    def _rulebook(
        self, raw: Mapping[str, Any], path: tuple[str | int, ...], earlier: list[Step]
    ) -> str | Rulebook:
        first = not any(s.kind == "round" for s in earlier)
        value = raw.get(str(path[-1]), {} if first else "keep")  # nothing to keep yet: defaults
        if value == "council":
            if not any(s.kind == "council" for s in earlier):
                raise self.fail(path, 'a [[steps]] with kind = "council" before this round', value)
            return "council"
        if value == "keep":
            if not any(s.kind == "round" for s in earlier):
                raise self.fail(
                    path, 'a table of conventions for the first round ("keep" needs a round before)'
                )
            return "keep"
        if isinstance(value, dict):
            for key, option in value.items():
                convention = CONVENTIONS.get(key)
                if convention is None:
                    raise self.fail((*path, key), f"a convention, one of {sorted(CONVENTIONS)}")
                if option not in convention.option_keys():
                    raise self.fail(
                        (*path, key), f"one of {list(convention.option_keys())}", option
                    )
            return make_rulebook(value)
        raise self.fail(path, '"keep", "council" or a table of conventions', value)

    def _mix(self, raw: Mapping[str, Any], path: tuple[str | int, ...]) -> dict[str, float] | None:
        value = raw.get(str(path[-1]))
        if value is None:
            return None
        if not isinstance(value, dict) or not value:
            raise self.fail(path, f"a table of bot kinds {list(BOT_KINDS)} with shares", value)
        mix: dict[str, float] = {}
        for kind, share in value.items():
            if kind not in BOT_KINDS:
                raise self.fail((*path, kind), f"a bot kind, one of {list(BOT_KINDS)}")
            if isinstance(share, bool) or not isinstance(share, int | float) or not share >= 0:
                raise self.fail((*path, kind), "a share of 0 or more", share)
            mix[kind] = float(share)
        if not sum(mix.values()) > 0 or not math.isfinite(sum(mix.values())):
            raise self.fail(path, "shares that add up to more than 0", value)
        return mix

    def _road(self, scenario: str, path: tuple[str | int, ...]) -> tuple[int, float] | None:
        """(lanes, length) of the scenario's road, to check shocks against; None when the
        simulation is not available. A scenario file that does not load is this key's error."""
        try:
            from shared.sim.scenario import load_scenario
        except ImportError:
            return None
        try:
            loaded = load_scenario(scenario)
        except Exception as exc:  # ScenarioError, or anything a broken file provokes
            raise self.fail(path, f"a scenario that loads ({exc})") from exc
        return int(loaded.lanes), float(loaded.length)

    def _shocks(
        self,
        raw: Mapping[str, Any],
        path: tuple[str | int, ...],
        seconds: float,
        road: tuple[int, float] | None = None,
    ) -> tuple[Shock, ...]:
        value = raw.get(str(path[-1]), [])
        if not isinstance(value, list):
            raise self.fail(path, "a list of [[steps.shocks]] tables", value)
        shocks = []
        for index, item in enumerate(value):
            at = (*path, index)
            if not isinstance(item, dict):
                raise self.fail(at, "a [[steps.shocks]] table", item)
            kind = item.get("kind")
            if kind not in SHOCK_KINDS:
                raise self.fail((*at, "kind"), f"one of {list(SHOCK_KINDS)}", kind)
            wanted = SHOCK_KINDS[kind]
            self._no_unknown_keys(item, at, ("at", "kind", *wanted))
            when = item.get("at")
            if (
                isinstance(when, bool)
                or not isinstance(when, int | float)
                or not 0 <= when < seconds
            ):
                raise self.fail(
                    (*at, "at"), f"seconds into the round, from 0 to below {seconds:g}", when
                )
            args: dict[str, Any] = {}
            for name, types in wanted.items():
                arg = item.get(name)
                if isinstance(arg, bool) or not isinstance(arg, types):
                    raise self.fail((*at, name), f"a number for {kind} {name!r}", arg)
                args[name] = arg
            self._check_shock_args(kind, args, at, road)
            shocks.append(Shock(float(when), kind, args))
        return tuple(sorted(shocks, key=lambda s: s.at))

    def _check_shock_args(
        self,
        kind: str,
        args: dict[str, Any],
        at: tuple[str | int, ...],
        road: tuple[int, float] | None,
    ) -> None:
        if kind == "incident":
            lanes, length = road if road is not None else (4, 1_000_000.0)
            if not 0 <= args["lane"] < lanes:
                raise self.fail(
                    (*at, "lane"),
                    f"a lane of this road, 0 (rightmost) to {lanes - 1}",
                    args["lane"],
                )
            if not 0 <= args["x"] < length:
                raise self.fail(
                    (*at, "x"), f"metres along the ring, from 0 to below {length:g}", args["x"]
                )
            if not 1 <= args["seconds"] <= MAX_SECONDS:
                raise self.fail((*at, "seconds"), "a duration from 1 to 3600 s", args["seconds"])
        elif kind == "bots" and not (-200 <= args["count"] <= 200 and args["count"] != 0):
            raise self.fail(
                (*at, "count"), "a number of bots to add (+) or remove (-)", args["count"]
            )


def known_scenarios() -> list[str] | None:
    """The built-in scenario names, or None while the simulation package is not available.

    Imported lazily so that programs can be read (and tested) without the simulation.
    """
    try:
        from shared.sim.scenario import list_scenarios
    except ImportError:
        return None
    names = list(list_scenarios())
    return names or None  # no built-in scenario files yet: nothing to check against


# --- finding the line of a key in TOML text --------------------------------------------

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_\-\.\"' ]+?)\s*(\]\]?)\s*(#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_\-\.]+)\s*=")


def _key_lines(text: str) -> dict[tuple[str | int, ...], int]:
    """Map each table and key path (array indices included) to the line it is written on.

    tomllib does not report positions, so this follows the headers the same way TOML does:
    `[[steps]]` appends to `steps`, `[[steps.shocks]]` to the latest step's `shocks`. Keys in
    inline tables are not indexed; their errors point at the enclosing key's line.
    """
    lines: dict[tuple[str | int, ...], int] = {}
    counts: dict[tuple[str | int, ...], int] = {}
    current: tuple[str | int, ...] = ()
    for number, raw in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(raw)
        if header and (header.group(1) == "[[") == (header.group(3) == "]]"):
            parts = [p.strip().strip("\"'") for p in header.group(2).split(".")]
            path: tuple[str | int, ...] = ()
            for part in parts[:-1]:
                path = (*path, part)
                if path in counts:
                    path = (*path, counts[path] - 1)
            path = (*path, parts[-1])
            if header.group(1) == "[[":
                index = counts.get(path, 0)
                counts[path] = index + 1
                lines.setdefault(path, number)
                path = (*path, index)
            current = path
            lines[current] = number
            continue
        key = _KEY.match(raw)
        if key:
            dotted = [p.strip().strip("\"'") for p in key.group(1).split(".")]
            lines.setdefault((*current, *dotted), number)
    return lines


def _dotted(path: tuple[str | int, ...]) -> str:
    """`("steps", 2, "scenario")` → `steps[3].scenario` (counted from 1 for people)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part + 1}]"
        else:
            out += f".{part}" if out else part
    return out
