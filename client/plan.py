"""What the app should do once it starts (client/launch.py builds one per command).

A `Plan` is plain data: which server, and whether this client creates, joins, watches or
replays a room. The app keeps its current plan in `app.plan`; screens read it (the connect
form starts over with a changed one, the replay screen finds its history file in it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """What the app should do once it starts: which server, and create / join / watch."""

    kind: str  # "solo" | "host" | "join" | "spectate" | "connect" | "replay"
    url: str | None = None
    name: str = "Player"
    code: str | None = None
    role: str = "player"  # for join: "player" | "spectator"
    scenario: str | None = None
    program: str | None = None
    bots: int | None = None
    seed: int | None = None
    play: bool = False  # the creator drives too (solo)
    autostart: bool = False  # start the round as soon as the room exists (solo)
    game: str | None = None  # replay: game id
    round_no: int | None = None
    db: str | None = None
    cafile: str | None = None  # PEM file of certificates to trust for wss:// (self-signed)
    separate_server: bool = False  # host: the room lives on an `interlane server` elsewhere

    @property
    def keeps_seat(self) -> bool:
        """Whether this client's token is kept on disk: every room on a server that outlives
        this process (not the embedded server of solo or a local host)."""
        return self.kind in ("join", "spectate", "connect") or (
            self.kind == "host" and self.separate_server
        )
