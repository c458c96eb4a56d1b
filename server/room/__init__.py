"""A game room on the server: server/room/room.py's `Room` and the collaborators it owns
(membership, host commands, phases and lifecycle, snapshot fan-out, debriefs). See
docs/architecture.md for the map."""

from server.room.room import Room

__all__ = ["Room"]
