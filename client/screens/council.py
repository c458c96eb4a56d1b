"""The council: between rounds the group negotiates its rulebook.

Every convention of the catalogue is listed with each option and its plain-language
explanation, so nobody needs the rules explained out loud; beside each option are its votes,
who cast them, and whether it leads, is tied or was decided by the host. Enter votes for the
highlighted option (proposing it when nobody has yet). A chat and the rulebook "if the
council ended now" sit beside the list, and the countdown on top. The host also gets decide
(break a tie or settle a convention), +1 minute and end. State comes only from the server's
`room.council` (server/council.py `Council.state()`); this screen never counts votes itself.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from client.events import ChatReceived, ErrorReceived, NoticeReceived, RoomUpdated
from client.screens.base import GameScreen
from client.screens.confirm import end_council_question
from client.screens.roomview import fmt_clock, int_or_none, plain, players_of
from client.state import checked_map
from client.widgets.feed import EventFeed
from client.widgets.footer import key_footer
from shared.conventions import CATALOGUE, CONVENTIONS, Convention
from shared.messages import Chat, HostCommand, Propose, Vote
from shared.protocol import MAX_CHAT_CHARS

EXTEND_SECONDS = 60
HOST_ACTIONS = frozenset({"decide", "extend", "end_council"})


def option_id(convention: str, option: str) -> str:
    return f"opt:{convention}:{option}"


def _tally(state: dict[str, Any], convention: str, option: str) -> int:
    tallies = state.get("tallies")
    if isinstance(tallies, dict) and isinstance(tallies.get(convention), dict):
        value = int_or_none(tallies[convention].get(option))
        return value or 0
    return 0


class CouncilScreen(GameScreen):
    """Catalogue with votes, proposals, chat and countdown; host decides, extends, ends."""

    DEFAULT_CSS = """
    CouncilScreen { layout: vertical; }
    CouncilScreen #council-status { height: 1; padding: 0 1; background: $boost; }
    CouncilScreen #council-body { height: 1fr; }
    CouncilScreen #council-options { width: 3fr; height: 1fr; }
    CouncilScreen #council-side { width: 2fr; height: 1fr; }
    CouncilScreen #council-result { height: auto; padding: 0 1; }
    CouncilScreen #council-chat { height: 1fr; border-top: hkey $foreground 30%; }
    CouncilScreen #council-say { height: auto; }
    """

    BINDINGS = [
        Binding("c", "chat", "Chat"),
        Binding("d", "decide", "Decide"),
        Binding("plus,equals_sign", "extend", "+1 min"),
        Binding("e", "end_council", "End council"),
        Binding("question_mark", "keys", "Keys", key_display="?"),
    ]

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.room: dict[str, Any] | None = None
        self.remaining: float | None = None

    # -- who is looking ----------------------------------------------------------------

    @property
    def is_host(self) -> bool:
        return self.app.state.role == "host"

    @property
    def player(self) -> int | None:
        return self.app.state.player

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.is_host or action not in HOST_ACTIONS

    @property
    def state(self) -> dict[str, Any]:
        council = self.room.get("council") if self.room else None
        return council if isinstance(council, dict) else {}

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="council-status")
        with Horizontal(id="council-body"):
            yield OptionList(*self._options(), id="council-options")
            with Vertical(id="council-side"):
                yield Static(id="council-result")
                yield EventFeed(id="council-chat")
                yield Input(
                    placeholder="Say something to the group (Enter sends)",
                    id="council-say",
                    max_length=MAX_CHAT_CHARS,
                    compact=True,
                )
        yield key_footer()

    def _options(self) -> list[Option]:
        options: list[Option] = []
        for convention in CATALOGUE:
            options.append(
                Option(self._header(convention), id=f"h:{convention.key}", disabled=True)
            )
            for opt in convention.options:
                options.append(
                    Option(self._prompt(convention, opt.key), id=option_id(convention.key, opt.key))
                )
        return options

    def on_mount(self) -> None:
        room = self.app.state.room
        if room is not None:
            self.apply_room(room)
        else:
            self._show_status()
            self._show_result()
        options = self.query_one("#council-options", OptionList)
        if not options.highlighted:  # the first option, under the first heading; never undo
            options.highlighted = 1  # a choice made before this ran (auto-focus comes first)
        options.focus()
        self.set_interval(1.0, self._count_down)

    # -- drawing -----------------------------------------------------------------------

    def _names(self) -> dict[int, str]:
        return {row.id: row.name for row in players_of(self.room)}

    def _header(self, convention: Convention) -> Text:
        text = Text()
        text.append(convention.title, style="bold underline")
        text.append(f"  {convention.explanation}", style="italic")
        rulebook = self.room.get("rulebook") if self.room else None
        if isinstance(rulebook, dict) and rulebook.get(convention.key) in convention.option_keys():
            now = convention.option(rulebook[convention.key]).label
            text.append(f"  (now: {now})", style="dim")
        return text

    def _prompt(self, convention: Convention, key: str) -> Text:
        state = self.state
        opt = convention.option(key)
        votes = _tally(state, convention.key, key)
        mine = self._my_votes().get(convention.key) == key
        decided = given if isinstance(given := state.get("decided"), dict) else {}
        ties = tied_keys if isinstance(tied_keys := state.get("ties"), dict) else {}
        tied = key in (ties.get(convention.key) or [])
        tabled = any(
            isinstance(p, dict) and p.get("convention") == convention.key and p.get("option") == key
            for p in state.get("proposals") or []
        )
        counts = [_tally(state, convention.key, o) for o in convention.option_keys()]
        leading = votes > 0 and votes == max(counts) and counts.count(votes) == 1

        text = Text()
        text.append(" ✓ " if mine else "   ", style="bold")
        text.append(opt.label, style="bold" if tabled else "")
        text.append("  ")
        text.append("█" * min(votes, 20), style="cyan")
        text.append(f" {votes} vote{'s' if votes != 1 else ''}" if tabled or votes else " —")
        if decided.get(convention.key) == key:
            text.append("  ★ host decided", style="bold magenta")
        elif tied:
            text.append("  ⚖ tied", style="bold yellow")
        elif leading:
            text.append("  ▲ leading", style="bold green")
        voters = self._voters(convention.key, key)
        if voters:
            text.append("  (")
            text.append(", ".join(voters))
            text.append(")")
        text.append(f"\n     {opt.explanation}", style="dim")
        return text

    def _voters(self, convention: str, key: str) -> list[str]:
        names = self._names()
        result = []
        for vote in self.state.get("votes") or []:
            if not isinstance(vote, dict):
                continue
            if vote.get("convention") == convention and vote.get("option") == key:
                pid = int_or_none(vote.get("player"))
                if pid is not None:
                    result.append(names.get(pid, f"#{pid}"))
        return result

    def _my_votes(self) -> dict[str, str]:
        me = self.player
        mine: dict[str, str] = {}
        for vote in self.state.get("votes") or []:
            if isinstance(vote, dict) and vote.get("player") == me and me is not None:
                conv, opt = vote.get("convention"), vote.get("option")
                if isinstance(conv, str) and isinstance(opt, str):
                    mine[conv] = opt
        return mine

    def _show_status(self) -> None:
        state = self.state
        text = Text()
        text.append("COUNCIL", style="bold")
        if not state:
            text.append("  no council running: the list shows the rulebook in force", style="dim")
        else:
            if state.get("over"):
                text.append("  over: the rulebook is settled", style="bold")
            else:
                text.append(f"  {fmt_clock(self.remaining)} left")
            members = state.get("members")
            if isinstance(members, list):
                text.append(f"  {len(members)} members")
        text.append("  Enter: vote (or propose)", style="dim")
        if self.is_host:
            text.append("  d: decide  +: +1 min  e: end", style="dim")
        self.query_one("#council-status", Static).update(text)

    def _show_result(self) -> None:
        result = self.state.get("result")
        rulebook = self.room.get("rulebook") if self.room else None
        title = "If the council ended now:" if isinstance(result, dict) else "Rulebook in force:"
        book = result if isinstance(result, dict) else rulebook
        text = Text(title, style="bold")
        for convention in CATALOGUE:
            chosen = book.get(convention.key) if isinstance(book, dict) else None
            if chosen not in convention.option_keys():
                chosen = convention.default
            in_force = rulebook.get(convention.key, convention.default) if rulebook else None
            changed = isinstance(rulebook, dict) and in_force != chosen
            text.append(f"\n {'→' if changed else '·'} {convention.title}: ")
            text.append(convention.option(chosen).label, style="bold" if changed else "")
        self.query_one("#council-result", Static).update(text)

    def _redraw(self) -> None:
        options = self.query_one("#council-options", OptionList)
        for convention in CATALOGUE:
            options.replace_option_prompt(f"h:{convention.key}", self._header(convention))
            for opt in convention.options:
                options.replace_option_prompt(
                    option_id(convention.key, opt.key), self._prompt(convention, opt.key)
                )
        self._show_status()
        self._show_result()

    def _count_down(self) -> None:
        """Between `room` updates, count the last known remaining time down locally."""
        if self.remaining is not None and self.remaining > 0 and not self.state.get("over"):
            self.remaining = max(0.0, self.remaining - 1.0)
            self._show_status()

    # -- incoming ----------------------------------------------------------------------

    # The app forwards each server message here as the event of its kind
    # (docs/architecture.md, "The client's plumbing").

    def on_room_updated(self, event: RoomUpdated) -> None:
        self.apply_room(checked_map(event.msg))

    def _chat(self) -> EventFeed:
        return self.query_one("#council-chat", EventFeed)  # wraps long lines, never cuts them

    def on_chat_received(self, event: ChatReceived) -> None:
        self._chat().add(f"{plain(event.msg.name, 40)}: {plain(event.msg.text)}", "chat")

    def on_notice_received(self, event: NoticeReceived) -> None:
        self._chat().add(plain(event.msg.text), "notice")

    def on_error_received(self, event: ErrorReceived) -> None:
        self._chat().add(plain(event.msg.message), "error")

    def apply_room(self, room: dict[str, Any]) -> None:
        self.room = room
        remaining = self.state.get("remaining")
        if isinstance(remaining, int | float) and not isinstance(remaining, bool):
            self.remaining = float(remaining)
        self._redraw()

    # -- outgoing ----------------------------------------------------------------------

    def _highlighted(self) -> tuple[str, str] | None:
        option = self.query_one("#council-options", OptionList).highlighted_option
        if option is None or option.id is None or not option.id.startswith("opt:"):
            return None
        _, convention, key = option.id.split(":", 2)
        return convention, key

    def _is_tabled(self, convention: str, key: str) -> bool:
        return any(
            isinstance(p, dict) and p.get("convention") == convention and p.get("option") == key
            for p in self.state.get("proposals") or []
        )

    @on(OptionList.OptionSelected, "#council-options")
    def _on_choose(self, event: OptionList.OptionSelected) -> None:
        choice = self._highlighted()
        if choice is None:
            return
        convention, key = choice
        if self.app.state.role == "spectator":
            self.notify("Spectators watch the council; players vote.", severity="warning")
            return
        tabled = self._is_tabled(convention, key)
        kind = Vote if tabled else Propose
        self.app.send(kind(convention=convention, option=key))
        title = CONVENTIONS[convention].option(key).label
        self.notify(f"{'Voted' if tabled else 'Proposed'}: {title}", timeout=2)

    def action_keys(self) -> None:
        from client.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    def action_chat(self) -> None:
        self.query_one("#council-say", Input).focus()

    @on(Input.Submitted, "#council-say")
    def _on_say(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text:
            self.app.send(Chat(text=text))
        event.input.value = ""
        self.query_one("#council-options", OptionList).focus()

    def action_decide(self) -> None:
        choice = self._highlighted()
        if choice is None:
            self.notify("Highlight an option to decide.", severity="warning")
            return
        convention, key = choice
        self.app.send(HostCommand(command="decide", convention=convention, option=key))

    def action_extend(self) -> None:
        self.app.send(HostCommand(command="extend", seconds=EXTEND_SECONDS))

    def action_end_council(self) -> None:
        """Ending the council cuts the vote short for everyone: ask first, as the host
        screen's `e` does (client/screens/confirm.py)."""

        def answered(value: str | None) -> None:
            if value == "end":
                self.app.send(HostCommand(command="end"))

        self.app.push_screen(end_council_question(), answered)
