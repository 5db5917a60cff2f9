"""The lead event that tells the bus of a contact as it stands: its stage and score snapshot beside what happened;
and the lead.profile_changed a change that set new profile values makes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.events.lead_events import LeadEvent, LeadEventType
from shared.leads.model import Contact
from shared.leads.ports import ChangeSet


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
AS_LEFT = frozenset(
    {LeadEventType.MERGED, LeadEventType.UNMERGED, LeadEventType.SCORE_CHANGED, LeadEventType.PROFILE_CHANGED}
)


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


class _Unsettled:
    """A field's value as read when what consumers last heard of it is not one value: equal to none."""

    def __eq__(self, other: object) -> bool:
        return False

    def __ne__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return "<unsettled>"


UNSETTLED: Any = _Unsettled()


def read_as_either(*views: dict[str, Any]) -> dict[str, Any]:
    """The profile values a change reads a contact with when its consumers may hold any of `views` (a lead an
    unmerge brings back: the merged person's profile, which reads of it followed, or its own as it was merged
    away): a field every view holds alike keeps that value, any other counts as changed whatever it becomes."""
    read: dict[str, Any] = {}
    for name in set().union(*views):
        values = [view.get(name) for view in views]
        read[name] = values[0] if all(value == values[0] for value in values) else UNSETTLED
    return read


def told_profile(
    contact: Contact, change: ChangeSet, cause: str, discriminator: str, cause_event_id: str | None, at: datetime
) -> None:
    """A `lead.profile_changed` in `change` when the contact's profile holds other values than this change read it
    with (a webhook's new name or phone, a capture's, a CRM's through the sync, what a merge or an unmerge brought or
    took): so the CRM sync and other consumers hear of a change that moves neither the score nor the stage. It names
    the fields, never their values (the bus has many readers). None for a contact the change made (its first
    lead.score_changed tells of it) or read merged away (but for the one an unmerge brings back, read as its
    consumers may hold it: `read_as_either`); none when nothing changed, so a redelivery or a replay of the cause
    makes none. `discriminator`: the cause's event id (or key), so a redo of the change keeps the id. Told
    once per change: what it told is what the change read from then on."""
    before = change.profiles_read.get(contact.contact_id)
    if before is None or contact.merged_into is not None:
        return
    after = contact.profile.values
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    if not changed:
        return
    change.profiles_read[contact.contact_id] = dict(after)
    change.events.append(
        lead_event(
            contact,
            LeadEventType.PROFILE_CHANGED,
            discriminator,
            at,
            reason=cause,
            changed_fields=changed,
            cause_event_id=cause_event_id,
        )
    )
