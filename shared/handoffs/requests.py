"""The handoff request a lead.handoff_requested event carries, read with the lead event model (a malformed
event is an InvalidInput: dead-lettered at once, as no retry can fix it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.errors import InvalidInput
from shared.events.lead_events import LeadEvent, LeadEventType
from shared.handoffs.event_details import detail_of
from shared.handoffs.model import Priority


def request_from(event: dict[str, Any]) -> tuple[str, Priority, str, str | None, datetime, str | None]:
    """(lead id, priority, reason, cause event id, when it was requested, the lead's email as the request names
    it) of an EventBridge event whose detail is a lead event."""
    detail = detail_of(LeadEvent, event, "a lead event")
    if detail.event_type is not LeadEventType.HANDOFF_REQUESTED or detail.priority is None:
        raise InvalidInput(f"{detail.event_type.value} with priority {detail.priority} is not a handoff request")
    requested_at = detail.occurred_at
    if requested_at.tzinfo is None:  # a time without a zone is UTC, as the hub writes them
        requested_at = requested_at.replace(tzinfo=UTC)
    reason = detail.reason or detail.priority
    return detail.lead_id, Priority(detail.priority), reason, detail.event_id, requested_at, detail.email


def progress_from(event: dict[str, Any]) -> tuple[str, str, str]:
    """(lead id, stage, event id) of a lead.stage_changed."""
    detail = detail_of(LeadEvent, event, "a lead event")
    if detail.event_type is not LeadEventType.STAGE_CHANGED:
        raise InvalidInput(f"{detail.event_type.value} is not a stage change")
    return detail.lead_id, detail.stage, detail.event_id
