"""What a timer's schedule hands the timer function (`shared.adapters.scheduler_timers.timer_input`)."""

from __future__ import annotations

from typing import Any

from shared.errors import InvalidInput
from shared.handoffs.ports import TimerKind


def timer_from(event: dict[str, Any]) -> tuple[str, TimerKind, int]:
    handoff_id, kind, assignment = event.get("handoff_id"), event.get("kind"), event.get("assignment")
    if not isinstance(handoff_id, str) or not handoff_id:
        raise InvalidInput("timer input: handoff_id must be a non-empty string")
    if kind not in {k.value for k in TimerKind}:
        raise InvalidInput(f"timer input: kind must be one of {[k.value for k in TimerKind]}, not {kind!r}")
    if not isinstance(assignment, int) or isinstance(assignment, bool) or assignment < 0:
        raise InvalidInput("timer input: assignment must be a non-negative integer")
    return handoff_id, TimerKind(kind), assignment
