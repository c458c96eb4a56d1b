"""Wording: sentences start with a capital, counts agree with their nouns, and a driver alone
is not told about a rulebook "you agreed"."""

from __future__ import annotations

from server import insight_context, insights_disciplines, insights_systems
from server.wave_chains import Root
from shared.conventions import make_rulebook
from tests.support.insights import make_context, make_driver, make_recording


def _bot_root() -> Root:
    return Root(
        car=7,
        kind="brake",
        tick=400,
        x=1000.0,
        lane=0,
        chain=[7, 8, 9, 10],
        frames=[79, 83, 87, 91],
        xs=[1000.0, 960.0, 920.0, 880.0],
        decel=[4.0, 4.5, 5.0, 6.0],
        delay_vs=80.0,
        counterfactual={
            "from_t": 18.0,
            "to_t": 63.0,
            "factual_vs": 500.0,
            "counterfactual_vs": 400.0,
            "cost_vs": 100.0,
        },
    )


def test_a_card_about_a_bot_starts_with_a_capital() -> None:
    rec = make_recording()
    rec.personalities = {7: "hurried"}
    ctx = make_context([], team={"delay_vs": 2000.0}, roots=[_bot_root()], rec=rec)
    card = insights_systems.wave_root(ctx)
    assert card is not None
    assert card["pattern"].startswith("A hurried bot (car 7)'s brake at")
    assert "(5% of the round's delay)" in card["pattern"]
    assert (
        insight_context.sentence("a hurried bot") == "A hurried bot"
        and insight_context.sentence("") == ""
    )


def test_counts_agree_with_their_nouns() -> None:
    assert insight_context.cars_phrase(1) == "1 car" and insight_context.cars_phrase(2) == "2 cars"
    assert insight_context.count(1, "hard brake") == "1 hard brake"


def test_solo_wording_says_the_rulebook_of_this_road() -> None:
    drivers = [make_driver(1, adherence=95), make_driver(2, adherence=40, kind="player")]
    book = make_rulebook({"passing": "right", "signal": "required"})
    team = {"adherence": 68, "lane_changes": 10, "unsignalled_changes": 2}
    group = insights_disciplines.shared_vision(make_context(drivers, team, book, names={2: "Ana"}))
    assert group is not None and group["pattern"].startswith("The rulebook you agreed")
    ctx = make_context(drivers, team, book, names={2: "Ana"})
    ctx.solo = True
    alone = insights_disciplines.shared_vision(ctx)
    assert alone is not None and alone["pattern"].startswith("The rulebook of this road")
    assert "agreed" not in alone["pattern"] + alone["question"]


def test_solo_team_learning_asks_the_driver_not_the_group() -> None:
    before = {"round": 1, "delay_per_car_s": 40.0, "hard_brakes": 20, "crashes": 1}
    now = {"delay_per_car_s": 22.0, "hard_brakes": 6, "crashes": 0}
    ctx = make_context([], now, previous=[before])
    ctx.solo = True
    card = insights_disciplines.team_learning(ctx)
    assert card is not None and "group" not in card["question"]
    assert card["effect"]["value"] >= card["effect"]["threshold"]


def test_the_program_card_speaks_to_a_driver_alone_in_solo() -> None:
    from server.program_debrief import summary

    rows = [
        {"round": 1, "rulebook": {}, "delay_per_car_s": 19.0, "hard_brakes": 7, "crashes": 1},
        {"round": 2, "rulebook": {"passing": "left"}, "delay_per_car_s": 6.0, "hard_brakes": 0},
    ]
    group = summary(rows)["learning"]
    alone = summary(rows, solo=True)["learning"]
    assert "group" in group["title"] + group["question"]
    assert "group" not in alone["title"] + alone["question"]
    (change,) = summary(rows)["changes"]
    assert change["rules"] == ["Passing side: Free → Keep left"]
    assert "delay per car 19 s → 6 s" in change["text"]


def test_a_root_made_while_a_bot_drove_for_a_dropped_player_is_not_named_after_them() -> None:
    from shared.sim.events import Event

    rec = make_recording()
    rec.events = [Event(300, "takeover", 7, 0.0, 0), Event(600, "handback", 7, 0.0, 0)]
    ctx = make_context(
        [], team={"delay_vs": 2000.0}, roots=[_bot_root()], rec=rec, names={7: "Ana"}
    )
    card = insights_systems.wave_root(ctx)  # the root's tick, 400, is inside the stand-in
    assert card is not None
    assert card["pattern"].startswith("The bot driving for Ana (car 7)'s brake")
    assert ctx.label(7, 700) == "Ana" and ctx.label(7) == "Ana"
