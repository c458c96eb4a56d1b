"""Early-merge adherence cannot be gamed: "signal at the signs, then ride to the end" is late.

On the real simulation: a player car gets into the closing lane, switches its signal on
towards the open lane at the first warning sign, keeps it on while riding the closing lane,
and moves over only near its end. Under the early-merge convention that is a late merge (the
car merged where it left the lane), and the feed says so.
"""

from __future__ import annotations

from tests.support.adherence import Script, closure_of, left_to_end


def test_signal_then_ride_to_the_end_scores_as_a_late_merger() -> None:
    s = Script("lane-closure", {"early": {"merge": "early"}})
    closure = closure_of(s)
    for _ in range(4):
        s.tick("slower")  # about 50 km/h: room to manoeuvre
    s.until(lambda: 50 < (s.car.x - closure["end"]) % s.world.length < 200)
    while s.car.lane_index < closure["lane"]:
        s.change_lane("left", 2.5)
    s.until(lambda: left_to_end(s, closure) < closure["warn"] - 20)  # at the first signs
    s.signal(1)  # towards the open lane, as if waiting for a gap ...
    s.until(lambda: left_to_end(s, closure) < 60)  # ... but riding on to the end
    assert s.car.signal == 1 and s.car.lane_index == closure["lane"]
    s.tick("right")
    s.run(4.0)
    early = s.trackers["early"].result()[s.car_id]
    assert (early["merges"], early["merges_in_place"]) == (1, 0)
    assert early["score"] < 100
    (violation,) = s.violations["early"]
    assert violation.render("Di").startswith("Di stayed in the closing lane until")
