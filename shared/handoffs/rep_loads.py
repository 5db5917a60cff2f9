"""What a transition does to the reps' loads, as the deltas its commit applies: the assignee's open handoff
released, the loads as routing sees them once deltas commit, and one delta per rep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from shared.handoffs.model import Handoff, RepLoad
from shared.handoffs.ports import RepDelta


def released(current: Handoff, loads: dict[str, RepLoad]) -> tuple[RepDelta, ...]:
    if current.rep_id is None:
        return ()
    load = loads.get(current.rep_id, RepLoad(current.rep_id))
    return (RepDelta(current.rep_id, load.version, open_delta=-1),)


def loads_after(loads: dict[str, RepLoad], deltas: Sequence[RepDelta]) -> dict[str, RepLoad]:
    """Loads as they will be once `deltas` commit (routing after a release sees the freed capacity)."""
    moved = dict(loads)
    for delta in deltas:
        load = moved.get(delta.rep_id, RepLoad(delta.rep_id))
        moved[delta.rep_id] = replace(
            load,
            open_handoffs=load.open_handoffs + delta.open_delta,
            assignments=load.assignments + delta.assignment_delta,
            rotation=load.rotation if delta.rotation is None else delta.rotation,
        )
    return moved


def merged(first: Sequence[RepDelta], second: Sequence[RepDelta]) -> tuple[RepDelta, ...]:
    """One delta per rep (a transaction may touch an item once): a reassignment back to the same rep nets out."""
    by_rep: dict[str, RepDelta] = {}
    for delta in (*first, *second):
        if delta.rep_id in by_rep:
            before = by_rep[delta.rep_id]
            delta = RepDelta(
                delta.rep_id,
                before.expected_version,
                before.open_delta + delta.open_delta,
                before.assignment_delta + delta.assignment_delta,
                delta.capacity if delta.capacity is not None else before.capacity,
                delta.rotation if delta.rotation is not None else before.rotation,
            )
        by_rep[delta.rep_id] = delta
    return tuple(by_rep.values())
