"""Small dialogs that stop a session from ending by accident, and say when it has ended.

`Choice` asks one question with a few answers, each a key and a button, and dismisses with
the chosen value (escape: the last, safe answer). `RoomEnded` tells a player or the
projector, in one sentence that stays until dismissed, that the room or the server is gone:
a toast that fades leaves a frozen screen that still says "DRIVING".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


@dataclass(frozen=True)
class Answer:
    """One answer of a `Choice`: the key that picks it, its label, the value it returns."""

    key: str
    label: str
    value: str


class Choice(ModalScreen[str]):
    """A question with answers; the last answer is the safe one (escape picks it)."""

    DEFAULT_CSS = """
    Choice { align: center middle; }
    Choice > Vertical {
        width: 78; max-width: 100%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    Choice Horizontal { height: auto; margin-top: 1; }
    Choice Button { margin-right: 1; }
    """

    def __init__(self, question: str, answers: list[Answer]) -> None:
        super().__init__()
        self.question = question
        self.answers = answers
        for answer in answers:
            self._bindings.bind(answer.key, f"answer('{answer.value}')", answer.label)
        self._bindings.bind("escape", f"answer('{answers[-1].value}')", show=False)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, markup=False, id="choice-question")
            with Horizontal():
                for answer in self.answers:
                    yield Button(
                        f"{answer.label} ({answer.key})",
                        id=f"choice-{answer.value}",
                        variant="default" if answer is self.answers[-1] else "warning",
                    )

    def on_mount(self) -> None:
        self.query_one(f"#choice-{self.answers[-1].value}", Button).focus()

    def action_answer(self, value: str) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        button_id = event.button.id or ""
        self.dismiss(button_id.removeprefix("choice-"))


def end_round_question(room: dict[str, Any] | None) -> Choice:
    """The host's `e`: ending a round cuts it short for everyone, so it asks first."""
    room = room or {}
    number = room.get("round")
    if room.get("phase") == "council":
        return end_council_question()
    what = f"round {number}" if isinstance(number, int) and number > 0 else "the round"
    return Choice(
        f"End {what} now? Everyone goes to the debrief.",
        [Answer("y", "End it", "end"), Answer("n", "Keep going", "stay")],
    )


def end_council_question() -> Choice:
    """The host's `e` in the council: ending it cuts the vote short for everyone, so it asks
    first; the rulebook is then what the votes say at that moment (server/council.py)."""
    return Choice(
        "End the council now? The rulebook is settled as the votes stand, "
        "and the next round's lobby opens.",
        [Answer("y", "End it", "end"), Answer("n", "Keep talking", "stay")],
    )


class RoomEnded(ModalScreen[str]):
    """The room or the server is gone: say so until the person quits or looks back."""

    DEFAULT_CSS = """
    RoomEnded { align: center middle; }
    RoomEnded > Vertical {
        width: 64; max-width: 100%; height: auto; padding: 1 2;
        border: thick $error; background: $surface;
    }
    RoomEnded Horizontal { height: auto; margin-top: 1; }
    RoomEnded Button { margin-right: 1; }
    """

    BINDINGS = [
        Binding("q", "answer('quit')", "Quit"),
        Binding("escape", "answer('stay')", "Look back"),
    ]

    def __init__(self, sentence: str, lost: bool = False) -> None:
        super().__init__()
        self.sentence = sentence
        self.lost = lost  # only the connection is lost: dismissed when it is back

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.sentence, markup=False, id="ended-sentence")
            with Horizontal():
                yield Button("Quit (q)", variant="primary", id="ended-quit")
                yield Button("Look back (esc)", id="ended-stay")

    def say(self, sentence: str) -> None:
        """Replace the sentence (a lost connection's notice, updated by each retry)."""
        self.sentence = sentence
        if self.is_mounted:
            self.query_one("#ended-sentence", Static).update(sentence)

    def action_answer(self, value: str) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss("quit" if event.button.id == "ended-quit" else "stay")
