"""What the app tells its screens: Textual messages for the server's messages and the link.

The connection (client/net.py) runs on Textual's loop and hands each validated server
message to the app, which folds it into `app.state` and forwards it to the screen in play
(docs/architecture.md, "The client's plumbing"). These classes are that hand-over; they live
apart from client/app.py so that screens can name them without importing the app.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class ServerMessage(Message, bubble=False):
    """One validated message from the server (a dict with a "type")."""

    def __init__(self, msg: dict[str, Any]) -> None:
        super().__init__()
        self.msg = msg


class ConnectionStatus(Message, bubble=False):
    """The connection changed: state is connecting | connected | lost | closed."""

    def __init__(self, state: str, text: str) -> None:
        super().__init__()
        self.state = state
        self.text = text
