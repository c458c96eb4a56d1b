"""Connect / join: which server, which room, your name, and whether you drive or watch.

`interlane join CODE` without `--name` lands here with the code and server filled in; the
form checks what it can locally (the code's alphabet and length, a name) so a typo gets a
sentence next to the field instead of a round trip and an error from the server.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Input, Label, RadioButton, RadioSet, Static

from client.events import ConnectionStatus, ErrorReceived
from client.screens.base import GameScreen
from shared.protocol import CODE_ALPHABET, CODE_LENGTH, clean_name


def check_form(server: str, code: str, name: str) -> str | None:
    """A sentence saying what is wrong with the form, or None when it can be sent."""
    if not server.startswith(("ws://", "wss://")):
        return "The server address starts with ws:// or wss://, e.g. ws://127.0.0.1:8765"
    code = code.strip().upper()
    if len(code) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in code):
        return f"A room code is {CODE_LENGTH} characters from {CODE_ALPHABET}"
    if not clean_name(name):
        return "Type a name so the others know who you are"
    return None


class ConnectScreen(GameScreen):
    """A small form; submitting it starts the app's connection."""

    BINDINGS = [("escape", "app.quit", "Quit")]

    def compose(self) -> ComposeResult:
        plan = self.app.plan
        with Vertical(id="connect"):
            yield Static(Text("Join an Interlane room", style="bold"), id="connect-title")
            with Horizontal(classes="connect-row"):
                yield Label("Server")
                yield Input(plan.url or "ws://127.0.0.1:8765", id="connect-server")
            with Horizontal(classes="connect-row"):
                yield Label("Room code")
                yield Input(plan.code or "", id="connect-code", max_length=CODE_LENGTH)
            with Horizontal(classes="connect-row"):
                yield Label("Your name")
                yield Input(plan.name if plan.name != "Player" else "", id="connect-name")
            with RadioSet(id="connect-role"):
                yield RadioButton("Drive", value=plan.role != "spectator", id="role-player")
                yield RadioButton("Watch", value=plan.role == "spectator", id="role-spectator")
            yield Button("Join", id="connect-go", variant="primary")
            yield Static(id="connect-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        name = self.query_one("#connect-name", Input)
        code = self.query_one("#connect-code", Input)
        (name if code.value else code).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "connect-go":
            self.submit()

    def submit(self) -> None:
        app = self.app
        server = self.query_one("#connect-server", Input).value.strip()
        code = self.query_one("#connect-code", Input).value.strip().upper()
        name = self.query_one("#connect-name", Input).value
        problem = check_form(server, code, name)
        status = self.query_one("#connect-status", Static)
        if problem:
            status.update(Text(problem))
            return
        watch = self.query_one("#role-spectator", RadioButton).value
        status.update(Text(f"Connecting to {server}…"))
        app.start_connection(
            app.with_plan(
                kind="spectate" if watch else "join",
                url=server,
                code=code,
                name=clean_name(name),
                role="spectator" if watch else "player",
            )
        )

    def on_connection_status(self, event: ConnectionStatus) -> None:
        self.query_one("#connect-status", Static).update(Text(event.text))

    def on_error_received(self, event: ErrorReceived) -> None:
        self.query_one("#connect-status", Static).update(Text(event.msg.message))
