"""The debrief's sentences: the title, the question before the reveal, the verdict on the guess,
the series' captions and a card's moment on the diagram.

"Ask first, reveal after" (docs/debrief.md): the debrief screen (client/screens/debrief.py)
asks where the jam started — or, in a round without a real jam, where the traffic was slowest —
and after the reveal compares the guess with the costliest root. These functions build that
text from the `debrief` message alone (and the guess), so the screen only places it; a section
the round did not produce says so instead of showing anything canned.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from client.screens.roomview import fmt_clock, plain
from client.widgets.cards import where_text
from client.widgets.debrief_format import (
    CAUSE_WORDS,
    kind_word,
    number,
    ring_distance,
    road_length,
    roots_of,
)
from shared.conventions import describe
from shared.lanes import lane_name

Window = tuple[float, float, float, float]  # t0, t1, x0, x1 on the space-time diagram


def jam_of(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The payload's `jam` (docs/debrief.md); None from a server that did not send it."""
    jam = payload.get("jam")
    return jam if isinstance(jam, dict) else None


def no_jam(payload: dict[str, Any]) -> bool:
    jam = jam_of(payload)
    return jam is not None and jam.get("found") is False


def question(payload: dict[str, Any]) -> str:
    """Ask first: where the jam started — or, in a round without a real jam, where the
    traffic was slowest (nothing stopped, so "where did the jam start?" has no answer)."""
    how = (
        "Move ✚ with the arrow keys (time →, position ↑), then press Enter to reveal what "
        "really happened. (r reveals without a guess.)"
    )
    if no_jam(payload):
        jam = jam_of(payload) or {}
        limit = jam.get("limit_kmh")
        below = f" below {number(limit)} km/h" if isinstance(limit, int | float) else ""
        return (
            f"There was no real jam this round: no stretch of road slowed{below}. "
            "Before you look: where and when do you think the traffic was slowest? " + how
        )
    return "Before you look: where do you think the jam started? " + how


def title_text(payload: dict[str, Any], finished: bool) -> Text:
    """The debrief's title line: round, scenario, duration, and whether the program is over."""
    p = payload
    text = Text()
    text.append("DEBRIEF", style="bold")
    if isinstance(p.get("round"), int):
        text.append(f" · round {p['round']}")
    if isinstance(p.get("scenario"), str):
        text.append(" · ")
        text.append(plain(p["scenario"], 40), style="italic")
    if isinstance(p.get("duration_s"), int | float):
        text.append(f" · {fmt_clock(p['duration_s'])}")
    if finished:
        text.append(" · the program is over: thank you for driving", style="bold")
    if isinstance(p.get("not_saved"), str):  # a full disk: shown, kept for replay, unsaved
        text.append(f" · not saved: {plain(p['not_saved'], 80)}", style="bold red")
    return text


def rulebook_text(rulebook: Any) -> Text:
    """The rulebook in force this round, in words (a dash when it cannot be read)."""
    book = Text("Rulebook this round: ", style="bold")
    try:
        book.append("; ".join(describe(rulebook)) if isinstance(rulebook, dict) else "–")
    except KeyError:
        book.append("–")
    return book


def series_caption(label: str, data: list[float], lo: float, hi: float) -> Text:
    """A series' label with its range, and the range its chart is drawn over."""
    caption = Text(label, style="bold")
    if data:
        caption.append(
            f"   min {min(data):.0f} · mean {sum(data) / len(data):.0f} · max "
            f"{max(data):.0f} · drawn from {lo:.0f} to {hi:.0f}",
            style="dim",
        )
    else:
        caption.append("   no data this round", style="dim")
    return caption


def costliest(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The root the Waves tab lists first, when its cost is material (the server ranks
    the roots; docs/debrief.md). A payload without `material` flags is read as before."""
    roots = roots_of(payload)
    root = roots[0] if roots else None
    if root is None or not isinstance(root.get("t"), int | float):
        return None
    return root if root.get("material", True) is True else None


def guess_verdict(payload: dict[str, Any], guess: tuple[float, float] | None) -> Text:
    """After the reveal: the guess (if any) against the costliest root, or against where the
    traffic was slowest in a round without a real jam."""
    text = Text()
    if guess is not None:
        t, x = guess
        text.append(f"You guessed {fmt_clock(t)} at {x / 1000:.2f} km. ")
    else:
        text.append("You did not mark a guess. ")
    if no_jam(payload):
        slowest = (jam_of(payload) or {}).get("slowest")
        if not isinstance(slowest, dict) or not isinstance(slowest.get("t"), int | float):
            text.append("The road never slowed to a jam.")
            return text
        st, sx = float(slowest["t"]), float(slowest.get("x") or 0.0)
        text.append(
            f"The traffic was slowest at {fmt_clock(st)}, {sx / 1000:.2f} km: "
            f"{number(slowest.get('kmh'))} km/h on average there."
        )
        compare(text, payload, guess, st, sx)
        return text
    root = costliest(payload)
    if root is None:
        threshold = payload.get("material_vs")
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
            lane_name(lane) if isinstance(lane, int) and not isinstance(lane, bool) else "a lane"
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
    compare(text, payload, guess, rt, rx)
    return text


def compare(
    text: Text, payload: dict[str, Any], guess: tuple[float, float] | None, t: float, x: float
) -> None:
    """How far the guess was from (t, x), the shorter way round the ring."""
    if guess is None:
        return
    dx = ring_distance(guess[1], x, road_length(payload))
    dt = t - guess[0]
    where = f"{abs(dx):.0f} m {'ahead of' if dx >= 0 else 'behind'}"
    when = f"{abs(dt):.0f} s {'after' if dt >= 0 else 'before'}"
    text.append(f" That is {where} and {when} your guess.")


def card_windows(cards: list[dict[str, Any]]) -> list[tuple[dict[str, Any], Window]]:
    """The cards that point at a place on the diagram, with their windows."""
    found = []
    for card in cards:
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


def card_prompt(card: dict[str, Any]) -> Text:
    """What the diagram's prompt says while it shows one card's moment."""
    text = Text("Card: ", style="bold")
    text.append(plain(card.get("title"), 120), style="bold")
    text.append(f" — {where_text(card.get('where'))} (v: next)")
    return text
