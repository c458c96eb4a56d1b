"""Replay: scrub through a stored round from any car's view (`interlane replay GAME`).

A round is stored as its scenario, seed and input log, never as a trajectory, so the replay
rebuilds it with the deterministic simulation (shared/sim/replay.py) and samples it every
half-second into frames shaped like live snapshots. That lets the drive screen's road widget
and the ring overview draw them unchanged. Rebuilding takes a moment, so it runs in a
thread and the screen shows progress; afterwards scrubbing is instant. The wave roots of the
round's debrief are one key away: jump there and ride along with the driver who braked.

The simulation runs here, from shared/sim. The round comes from the history file on this
machine (`interlane replay`, the host's and solo debrief) through a `RoundSource` that
client/launch.py, the composition root, hands in (the screen never imports the server), or —
for a remote player — as the `replay` message the debrief screen asks the server for; after
that no network connection is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ProgressBar, Static

from client.screens.base import GameScreen
from client.screens.roomview import fmt_clock, plain
from client.state import CarView
from client.widgets.footer import key_footer
from client.widgets.ring_overview import RingOverview
from client.widgets.road import RoadView, View, lanes_of
from shared.lanes import lane_name
from shared.protocol import FLAG_PLAYER, unpack_car
from shared.sim.replay import world_from_stored
from shared.sim.tuning import DT
from shared.tickview import TickView

SAMPLE_TICKS = 10  # one frame per half second of round time (DT = 0.05 s)
BIG_STEP_S = 10.0
SPEEDS = (1, 2, 4, 8)


@dataclass(frozen=True)
class Frame:
    """The world at one sampled tick, as snapshot rows (shared.protocol.pack_car) and ring."""

    tick: int
    cars: tuple[tuple[int, int, int, int, int], ...]
    ring: tuple[int, ...]

    @property
    def t(self) -> float:
        return self.tick * DT


class RoundSource(Protocol):
    """Where stored rounds come from: one round of a game (its id or room code) in the history
    file `db`, the last round when `round_no` is None (server/replays.py `load_stored`, handed
    in by client/launch.py)."""

    def __call__(self, db: str | None, game: int | str, round_no: int | None) -> dict[str, Any]:
        """The stored round, shaped like `Store.load_round`."""
        ...


def build_frames(
    stored: dict[str, Any],
    every: int = SAMPLE_TICKS,
    progress: Callable[[int, int], None] | None = None,
    *,
    from_network: bool = False,
) -> tuple[list[Frame], Mapping[str, Any]]:
    """Replay a stored round (the history file's, or a server's `replay` message when
    `from_network`: then its scenario is a name or a document, never a file to open) into
    frames, and the road's map."""
    world = world_from_stored(stored, until_tick=0, allow_paths=not from_network)
    road = world.road()
    ticks = int(stored["ticks"])
    log = stored["log"]
    frames: list[Frame] = []

    def grab() -> None:
        view = TickView(world)
        frames.append(Frame(world.tick, tuple(view.all_rows), tuple(view.ring)))

    grab()
    while world.tick < ticks:
        world.run_log(log, min(ticks, world.tick + every))
        grab()
        if progress is not None and len(frames) % 20 == 0:
            progress(world.tick, ticks)
    return frames, road


JUMP = Binding.Group("±10 s", compact=True)
FOLLOW = Binding.Group("car", compact=True)


class ReplayScreen(GameScreen):
    """A stored round, frame by frame, following one car; scrub, play, jump to wave roots."""

    DEFAULT_CSS = """
    ReplayScreen { layout: vertical; }
    ReplayScreen #replay-status { height: auto; padding: 0 1; background: $boost; }
    ReplayScreen #replay-bar { width: 1fr; padding: 0 1; }
    ReplayScreen #replay-bar Bar { width: 1fr; }
    ReplayScreen #replay-road { height: 1fr; }
    ReplayScreen #replay-note { height: auto; padding: 0 1; }
    """

    # Paired keys share one footer entry so the footer fits 80 columns; `?` lists them all.
    BINDINGS = [
        Binding("space", "play", "Play/pause"),
        Binding("left", "step(-1)", "−0.5 s", show=False),
        Binding("right", "step(1)", "+0.5 s", show=False),
        Binding("pageup,shift+left", "jump(-1)", "−10 s", group=JUMP),
        Binding("pagedown,shift+right", "jump(1)", "+10 s", group=JUMP),
        Binding("home", "seek(0)", "Start", show=False),
        Binding("end", "seek(-1)", "End", show=False),
        Binding("left_square_bracket", "follow(-1)", "Prev car", group=FOLLOW),
        Binding("right_square_bracket", "follow(1)", "Next car", group=FOLLOW),
        Binding("w", "next_root", "Wave root"),
        Binding("f", "faster", "Speed"),
        Binding("escape", "close", "Back"),
        Binding("question_mark", "keys", "Keys", key_display="?"),
    ]

    def __init__(
        self,
        stored: dict[str, Any] | None = None,
        *,
        db: str | None = None,
        game: int | str | None = None,
        round_no: int | None = None,
        rounds: RoundSource | None = None,
        name: str | None = None,
    ) -> None:
        """`stored`: a round a server sent; else the round `game`/`round_no` of history file
        `db` (default: the app's plan) read through `rounds` (default: the app's source)."""
        super().__init__(name=name)
        self.stored = stored
        self._rounds = rounds
        self._db, self._game, self._round_no = db, game, round_no
        self.frames: list[Frame] = []
        self.road: Mapping[str, Any] = {}
        self.index = 0
        self.follow: int | None = None
        self.playing = False
        self.speed = 1
        self.root_index = -1
        self.error: str | None = None
        self.names: dict[int, str] = {}

    def compose(self) -> ComposeResult:
        yield Static(Text("Rebuilding the round from its input log…"), id="replay-status")
        yield ProgressBar(total=100, show_eta=False, id="replay-bar")
        yield RoadView(id="replay-road")
        yield RingOverview(id="replay-ring")
        yield Static(id="replay-note")
        yield key_footer()

    def on_mount(self) -> None:
        self._timer = self.set_interval(SAMPLE_TICKS * DT, self._advance, pause=True)
        self._load()

    # -- loading -----------------------------------------------------------------------

    def _source(self) -> tuple[str | None, int | str | None, int | None]:
        db, game, round_no = self._db, self._game, self._round_no
        plan = self.app.plan
        if game is None:
            game = plan.game
            round_no = plan.round_no if round_no is None else round_no
            db = plan.db if db is None else db
        return db, game if isinstance(game, int | str) else None, round_no

    @work(thread=True, exclusive=True, group="replay")
    def _load(self) -> None:
        try:
            stored = self.stored  # given: a round a server sent (the debrief's replay)
            from_network = stored is not None
            if stored is None:
                db, game, round_no = self._source()
                if game is None:
                    raise ValueError("no game chosen: try `interlane history`, then replay GAME")
                rounds = self._rounds if self._rounds is not None else self.app.rounds
                if rounds is None:
                    raise ValueError("this client cannot read the history file")
                stored = rounds(db, game, round_no)
            frames, road = build_frames(
                stored, progress=self._progress_from_thread, from_network=from_network
            )
        except Exception as exc:  # a damaged file or unknown scenario: say so, do not crash
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._loaded, stored, frames, road)

    def _progress_from_thread(self, done: int, total: int) -> None:
        self.app.call_from_thread(self._progress, done, total)

    def _progress(self, done: int, total: int) -> None:
        self.query_one("#replay-bar", ProgressBar).update(total=max(1, total), progress=done)

    def _failed(self, message: str) -> None:
        self.error = message
        self.query_one("#replay-status", Static).update(
            Text(f"This round cannot be replayed: {plain(message, 300)}", style="bold")
        )

    def _loaded(self, stored: dict[str, Any], frames: list[Frame], road: Mapping[str, Any]) -> None:
        self.stored, self.frames, self.road = stored, frames, road
        names = given if isinstance(given := stored.get("names"), dict) else {}
        self.names = {int(k): plain(v, 40) for k, v in names.items() if str(k).isdigit()}
        self.query_one("#replay-ring", RingOverview).set_road(road)
        self.follow = self._first_player()
        self.query_one("#replay-bar", ProgressBar).update(total=max(1, len(frames) - 1), progress=0)
        self.show_frame()

    def _first_player(self) -> int | None:
        """The first named or player-driven car seen in the round, else the first car."""
        for frame in self.frames:
            for row in frame.cars:
                if row[0] in self.names or row[4] & FLAG_PLAYER:
                    return row[0]
        for frame in self.frames:
            if frame.cars:
                return frame.cars[0][0]
        return None

    # -- drawing -----------------------------------------------------------------------

    @property
    def loaded(self) -> bool:
        return bool(self.frames)

    @property
    def frame(self) -> Frame | None:
        return self.frames[self.index] if self.frames else None

    def followed_car(self) -> CarView | None:
        frame = self.frame
        if frame is None:
            return None
        for row in frame.cars:
            if row[0] == self.follow:
                return CarView(*unpack_car(row))
        return None

    def show_frame(self) -> None:
        frame = self.frame
        if frame is None:
            return
        cars = tuple(CarView(*unpack_car(row)) for row in frame.cars)
        me = self.followed_car()  # None while the followed car is not on the road
        view = View(
            cars=cars,
            road=self.road,
            centre_x=me.x if me else 0.0,
            you=self.follow,
            names=self.names,
            blink_on=self.index % 2 == 0,
            lanes=lanes_of(self.road, cars),
        )
        self.query_one("#replay-road", RoadView).show(view)
        snapshot = {"cars": [list(r) for r in frame.cars], "ring": list(frame.ring)}
        self.query_one("#replay-ring", RingOverview).update_snapshot(snapshot, you=self.follow)
        self.query_one("#replay-bar", ProgressBar).update(progress=self.index)
        self._show_status(me)

    def _who(self, car: int | None) -> str:
        if car is None:
            return "–"
        name = self.names.get(car)
        return f"car {car} ({name})" if name else f"car {car} (bot)"

    def _show_status(self, me: CarView | None) -> None:
        stored = self.stored or {}
        frame = self.frame
        total = self.frames[-1].t if self.frames else 0.0
        text = Text()
        text.append("REPLAY", style="bold")
        text.append(f" · game {stored.get('game_id', '?')} round {stored.get('round_no', '?')}")
        if isinstance(stored.get("scenario"), str):
            text.append(" · ")
            text.append(plain(stored["scenario"], 40), style="italic")
        text.append(f" · {fmt_clock(frame.t if frame else 0)} / {fmt_clock(total)}")
        text.append(f" · {'▶ playing' if self.playing else '⏸ paused'} ×{self.speed}")
        text.append("\nfollowing ")
        text.append(self._who(self.follow), style="bold")
        if me is not None:
            text.append(f" · {me.v * 3.6:.0f} km/h · {self.lane_words(me.lane)} · {me.x:.0f} m")
        else:
            text.append(" · not on the road at this moment", style="dim")
        self.query_one("#replay-status", Static).update(text)

    def action_keys(self) -> None:
        from client.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self))

    @staticmethod
    def lane_words(lane: float) -> str:
        """The lane a car's lateral position is in, as people count lanes (shared.lanes)."""
        return lane_name(round(lane))

    # -- controls ----------------------------------------------------------------------

    def seek(self, index: int) -> None:
        if not self.frames:
            return
        self.index = min(len(self.frames) - 1, max(0, index))
        self.show_frame()

    def action_step(self, frames: int) -> None:
        self.seek(self.index + frames)

    def action_jump(self, direction: int) -> None:
        self.seek(self.index + direction * round(BIG_STEP_S / (SAMPLE_TICKS * DT)))

    def action_seek(self, index: int) -> None:
        self.seek(index if index >= 0 else len(self.frames) - 1)

    def action_play(self) -> None:
        if not self.frames:
            return
        self.playing = not self.playing
        if self.playing:
            if self.index >= len(self.frames) - 1:
                self.index = 0
            self._timer.resume()
        else:
            self._timer.pause()
        self.show_frame()

    def _advance(self) -> None:
        if not self.playing:
            return
        if self.index >= len(self.frames) - 1:
            self.playing = False
            self._timer.pause()
        else:
            self.index = min(len(self.frames) - 1, self.index + self.speed)
        self.show_frame()

    def action_faster(self) -> None:
        self.speed = SPEEDS[(SPEEDS.index(self.speed) + 1) % len(SPEEDS)]
        self.show_frame()

    def action_follow(self, step: int) -> None:
        frame = self.frame
        if frame is None or not frame.cars:
            return
        ids = [row[0] for row in frame.cars]
        current = ids.index(self.follow) if self.follow in ids else -1
        self.follow = ids[(current + step) % len(ids)]
        self.show_frame()

    def _roots(self) -> list[dict[str, Any]]:
        debrief = (self.stored or {}).get("debrief")
        if not isinstance(debrief, dict):
            debrief = self.app.state.debrief or {}
        return [r for r in debrief.get("roots") or [] if isinstance(r, dict)]

    def action_next_root(self) -> None:
        """Jump to a few seconds before the next traced wave root and follow its driver."""
        roots = self._roots()
        note = self.query_one("#replay-note", Static)
        if not roots or not self.frames:
            note.update(Text("No wave roots were traced in this round.", style="dim"))
            return
        self.root_index = (self.root_index + 1) % len(roots)
        root = roots[self.root_index]
        t = when if isinstance(when := root.get("t"), int | float) else 0.0
        car = root.get("car")
        if isinstance(car, int) and not isinstance(car, bool):
            self.follow = car
        self.seek(int(max(0.0, float(t) - 5.0) / (SAMPLE_TICKS * DT)))
        text = Text(f"wave root {self.root_index + 1} of {len(roots)}: ")
        text.append(plain(root.get("text") or "", 300))
        note.update(text)

    def action_close(self) -> None:
        if len(self.app.screen_stack) > 2:
            self.app.pop_screen()
        else:
            self.app.exit()
