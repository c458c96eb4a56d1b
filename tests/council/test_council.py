"""The council: proposals, votes, leaves and joins always settle into a valid rulebook."""

from __future__ import annotations

import math

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from server.council import MAX_SECONDS, Council, CouncilError
from shared.conventions import CATALOGUE, CONVENTIONS, default_rulebook, make_rulebook

DT = 0.05


def test_proposal_counts_as_the_proposers_vote() -> None:
    c = Council(members=[1, 2, 3], host=1)
    c.propose(2, "passing", "right")
    assert c.tally("passing") == {"right": 1}
    assert c.result()["passing"] == "right"
    state = c.state()
    assert state["proposals"] == [{"convention": "passing", "option": "right", "by": 2, "votes": 1}]


def test_a_new_vote_replaces_the_old_one() -> None:
    c = Council(members=[1, 2, 3])
    c.vote(1, "merge", "zipper")
    c.vote(1, "merge", "early")
    c.vote(1, "merge", "zipper")
    assert c.tally("merge") == {"zipper": 1}


def test_majority_wins_and_a_tie_keeps_the_base() -> None:
    base = make_rulebook({"speed_limit": "100"})
    c = Council(members=[1, 2, 3, 4], host=1, base=base)
    c.vote(1, "speed_limit", "80")
    c.vote(2, "speed_limit", "80")
    c.vote(3, "speed_limit", "120")
    assert c.result()["speed_limit"] == "80"
    c.vote(4, "speed_limit", "120")
    assert c.tied("speed_limit") == ["80", "120"]
    assert c.result()["speed_limit"] == "100"  # tie, no decision: base holds
    c.decide("speed_limit", "120")
    assert c.result()["speed_limit"] == "120"
    c.undecide("speed_limit")
    assert c.result()["speed_limit"] == "100"


def test_host_decision_overrides_a_clear_majority() -> None:
    c = Council(members=[1, 2, 3], host=1)
    for p in (1, 2, 3):
        c.vote(p, "following", "none")
    c.decide("following", "two_second")
    assert c.result()["following"] == "two_second"
    assert c.state()["decided"] == {"following": "two_second"}


def test_leaving_withdraws_votes_and_rejoining_starts_fresh() -> None:
    c = Council(members=[1, 2, 3])
    c.vote(1, "signal", "required")
    c.vote(2, "signal", "required")
    c.vote(3, "signal", "optional")
    c.leave(1)
    c.leave(2)
    assert c.tally("signal") == {"optional": 1}
    assert c.result()["signal"] == "optional"
    c.join(1)
    assert c.votes_of(1) == {}
    with pytest.raises(CouncilError) as err:
        c.vote(2, "signal", "required")
    assert err.value.code == "not_member"


@pytest.mark.parametrize(
    ("convention", "option", "code"),
    [
        ("passing", "middle", "unknown_option"),
        ("colour", "red", "unknown_convention"),
        ("", "", "unknown_convention"),
        ("speed_limit", "90", "unknown_option"),
    ],
)
def test_bad_proposals_are_refused_with_a_code(convention: str, option: str, code: str) -> None:
    c = Council(members=[1])
    with pytest.raises(CouncilError) as err:
        c.propose(1, convention, option)
    assert err.value.code == code
    assert err.value.message
    with pytest.raises(CouncilError):
        c.decide(convention, option)
    assert c.result() == default_rulebook()


def test_countdown_runs_by_ticks_and_the_host_can_extend_or_end_it() -> None:
    c = Council(members=[1], seconds=1.0)
    ticks = 0
    while not c.advance(DT):
        ticks += 1
    assert ticks == 19  # the 20th tick of 0.05 s ends a 1 s countdown
    assert c.over and c.remaining == 0
    with pytest.raises(CouncilError) as err:
        c.vote(1, "passing", "left")
    assert err.value.code == "closed"
    c.extend(2)
    assert not c.over and c.remaining == pytest.approx(2.0)
    c.vote(1, "passing", "left")
    c.end()
    assert c.advance(DT)
    assert c.result()["passing"] == "left"
    c.extend(10 * MAX_SECONDS)
    assert c.remaining == MAX_SECONDS
    for bad in (0, -5, math.nan):
        with pytest.raises(CouncilError):
            c.extend(bad)


def test_state_is_msgpack_clean_with_string_keys() -> None:
    c = Council(members=[7, 9], host=7)
    c.propose(7, "merge", "zipper")
    c.vote(9, "merge", "early")
    c.decide("hazards", "yes")
    packed = msgpack.packb(c.state(), use_bin_type=True)
    back = msgpack.unpackb(packed, raw=False, strict_map_key=True)
    assert back["ties"] == {"merge": ["zipper", "early"]}
    assert back["result"]["hazards"] == "yes"
    assert back["members"] == [7, 9]


@given(st.dictionaries(st.sampled_from([c.key for c in CATALOGUE]), st.text(max_size=8)))
def test_result_is_valid_whatever_the_base(base: dict[str, str]) -> None:
    try:
        checked = make_rulebook(base)
    except ValueError:
        with pytest.raises(ValueError):
            Council(members=[1], base=base)
        return
    assert Council(members=[1], base=base).result() == checked


PLAYERS = st.integers(min_value=1, max_value=6)
CONVENTION_KEYS = st.sampled_from([c.key for c in CATALOGUE] + ["bogus"])
OPTION_KEYS = st.sampled_from(sorted({o.key for c in CATALOGUE for o in c.options} | {"nonsense"}))


class CouncilMachine(RuleBasedStateMachine):
    """Random proposals, votes, leaves, joins, decisions and ticks against a simple model."""

    def __init__(self) -> None:
        super().__init__()
        self.base = make_rulebook({"passing": "right", "speed_limit": "100"})
        self.council = Council(members=[1, 2, 3], host=1, base=self.base, seconds=30)
        self.members = {1, 2, 3}
        self.last_vote: dict[int, dict[str, str]] = {}
        self.decided: dict[str, str] = {}

    def _valid(self, convention: str, option: str) -> bool:
        return convention in CONVENTIONS and option in CONVENTIONS[convention].option_keys()

    @rule(player=PLAYERS, convention=CONVENTION_KEYS, option=OPTION_KEYS, propose=st.booleans())
    def vote(self, player: int, convention: str, option: str, propose: bool) -> None:
        act = self.council.propose if propose else self.council.vote
        accepted = (
            player in self.members and self._valid(convention, option) and not self.council.over
        )
        if accepted:
            act(player, convention, option)
            self.last_vote.setdefault(player, {})[convention] = option
        else:
            with pytest.raises(CouncilError):
                act(player, convention, option)

    @rule(player=PLAYERS)
    def leave(self, player: int) -> None:
        self.council.leave(player)
        self.members.discard(player)
        self.last_vote.pop(player, None)

    @rule(player=PLAYERS)
    def join(self, player: int) -> None:
        self.council.join(player)
        self.members.add(player)

    @rule(convention=CONVENTION_KEYS, option=OPTION_KEYS)
    def decide(self, convention: str, option: str) -> None:
        if self._valid(convention, option):
            self.council.decide(convention, option)
            self.decided[convention] = option
        else:
            with pytest.raises(CouncilError):
                self.council.decide(convention, option)

    @rule(ticks=st.integers(min_value=1, max_value=200))
    def tick(self, ticks: int) -> None:
        for _ in range(ticks):
            self.council.advance(DT)

    @precondition(lambda self: self.council.over)
    @rule(seconds=st.integers(min_value=1, max_value=60))
    def extend(self, seconds: int) -> None:
        self.council.extend(seconds)

    @invariant()
    def every_last_vote_counts_once(self) -> None:
        for c in CATALOGUE:
            expected: dict[str, int] = {}
            for player in self.members:
                option = self.last_vote.get(player, {}).get(c.key)
                if option is not None:
                    expected[option] = expected.get(option, 0) + 1
            assert self.council.tally(c.key) == expected
        listed = [(v["player"], v["convention"]) for v in self.council.state()["votes"]]
        assert len(listed) == len(set(listed))
        assert sum(len(v) for v in self.last_vote.values()) == len(listed)

    @invariant()
    def the_result_is_a_valid_rulebook_by_the_rules(self) -> None:
        result = self.council.result()
        assert make_rulebook(result) == result
        for c in CATALOGUE:
            counts = self.council.tally(c.key)
            if c.key in self.decided:
                assert result[c.key] == self.decided[c.key]
            elif counts and list(counts.values()).count(max(counts.values())) == 1:
                assert result[c.key] == max(counts, key=lambda o: counts[o])
            else:
                assert result[c.key] == self.base[c.key]


CouncilMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30)
test_council_life_cycle = CouncilMachine.TestCase
