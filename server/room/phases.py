"""A room's phases and the only ways between them: one small state machine.

    lobby ─start─▶ council ─end─▶ lobby (the next step)      a council step
    lobby ─start─▶ driving ⇄ paused ─end─▶ debrief ─next─▶ lobby (the next step)
    any ─close─▶ finished; the last step's end ─▶ finished

The phase is what every `room` message shows (docs/protocol.md) and what each host command
and member message is checked against. Every change goes through `Phases.enter`, which refuses
a move the table does not list: a bug that would leave a room driving a world it has already
debriefed fails where it happens, not three messages later on someone's screen.
"""

from __future__ import annotations

PHASES = ("lobby", "council", "driving", "paused", "debrief", "finished")

# phase -> the phases it may move to
MOVES: dict[str, frozenset[str]] = {
    "lobby": frozenset({"lobby", "council", "driving", "finished"}),  # lobby → lobby: skip a step
    "council": frozenset({"lobby", "finished"}),  # its result taken, the next step's lobby
    "driving": frozenset({"paused", "debrief", "finished"}),
    "paused": frozenset({"driving", "debrief", "finished"}),
    "debrief": frozenset({"lobby", "finished"}),
    "finished": frozenset({"finished"}),
}

DRIVING = ("driving", "paused")  # a round is under way: its world exists and has cars


class PhaseError(RuntimeError):
    """A move between phases that the room's life does not have (a bug, never a user's error)."""


class Phases:
    """The current phase of one room, changed only along `MOVES`."""

    def __init__(self) -> None:
        self.current = "lobby"

    def enter(self, phase: str) -> None:
        if phase not in MOVES[self.current]:
            raise PhaseError(f"a room cannot go from {self.current} to {phase}")
        self.current = phase
