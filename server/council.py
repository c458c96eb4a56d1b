"""The council: between rounds the group proposes, votes on and agrees a rulebook.

Pure bookkeeping, no network and no clock: the round feeds it what players send and
advances its countdown by ticks, and asks it for `state()` (the `room` message's
`council` field) and `result()` (the next round's rulebook).

Rules, chosen so that every sequence of messages ends in a well-defined rulebook:

- A member may *propose* an option for a convention; proposing also counts as that
  member's vote for it. Proposing what is already on the table is just a vote.
- A member has at most one vote per convention; a new vote replaces the old one, so each
  member's last vote counts exactly once. Voting for an option nobody proposed yet puts it
  on the table (the voter becomes its proposer) rather than being refused: the client's
  council screen may offer every option of the catalogue.
- A member who leaves has their votes withdrawn (their proposals stay on the table, with
  whatever votes others gave them); a member who joins, or rejoins, starts with no votes.
- Per convention the option with the most votes wins; a tie (or no votes at all) keeps
  `base`, unless the host has decided that convention, and a host decision always wins
  ("the host breaks ties or decides alone").
- The countdown starts at `seconds`; the host can extend it or end it. Once it is over the
  council is closed and further proposals or votes raise `CouncilError("closed", …)`.

Additions to the contract in docs/architecture.md: `end()`, `over`, `remaining`,
`undecide(convention)`, `set_host(player)`, `members`, `votes_of(player)`, `tally(convention)`
and `withdraw(player, convention)`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.conventions import CATALOGUE, CONVENTIONS, Rulebook, make_rulebook

MAX_SECONDS = 3600.0
"""The countdown never exceeds an hour, however often the host extends it."""

_EPSILON = 1e-9


class CouncilError(Exception):
    """A proposal, vote or decision that cannot be accepted.

    `code` is machine-readable (sent back in the protocol's `error` message), `message` is a
    sentence for the person who sent it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class _Proposal:
    """An option put on the table, remembered in the order it was first proposed."""

    convention: str
    option: str
    by: int
    order: int


@dataclass
class Council:
    """One council phase: members, their votes, the host's decisions and the countdown."""

    members: Iterable[int]
    host: int | None = None
    base: Mapping[str, str] | None = None
    seconds: float = 180.0
    _members: list[int] = field(init=False, default_factory=list)
    _base: Rulebook = field(init=False, default_factory=dict)
    _votes: dict[int, dict[str, str]] = field(init=False, default_factory=dict)
    _proposals: dict[tuple[str, str], _Proposal] = field(init=False, default_factory=dict)
    _decided: dict[str, str] = field(init=False, default_factory=dict)
    _remaining: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        for player in self.members:
            if player not in self._members:
                self._members.append(player)
        self.members = tuple(self._members)
        self._base = make_rulebook(self.base)
        if not self.seconds >= 0:  # also refuses NaN
            raise ValueError(f"a council needs a countdown of 0 s or more, got {self.seconds}")
        self._remaining = min(float(self.seconds), MAX_SECONDS)

    # --- membership -------------------------------------------------------------------

    def join(self, player: int) -> None:
        """A player joins (or rejoins) the council; they start without votes."""
        if player not in self._members:
            self._members.append(player)
            self.members = tuple(self._members)

    def leave(self, player: int) -> None:
        """A player leaves: their votes are withdrawn so a departed player cannot tip a vote."""
        if player in self._members:
            self._members.remove(player)
            self.members = tuple(self._members)
        self._votes.pop(player, None)

    def set_host(self, player: int | None) -> None:
        """Hand the host role on (the room's host left, or the host changed)."""
        self.host = player

    # --- proposals and votes ----------------------------------------------------------

    def propose(self, player: int, convention: str, option: str) -> None:
        """Put `option` for `convention` on the table; it is also the proposer's vote."""
        self._check_open()
        self._check_member(player)
        self._check_choice(convention, option)
        self._table(player, convention, option)
        self._votes.setdefault(player, {})[convention] = option

    def vote(self, player: int, convention: str, option: str) -> None:
        """Vote for an option; replaces this player's earlier vote on the same convention."""
        self.propose(player, convention, option)

    def withdraw(self, player: int, convention: str) -> None:
        """Take back one's vote on a convention (abstain)."""
        self._check_open()
        self._check_member(player)
        self._check_convention(convention)
        self._votes.get(player, {}).pop(convention, None)

    def decide(self, convention: str, option: str) -> None:
        """The host settles a convention, breaking a tie or overriding the vote."""
        self._check_choice(convention, option)
        self._decided[convention] = option

    def undecide(self, convention: str) -> None:
        """The host takes a decision back; the vote decides again."""
        self._check_convention(convention)
        self._decided.pop(convention, None)

    # --- countdown --------------------------------------------------------------------

    def extend(self, seconds: float) -> None:
        """Add time to the countdown (reopening an ended council), capped at MAX_SECONDS."""
        if not seconds > 0:
            raise CouncilError("bad_value", "the council can only be extended by a positive time")
        self._remaining = min(max(self._remaining, 0.0) + float(seconds), MAX_SECONDS)

    def end(self) -> None:
        """The host ends the council now."""
        self._remaining = 0.0

    def advance(self, dt: float) -> bool:
        """Run the countdown by `dt` seconds (one tick); True once it is over."""
        if dt > 0:
            self._remaining = max(0.0, self._remaining - dt)
        return self.over

    @property
    def remaining(self) -> float:
        """Seconds left on the countdown."""
        return self._remaining if self._remaining > _EPSILON else 0.0

    @property
    def over(self) -> bool:
        return self._remaining <= _EPSILON

    # --- reading the outcome ----------------------------------------------------------

    def votes_of(self, player: int) -> dict[str, str]:
        """The player's current vote per convention (a copy)."""
        return dict(self._votes.get(player, {}))

    def tally(self, convention: str) -> dict[str, int]:
        """Votes per option for one convention, counting each member's last vote once."""
        self._check_convention(convention)
        counts: dict[str, int] = {}
        for player in self._members:
            option = self._votes.get(player, {}).get(convention)
            if option is not None:
                counts[option] = counts.get(option, 0) + 1
        return counts

    def leading(self, convention: str) -> str | None:
        """The option with strictly the most votes, or None on a tie or no votes."""
        counts = self.tally(convention)
        if not counts:
            return None
        best = max(counts.values())
        winners = [option for option, n in counts.items() if n == best]
        return winners[0] if len(winners) == 1 else None

    def tied(self, convention: str) -> list[str]:
        """The options sharing the most votes when two or more do (empty when no tie)."""
        counts = self.tally(convention)
        if not counts:
            return []
        best = max(counts.values())
        winners = [option for option, n in counts.items() if n == best]
        return self._catalogue_order(convention, winners) if len(winners) > 1 else []

    def result(self) -> Rulebook:
        """The next round's rulebook: host decision, else clear majority, else `base`."""
        choices: dict[str, str] = {}
        for convention in CATALOGUE:
            key = convention.key
            choice = self._decided.get(key) or self.leading(key) or self._base[key]
            choices[key] = choice
        return make_rulebook(choices)

    def state(self) -> dict[str, Any]:
        """Everything a council screen shows, as a msgpack-able map with string keys only.

        `proposals`: in the order tabled, each {convention, option, by, votes};
        `tallies`: {convention: {option: votes}}; `votes`: [{player, convention, option}];
        `ties`: {convention: [options]}; `decided`: the host's decisions; `result`: the
        rulebook if the council ended now; `remaining` seconds; `over`; `members`; `host`.
        """
        tallies = {c.key: self.tally(c.key) for c in CATALOGUE}
        proposals = [
            {
                "convention": p.convention,
                "option": p.option,
                "by": p.by,
                "votes": tallies[p.convention].get(p.option, 0),
            }
            for p in sorted(self._proposals.values(), key=lambda p: p.order)
        ]
        votes = [
            {"player": player, "convention": convention, "option": option}
            for player in self._members
            for convention, option in sorted(self._votes.get(player, {}).items())
        ]
        ties = {key: tie for key, tie in ((c.key, self.tied(c.key)) for c in CATALOGUE) if tie}
        return {
            "proposals": proposals,
            "tallies": {key: counts for key, counts in tallies.items() if counts},
            "votes": votes,
            "ties": ties,
            "decided": dict(self._decided),
            "base": dict(self._base),
            "result": self.result(),
            "remaining": round(self.remaining, 2),
            "over": self.over,
            "members": list(self._members),
            "host": self.host,
        }

    # --- internals --------------------------------------------------------------------

    def _table(self, player: int, convention: str, option: str) -> None:
        if (convention, option) not in self._proposals:
            order = len(self._proposals)
            self._proposals[(convention, option)] = _Proposal(convention, option, player, order)

    def _check_open(self) -> None:
        if self.over:
            raise CouncilError("closed", "the council is over; the rulebook is settled")

    def _check_member(self, player: int) -> None:
        if player not in self._members:
            raise CouncilError("not_member", "only players in the council can propose or vote")

    @staticmethod
    def _check_convention(convention: str) -> None:
        if convention not in CONVENTIONS:
            raise CouncilError(
                "unknown_convention",
                f"there is no convention {convention!r}; choose one of {sorted(CONVENTIONS)}",
            )

    def _check_choice(self, convention: str, option: str) -> None:
        self._check_convention(convention)
        options = CONVENTIONS[convention].option_keys()
        if option not in options:
            raise CouncilError(
                "unknown_option",
                f"{CONVENTIONS[convention].title} has no option {option!r}; "
                f"choose one of {list(options)}",
            )

    @staticmethod
    def _catalogue_order(convention: str, options: Iterable[str]) -> list[str]:
        wanted = set(options)
        return [key for key in CONVENTIONS[convention].option_keys() if key in wanted]
