"""The question ctrl+q asks first, whenever quitting would cost a round or a room.

Who is asked what depends on the plan (solo, a local host, a host on a separate server, a
joined player) and on where the room is; the answers are `Choice`s
(client/screens/confirm.py) whose values the app acts on: quit, close (end it properly),
stay. docs/architecture.md, "The client's plumbing".
"""

from __future__ import annotations

from client.plan import Plan
from client.screens.confirm import Answer, Choice
from client.state import ClientState

LIVE_PHASES = ("driving", "paused", "council")


def quit_question(plan: Plan, state: ClientState) -> Choice | None:
    """What to ask before ctrl+q quits, or None when quitting costs nothing."""
    if state.player is None or state.phase in (None, "finished"):
        return None
    live = state.phase in LIVE_PHASES
    what = what_is_on(state)
    others = any(
        p.get("connected") and p.get("id") != state.player
        for p in (state.room or {}).get("players", ())
        if isinstance(p, dict)
    )
    if plan.kind == "solo":  # nobody else is on this road: no one to tell or close on
        if not live:
            return None
        return Choice(
            f"Quit while {what} is under way? End it properly: it is saved to your solo "
            "history (interlane history). Quit at once: this attempt is lost.",
            [
                Answer("e", "End it properly", "close"),
                Answer("q", "Quit at once", "quit"),
                Answer("n", "Keep driving", "stay"),
            ],
        )
    keep = Answer("n", "Keep hosting" if state.role == "host" else "Keep driving", "stay")
    if state.role == "host" and plan.kind == "host":
        close = Answer("e", "End it properly", "close")
        if plan.separate_server:
            saved = f"the debrief of {what} is saved and " if live else ""
            return Choice(
                f"Leave room {state.code}? End it properly ({saved}everyone is told the "
                "room is closed), or leave it running on its server: run the same command "
                "again to take it back.",
                [close, Answer("l", "Leave it running", "quit"), keep],
            )
        if not live and not others:
            return None
        return Choice(
            f"Quit while {what} is under way? End it properly: the debrief is saved and "
            "everyone is told. Quitting at once closes this server for everyone."
            if live
            else "Quit? This closes the room for everyone in it.",
            [close, Answer("q", "Quit at once", "quit"), keep],
        )
    if not live or state.role == "spectator":
        return None
    back = "run the same command again within 2 minutes to take your seat back."
    if state.phase == "council":
        back = back[0].upper() + back[1:]
    else:
        back = f"A bot drives your car until you are back: {back}"
    return Choice(
        f"Leave {what}? {back}",
        [Answer("y", "Leave", "quit"), keep],
    )


def what_is_on(state: ClientState) -> str:
    """What quitting would cut short, as the questions name it: the council, round 2."""
    if state.phase == "council":
        return "the council"
    number = (state.room or {}).get("round")
    return f"round {number}" if isinstance(number, int) and number > 0 else "the round"
