"""The rulebook: the conventions a group can agree on, and their options.

The catalogue is shared by the server (bots obey it, adherence is measured against it)
and the client (the council shows it, the HUD summarises it), so it lives here, with no
dependency on either side.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One choice for a convention, with the words a player sees."""

    key: str
    label: str
    explanation: str


@dataclass(frozen=True)
class Convention:
    """One rule of the road the group can negotiate."""

    key: str
    title: str
    explanation: str
    options: tuple[Option, ...]
    default: str

    def option(self, key: str) -> Option:
        """Look up an option so that a typo in a vote or a file is caught, not ignored."""
        for opt in self.options:
            if opt.key == key:
                return opt
        raise KeyError(f"{self.key} has no option {key!r}; expected one of {self.option_keys()}")

    def option_keys(self) -> tuple[str, ...]:
        return tuple(opt.key for opt in self.options)


CATALOGUE: tuple[Convention, ...] = (
    Convention(
        key="passing",
        title="Passing side",
        explanation="Which lane is for cruising and which for overtaking.",
        options=(
            Option("right", "Keep right", "Cruise in the rightmost free lane; pass on the left."),
            Option("left", "Keep left", "Cruise in the leftmost free lane; pass on the right."),
            Option("free", "Free", "Any lane, pass on either side."),
        ),
        default="free",
    ),
    Convention(
        key="signal",
        title="Signal before changing lanes",
        explanation="Whether a lane change must be announced by the turn signal first.",
        options=(
            Option("required", "Required (2 s)", "Signal at least 2 seconds before you move."),
            Option("optional", "Optional", "Signal if you feel like it."),
        ),
        default="optional",
    ),
    Convention(
        key="following",
        title="Following distance",
        explanation="How much room to leave to the car ahead.",
        options=(
            Option("two_second", "2-second rule", "Stay at least 2 seconds behind the car ahead."),
            Option("none", "None", "Follow as close as you dare."),
        ),
        default="none",
    ),
    Convention(
        key="merge",
        title="Merging at a closure",
        explanation="How two lanes become one where a lane ends.",
        options=(
            Option(
                "zipper", "Zipper", "Use both lanes to the end, then take turns, one from each."
            ),
            Option("early", "Early merge", "Leave the closing lane as soon as you see the signs."),
        ),
        default="early",
    ),
    Convention(
        key="speed_limit",
        title="Speed limit",
        explanation="The highest speed anyone should drive, in km/h.",
        options=(
            Option("80", "80 km/h", "A calm road with short gaps in metres."),
            Option("100", "100 km/h", "A middle way."),
            Option("120", "120 km/h", "A fast road."),
            Option("none", "No limit", "Each driver chooses."),
        ),
        default="none",
    ),
    Convention(
        key="hazards",
        title="Hazard lights at a queue's tail",
        explanation="Whether the last car of a queue warns those behind with hazard lights.",
        options=(
            Option("yes", "Yes", "Switch on hazards when you brake into a queue."),
            Option("no", "No", "Hazards only for breakdowns."),
        ),
        default="no",
    ),
)

CONVENTIONS: dict[str, Convention] = {c.key: c for c in CATALOGUE}

Rulebook = dict[str, str]
"""A choice for every convention, e.g. {"passing": "right", "signal": "required", ...}."""


def default_rulebook() -> Rulebook:
    """The rulebook of a road where nobody agreed anything: each convention at its default."""
    return {c.key: c.default for c in CATALOGUE}


def make_rulebook(choices: Mapping[str, str] | None = None) -> Rulebook:
    """A complete, checked rulebook from partial choices; unknown keys or options raise ValueError.

    Everything that accepts a rulebook from outside (a scenario file, a program, a command line,
    the council's result) goes through here, so an invalid rulebook never reaches a round.
    """
    book = default_rulebook()
    for key, value in (choices or {}).items():
        convention = CONVENTIONS.get(key)
        if convention is None:
            raise ValueError(f"unknown convention {key!r}; expected one of {sorted(CONVENTIONS)}")
        if value not in convention.option_keys():
            raise ValueError(
                f"convention {key!r} has no option {value!r}; "
                f"expected one of {list(convention.option_keys())}"
            )
        book[key] = value
    return book


def parse_rulebook(text: str) -> Rulebook:
    """Parse the command-line form `passing=right,merge=zipper` into a checked rulebook."""
    choices: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"expected convention=option, got {part!r}")
        choices[key.strip()] = value.strip()
    return make_rulebook(choices)


def speed_limit_mps(rulebook: Mapping[str, str]) -> float | None:
    """The agreed speed limit in m/s, or None when there is none."""
    value = rulebook.get("speed_limit", "none")
    return None if value == "none" else int(value) / 3.6


def describe(rulebook: Mapping[str, str]) -> list[str]:
    """One short line per convention, for the HUD and the lobby."""
    lines = []
    for convention in CATALOGUE:
        key = rulebook.get(convention.key, convention.default)
        lines.append(f"{convention.title}: {convention.option(key).label}")
    return lines
