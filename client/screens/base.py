"""The screens' typed view of the app they run in.

Every game screen reads `app.state` (client/state.py), `app.plan` (client/plan.py) and sends
with `app.send(...)` (docs/architecture.md, "The client's plumbing"). Textual types
`Screen.app` as any `App`; `GameScreen` narrows it to `InterlaneApp` with Textual's own
`getters.app` (which also checks it when read), so that a screen and the app it runs in are
checked against each other instead of guessed at.
"""

from __future__ import annotations

from textual import getters
from textual.screen import Screen

from client.app import InterlaneApp


class GameScreen(Screen[None]):
    """A screen of the game, always shown by an `InterlaneApp` (tests run the real one too:
    tests/client/test_harness.py)."""

    app = getters.app(InterlaneApp)
