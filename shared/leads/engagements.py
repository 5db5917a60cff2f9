"""Which canonical events are engagements a lead's score reads, and the record each leaves in the lead's log.

Besides `engagement.recorded` (whose `data.kind` says which engagement), a Stripe subscription that starts a
trial is the seeds' `trial_signup`: a buying signal that hands a qualified lead off with priority.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType
from shared.leads.model import EngagementRecord

TRIAL_STATUS = "trialing"


def engagement_record(event: CanonicalEvent, contact_id: str) -> EngagementRecord | None:
    """The engagement the event is, logged under `contact_id`; None when it is not one."""
    data = event.data
    if event.event_type is EventType.ENGAGEMENT_RECORDED:
        properties = data.get("properties")
        return EngagementRecord(
            event_id=event.event_id,
            contact_id=contact_id,
            occurred_at=event.occurred_at,
            kind=_text(data.get("kind")) or "",
            source_vendor=event.source_vendor,
            name=_text(data.get("name")) or _text(data.get("event_name")),
            url=_text(data.get("url")),
            path=_text(data.get("path")),
            properties=dict(properties) if isinstance(properties, Mapping) else {},
        )
    if event.event_type is EventType.SUBSCRIPTION_CHANGED and starts_a_trial(data):
        return EngagementRecord(
            event_id=event.event_id,
            contact_id=contact_id,
            occurred_at=event.occurred_at,
            kind=EngagementKind.TRIAL_SIGNUP.value,
            source_vendor=event.source_vendor,
            name=f"{event.source_vendor} trial",
            properties={key: data.get(key) for key in ("subscription_id", "trial_end", "items") if data.get(key)},
        )
    return None


def starts_a_trial(data: Mapping[str, Any]) -> bool:
    """A subscription that is trialing now and was not before (created trialing, or out of `incomplete`)."""
    return (
        data.get("status") == TRIAL_STATUS
        and data.get("previous_status") != TRIAL_STATUS
        and data.get("change") != "deleted"
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
