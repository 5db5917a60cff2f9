"""Which canonical events are engagements a lead's score reads, and the record each leaves in the lead's log.

Besides `engagement.recorded` (whose `data.kind` says which engagement), a Stripe subscription that starts a
trial is the seeds' `trial_signup`: a buying signal that hands a qualified lead off with priority.

A record keeps where the engagement came from for attribution (`shared.attribution.touchpoints`): its referrer
and its campaign (Segment's `context.campaign`, or the UTM parameters of Calendly's `tracking`).
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
            referrer=referrer_of(data.get("referrer")),
            campaign=campaign_of_data(data),
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


CAMPAIGN_FIELDS = ("name", "source", "medium", "term", "content")
# Calendly's `tracking` (and any sender's) UTM parameters, by the campaign field each is
_UTM_FIELDS = {f"utm_{'campaign' if name == 'name' else name}": name for name in CAMPAIGN_FIELDS}


def referrer_of(value: object) -> str | None:
    """The referrer URL: a string as sent, or the `url` of a referrer sent as an object (Segment's shape)."""
    if isinstance(value, Mapping):
        value = value.get("url")
    return _text(value.strip()) if isinstance(value, str) else None


def campaign_of_data(data: Mapping[str, Any]) -> dict[str, str]:
    """The campaign an engagement came with: `data.campaign` (Segment's `context.campaign`: name, source, medium,
    term, content), else the `utm_*` parameters of `data.tracking` (Calendly's). Only those five fields are
    kept, each a non-empty string (an integer is written as one); {} when none came."""
    campaign, tracking = data.get("campaign"), data.get("tracking")
    if isinstance(campaign, Mapping):
        found = _present({name: _label(campaign.get(name)) for name in CAMPAIGN_FIELDS})
        if found:
            return found
    if isinstance(tracking, Mapping):
        return _present({name: _label(tracking.get(key)) for key, name in _UTM_FIELDS.items()})
    return {}


def _present(fields: dict[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in fields.items() if value is not None}


def _label(value: object) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value.strip()) if isinstance(value, str) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
