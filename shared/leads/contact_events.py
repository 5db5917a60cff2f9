"""The lead event that tells the bus of a contact as it stands: its stage and score snapshot beside what happened."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.model import Contact


def lead_event(contact: Contact, kind: LeadEventType, discriminator: str, at: datetime, **fields: Any) -> LeadEvent:
    """`discriminator` tells this event apart from the contact's other events of its kind: its id is derived from
    it, so a redo of the same change publishes the same id (consumers de-duplicate on it)."""
    snapshot = contact.score
    return LeadEvent(
        event_id=LeadEvent.id_for(contact.contact_id, kind, discriminator),
        event_type=kind,
        occurred_at=at,
        lead_id=contact.contact_id,
        email=contact.email,
        stage=contact.stage.value,
        score=snapshot.total if snapshot else 0.0,
        fit_score=snapshot.fit if snapshot else 0.0,
        engagement_score=snapshot.engagement if snapshot else 0.0,
        model_version=snapshot.model_version if snapshot else None,
        **fields,
    )


# What a change tells of a contact as it stands once the whole change is made (a merge, an unmerge or a score
# change is told with the stage and score the change leaves, not the ones it started from); the other kinds
# keep the stage they tell of and take the score the change leaves.
AS_LEFT = frozenset({LeadEventType.MERGED, LeadEventType.UNMERGED, LeadEventType.SCORE_CHANGED})


def as_left(event: LeadEvent, contact: Contact) -> LeadEvent:
    """`event` with its snapshot (stage, score, email) as `contact` stands now; its id is unchanged."""
    snapshot = contact.score
    fields: dict[str, Any] = {
        "score": snapshot.total if snapshot else 0.0,
        "fit_score": snapshot.fit if snapshot else 0.0,
        "engagement_score": snapshot.engagement if snapshot else 0.0,
        "model_version": snapshot.model_version if snapshot else None,
    }
    if event.event_type in AS_LEFT:
        fields |= {"stage": contact.stage.value, "email": contact.email}
    return event.model_copy(update=fields)
