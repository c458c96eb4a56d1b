"""What a workshop program is made of, as values: its steps (rounds and councils), their
shocks, and the error that says where a program file went wrong.

server/programs.py reads and checks program files into these; a room plays its steps in order
(server/room/lifecycle.py), and a room of one scenario makes a single round step of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from shared.conventions import Rulebook

DEFAULT_ROUND_SECONDS = 240.0
DEFAULT_COUNCIL_SECONDS = 180.0


class ProgramError(Exception):
    """A program that cannot be used, with where and why.

    `file` is the program's path (or name), `line` the 1-based line of the offending key when it
    can be found (None otherwise), `key` the dotted key such as `steps[2].scenario`, and
    `expected` what would have been accepted.
    """

    def __init__(
        self, file: str, line: int | None, key: str | None, expected: str, got: Any = None
    ) -> None:
        self.file, self.line, self.key, self.expected = file, line, key, expected
        where = file if line is None else f"{file}, line {line}"
        what = f"{key}: expected {expected}" if key else expected
        if got is not None:
            what += f", got {got!r}"
        super().__init__(f"{where}: {what}")
        self.message = str(self)


class Shock(NamedTuple):
    """Something that happens to a round at a set time: `(at_seconds, kind, args)`."""

    at: float
    kind: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One step of a room: a round to drive, or a council to agree a rulebook.

    A program's steps come from its file (every field checked); a room of one scenario has
    a single round step of its own (server/room/lifecycle.py `plans_for`): `seconds` None there means
    the scenario's own length, and it scores individually, where a program's round scores as
    a team unless its file says otherwise (docs/programs.md).
    """

    kind: str  # "round" | "council"
    title: str
    seconds: float | None  # None: the scenario's own length (a room of one scenario)
    scenario: str = ""  # "" for a council
    rulebook: str | Rulebook = "keep"  # "keep" | "council" | a rulebook
    scoring: str = "team"  # "team" | "individual"
    shocks: tuple[Shock, ...] = ()
    bots: int | None = None
    mix: dict[str, float] | None = None
    seed: int | None = None
    intro: str = ""
    challenge: str = ""  # "" or one of CHALLENGES: the solo ladder's task for this round

    def describe(self) -> dict[str, Any]:
        """A msgpack-able summary for lobbies and reports."""
        info: dict[str, Any] = {"kind": self.kind, "title": self.title, "seconds": self.seconds}
        if self.kind == "round":
            info.update(
                scenario=self.scenario,
                scoring=self.scoring,
                rulebook=self.rulebook if isinstance(self.rulebook, str) else dict(self.rulebook),
            )
        if self.intro:
            info["intro"] = self.intro
        if self.challenge:
            info["challenge"] = self.challenge
        return info


@dataclass(frozen=True)
class Program:
    """A named sequence of steps; the room plays them in order, then the final debrief."""

    name: str
    title: str
    steps: list[Step]
    description: str = ""
    final_debrief: bool = True
    source: str = ""
    rounds: list[Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rounds", [s for s in self.steps if s.kind == "round"])

    def describe(self) -> dict[str, Any]:
        """A msgpack-able summary: name, title, description, steps."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "final_debrief": self.final_debrief,
            "steps": [s.describe() for s in self.steps],
        }
