"""The canonical events the lead domain reads: the lead processor's rule matches these, and the service
handles them. Kept apart so the catalog can name them without loading the lead domain."""

from __future__ import annotations

from shared.events.types import EventType

CONTACT_EVENTS = frozenset(
    {
        EventType.CONTACT_UPSERTED,
        EventType.ENGAGEMENT_RECORDED,
        EventType.DEAL_STAGE_CHANGED,
        EventType.DEAL_WON,
        EventType.DEAL_LOST,
        EventType.HANDOFF_ACCEPTED,
        EventType.SURVEY_RESPONDED,
        EventType.SUBSCRIPTION_CHANGED,
    }
)
ACCOUNT_EVENTS = frozenset({EventType.ACCOUNT_UPSERTED})
LEAD_INPUT_EVENTS = tuple(sorted(type_.value for type_ in CONTACT_EVENTS | ACCOUNT_EVENTS))
