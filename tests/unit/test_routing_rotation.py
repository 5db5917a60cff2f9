"""Round robin as a rotation: a rep back from leave (or new, or freed from capacity) takes their turn and goes
to the back of the line, instead of every lead until their lifetime count catches up with the others';
weighted round robin keeps its proportions over time, absences included."""

from __future__ import annotations

from collections import Counter
from typing import Any

from shared.handoffs.model import Priority, RepLoad
from shared.handoffs.routing import Router, route
from tests.unit.test_handoff_service import new_world
from tests.unit.test_routing_config import rep_dict, routing_dict, rule_dict
from tests.unit.test_routing_engine import TUESDAY_10, assign, lead, router_of


def _run(router: Router, current: dict[str, RepLoad], count: int, start: int, **facts: Any) -> list[str | None]:
    """Routes `count` leads one after another, each stored (loads and rotation) before the next is routed."""
    chosen: list[str | None] = []
    for n in range(start, start + count):
        decision = route(router, lead(f"lead-{n}", **facts), current, TUESDAY_10)
        chosen.append(decision.rep_id)
        current.update(assign(current, decision))
    return chosen


def _away(current: dict[str, RepLoad], rep_id: str, away: bool) -> None:
    load = current.get(rep_id, RepLoad(rep_id))
    current[rep_id] = RepLoad(
        rep_id,
        load.open_handoffs,
        load.assignments,
        available=False if away else None,
        overrides_version=None if not away else "2026-03-01",
        rotation=load.rotation,
        version=load.version,
    )


def _router(strategy: str, weights: dict[str, int]) -> Router:
    reps = [rep_dict(rep_id, weight=weight, capacity=1000) for rep_id, weight in weights.items()]
    rule = rule_dict("rr", strategy=strategy, when={"countries": ["US"]})
    data = routing_dict(reps=reps, rules=[rule])
    data["version"] = "2026-03-01"
    return router_of(data)


def test_a_rep_back_from_leave_takes_their_turn_not_every_lead() -> None:
    # Given a round robin team of three, where c was away while a and b took 30 leads
    router = _router("round_robin", {"a": 1, "b": 1, "c": 1})
    current: dict[str, RepLoad] = {}
    _away(current, "c", True)
    assert set(_run(router, current, 30, 0, country="US")) == {"a", "b"}
    # When c is back and 9 more leads come in
    _away(current, "c", False)
    after = _run(router, current, 9, 30, country="US")
    # Then the three rotate: c takes a third of them (their first turn at once), never a run of them
    assert Counter(after) == Counter({"a": 3, "b": 3, "c": 3}), after
    assert after[0] == "c"
    assert all(after[n] != after[n + 1] for n in range(len(after) - 1)), after


def test_weighted_round_robin_keeps_its_proportions_across_an_absence() -> None:
    # Given weights 1, 2 and 3, the weight-3 rep away for the first 30 leads
    router = _router("weighted_round_robin", {"a": 1, "b": 2, "c": 3})
    current: dict[str, RepLoad] = {}
    _away(current, "c", True)
    before = Counter(_run(router, current, 30, 0, country="US"))
    assert before == Counter({"a": 10, "b": 20})
    # When c is back, for 60 more
    _away(current, "c", False)
    after = _run(router, current, 60, 30, country="US")
    # Then the 60 go 10, 20, 30, and c's first six are no burst: no more than their share of a round
    shares = Counter(after)
    assert all(abs(shares[rep_id] - share) <= 1 for rep_id, share in {"a": 10, "b": 20, "c": 30}.items()), after
    assert after[:6].count("c") <= 4, after
    # And over a longer run the shares are exact again
    assert Counter(_run(router, current, 600, 90, country="US")) == Counter({"a": 100, "b": 200, "c": 300})


def test_the_shipped_apac_round_robin_alternates_once_a_rep_is_back() -> None:
    # Given the APAC SDRs (round robin): Hana away for a week while Liam took ten leads
    world = new_world()
    world.service.set_rep("sdr-hana-sato", available=False, capacity=None)
    for n in range(10):
        world.service.request(world.lead(f"jp-a{n}", country="JP"), Priority.PRIORITY, "demo_request", f"ca{n}")
    # When she is back and ten more come in
    world.service.set_rep("sdr-hana-sato", available=True, capacity=None)
    after = []
    for n in range(10):
        outcome = world.service.request(
            world.lead(f"jp-b{n}", country="JP"), Priority.PRIORITY, "demo_request", f"cb{n}"
        )
        assert outcome.handoff is not None
        after.append(outcome.handoff.rep_id)
    # Then they alternate (she is first, being furthest behind), instead of all ten going to her
    assert after == ["sdr-hana-sato", "sdr-liam-walker"] * 5, after
    assert "is next in the rotation" in (world.repository.handoff(outcome.handoff.handoff_id).history[-1].cause)  # type: ignore[union-attr]
