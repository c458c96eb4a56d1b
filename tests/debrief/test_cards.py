"""Each insight card appears when its pattern is in the round's figures, and only then."""

from __future__ import annotations

from array import array

from server import insight_context, insights_disciplines, insights_systems
from server.recorder import Track
from server.waves import Root
from shared.conventions import default_rulebook, make_rulebook
from tests.support.insights import make_context, make_driver, make_recording


def test_faster_is_slower_needs_weavers_who_gained_nothing() -> None:
    steady = [make_driver(i, mean_kmh=80.0) for i in range(6)]
    weavers = [
        make_driver(10, lane_changes=12, mean_kmh=78.0),
        make_driver(11, lane_changes=9, mean_kmh=76.0),
    ]
    card = insights_systems.faster_is_slower(make_context(steady + weavers))
    assert card is not None and "2 drivers" in card["pattern"] and "80 km/h" in card["pattern"]
    assert card["effect"]["value"] >= card["effect"]["threshold"] == 0
    slightly = [make_driver(10, lane_changes=12, mean_kmh=83.0), make_driver(11, lane_changes=9)]
    assert (
        insights_systems.faster_is_slower(make_context(steady + slightly)) is None
    )  # weaving gained a bit
    fast = [make_driver(10, lane_changes=12, mean_kmh=100.0)]
    assert (
        insights_systems.faster_is_slower(make_context(steady + fast)) is None
    )  # weaving really paid
    assert insights_systems.faster_is_slower(make_context(steady)) is None  # nobody weaved


def _lane_track(lane: int, kmh: float, frames: int = 100) -> Track:
    return Track(
        start=0,
        x=array("f", [100.0] * frames),
        v=array("f", [kmh / 3.6] * frames),
        lane=array("b", [lane] * frames),
        amin=array("f", [0.0] * frames),
    )


def test_commons_is_a_crowded_passing_lane_that_is_no_faster() -> None:
    crowded = {i: _lane_track(2, 70) for i in range(6)}
    crowded.update({10 + i: _lane_track(i % 2, 72) for i in range(4)})
    card = insights_systems.commons(make_context([], rec=make_recording(3, crowded)))
    assert card is not None and "60%" in card["pattern"] and "leftmost" in card["pattern"]
    # under keep-left the passing lane is the rightmost, which is empty here
    book = make_rulebook({"passing": "left"})
    assert (
        insights_systems.commons(make_context([], rulebook=book, rec=make_recording(3, crowded)))
        is None
    )
    quick = {i: _lane_track(2, 110) for i in range(6)}
    quick.update({10 + i: _lane_track(i % 2, 72) for i in range(4)})
    assert (
        insights_systems.commons(make_context([], rec=make_recording(3, quick))) is None
    )  # the lane kept its value
    assert (
        insights_systems.commons(make_context([], rec=make_recording(1, {1: _lane_track(0, 50)})))
        is None
    )


def test_mental_models_needs_drivers_who_disagree() -> None:
    team = {"lane_changes": 12, "unsignalled_changes": 6}
    mixed = [make_driver(1, lane_changes=6), make_driver(2, lane_changes=6, unsignalled_changes=6)]
    card = insights_disciplines.mental_models(make_context(mixed, team))
    assert card is not None and "nothing had been agreed" in card["pattern"]
    agreeing = [make_driver(1, lane_changes=6), make_driver(2, lane_changes=6)]
    assert insights_disciplines.mental_models(make_context(agreeing, {"lane_changes": 12})) is None


def test_shared_vision_only_with_an_agreed_rulebook() -> None:
    drivers = [make_driver(1, adherence=95), make_driver(2, adherence=40, kind="player")]
    book = make_rulebook({"passing": "right", "signal": "required"})
    team = {"adherence": 68, "lane_changes": 10, "unsignalled_changes": 2}
    previous = [{"round": 1, "lane_changes": 10, "unsignalled_changes": 7}]
    card = insights_disciplines.shared_vision(
        make_context(drivers, team, book, previous=previous, names={2: "Ana"})
    )
    assert card is not None
    assert "68/100" in card["pattern"] and "40 (Ana)" in card["pattern"]
    assert "from 70% in round 1 to 20%" in card["pattern"]
    assert insights_disciplines.shared_vision(make_context(drivers, team)) is None
    # when every driver kept it alike, the card says so once instead of "from 100 to 100"
    alike = [make_driver(1, adherence=100), make_driver(2, adherence=100, kind="player")]
    card = insights_disciplines.shared_vision(
        make_context(alike, {**team, "adherence": 100}, book, names={2: "Ana"})
    )
    assert card is not None and "100/100 by every one of the 2 drivers" in card["pattern"]


def test_personal_mastery_compares_players() -> None:
    players = [
        make_driver(1, kind="player", accel_rms=0.25),
        make_driver(2, kind="player", accel_rms=0.9, hard_brakes=4),
    ]
    card = insights_disciplines.personal_mastery(make_context(players, names={1: "Ana", 2: "Bo"}))
    assert card is not None and "Ana" in card["pattern"] and "Bo" in card["pattern"]
    alike = [
        make_driver(1, kind="player", accel_rms=0.3),
        make_driver(2, kind="player", accel_rms=0.35),
    ]
    assert insights_disciplines.personal_mastery(make_context(alike)) is None


def test_team_learning_needs_a_previous_round_and_a_change() -> None:
    before = {"round": 1, "delay_per_car_s": 40.0, "hard_brakes": 20, "crashes": 1}
    now = {"delay_per_car_s": 22.0, "hard_brakes": 6, "crashes": 0, "flow_vph": 1800}
    card = insights_disciplines.team_learning(make_context([], now, previous=[before]))
    assert card is not None and "40 s → 22 s" in card["pattern"] and "20 → 6" in card["pattern"]
    assert "keep" in card["question"]
    worse = insights_disciplines.team_learning(
        make_context([], before, previous=[{**now, "round": 1}])
    )
    assert worse is not None and "worse" in worse["question"]
    assert insights_disciplines.team_learning(make_context([], now)) is None
    assert (
        insights_disciplines.team_learning(make_context([], dict(before), previous=[before]))
        is None
    )


def _root(decel: list[float], lag_frames: int = 4, spacing: float = 40.0) -> Root:
    n = len(decel)
    return Root(
        car=1,
        kind="brake",
        tick=400,
        x=1000.0,
        lane=0,
        chain=list(range(1, n + 1)),
        frames=[79 + i * lag_frames for i in range(n)],
        xs=[1000.0 - i * spacing for i in range(n)],
        decel=decel,
        delay_vs=30.0,
    )


def test_wave_cards_follow_the_traced_chain() -> None:
    growing = _root([3.0, 3.5, 4.2, 5.0, 6.1, 7.0], lag_frames=8)
    ctx = make_context([], roots=[growing], names={1: "Ana"})
    loop = insights_systems.reinforcing_loop(ctx)
    assert loop is not None and "Ana braked at 3.0 m/s²" in loop["pattern"]
    assert loop["figures"]["ratio"] > 1
    delay = insights_systems.delay(ctx)
    assert delay is not None and "2.0 s after the car ahead" in delay["pattern"]
    distant = insights_systems.distant_cause(ctx)
    assert distant is not None and "200 m further up the road" in distant["pattern"]
    assert insights_systems.wave_root(ctx) is None  # no counterfactual, no cost to show

    fading = _root([6.0, 4.0, 3.0, 2.0])
    assert insights_systems.reinforcing_loop(make_context([], roots=[fading])) is None
    short = _root([6.0, 4.0], spacing=20.0)
    assert insights_systems.distant_cause(make_context([], roots=[short])) is None
    growing.counterfactual = {
        "from_t": 18.0,
        "to_t": 63.0,
        "factual_vs": 500.0,
        "counterfactual_vs": 459.0,
        "cost_vs": 41.0,
    }
    card = insights_systems.wave_root(ctx)
    assert card is not None and "cost them 41 vehicle-seconds" in card["pattern"]
    growing.counterfactual = {**growing.counterfactual, "cost_vs": 0.4}
    assert insights_systems.wave_root(ctx) is None  # nothing worth a card


def test_a_wave_from_a_light_tap_counts_for_the_loop_but_is_no_root() -> None:
    tap = _root([1.8, 2.2, 2.9, 3.6], lag_frames=12, spacing=60.0)
    tap.kind = "tap"
    ctx = insight_context.Context(
        make_recording(), [], [], {}, default_rulebook(), [], 1, {}, [tap]
    )
    loop = insights_systems.reinforcing_loop(ctx)
    assert loop is not None and "had to brake at 3.6 m/s² — 2.0× as hard" in loop["pattern"]
    distant = insights_systems.distant_cause(ctx)
    assert distant is not None and "light braking" in distant["pattern"]
    assert insights_systems.wave_root(ctx) is None
