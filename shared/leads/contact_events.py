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
