"""Waves traced to their roots: which brake, cut-in, crash or incident started a chain of braking.

A root is a hard brake the car did not inherit from braking ahead of it, a lane change that
made the new follower brake hard (a cut-in), or a crash, named after the car that caused it;
or an incident (a lane blocked by the host, the scenario or a program's shock), named after
what caused it and never after a driver: its first car is the first one that braked for the
blocked lane, and the cars behind are followed from there. From the root we walk down the lane: the car
behind, if it began braking within a reaction window, is reached; then the car behind that
one, and so on. Each root gets the cars it reached, how their braking grew or faded along the
chain, and the delay those cars suffered afterwards. Only the recording is read: this is pure
analysis of what happened, and the same recording always gives the same roots.

This module finds where waves start (and the taps that grew into one); a chain is followed
down the lane and its delay summed by server/wave_chains.py, which also holds the Root.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.metrics import FreeFlow
from server.recorder import Recording
from server.wave_chains import (
    INHERIT_WINDOW_S,
    RESPONSE_BRAKE,
    RESPONSE_WINDOW_S,
    Lanes,
    Root,
    braking_before,
    braking_response,
    car_sample,
    chain_delay,
    follow,
    peak_after,
    peak_before,
)
from shared.sim.tuning import DT

HARD_BRAKE = 4.0  # m/s²: what the simulation reports as a hard brake; a cut-in must force one
COVER_S = 2.0  # a brake this close to a car's place in a traced chain belongs to that chain
WARMUP_S = 5.0  # the first seconds settle the cars' starting places: no driver's doing
INCIDENT_CAR = -1  # an incident root's `car`: no driver caused it (its `cause` says what did)
INCIDENT_REACH_M = 400.0  # a car this far or nearer behind a blocked lane may brake for it
INCIDENT_RESPONSE_S = 20.0  # the first braking for a blocked lane is looked for this long
TAP_BRAKE = 1.5  # m/s²: a gentler braking onset that may still start a growing wave
MIN_TAP_CHAIN = 3  # a tap's chain is kept when it reached this many cars and grew


def ring_offset(a: float, b: float, length: float) -> float:
    """Signed distance from a to b the shorter way round a ring (positive: b is ahead)."""
    if length <= 0:
        return b - a
    d = (b - a) % length
    return d - length if d > length / 2 else d


def ring_distance(a: float, b: float, length: float) -> float:
    """How far apart two positions on a ring are, the shorter way round (≤ length / 2)."""
    return abs(ring_offset(a, b, length))


def ring_box(xs: list[float], length: float) -> tuple[float, float]:
    """The shortest stretch of the ring covering every position, as (x0, x1) from its
    upstream end to its downstream end (x0 > x1 when it wraps past the ring's end)."""
    if not xs:
        return 0.0, 0.0
    if length <= 0:
        return min(xs), max(xs)
    pts = sorted(x % length for x in xs)
    # the largest empty gap between neighbours (the wrap-around one included) is left out
    gaps = [(pts[(i + 1) % len(pts)] - pts[i]) % length for i in range(len(pts))]
    if len(pts) == 1:
        return pts[0], pts[0]
    widest = max(range(len(pts)), key=lambda i: (gaps[i], -i))
    return pts[(widest + 1) % len(pts)], pts[widest]


def trace_roots(rec: Recording) -> list[Root]:
    """Every wave root in the round (hard brakes, cut-ins, crashes, incidents), costliest first."""
    lanes = Lanes(rec)
    free = FreeFlow(rec.road, rec.rulebook)
    free.desired.update(rec.desired)
    covered: dict[int, list[int]] = {}  # car -> frames at which it is part of a traced chain
    cover = int(COVER_S / (rec.sample_ticks * DT))
    kinds = ("hard_brake", "lane_change", "crash")
    incidents = [e for e in rec.events if e.kind == "incident_start" and e.car is None]
    candidates = sorted(
        [*incidents, *(e for e in rec.events if e.kind in kinds and e.car is not None)],
        key=lambda e: (e.tick, e.kind != "incident_start", e.kind != "crash", e.car or 0),
    )
    recent_changes: list[Any] = [e for e in candidates if e.kind == "lane_change"]
    crashes = [e for e in candidates if e.kind == "crash"]
    blocked = _blocked_spans(rec)
    roots: list[Root] = []
    for ev in candidates:
        if ev.tick >= rec.last_tick or not rec.frames:
            continue
        if ev.kind == "incident_start":
            root = _incident_root(rec, lanes, ev)
            if root is not None:
                follow(rec, lanes, root)
                for car, f in zip(root.chain[1:], root.frames[1:], strict=True):
                    covered.setdefault(car, []).append(f)
                root.delay_vs = chain_delay(rec, free, root)
                roots.append(root)
            continue
        if ev.tick < rec.tick0 + WARMUP_S / DT:
            continue
        if ev.kind != "crash" and _leads_to_crash(ev, crashes):
            continue  # the crash it ended in is the root (traced from the crash itself)
        frame = rec.frame_of_tick(ev.tick + 1)  # the event of step e shows in state e + 1
        if any(abs(frame - f) <= cover for f in covered.get(ev.car, ())):
            continue
        if ev.kind == "hard_brake":
            if _braking_for_incident(rec, lanes, ev, frame, blocked):
                continue  # the blocked lane ahead is the root (traced from the incident)
            root = _brake_root(rec, lanes, ev, frame, recent_changes, crashes)
        elif ev.kind == "crash":
            root = _crash_root(rec, lanes, ev, frame, recent_changes)
        else:
            root = _cut_in_root(rec, lanes, ev, frame)
        if root is None:
            continue
        follow(rec, lanes, root)
        if root.reached < 1 and root.kind != "crash":  # a crash is a root even unanswered
            continue
        for car, f in zip(root.chain, root.frames, strict=True):
            covered.setdefault(car, []).append(f)
        root.delay_vs = chain_delay(rec, free, root)
        roots.append(root)
    roots.sort(key=lambda r: (-r.delay_vs, r.tick, r.car))
    return roots


def trace_taps(rec: Recording, roots: list[Root]) -> list[Root]:
    """Waves that grew out of gentle braking (a tap, a lifted foot): chains that started with
    braking below the hard-brake line, reached MIN_TAP_CHAIN cars or more, and grew on the
    way (amplification above 1). They are not wave roots — nobody braked hard — but they are
    the purest picture of a reinforcing loop: a jam out of almost nothing (Sugiyama's ring).
    """
    if not rec.frames:
        return []
    lanes = Lanes(rec)
    free = FreeFlow(rec.road, rec.rulebook)
    free.desired.update(rec.desired)
    cover = int(COVER_S / (rec.sample_ticks * DT))
    covered: dict[int, list[int]] = {}
    for root in roots:
        for car, f in zip(root.chain, root.frames, strict=True):
            covered.setdefault(car, []).append(f)
    first = max(0, rec.frame_of_tick(rec.tick0 + int(WARMUP_S / DT)))
    onsets: list[tuple[int, int]] = []
    for car, track in rec.tracks.items():
        amin = track.amin
        for i in range(max(1, first - track.start), len(amin)):
            if amin[i] < -TAP_BRAKE <= amin[i - 1] and track.x[i] >= 0:
                onsets.append((track.start + i, car))
    onsets.sort()
    chains: list[Root] = []
    for frame, car in onsets:
        if any(abs(frame - f) <= cover for f in covered.get(car, ())):
            continue
        sample = car_sample(rec, car, frame)
        if sample is None:
            continue
        x, _, lane, _ = sample
        ahead = lanes.neighbour(frame, lane, x, behind=False, skip=car)
        if ahead is not None and braking_before(rec, ahead[0], frame):
            continue  # inherited
        response = braking_response(rec, car, frame, TAP_BRAKE)
        decel = response[1] if response else TAP_BRAKE
        if decel >= HARD_BRAKE:
            continue  # a hard brake: traced as a root already (or found inherited there)
        tick = rec.frames[frame]
        chain = Root(car, "tap", tick, float(x), int(lane), [car], [frame], [x], [decel])
        follow(rec, lanes, chain)
        for c, f in zip(chain.chain, chain.frames, strict=True):
            covered.setdefault(c, []).append(f)
        if chain.reached >= MIN_TAP_CHAIN and (chain.amplification() or 0) > 1.0:
            chain.delay_vs = chain_delay(rec, free, chain)
            chains.append(chain)
    chains.sort(key=lambda r: (-r.delay_vs, r.tick, r.car))
    return chains


def _blocked_spans(rec: Recording) -> list[tuple[int, int, int, float]]:
    """(start tick, end tick, lane, x) of every incident of the round, from its events."""
    spans = []
    for ev in rec.events:
        if ev.kind == "incident_start" and ev.car is None:
            end = int(ev.tick) + max(1, round(float(ev.value or 0.0) / DT))
            spans.append((int(ev.tick), end, int(ev.lane), float(ev.x)))
    return spans


def _incident_ahead(
    rec: Recording, lanes: Lanes, car: int, frame: int, lane: int, x: float, inc_x: float
) -> bool:
    """Whether a blocked lane at inc_x is the first thing ahead of a car at x in `lane`
    (within INCIDENT_REACH_M, no other car in between)."""
    d = (inc_x - x) % rec.length if rec.length > 0 else inc_x - x
    if not 0 < d <= INCIDENT_REACH_M:
        return False
    ahead = lanes.neighbour(frame, lane, x, behind=False, skip=car)
    return ahead is None or ahead[1] > d


def _braking_for_incident(
    rec: Recording, lanes: Lanes, ev: Any, frame: int, spans: list[tuple[int, int, int, float]]
) -> bool:
    """A hard brake with nothing ahead but a blocked lane belongs to the incident's wave."""
    sample = car_sample(rec, ev.car, frame)
    if sample is None:
        return False
    x, _, lane, _ = sample
    return any(
        t0 <= ev.tick < t1
        and inc_lane == lane
        and _incident_ahead(rec, lanes, ev.car, frame, lane, x, inc_x)
        for t0, t1, inc_lane, inc_x in spans
    )


def _incident_root(rec: Recording, lanes: Lanes, ev: Any) -> Root | None:
    """An incident is a root: the lane it blocked, then the first car that braked for it.

    That car is the nearest one behind the blocked stretch, in its lane, that brakes beyond
    RESPONSE_BRAKE while nothing but the incident is ahead of it, within INCIDENT_RESPONSE_S
    (or before the lane is cleared). `car` is INCIDENT_CAR: nobody drove into this.
    """
    tick, lane, x = int(ev.tick), int(ev.lane), float(ev.x)
    frame = rec.frame_of_tick(tick + 1)
    if frame < 0 or frame >= len(rec.frames):
        return None
    root = Root(INCIDENT_CAR, "incident", tick, x, lane, [INCIDENT_CAR], [frame], [x], [0.0])
    per_s = 1.0 / (rec.sample_ticks * DT)
    until = tick + max(1, round(float(ev.value or 0.0) / DT))
    last = min(len(rec.frames) - 1, frame + int(INCIDENT_RESPONSE_S * per_s))
    for f in range(frame, last + 1):
        if rec.frames[f] > until:
            break
        row = lanes.at(f).get(lane) or []
        behind = [
            (d, car)
            for ox, car in row
            if 0 < (d := (x - ox) % rec.length if rec.length > 0 else x - ox) <= INCIDENT_REACH_M
        ]
        if not behind:
            continue
        d, car = min(behind)
        sample = car_sample(rec, car, f)
        if sample is None or sample[3] >= -RESPONSE_BRAKE:
            continue
        if not _incident_ahead(rec, lanes, car, f, lane, sample[0], x):
            continue
        root.chain.append(car)
        root.frames.append(f)
        root.xs.append(sample[0])
        root.decel.append(peak_after(rec, car, f))
        break
    return root


def _leads_to_crash(ev: Any, crashes: Sequence[Any]) -> bool:
    """Whether this brake or lane change was one of the crash's cars' last moves before it."""
    window = int(RESPONSE_WINDOW_S / DT)
    return any(
        ev.tick <= c.tick <= ev.tick + window and ev.car in (c.car, c.other) for c in crashes
    )


def _crashed_before(car: int, tick: int, crashes: Sequence[Any]) -> bool:
    """Was this car in a crash shortly before `tick` (a wreck ahead stops the lane)?"""
    window = int(INHERIT_WINDOW_S / DT)
    return any(tick - window <= c.tick <= tick and car in (c.car, c.other) for c in crashes)


def _brake_root(
    rec: Recording,
    lanes: Lanes,
    ev: Any,
    frame: int,
    changes: list[Any],
    crashes: Sequence[Any] = (),
) -> Root | None:
    sample = car_sample(rec, ev.car, frame)
    if sample is None:
        return None
    x, _, lane, _ = sample
    ahead = lanes.neighbour(frame, lane, x, behind=False, skip=ev.car)
    if ahead is not None and braking_before(rec, ahead[0], frame):
        return None  # inherited from the car ahead: part of someone else's wave
    if ahead is not None and _crashed_before(ahead[0], int(ev.tick), crashes):
        return None  # a wreck ahead: part of the crash's wave
    window = int(INHERIT_WINDOW_S / DT)
    for ch in changes:
        cut_in = ev.tick - window <= ch.tick <= ev.tick and ch.target == lane
        if cut_in and ahead is not None and ahead[0] == ch.car != ev.car:
            return None  # forced by a cut-in: traced from the lane change instead
    decel = float(ev.value) if ev.value else HARD_BRAKE
    return Root(
        ev.car, "brake", int(ev.tick), float(ev.x), int(lane), [ev.car], [frame], [x], [decel]
    )


def _crash_root(
    rec: Recording, lanes: Lanes, ev: Any, frame: int, changes: list[Any]
) -> Root | None:
    """A crash is a root like a brake: its cause first (sim.events.crash_cause), then the
    other car when it was the one behind (a cut-in rammed), then whoever braked behind.

    `tick` is when the cause's action began — its move into the lane, when that was the
    cause — so the counterfactual replays the round without that action.
    """
    cause = int(ev.car)
    sample = car_sample(rec, cause, frame)
    if sample is None:
        return None
    x = sample[0]
    lane = int(ev.lane)
    window = int(RESPONSE_WINDOW_S / DT)
    start = int(ev.tick)
    for ch in changes:
        if ch.car == cause and ch.target == lane and ev.tick - window <= ch.tick <= ev.tick:
            start = min(start, int(ch.tick))
    own = peak_before(rec, cause, frame)
    root = Root(cause, "crash", start, float(ev.x), lane, [cause], [frame], [x], [own])
    other = car_sample(rec, int(ev.other), frame) if ev.other is not None else None
    if other is not None and ring_offset(x, other[0], rec.length) < 0:
        root.chain.append(int(ev.other))
        root.frames.append(frame)
        root.xs.append(other[0])
        root.decel.append(peak_before(rec, int(ev.other), frame))
    return root


def _cut_in_root(rec: Recording, lanes: Lanes, ev: Any, frame: int) -> Root | None:
    """A lane change is a root when the car it moved in front of had to brake hard."""
    target = ev.target
    if target is None:
        return None
    sample = car_sample(rec, ev.car, frame)
    if sample is None:
        return None
    x = sample[0]
    behind = lanes.neighbour(frame, int(target), x, behind=True, skip=ev.car)
    if behind is None:
        return None
    response = braking_response(rec, behind[0], frame, HARD_BRAKE)
    if response is None:
        return None
    own = max(0.0, -sample[3])
    root = Root(
        ev.car, "cut_in", int(ev.tick), float(ev.x), int(target), [ev.car], [frame], [x], [own]
    )
    victim = car_sample(rec, behind[0], response[0])
    root.chain.append(behind[0])
    root.frames.append(response[0])
    root.xs.append(victim[0] if victim else x)
    root.decel.append(response[1])
    return root
