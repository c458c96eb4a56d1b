"""A played round as two values: what it was made of, and what it came to.

A round is a pure function of its scenario, seed, rulebook, traffic and input log
(docs/architecture.md, "The simulation"): `RoundInputs` holds exactly that, and is what the
history file stores (server/store.py), what the `replay` message carries (docs/protocol.md) and
what the debrief replays its counterfactuals from (server/debrief.py). `RoundOutcome` is what the
live round's observers measured. The room captures both when a round ends and hands them, whole
and frozen, to the analysis (possibly in another process) and to the store, so that no step
between the tick and the history file can mix up one round's seed with another's log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from server.recorder import Recording


@dataclass(frozen=True)
class RoundInputs:
    """Everything the simulation needs to play a round again, tick for tick.

    `scenario` is the Scenario played (shared/sim/scenario.py), or the name of one to load.
    `scenario_name` is the name the room asked for it by, which is what is stored and sent
    (a registered file's name may differ from its Scenario's own); "" means the Scenario's
    own name. `scenario_doc` is the scenario's document when it is not built in
    (`Scenario.doc`): another process replays the round from it. `ticks` is the round's
    length, so that a replay knows where it ended even if its last ticks had no inputs.
    """

    scenario: Any
    seed: int
    rulebook: Mapping[str, str] | None
    bots: int | None
    mix: Mapping[str, float] | None
    log: Sequence[Sequence[Any]]
    ticks: int | None = None
    scenario_name: str = ""
    scenario_doc: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        """The scenario's name as stored and sent."""
        if self.scenario_name:
            return self.scenario_name
        return self.scenario if isinstance(self.scenario, str) else str(self.scenario.name)


@dataclass(frozen=True)
class RoundOutcome:
    """What the live round measured, each part None (or empty) when it was not measured.

    `metrics` is RoundMetrics.result() (server/metrics.py), `adherence` the AdherenceTracker's
    per-car result (server/adherence.py), `recording` the Recorder's (server/recorder.py, with
    its world checkpoints), `names` maps player cars to the names of who drove them, and
    `events` is what happened on the road (crossings of the counting gantry left out).
    """

    metrics: Mapping[str, Any] | None = None
    adherence: Mapping[Any, Any] | None = None
    recording: Recording | None = None
    names: Mapping[int, str] | None = None
    events: Sequence[Any] = ()
