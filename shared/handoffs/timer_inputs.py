"""What a timer's schedule hands the timer function (`shared.adapters.scheduler_timers.timer_input`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.errors import InvalidInput
from shared.handoffs.ports import TimerKind


def timer_from(event: dict[str, Any]) -> tuple[str, TimerKind, int, datetime]:
    handoff_id, kind, assignment = event.get("handoff_id"), event.get("kind"), event.get("assignment")
    if not isinstance(handoff_id, str) or not handoff_id:
        raise InvalidInput("timer input: handoff_id must be a non-empty string")
    if kind not in {k.value for k in TimerKind}:
        raise InvalidInput(f"timer input: kind must be one of {[k.value for k in TimerKind]}, not {kind!r}")
    if not isinstance(assignment, int) or isinstance(assignment, bool) or assignment < 0:
        raise InvalidInput("timer input: assignment must be a non-negative integer")
    return handoff_id, TimerKind(kind), assignment, _due_at(event.get("due_at"))


def early_of(event: dict[str, Any]) -> int:
    """How many times the timer was delivered before its due time and set again (absent: none)."""
    early = event.get("early", 0)
    if not isinstance(early, int) or isinstance(early, bool) or early < 0:
        raise InvalidInput("timer input: early must be a non-negative integer")
    return early


def _due_at(value: Any) -> datetime:
    """The timer's due time, as the schedule was set for (aware): what tells a live timer from a stale one."""
    try:
        due_at = datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 64 else None
    except ValueError:
        due_at = None
    if due_at is None or due_at.tzinfo is None or due_at.utcoffset() is None:
        raise InvalidInput("timer input: due_at must be an ISO 8601 time with its offset")
    return due_at
