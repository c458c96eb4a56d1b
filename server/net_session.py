"""One connection's life, from its opening to its close (the websockets handler).

Each frame passes the gate (server/net_gate.py) — the allowance, then decoding into a typed
message, once — and is then answered here when it is the connection's own business (`ping`,
`hello`), makes the connection a member (`create`, `join`), or goes to the member's room
(`Room.handle`). A refusal goes back as an `error`; when the connection closes, its member
is disconnected (a bot drives its car until it rejoins).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from server.net_conn import Client, GuardedConnection
from server.net_gate import DRIVING_PHASES
from server.rooms import Member
from shared.messages import ClientMessage, Create, ErrorReply, Hello, HostCommand, Join, Ping, Pong
from shared.protocol import ProtocolError, check_protocol_version

if TYPE_CHECKING:
    from server.net import GameServer
    from server.round import Room

log = logging.getLogger(__name__)


async def serve_connection(server: GameServer, ws: ServerConnection) -> None:
    """The server's websockets handler: one connection, start to end."""
    gate = server.gate
    if isinstance(ws, GuardedConnection):
        gate.handshake_ended(ws)
    peer = ws.remote_address
    address = str(peer[0]) if isinstance(peer, tuple) and peer else "?"
    if not gate.connected(address):
        too_many = ErrorReply(code="too_many", message="too many connections from your address")
        await ws.send(too_many.encode())
        await ws.close(CloseCode.POLICY_VIOLATION, "too many connections")
        return
    session = Session(server, Client(ws, server.limits, server.clock(), server.clock), address)
    if isinstance(ws, GuardedConnection):
        ws.on_ping = session.client.on_ping
    server.clients.add(session.client)
    try:
        await session.run()
    except ConnectionClosed:
        pass
    finally:
        server.clients.discard(session.client)
        gate.disconnected(address)
        session.leave()


class Session:
    """What one connection is in the server: its `Client`, its address, its room and member."""

    def __init__(self, server: GameServer, client: Client, address: str) -> None:
        self.server = server
        self.client = client
        self.address = address
        self.room: Room | None = None
        self.member: Member | None = None

    async def run(self) -> None:
        """Read frames until the connection closes or earns a close."""
        server, client, ws = self.server, self.client, self.client.ws
        gate = server.gate
        async for frame in ws:
            now = server.clock()
            flooded = gate.over_allowance(client, now)
            if flooded is not None:
                if flooded:
                    await ws.close(CloseCode.POLICY_VIOLATION, flooded)
                    break
                continue
            try:
                self.dispatch(gate.read(frame))
            except ProtocolError as exc:
                reason = gate.refused(client, exc, now)
                if reason is not None:
                    await ws.close(CloseCode.POLICY_VIOLATION, reason)
                    break
            except Exception:
                log.exception("unexpected failure handling a message")
                client.reply_error("internal", "the server could not handle that", now)
            if client.closing:
                break

    def dispatch(self, msg: ClientMessage) -> None:
        """One checked message: the connection's own (ping, hello, create, join) here, the
        rest to the member's room."""
        server, client = self.server, self.client
        match msg:
            case Ping(t=t):
                client.send(Pong(t=t).encode())
                return
            case Hello(protocol=version):
                check_protocol_version(version)
                client.send(server.welcome().encode())
                return
        room, member = self.room, self.member
        if isinstance(msg, Create | Join):
            check_protocol_version(msg.protocol)
            if member is not None and room is not None and room.roster.get(member.player) is member:
                raise ProtocolError("bad_state", "this connection is already in a room")
            if not server.gate.join_allowed(self.address):
                raise ProtocolError("rate_limited", "too many joins from your address; wait a bit")
            if isinstance(msg, Create):
                self.room, self.member = server.create_room(client, msg)
            else:
                self.room, self.member = server.join_room(client, msg)
            return
        if (
            room is None
            or member is None
            or room.roster.get(member.player) is not member
            or member.conn is not client
        ):
            raise ProtocolError("not_joined", "create or join a room first")
        if isinstance(msg, HostCommand) and member.is_host:
            server.gate.check_cost(msg.command, room, self.address, server.analysis.waiting)
        room.handle(member, msg)
        if isinstance(msg, HostCommand) and room.phase in DRIVING_PHASES and msg.command == "start":
            server.gate.started(room, self.address)

    def leave(self) -> None:
        """The connection closed: its member, if it is still this connection's, is away."""
        room, member = self.room, self.member
        if room is not None and member is not None and member.conn is self.client:
            try:
                room.disconnect(member)
            except Exception:
                log.exception("room %s: disconnect failed", room.code)
