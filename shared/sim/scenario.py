"""Scenarios: the road, its features, the traffic and the scheduled events of a round.

Built-in scenarios are TOML files in shared/sim/scenarios/. Every value is checked on load, and
a malformed file gets a ScenarioError naming the file, the key and what was expected, so a
facilitator editing a scenario sees exactly what to fix. The format (metres, seconds, km/h):

    name = "my-road"                  # optional; default: the file name
    description = "..."               # optional
    seconds = 240                     # round length
    [road]      length = 2000 (50..100000), lanes = 3 (1..4, lane 0 the rightmost),
                gantry = 0 (where flow is counted)
    [traffic]   cars = 120, trucks = 0.05 (share), mix = { steady = 0.6, hurried = 0.1,
                distracted = 0.25, local = 0.05 } (weights)
    [drivers]   overrides for every bot: v0_kmh, T, s0, a, b, p, b_safe, a_th, bias,
                tap_rate (brake taps per second), tap_decel, length
    [rulebook]  passing = "right", merge = "zipper", ... (shared/conventions.py)
    [[closures]]    lane, start, end, warn = 500      (the lane is closed on [start, end))
    [[ramps]]       start, end, share = 0.2           (lane 0 becomes an on-ramp; at most one)
    [[incidents]]   at (s into the round), lane, x, seconds = 60
    [[speed_zones]] start, end, limit_kmh
    [[fog]]         start, end, sight (m)
"""

from __future__ import annotations

import copy
import dataclasses
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.conventions import make_rulebook
from shared.sim.bots import OVERRIDABLE, PERSONALITIES
from shared.sim.road import Closure, Ramp, Zone

SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"
MAX_LANES = 4
MAX_CARS = 2000


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message names the file, the key and the expectation."""


@dataclass(frozen=True, slots=True)
class ScheduledIncident:
    at: float  # seconds into the round
    lane: int
    x: float
    seconds: float


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str = ""
    length: float = 2000.0
    lanes: int = 3
    gantry: float = 0.0
    cars: int = 40
    trucks: float = 0.0
    mix: dict[str, float] = field(default_factory=lambda: {"steady": 1.0})
    seconds: float = 240.0
    rulebook: dict[str, str] = field(default_factory=dict)
    drivers: dict[str, float] = field(default_factory=dict)
    closures: tuple[Closure, ...] = ()
    ramps: tuple[Ramp, ...] = ()
    speed_zones: tuple[Zone, ...] = ()
    fog: tuple[Zone, ...] = ()
    incidents: tuple[ScheduledIncident, ...] = ()
    source: str = "<built-in>"
    # The checked TOML document a scenario that is not built in was parsed from, so that its
    # rounds can be replayed where the file is unknown (another process, another machine).
    # None for built-ins: every copy of Interlane has them. Not part of equality: it is the
    # same scenario either way.
    doc: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def with_overrides(
        self, *, lanes: int | None = None, length: float | None = None, cars: int | None = None
    ) -> Scenario:
        """A copy with another lane count, length or car count; features are checked again.

        A new length moves every feature proportionally (a closure at 60% of the ring stays at
        60%); warning distances and ramp lengths keep their size in metres.
        """
        f = 1.0 if length is None else length / self.length

        def at(x: float) -> float:
            return x * f

        changed = dataclasses.replace(
            self,
            lanes=self.lanes if lanes is None else lanes,
            length=self.length if length is None else length,
            cars=self.cars if cars is None else cars,
            gantry=at(self.gantry),
            closures=tuple(
                dataclasses.replace(c, start=at(c.start), end=at(c.end)) for c in self.closures
            ),
            ramps=tuple(
                dataclasses.replace(r, start=at(r.start), end=at(r.start) + (r.end - r.start))
                for r in self.ramps
            ),
            speed_zones=tuple(
                dataclasses.replace(z, start=at(z.start), end=at(z.end)) for z in self.speed_zones
            ),
            fog=tuple(dataclasses.replace(z, start=at(z.start), end=at(z.end)) for z in self.fog),
            incidents=tuple(dataclasses.replace(i, x=at(i.x)) for i in self.incidents),
            doc=None,  # the document no longer describes this road: nothing to replay it from
        )
        _check_geometry(changed, self.source)
        return changed


_REGISTERED: dict[str, Path] = {}
"""Scenario files this process accepted from its own command line, by name."""

_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


def list_scenarios() -> list[str]:
    """Names a room may ask for: the built-in scenarios and any registered files."""
    return sorted({p.stem for p in SCENARIO_DIR.glob("*.toml")} | set(_REGISTERED))


def register_scenario(path: str | Path) -> str:
    """Check a scenario file now and make it available by name to rooms of this process.

    For `interlane solo --scenario FILE`: the file is read on the player's own machine, its
    mistakes are reported before anything starts, and the room is created with the returned
    name, so that no network message ever carries a path for the server to open.
    """
    scenario = load_scenario(path)
    builtins = {p.stem for p in SCENARIO_DIR.glob("*.toml")}
    base = scenario.name if _NAME.fullmatch(scenario.name) else "custom"
    name, n = base, 1
    resolved = Path(path).resolve()
    while name in builtins or (name in _REGISTERED and _REGISTERED[name] != resolved):
        n += 1
        name = f"{base}-{n}"
    _REGISTERED[name] = resolved
    return name


def load_scenario(name_or_path: str | Path, *, allow_paths: bool = True) -> Scenario:
    """Load a scenario by name (built-in or registered), or a TOML file by path.

    Names that came over the network are loaded with allow_paths=False: then only the names
    in list_scenarios() are accepted and the error never says anything about the file system.
    """
    text = str(name_or_path)
    builtin = bool(_NAME.fullmatch(text)) and (SCENARIO_DIR / f"{text}.toml").is_file()
    if builtin:
        path = SCENARIO_DIR / f"{text}.toml"
    elif _NAME.fullmatch(text) and text in _REGISTERED:
        path = _REGISTERED[text]
    elif allow_paths and (text.endswith(".toml") or Path(text).exists()):
        path = Path(text)
    else:
        shown = text if allow_paths else repr(text[:64])[1:-1]
        also = " or a .toml file" if allow_paths else ""
        raise ScenarioError(f"unknown scenario {shown!r}; expected one of {list_scenarios()}{also}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    scenario = parse_scenario(raw, source=str(path), default_name=path.stem)
    return dataclasses.replace(scenario, doc=None) if builtin else scenario


class _Reader:
    """Typed access to a TOML table that reports the file and dotted key on every mistake."""

    def __init__(self, table: Any, source: str, prefix: str) -> None:
        if not isinstance(table, dict):
            raise ScenarioError(f"{source}: {prefix or 'file'}: expected a table")
        self.table = table
        self.source = source
        self.prefix = prefix
        self.used: set[str] = set()

    def _key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def fail(self, key: str, expected: str, value: Any) -> ScenarioError:
        return ScenarioError(f"{self.source}: {self._key(key)}: expected {expected}, got {value!r}")

    def number(
        self, key: str, default: float | None, lo: float, hi: float, *, required: bool = False
    ) -> float:
        self.used.add(key)
        if key not in self.table:
            if required or default is None:
                raise ScenarioError(f"{self.source}: {self._key(key)}: missing (expected a number)")
            return default
        value = self.table[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"a number from {lo} to {hi}", value)
        if not lo <= value <= hi:
            raise self.fail(key, f"a number from {lo} to {hi}", value)
        return float(value)

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        self.used.add(key)
        value = self.table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(key, f"a whole number from {lo} to {hi}", value)
        return value

    def text(self, key: str, default: str) -> str:
        self.used.add(key)
        value = self.table.get(key, default)
        if not isinstance(value, str):
            raise self.fail(key, "a string", value)
        return value

    def sub(self, key: str) -> _Reader:
        self.used.add(key)
        return _Reader(self.table.get(key, {}), self.source, self._key(key))

    def array(self, key: str) -> list[_Reader]:
        self.used.add(key)
        value = self.table.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, "an array of tables ([[" + key + "]])", value)
        return [
            _Reader(item, self.source, f"{self._key(key)}[{i}]") for i, item in enumerate(value)
        ]

    def check_unknown(self, allowed: tuple[str, ...] | None = None) -> None:
        known = set(allowed) if allowed is not None else self.used
        for key in self.table:
            if key not in known:
                raise ScenarioError(
                    f"{self.source}: {self._key(key)}: unknown key; expected one of {sorted(known)}"
                )


def parse_scenario(
    raw: dict[str, Any], source: str = "<data>", default_name: str = "custom"
) -> Scenario:
    """Build a checked Scenario from a parsed TOML document.

    The same checks apply wherever the document comes from (a file, the history file, a
    server's `replay` message). The Scenario keeps a copy of the document (`doc`) so that a
    round played on it can carry it to wherever that round is replayed.
    """
    top = _Reader(raw, source, "")
    name = top.text("name", default_name)
    description = top.text("description", "")
    seconds = top.number("seconds", 240.0, 1.0, 24 * 3600.0)

    road = top.sub("road")
    length = road.number("length", None, 50.0, 100_000.0, required=True)
    lanes = road.integer("lanes", 1, 1, MAX_LANES)
    gantry = road.number("gantry", 0.0, 0.0, 100_000.0)
    road.check_unknown()

    traffic = top.sub("traffic")
    cars = traffic.integer("cars", 0, 0, MAX_CARS)
    trucks = traffic.number("trucks", 0.0, 0.0, 1.0)
    mix_reader = traffic.sub("mix")
    mix = {
        k: mix_reader.number(k, 0.0, 0.0, 1000.0) for k in PERSONALITIES if k in mix_reader.table
    }
    mix_reader.check_unknown(PERSONALITIES)
    if not mix:
        mix = {"steady": 1.0}
    if sum(mix.values()) <= 0:
        raise mix_reader.fail("*", "at least one weight above 0", mix)
    traffic.check_unknown()

    drivers_r = top.sub("drivers")
    drivers: dict[str, float] = {}
    for key in OVERRIDABLE + ("v0_kmh", "length"):
        if key in drivers_r.table:
            drivers[key] = drivers_r.number(key, 0.0, 0.0, 1000.0)
    drivers_r.check_unknown(OVERRIDABLE + ("v0_kmh", "length"))
    if "v0_kmh" in drivers:
        drivers["v0"] = drivers.pop("v0_kmh") / 3.6
    for key in ("v0", "T", "a", "b", "length"):
        if key in drivers and drivers[key] <= 0:
            raise drivers_r.fail(key, "a number above 0", drivers[key])

    rb = top.sub("rulebook")
    for key, value in rb.table.items():
        if not isinstance(value, str):
            raise rb.fail(key, "a string option", value)
    try:
        rulebook = make_rulebook(rb.table)
    except ValueError as exc:
        raise ScenarioError(f"{source}: rulebook: {exc}") from None

    closures = []
    for r in top.array("closures"):
        closures.append(
            Closure(
                lane=r.integer("lane", -1, 0, MAX_LANES - 1),
                start=r.number("start", None, 0.0, 100_000.0, required=True),
                end=r.number("end", None, 0.0, 100_000.0, required=True),
                warn=r.number("warn", 500.0, 0.0, 100_000.0),
            )
        )
        r.check_unknown()
    ramps = []
    for r in top.array("ramps"):
        ramps.append(
            Ramp(
                lane=0,
                start=r.number("start", None, 0.0, 100_000.0, required=True),
                end=r.number("end", None, 0.0, 100_000.0, required=True),
                share=r.number("share", 0.2, 0.0, 1.0),
            )
        )
        r.check_unknown(("start", "end", "share"))
    zones = []
    for r in top.array("speed_zones"):
        zones.append(
            Zone(
                start=r.number("start", None, 0.0, 100_000.0, required=True),
                end=r.number("end", None, 0.0, 100_000.0, required=True),
                value=r.number("limit_kmh", None, 5.0, 300.0, required=True) / 3.6,
            )
        )
        r.check_unknown()
    fog = []
    for r in top.array("fog"):
        fog.append(
            Zone(
                start=r.number("start", None, 0.0, 100_000.0, required=True),
                end=r.number("end", None, 0.0, 100_000.0, required=True),
                value=r.number("sight", None, 10.0, 10_000.0, required=True),
            )
        )
        r.check_unknown()
    incidents = []
    for r in top.array("incidents"):
        incidents.append(
            ScheduledIncident(
                at=r.number("at", None, 0.0, 24 * 3600.0, required=True),
                lane=r.integer("lane", -1, 0, MAX_LANES - 1),
                x=r.number("x", None, 0.0, 100_000.0, required=True),
                seconds=r.number("seconds", 60.0, 1.0, 24 * 3600.0),
            )
        )
        r.check_unknown()
    top.check_unknown()

    scenario = Scenario(
        name=name,
        description=description,
        length=length,
        lanes=lanes,
        gantry=gantry,
        cars=cars,
        trucks=trucks,
        mix=mix,
        seconds=seconds,
        rulebook=rulebook,
        drivers=drivers,
        closures=tuple(closures),
        ramps=tuple(ramps),
        speed_zones=tuple(zones),
        fog=tuple(fog),
        incidents=tuple(incidents),
        source=source,
        doc=copy.deepcopy(raw),  # checked above: only tables, arrays, strings and numbers
    )
    _check_geometry(scenario, source)
    return scenario


def _check_geometry(s: Scenario, source: str) -> None:
    """Features must fit the road: lanes that exist, positions on the ring, room for the cars."""

    def fail(key: str, expected: str, value: Any) -> ScenarioError:
        return ScenarioError(f"{source}: {key}: expected {expected}, got {value!r}")

    if not 1 <= s.lanes <= MAX_LANES:
        raise fail("road.lanes", f"a whole number from 1 to {MAX_LANES}", s.lanes)
    if not s.length >= 50:
        raise fail("road.length", "at least 50 metres", s.length)
    if not 0 <= s.gantry < s.length:
        raise fail("road.gantry", f"a position in [0, {s.length})", s.gantry)
    for i, c in enumerate(s.closures):
        key = f"closures[{i}]"
        if c.lane >= s.lanes:
            raise fail(f"{key}.lane", f"a lane from 0 to {s.lanes - 1}", c.lane)
        if not (0 <= c.start < s.length and 0 <= c.end < s.length and c.start != c.end):
            raise fail(
                f"{key}.start/end", f"two different positions in [0, {s.length})", (c.start, c.end)
            )
        if s.lanes < 2:
            raise fail(f"{key}.lane", "a road of at least 2 lanes for a closure", s.lanes)
    for i, r in enumerate(s.ramps):
        key = f"ramps[{i}]"
        if s.lanes < 2:
            raise fail(f"{key}", "road.lanes ≥ 2 (lane 0 is the ramp)", s.lanes)
        if not (
            0 <= r.start < s.length and 0 <= r.end < s.length and (r.end - r.start) % s.length >= 20
        ):
            raise fail(
                f"{key}.start/end",
                "positions on the ring with end ≥ start + 20 m",
                (r.start, r.end),
            )
    if len(s.ramps) > 1:
        raise fail("ramps", "at most one ramp", len(s.ramps))
    for i, inc in enumerate(s.incidents):
        if inc.lane >= s.lanes:
            raise fail(f"incidents[{i}].lane", f"a lane from 0 to {s.lanes - 1}", inc.lane)
        if not 0 <= inc.x < s.length:
            raise fail(f"incidents[{i}].x", f"a position in [0, {s.length})", inc.x)
    for group, zones in (("speed_zones", s.speed_zones), ("fog", s.fog)):
        for i, z in enumerate(zones):
            if not (0 <= z.start < s.length and 0 <= z.end < s.length and z.start != z.end):
                raise fail(
                    f"{group}[{i}].start/end",
                    f"two different positions in [0, {s.length})",
                    (z.start, z.end),
                )
    car_len = s.drivers.get("length", 5.0)
    main_lanes = s.lanes - (1 if s.ramps else 0)
    room = int(s.length / (car_len + 2.5)) * main_lanes
    if s.cars > room:
        raise fail("traffic.cars", f"at most {room} cars for this road", s.cars)
