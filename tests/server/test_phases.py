"""A room's phases change only along the table of server/room/phases.py."""

from __future__ import annotations

import pytest

from server.room.phases import MOVES, PHASES, PhaseError, Phases


def test_every_phase_has_its_moves_and_finished_is_the_end() -> None:
    assert set(MOVES) == set(PHASES)
    assert all(moves <= set(PHASES) for moves in MOVES.values())
    assert MOVES["finished"] == {"finished"}
    assert all("finished" in moves for moves in MOVES.values())  # the host may always close


def test_a_round_goes_lobby_driving_paused_driving_debrief_lobby() -> None:
    phases = Phases()
    for phase in ("driving", "paused", "driving", "debrief", "lobby", "council", "lobby"):
        phases.enter(phase)
    assert phases.current == "lobby"


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ((), "debrief"),  # no debrief without a round
        ((), "paused"),
        (("driving", "debrief"), "driving"),  # a debriefed round does not drive again
        (("council",), "driving"),  # a council's result is taken in the next step's lobby
        (("finished",), "lobby"),
    ],
)
def test_a_move_the_table_does_not_list_is_refused(path: tuple[str, ...], refused: str) -> None:
    phases = Phases()
    for phase in path:
        phases.enter(phase)
    with pytest.raises(PhaseError, match=f"to {refused}"):
        phases.enter(refused)
    assert phases.current == (path[-1] if path else "lobby")
