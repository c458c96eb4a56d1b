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

from client.events import ServerMessage
from client.screens.base import GameScreen
from client.screens.roomview import fmt_clock, is_current, plain
from client.widgets.cards import InsightCard, card_body, where_text
from client.widgets.charts import AxisSparkline, TeamFigures, axis_for
from client.widgets.footer import key_footer
from client.widgets.ring_overview import legend_text
from client.widgets.solo_summary import solo_text
from client.widgets.spacetime import Diagram, SpaceTime
from shared.conventions import CATALOGUE, describe
from shared.lanes import lane_name

SERIES: tuple[tuple[str, str], ...] = (
    ("mean_kmh", "Mean speed (km/h)"),
    ("flow_vph", "Flow past the gantry (veh/h)"),
    ("stopped", "Stopped cars"),
    ("hard_brakes", "Hard brakes"),
)

# key in drivers[], label, format
PERSONAL: tuple[tuple[str, str, str], ...] = (
    ("distance_m", "Distance (km)", "km"),
    ("mean_kmh", "Mean speed (km/h)", "0"),
    ("delay_s", "Delay (s)", "0"),
    ("crashes", "Crashes involved", "0"),
    ("crashes_caused", "Crashes caused", "0"),
    ("near_misses", "Near misses", "0"),
    ("hard_brakes", "Hard brakes", "0"),
    ("lane_changes", "Lane changes", "0"),
    ("unsignalled_changes", "Unsignalled changes", "0"),
    ("accel_rms", "Smoothness: accel RMS (m/s², lower is smoother)", "2"),
    ("adherence", "Adherence (0–100)", "0"),
    ("score", "Score (m)", "0"),
)

ROUND_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("flow_vph", "Flow veh/h", "0"),
    ("mean_kmh", "Mean km/h", "0"),
    ("delay_per_car_s", "Delay/car s", "0"),
    ("crashes", "Crashes", "0"),
    ("near_misses", "Near misses", "0"),
    ("hard_brakes", "Hard brakes", "0"),
    ("unsignalled_changes", "Unsignalled", "0"),
    ("adherence", "Adherence", "0"),
)


def number(value: Any, fmt: str = "0") -> str:
    """A payload number for a table cell; a dash when it is missing."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return "–"
    if fmt == "km":
        return f"{value / 1000:.2f}"
    if fmt == "2":
        return f"{value:.2f}"
    return f"{value:.0f}"


def agreed(rulebook: Any) -> str:
    """The conventions a round's rulebook set away from "nobody agreed anything"."""
    if not isinstance(rulebook, dict):
        return "–"
    labels = []
    for convention in CATALOGUE:
        choice = rulebook.get(convention.key)
        if choice in convention.option_keys() and choice != convention.default:
            labels.append(convention.option(choice).label)
    return ", ".join(labels) if labels else "none agreed"


def numbers(values: Any) -> list[float]:
    """A numeric series from the payload, non-numbers dropped."""
    if not isinstance(values, list):
        return []
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


KIND_WORDS = {"brake": "brake", "cut_in": "cut-in", "crash": "crash", "incident": "incident"}
CAUSE_WORDS = {"host": "the host", "scenario": "the scenario", "shock": "the shock"}


def plural(n: Any, noun: str) -> str:
    """'1 car', '3 cars' (a missing number reads as a dash)."""
    return f"{number(n)} {noun}" if n == 1 else f"{number(n)} {noun}s"


def kind_word(root: dict[str, Any]) -> str:
    return KIND_WORDS.get(str(root.get("kind")), "brake")


def ring_distance(a: float, b: float, length: float) -> float:
    """Signed shortest distance from a to b along a ring (positive: b is ahead of a)."""
    if length <= 0:
        return b - a
    d = (b - a) % length
    return d - length if d > length / 2 else d


def chain_text(root: dict[str, Any]) -> Text:
    """The amplification chart of one root: each follower's braking as a bar, root first.

    Bars that grow from left to right are the bullwhip: braking got harder as the wave
    travelled back (docs/debrief.md, "The bullwhip"). Heights and numbers carry it, not colour.
    """
    decel = numbers(root.get("decel"))
    text = Text("Braking down the chain (m/s², the root first): ", style="bold")
    if not decel:
        text.append("not recorded", style="dim")
        return text
    top = max(decel) or 1.0
    glyphs = "▁▂▃▄▅▆▇█"
    text.append("\n")
    for value in decel:
        text.append(glyphs[min(7, int(value / top * 7.999))] * 2 + " ", style="bold")
    text.append("\n")
    text.append("  ".join(f"{v:.1f}" for v in decel))
    amp = root.get("amplification")
    if isinstance(amp, int | float) and not isinstance(amp, bool):
        grew = "grew" if amp > 1 else "faded"
        text.append(f"\nEach follower braked ×{amp:.2f} as hard as the car ahead: the wave {grew}.")
    return text


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
                yield Static(self._legend(), id="diagram-legend")
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

    @staticmethod
    def _legend() -> Text:
        text = Text("speed: ", style="dim")
        for label, colour in legend_text():
            text.append("█", style=colour)
            text.append(f" {label}  ")
        text.append("█", style="#ffffff")
        text.append(" your path  ✕ wave root  ✚ your guess")
        return text

    def on_mount(self) -> None:
        if self.projector:
            self.add_class("-projector")
        if not self.payload and self.app.state.debrief is not None:
            self.payload = self.app.state.debrief
        self.show_payload()
        self.query_one("#diagram", SpaceTime).focus()

    # -- incoming ----------------------------------------------------------------------

    def on_server_message(self, event: ServerMessage) -> None:
        """The app forwards every server message here (see docs/architecture.md)."""
        msg = event.msg
        if not is_current(self):
            return
        if msg.get("type") == "room":
            self._show_title()  # the program may have ended: no next step to offer
            self.refresh_bindings()
            if self._finished() and self._program() is not None:
                self._open_program()
        elif msg.get("type") == "replay":
            self._open_fetched_replay(msg)
        elif msg.get("type") == "debrief":
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
        road = given if isinstance(given := p.get("road"), dict) else {}
        length = size if isinstance(size := road.get("length"), int | float) else 0.0
        spacetime = self.query_one("#diagram", SpaceTime)
        spacetime.set_data(diagram, float(length), self._my_path(), self._root_points())
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
        prompt = self._question()
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

    def _jam(self) -> dict[str, Any] | None:
        """The payload's `jam` (docs/debrief.md); None from a server that did not send it."""
        jam = self.payload.get("jam")
        return jam if isinstance(jam, dict) else None

    def _no_jam(self) -> bool:
        jam = self._jam()
        return jam is not None and jam.get("found") is False

    def _question(self) -> str:
        """Ask first: where the jam started — or, in a round without a real jam, where the
        traffic was slowest (nothing stopped, so "where did the jam start?" has no answer)."""
        how = (
            "Move ✚ with the arrow keys (time →, position ↑), then press Enter to reveal what "
            "really happened. (r reveals without a guess.)"
        )
        if self._no_jam():
            jam = self._jam() or {}
            limit = jam.get("limit_kmh")
            below = f" below {number(limit)} km/h" if isinstance(limit, int | float) else ""
            return (
                f"There was no real jam this round: no stretch of road slowed{below}. "
                "Before you look: where and when do you think the traffic was slowest? " + how
            )
        return "Before you look: where do you think the jam started? " + how

    def _show_title(self) -> None:
        p = self.payload
        text = Text()
        text.append("DEBRIEF", style="bold")
        if isinstance(p.get("round"), int):
            text.append(f" · round {p['round']}")
        if isinstance(p.get("scenario"), str):
            text.append(" · ")
            text.append(plain(p["scenario"], 40), style="italic")
        if isinstance(p.get("duration_s"), int | float):
            text.append(f" · {fmt_clock(p['duration_s'])}")
        if self._finished():
            text.append(" · the program is over: thank you for driving", style="bold")
        if isinstance(p.get("not_saved"), str):  # a full disk: shown, kept for replay, unsaved
            text.append(f" · not saved: {plain(p['not_saved'], 80)}", style="bold red")
        self.query_one("#debrief-title", Static).update(text)
        rulebook = p.get("rulebook")
        book = Text("Rulebook this round: ", style="bold")
        try:
            book.append("; ".join(describe(rulebook)) if isinstance(rulebook, dict) else "–")
        except KeyError:
            book.append("–")
        self.query_one("#rulebook", Static).update(book)

    def _finished(self) -> bool:
        return self.app.state.phase == "finished"

    def _my_path(self) -> list[int]:
        car = self.car
        for entry in self.payload.get("paths") or []:
            if isinstance(entry, dict) and entry.get("car") == car and car is not None:
                xs = entry.get("x")
                return [int(v) if isinstance(v, int | float) else -1 for v in xs or []]
        return []

    def _roots(self) -> list[dict[str, Any]]:
        return [r for r in self.payload.get("roots") or [] if isinstance(r, dict)]

    def _root_points(self) -> list[tuple[float, float]]:
        points = []
        for root in self._roots():
            t, x = root.get("t"), root.get("x")
            if isinstance(t, int | float) and isinstance(x, int | float):
                points.append((float(t), float(x)))
        return points

    def _show_series(self) -> None:
        series = given if isinstance(given := self.payload.get("series"), dict) else {}
        for key, label in SERIES:
            data = numbers(series.get(key))
            spark = self.query_one(f"#spark-{key}", AxisSparkline)
            lo, hi = axis_for(data)
            spark.set_series(data, (lo, hi))
            caption = Text(label, style="bold")
            if data:
                caption.append(
                    f"   min {min(data):.0f} · mean {sum(data) / len(data):.0f} · max "
                    f"{max(data):.0f} · drawn from {lo:.0f} to {hi:.0f}",
                    style="dim",
                )
            else:
                caption.append("   no data this round", style="dim")
            self.query_one(f"#label-{key}", Label).update(caption)
        if self.projector:
            team = self.payload.get("team")
            self.query_one("#debrief-figures", TeamFigures).update_figures(
                team if isinstance(team, dict) else None
            )

    def _show_rounds(self) -> None:
        table = self.query_one("#rounds", DataTable)
        table.clear(columns=True)
        table.add_column("Round", key="round")
        table.add_column("Scenario", key="scenario")
        for key, label, _ in ROUND_COLUMNS:
            table.add_column(label, key=key)
        solo = isinstance(self.payload.get("solo"), dict)  # one driver agreed nothing with anyone
        table.add_column("Rules in force" if solo else "Agreed rules", key="rules")
        current = self.payload.get("round")
        for i, row in enumerate(self.payload.get("rounds") or []):
            if not isinstance(row, dict):
                continue
            mark = "▶ " if row.get("round") == current else "  "
            table.add_row(
                Text(f"{mark}{number(row.get('round'))}"),
                Text(plain(row.get("scenario"), 30)),
                *(Text(number(row.get(key), fmt)) for key, _, fmt in ROUND_COLUMNS),
                Text(
                    agreed(row.get("rulebook")).replace("none agreed", "none")
                    if solo
                    else agreed(row.get("rulebook"))
                ),
                key=str(i),
            )

    def _show_roots(self) -> None:
        table = self.query_one("#roots", DataTable)
        table.clear(columns=True)
        for label in ("When", "Where", "Who", "What", "Reached", "Amplif.", "Delay veh·s"):
            table.add_column(label)
        table.add_column("Cost vs steady veh·s")
        roots = self._roots()
        lines = Text()
        for i, root in enumerate(roots):
            counterfactual = root.get("counterfactual")
            cost = counterfactual.get("cost_vs") if isinstance(counterfactual, dict) else None
            if root.get("kind") == "incident":  # an incident is nobody's driving
                who = CAUSE_WORDS.get(str(root.get("cause")), "the road")
            elif isinstance(root.get("name"), str):
                who = root["name"]
            else:
                who = f"car {root.get('car')}"
            amp = root.get("amplification")
            table.add_row(
                Text(fmt_clock(root.get("t"))),
                Text(number(root.get("x"), "km") + " km"),
                Text(plain(who, 40)),
                Text(kind_word(root)),
                Text(plural(root.get("reached"), "car")),
                Text(f"×{number(amp, '2')}" if isinstance(amp, int | float) else "–"),
                Text(number(root.get("delay_vs"))),
                Text(number(cost) if cost is not None else "not replayed"),
                key=str(i),
            )
            if root.get("text"):
                lines.append("• ")
                lines.append(plain(root.get("text"), 300))
                lines.append("\n")
        if not roots:
            lines = Text(
                "No braking wave was traced to a single root this round: no brake, cut-in, "
                "crash or incident made the cars behind brake in turn.",
                style="dim",
            )
        self.query_one("#roots-text", Static).update(lines)

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
        table.add_column("Figure")
        table.add_column("You")
        table.add_column("Team average")
        drivers = [d for d in self.payload.get("drivers") or [] if isinstance(d, dict)]
        mine = next((d for d in drivers if d.get("car") == self.car and self.car is not None), None)
        for key, label, fmt in PERSONAL:
            values = numbers([d.get(key) for d in drivers])
            average = sum(values) / len(values) if values else None
            table.add_row(
                Text(label),
                Text(number(mine.get(key), fmt) if mine else "–"),
                Text(number(average, fmt)),
            )

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
        table.add_column("Round", key="round")
        for label in ("Delay/car s", "Flow veh/h", "Hard brakes", "Crashes", "Adherence"):
            table.add_column(label)
        table.add_column("Agreed rules", key="rules")
        for i, row in enumerate(rows):
            table.add_row(
                Text(number(row.get("round"))),
                *(
                    Text(number(row.get(k)))
                    for k in ("delay_per_car_s", "flow_vph", "hard_brakes", "crashes", "adherence")
                ),
                Text(agreed(row.get("rulebook"))),
                key=str(i),
            )
        changes = Text("When the rules changed", style="bold")
        found = [c for c in program.get("changes") or [] if isinstance(c, dict)]
        for change in found:
            changes.append("\n• ")
            changes.append(plain(change.get("text"), 600))
        if not found:
            changes.append("\nThe rules stayed the same through the program.", style="dim")
        self.query_one("#program-changes", Static).update(changes)
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
        verdict = self._guess_verdict()
        if self._program() is not None:
            verdict.append(
                "\nThat was the program's last round: press 6 for every round side by side.",
                style="bold",
            )
        self.query_one("#guess-result", Static).update(verdict)
        self.refresh_bindings()

    def _costliest(self) -> dict[str, Any] | None:
        """The root the Waves tab lists first, when its cost is material (the server ranks
        the roots; docs/debrief.md). A payload without `material` flags is read as before."""
        roots = self._roots()
        root = roots[0] if roots else None
        if root is None or not isinstance(root.get("t"), int | float):
            return None
        return root if root.get("material", True) is True else None

    def _guess_verdict(self) -> Text:
        text = Text()
        if self.guess is not None:
            t, x = self.guess
            text.append(f"You guessed {fmt_clock(t)} at {x / 1000:.2f} km. ")
        else:
            text.append("You did not mark a guess. ")
        if self._no_jam():
            slowest = (self._jam() or {}).get("slowest")
            if not isinstance(slowest, dict) or not isinstance(slowest.get("t"), int | float):
                text.append("The road never slowed to a jam.")
                return text
            st, sx = float(slowest["t"]), float(slowest.get("x") or 0.0)
            text.append(
                f"The traffic was slowest at {fmt_clock(st)}, {sx / 1000:.2f} km: "
                f"{number(slowest.get('kmh'))} km/h on average there."
            )
            self._compare(text, st, sx)
            return text
        root = self._costliest()
        if root is None:
            threshold = self.payload.get("material_vs")
            size = (
                f" {number(threshold)} vehicle-seconds or more"
                if isinstance(threshold, int | float)
                else " a material amount"
            )
            text.append(
                "No single brake, cut-in, crash or incident was found to have cost the others"
                f"{size}: the slowing grew out of the traffic itself."
            )
            return text
        who = root.get("name") if isinstance(root.get("name"), str) else f"car {root.get('car')}"
        rt, rx = float(root["t"]), float(root.get("x") or 0.0)
        cf = root.get("counterfactual")
        cost = cf.get("cost_vs") if isinstance(cf, dict) else None
        incident = root.get("kind") == "incident"
        text.append("The costliest wave began with ")
        if incident:  # named by its cause (the host, the scenario, a shock), never a driver
            lane = root.get("lane")
            where = (
                lane_name(lane)
                if isinstance(lane, int) and not isinstance(lane, bool)
                else "a lane"
            )
            text.append(
                f"{CAUSE_WORDS.get(str(root.get('cause')), 'the road')}'s incident", style="bold"
            )
            text.append(f" in {where} at {fmt_clock(rt)}")
        else:
            text.append(plain(who, 40), style="bold")
            text.append(f"'s {kind_word(root)} at {fmt_clock(rt)}")
        text.append(f", {rx / 1000:.2f} km (✕)")
        if isinstance(cost, int | float) and not isinstance(cost, bool):
            whom = "the road" if incident else "the others"
            text.append(f"; it cost {whom} {number(cost)} vehicle-seconds")
        text.append(".")
        self._compare(text, rt, rx)
        return text

    def _compare(self, text: Text, t: float, x: float) -> None:
        """How far the guess was from (t, x), the shorter way round the ring."""
        if self.guess is None:
            return
        road = given if isinstance(given := self.payload.get("road"), dict) else {}
        length = size if isinstance(size := road.get("length"), int | float) else 0.0
        dx = ring_distance(self.guess[1], x, float(length))
        dt = t - self.guess[0]
        where = f"{abs(dx):.0f} m {'ahead of' if dx >= 0 else 'behind'}"
        when = f"{abs(dt):.0f} s {'after' if dt >= 0 else 'before'}"
        text.append(f" That is {where} and {when} your guess.")

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

    def _windows(self) -> list[tuple[dict[str, Any], tuple[float, float, float, float]]]:
        """The cards that point at a place on the diagram, with their windows."""
        found = []
        for card in self._cards():
            where = card.get("where")
            if not isinstance(where, dict):
                continue
            values = [
                float(v)
                for k in ("t0", "t1", "x0", "x1")
                if isinstance(v := where.get(k), int | float) and not isinstance(v, bool)
            ]
            if len(values) == 4:
                t0, t1, x0, x1 = values
                found.append((card, (t0, t1, x0, x1)))
        return found

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
        text = Text("Card: ", style="bold")
        text.append(plain(card.get("title"), 120), style="bold")
        text.append(f" — {where_text(card.get('where'))} (v: next)")
        prompt.update(text)

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
        elif self._can_fetch_replay() and self.app.send({"type": "replay"}):
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
        self.app.send({"type": "host", "command": "next"})


__all__ = ["DebriefScreen", "card_body"]
