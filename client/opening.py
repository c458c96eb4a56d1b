"""What this client says first on a socket: hello, then create, join or rejoin.

The app hands these to its connection as the opening of every fresh socket
(client/net.py `Connection`), and sends `create` / `join` again when a seat read from
disk turns out to be over (docs/protocol.md, `join` and "Limits": a token rejoins the
same seat for 2 minutes).
"""

from __future__ import annotations

from client.net import hello
from client.plan import Plan
from client.state import ClientState
from shared.messages import ClientMessage, Create, Join
from shared.protocol import PROTOCOL_VERSION


def opening(plan: Plan, state: ClientState) -> list[ClientMessage]:
    """First messages on a fresh socket: rejoin with our token once we have one."""
    messages: list[ClientMessage] = [hello(plan.name)]
    if state.code and state.token:
        role = "spectator" if state.role == "spectator" else "player"
        messages.append(join_message(plan.name, state.code, role, state.token))
    elif plan.kind in ("solo", "host"):
        messages.append(create_message(plan))
    elif plan.code:
        messages.append(join_message(plan.name, plan.code, plan.role))
    return messages


def create_message(plan: Plan) -> Create:
    """`create` a room as the plan says (solo and host)."""
    return Create(
        protocol=PROTOCOL_VERSION,
        name=plan.name,
        scenario=plan.scenario,
        program=plan.program,
        bots=plan.bots,
        seed=plan.seed,
        play=plan.play,
    )


def join_message(name: str, code: str, role: str, token: str | None = None) -> Join:
    """`join` room `code` as a player or spectator; with `token`, take a kept seat back."""
    return Join(protocol=PROTOCOL_VERSION, code=code, name=name, role=role, token=token or None)
