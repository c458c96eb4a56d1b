"""The debrief: what just happened on the road, from the round's own data (docs/debrief.md).

It opens on a question, not an answer ("ask first, reveal after": docs/debrief.md): the space-time
diagram is hidden while the player marks where they think the jam started; Enter (or r)
reveals the real diagram, the traced wave roots and the cards, and compares the guess with
the costliest root. Tabs then hold behaviour over time and the round-by-round learning
curve, the wave roots with their counterfactual costs, the insight cards, and the player's
own figures beside the team's. The projector layout (host without a car, spectators) has
bigger figures, one card at a time and fewer words.

Everything drawn comes from the `debrief` message (docs/debrief.md); a section that the
round did not produce says so instead of showing anything canned.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import (
    DataTable,
    Label,
    Static,
    TabbedContent,
    TabPane,
)

from client.events import DebriefReady, ReplayReceived, RoomUpdated
from client.screens.base import GameScreen
from client.screens.roomview import is_current
from client.state import checked_map
from client.widgets.cards import InsightCard, card_body
from client.widgets.charts import AxisSparkline, TeamFigures, axis_for
from client.widgets.debrief_format import (
    chain_text,
    legend,
    numbers,
    path_of,
    plural,
    road_length,
    root_points,
    roots_of,
)
from client.widgets.debrief_tables import (
    fill_program_rounds,
    fill_roots,
    fill_rounds,
    fill_you,
    program_changes,
)
from client.widgets.debrief_text import (
    Window,
    card_prompt,
    card_windows,
    guess_verdict,
    question,
    rulebook_text,
    series_caption,
    title_text,
)
from client.widgets.footer import key_footer
from client.widgets.solo_summary import solo_text
from client.widgets.spacetime import Diagram, SpaceTime
from shared.messages import HostCommand, ReplayRequest

SERIES: tuple[tuple[str, str], ...] = (
    ("mean_kmh", "Mean speed (km/h)"),
    ("flow_vph", "Flow past the gantry (veh/h)"),
    ("stopped", "Stopped cars"),
    ("hard_brakes", "Hard brakes"),
)

TABS = Binding.Group("tabs", compact=True)


class DebriefScreen(GameScreen):
    """Diagram (after a guess), behaviour over time, wave roots, cards, you vs the team."""

    DEFAULT_CSS = """
    DebriefScreen { layout: vertical; }
    DebriefScreen #debrief-title { height: auto; padding: 0 1; background: $boost; }
    DebriefScreen #solo-summary { height: auto; padding: 0 1; }
    DebriefScreen #debrief-tabs { height: 1fr; }
    DebriefScreen #reveal-prompt { height: auto; padding: 0 1; color: $warning; }
    DebriefScreen #diagram-legend { height: 1; padding: 0 1; }
    DebriefScreen #guess-result { height: auto; padding: 0 1; }
    DebriefScreen .series-label { margin-top: 1; }
    DebriefScreen Sparkline { height: 2; }
    DebriefScreen.-projector Sparkline { height: 4; }
    DebriefScreen #rounds, DebriefScreen #roots, DebriefScreen #you { height: auto; max-height: 16; }
    DebriefScreen #program-rounds { height: auto; max-height: 12; }
    DebriefScreen #program-intro, DebriefScreen #program-changes { height: auto; padding: 0 1; }
    DebriefScreen #program-card { height: auto; }
    DebriefScreen #roots-text { height: auto; padding: 1 1 0 1; }
    DebriefScreen #chain { height: auto; padding: 1 1 0 1; }
    DebriefScreen .empty { color: $text-muted; padding: 1; }
    """

    # The keys that matter first, so an 80-column footer keeps them; the tabs' numbers share
    # one entry (the tabs are on screen anyway) and `?` lists every key.
    BINDINGS = [
        Binding("n", "next_round", "Next round"),
        Binding("r", "reveal", "Reveal"),
        Binding("v", "view_card", "Card on diagram"),
        Binding("p", "replay", "Replay"),
        Binding("right_square_bracket", "card(1)", "Next card"),
        Binding("left_square_bracket", "card(-1)", "Prev card", show=False),
        Binding("1", "tab('tab-diagram')", "Diagram", group=TABS),
        Binding("2", "tab('tab-time')", "Over time", group=TABS),
        Binding("3", "tab('tab-waves')", "Waves", group=TABS),
        Binding("4", "tab('tab-cards')", "Cards", group=TABS),
        Binding("5", "tab('tab-you')", "You", group=TABS),
        Binding("6", "tab('tab-program')", "Program", group=TABS),
        Binding("question_mark", "keys", "Keys", key_display="?"),
    ]

    def __init__(self, name: str | None = None) -> None:
        super().__init__(name=name)
        self.payload: dict[str, Any] = {}
        self.card_index = 0
        self.window_index = -1
        self.guess: tuple[float, float] | None = None

    # -- who is looking ----------------------------------------------------------------

    @property
    def role(self) -> str | None:
        return self.app.state.role

    @property
    def car(self) -> int | None:
        return self.app.state.car

    @property
    def projector(self) -> bool:
        """Projector layout for spectators and for a host who does not drive."""
        return self.role == "spectator" or (self.role == "host" and self.car is None)

    @property
    def revealed(self) -> bool:
        return self.query_one("#diagram", SpaceTime).revealed

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_round":
            return self.role == "host" and not self._finished()
        if action == "card":
            return self.projector
        if action == "replay":
            return self._replay_source() is not None or self._can_fetch_replay()
        if action == "view_card":
            return bool(self.is_mounted and self.revealed and self._windows())
        if action == "reveal":
            return not (self.is_mounted and self.revealed)
        if action == "tab" and parameters == ("tab-you",):
            return not self.projector
        if action == "tab" and parameters == ("tab-program",):
            return self._program() is not None  # only after a program's last round
        return True

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="debrief-title")
        yield Static(id="solo-summary")
        with TabbedContent(id="debrief-tabs", initial="tab-diagram"):
            with TabPane("Diagram", id="tab-diagram"):
                yield Static(id="reveal-prompt")
                yield SpaceTime(id="diagram")
                yield Static(legend(), id="diagram-legend")
                yield Static(id="guess-result")
            with TabPane("Over time", id="tab-time"), VerticalScroll():
                if self.projector:
                    yield TeamFigures(big=True, id="debrief-figures")
                for key, label in SERIES:
                    yield Label(label, id=f"label-{key}", classes="series-label")
                    yield AxisSparkline([], id=f"spark-{key}")
                yield Static(id="rulebook", classes="series-label")
                yield Label("Round by round", classes="series-label")
                yield DataTable(id="rounds", cursor_type="row")
            with TabPane("Waves", id="tab-waves"), VerticalScroll():
                yield DataTable(id="roots", cursor_type="row")
                yield Static(id="chain")
                yield Static(id="roots-text")
            with TabPane("Cards", id="tab-cards"):
                yield VerticalScroll(id="cards")
            if not self.projector:
                with TabPane("You", id="tab-you"), VerticalScroll():
                    yield DataTable(id="you", cursor_type="row")
            with TabPane("Program", id="tab-program"), VerticalScroll():
                yield Static(id="program-intro")
                yield DataTable(id="program-rounds", cursor_type="row")
                yield Static(id="program-changes")
                yield Vertical(id="program-card")
        yield key_footer()

    def on_mount(self) -> None:
        if self.projector:
            self.add_class("-projector")
        if not self.payload and self.app.state.debrief is not None:
            self.payload = self.app.state.debrief
        self.show_payload()
        self.query_one("#diagram", SpaceTime).focus()

    # -- incoming ----------------------------------------------------------------------

    # The app forwards each server message here as the event of its kind
    # (docs/architecture.md, "The client's plumbing"); a screen on its way out ignores them.

    def on_room_updated(self, event: RoomUpdated) -> None:
        if not is_current(self):
            return
        self._show_title()  # the program may have ended: no next step to offer
        self.refresh_bindings()
        if self._finished() and self._program() is not None:
            self._open_program()

    def on_replay_received(self, event: ReplayReceived) -> None:
        if is_current(self):
            self._open_fetched_replay(checked_map(event.msg))

    def on_debrief_ready(self, event: DebriefReady) -> None:
        if not is_current(self):
            return
        msg = checked_map(event.msg)
        if msg == self.payload:
            return  # the same debrief again (after a reconnect): keep the reveal
        self.payload = msg
        self.show_payload()

    def show_payload(self) -> None:
        """Fill every section from the payload; a new payload starts with the question again."""
        p = self.payload
        self._show_title()
        solo = solo_text(p)  # a solo round: the challenge's verdict, coach and next rung
        summary = self.query_one("#solo-summary", Static)
        summary.update(solo or "")
        summary.display = solo is not None
        diagram = Diagram.from_payload(p.get("diagram"))
        spacetime = self.query_one("#diagram", SpaceTime)
        spacetime.set_data(
            diagram, road_length(p), path_of(p, self.car), root_points(self._roots())
        )
        spacetime.revealed = False
        spacetime.highlight(None)
        self.window_index = -1
        spacetime.cursor = None
        spacetime.guess = None
        self.guess = None
        tabs = self.query_one("#debrief-tabs", TabbedContent)
        tabs.disable_tab("tab-waves")
        tabs.disable_tab("tab-cards")
        tabs.active = "tab-diagram"
        prompt = question(p)
        if diagram is None:
            prompt = "This round has no space-time diagram. Press r to see the rest."
        self.query_one("#reveal-prompt", Static).update(Text(prompt))
        self.query_one("#guess-result", Static).update("")
        self._show_series()
        self._show_rounds()
        self._show_roots()
        self._show_cards()
        if not self.projector:
            self._show_you()
        self._show_program()
        self.refresh_bindings()

    def _show_title(self) -> None:
        self.query_one("#debrief-title", Static).update(title_text(self.payload, self._finished()))
        self.query_one("#rulebook", Static).update(rulebook_text(self.payload.get("rulebook")))

    def _finished(self) -> bool:
        return self.app.state.phase == "finished"

    def _roots(self) -> list[dict[str, Any]]:
        return roots_of(self.payload)

    def _show_series(self) -> None:
        series = given if isinstance(given := self.payload.get("series"), dict) else {}
        for key, label in SERIES:
            data = numbers(series.get(key))
            spark = self.query_one(f"#spark-{key}", AxisSparkline)
            lo, hi = axis_for(data)
            spark.set_series(data, (lo, hi))
            self.query_one(f"#label-{key}", Label).update(series_caption(label, data, lo, hi))
        if self.projector:
            team = self.payload.get("team")
            self.query_one("#debrief-figures", TeamFigures).update_figures(
                team if isinstance(team, dict) else None
            )

    def _show_rounds(self) -> None:
        table = self.query_one("#rounds", DataTable)
        table.clear(columns=True)
        fill_rounds(table, self.payload)

    def _show_roots(self) -> None:
        table = self.query_one("#roots", DataTable)
        table.clear(columns=True)
        self.query_one("#roots-text", Static).update(fill_roots(table, self._roots()))

    @on(DataTable.RowHighlighted, "#roots")
    def _on_root_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        roots = self._roots()
        if key is not None and key.isdigit() and int(key) < len(roots):
            self.query_one("#chain", Static).update(chain_text(roots[int(key)]))

    def _cards(self) -> list[dict[str, Any]]:
        return [c for c in self.payload.get("cards") or [] if isinstance(c, dict)]

    def _show_cards(self) -> None:
        box = self.query_one("#cards", VerticalScroll)
        box.remove_children()
        cards = self._cards()
        if not cards:
            box.mount(
                Static(
                    "No pattern stood out strongly enough for a card this round.", classes="empty"
                )
            )
            return
        if self.projector:
            self.card_index = min(self.card_index, len(cards) - 1)
            box.mount(
                Static(
                    Text(f"card {self.card_index + 1} of {len(cards)}  ([ ] to flip)", style="dim")
                )
            )
            box.mount(InsightCard(cards[self.card_index], projector=True))
        else:
            box.mount_all(InsightCard(card) for card in cards)

    def _show_you(self) -> None:
        table = self.query_one("#you", DataTable)
        table.clear(columns=True)
        fill_you(table, self.payload, self.car)

    # -- the end of the program ----------------------------------------------------------

    def _program(self) -> dict[str, Any] | None:
        program = self.payload.get("program")
        return program if isinstance(program, dict) else None

    def _open_program(self) -> None:
        """After the last round: the whole program on every screen (host, players, projector)."""
        if self._program() is not None:
            self.query_one("#debrief-tabs", TabbedContent).active = "tab-program"

    def _show_program(self) -> None:
        """The end-of-program debrief (docs/debrief.md `program`): the rounds side by side,
        what changed when the rules changed, and the team-learning card across rounds."""
        tabs = self.query_one("#debrief-tabs", TabbedContent)
        program = self._program()
        table = self.query_one("#program-rounds", DataTable)
        table.clear(columns=True)
        box = self.query_one("#program-card", Vertical)
        box.remove_children()
        if program is None:
            tabs.hide_tab("tab-program")  # not a disabled tab: nothing to come in this round
            return
        tabs.show_tab("tab-program")
        rows = [r for r in program.get("rounds") or [] if isinstance(r, dict)]
        self.query_one("#program-intro", Static).update(
            Text(
                f"The whole program: {plural(len(rows), 'round')} side by side.",
                style="bold",
            )
        )
        fill_program_rounds(table, rows)
        self.query_one("#program-changes", Static).update(program_changes(program))
        learning = program.get("learning")
        if isinstance(learning, dict):
            box.mount(InsightCard(learning, projector=self.projector))
        else:
            box.mount(
                Static(
                    "No figure moved by 10 % or more from the first round to the last.",
                    classes="empty",
                )
            )

    # -- the reveal ----------------------------------------------------------------------

    def action_reveal(self) -> None:
        self.query_one("#diagram", SpaceTime).action_reveal()

    @on(SpaceTime.Revealed)
    def _on_revealed(self, event: SpaceTime.Revealed) -> None:
        self.guess = event.guess
        tabs = self.query_one("#debrief-tabs", TabbedContent)
        tabs.enable_tab("tab-waves")
        tabs.enable_tab("tab-cards")
        self.query_one("#reveal-prompt", Static).update(
            Text(
                "Time runs left to right, position along the ring upwards. Slow stripes that "
                "run down to the right are jam waves travelling backwards.",
            )
        )
        verdict = guess_verdict(self.payload, self.guess)
        if self._program() is not None:
            verdict.append(
                "\nThat was the program's last round: press 6 for every round side by side.",
                style="bold",
            )
        self.query_one("#guess-result", Static).update(verdict)
        self.refresh_bindings()

    # -- other actions ------------------------------------------------------------------

    def action_keys(self) -> None:
        from client.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one("#debrief-tabs", TabbedContent)
        if tab not in {pane.id for pane in tabs.query(TabPane)} or tabs.get_tab(tab).disabled:
            return
        tabs.active = tab

    def action_card(self, step: int) -> None:
        cards = self._cards()
        if not cards:
            return
        self.card_index = (self.card_index + step) % len(cards)
        self._show_cards()

    def _windows(self) -> list[tuple[dict[str, Any], Window]]:
        """The cards that point at a place on the diagram, with their windows."""
        return card_windows(self._cards())

    def action_view_card(self) -> None:
        """Show the next card's window on the diagram, everything else dimmed (v again: next)."""
        windows = self._windows()
        if not windows:
            return
        self.window_index = (self.window_index + 1) % (len(windows) + 1)
        spacetime = self.query_one("#diagram", SpaceTime)
        prompt = self.query_one("#reveal-prompt", Static)
        self.query_one("#debrief-tabs", TabbedContent).active = "tab-diagram"
        if self.window_index == len(windows):
            spacetime.highlight(None)
            prompt.update(Text("The whole round. (v: show a card's moment again)"))
            return
        card, window = windows[self.window_index]
        spacetime.highlight(window)
        prompt.update(card_prompt(card))

    def _replay_source(self) -> tuple[str | None, str, int] | None:
        """Where this round is stored, when its history file is on this machine.

        Solo and host games run their server in this process, so the round the debrief is
        about was committed to the same SQLite file just before the debrief arrived.
        """
        plan, code = self.app.plan, self.app.state.code
        rnd = self.payload.get("round")
        if plan.kind not in ("solo", "host") or code is None:
            return None
        if not isinstance(rnd, int) or isinstance(rnd, bool):
            return None
        return plan.db, code, rnd

    def _can_fetch_replay(self) -> bool:
        """A remote member asks the server for the round's inputs (see `replay` in
        docs/protocol.md) and rebuilds the round here; that needs a live connection."""
        rnd = self.payload.get("round")
        connected = self.app.state.connection == "connected"
        return connected and isinstance(rnd, int) and not isinstance(rnd, bool)

    def action_replay(self) -> None:
        from client.screens.replay import ReplayScreen

        source = self._replay_source()
        if source is not None:
            db, code, rnd = source
            self.app.push_screen(ReplayScreen(db=db, game=code, round_no=rnd))
        elif self._can_fetch_replay() and self.app.send(ReplayRequest()):
            self.notify("Fetching the round from the server…", markup=False)

    def _open_fetched_replay(self, msg: dict[str, Any]) -> None:
        """The round's inputs arrived: replay them here, with this debrief's wave roots."""
        from client.screens.replay import ReplayScreen

        if msg.get("round") != self.payload.get("round"):
            return  # an answer about another round than the one on screen
        stored = dict(msg)
        stored.update(round_no=msg["round"], game_id=self.app.state.code)
        stored["debrief"] = self.payload
        self.app.push_screen(ReplayScreen(stored=stored))

    def action_next_round(self) -> None:
        self.app.send(HostCommand(command="next"))


__all__ = ["DebriefScreen", "card_body"]
