"""What the hub's own events change on synced records: a lead event carries the lead's stage and score (and
its profile, read from the lead store, with each field's own time: a `lead.profile_changed` is how a change of
the profile alone, that moves neither score nor stage, reaches the CRMs), an MQL its date, a handoff the lead's
owner and the handoff's status, a health change the account's score and band, an expansion signal the
expansion record it creates (`shared.crm.expansions`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.crm.expansions import expansion_values
from shared.crm.ports import HubDirectory, ObjectKind
from shared.crm.records import record_key
from shared.events.attribution_events import ATTRIBUTION_EVENT_SOURCE, AttributionEvent, AttributionEventType
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE, HandoffEvent
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEvent, LeadEventType
from shared.events.success_events import SUCCESS_EVENT_SOURCE, SuccessEvent, SuccessEventType

Timed = tuple[str | None, datetime]


@dataclass(frozen=True)
class HubUpdate:
    kind: ObjectKind
    hub_id: str
    values: Mapping[str, Timed]  # hub field -> (value, when the hub changed it)
    actor: str  # the hub's domain that changed it, or the rep who acted
    cause: str  # the event's id
    parent: str | None = None  # the record a new one belongs to (an expansion's account: `account:<id>`)


def hub_update(source: str, detail: Mapping[str, Any], directory: HubDirectory) -> HubUpdate | None:
    """The update an event of the hub's bus makes, or None when it changes nothing synced."""
    if source == LEAD_EVENT_SOURCE:
        return _lead(LeadEvent.model_validate(detail), directory)
    if source == HANDOFF_EVENT_SOURCE:
        return _handoff(HandoffEvent.model_validate(detail))
    if source == SUCCESS_EVENT_SOURCE:
        event = SuccessEvent.model_validate(detail)
        if event.event_type is SuccessEventType.EXPANSION_SIGNAL:
            return _expansion(event, directory)
        return _health(event, directory)
    if source == ATTRIBUTION_EVENT_SOURCE:
        return _attribution(AttributionEvent.model_validate(detail))
    return None


def lead_merge(source: str, detail: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """(survivor lead id, absorbed lead id, the event's id) of a `lead.merged` event, else None."""
    if source != LEAD_EVENT_SOURCE or detail.get("event_type") != LeadEventType.MERGED.value:
        return None
    event = LeadEvent.model_validate(detail)
    return (event.lead_id, event.other_lead_id, event.event_id) if event.other_lead_id else None


def lead_unmerge(source: str, detail: Mapping[str, Any]) -> tuple[str, str, str, datetime] | None:
    """(the lead, the lead it was split from, the event's id, when) of a `lead.unmerged` event, else None. The lead
    domain publishes one for each side, `other_lead_id` naming the other: either may come first."""
    if source != LEAD_EVENT_SOURCE or detail.get("event_type") != LeadEventType.UNMERGED.value:
        return None
    event = LeadEvent.model_validate(detail)
    if not event.other_lead_id:
        return None
    return event.lead_id, event.other_lead_id, event.event_id, event.occurred_at


def _lead(event: LeadEvent, directory: HubDirectory) -> HubUpdate | None:
    if event.event_type in (LeadEventType.MERGED, LeadEventType.UNMERGED):
        return None  # the survivor's next event carries what changed
    values: dict[str, Timed] = {}
    profile = directory.contact_profile(event.lead_id)
    if profile is not None:
        values.update(profile.values)
    if event.email and "email" not in values:
        values["email"] = (event.email.lower(), event.occurred_at)
    # every lead event restates the stage (and the profile): a restatement of what the hub told the record last is
    # no change (`resolution.hub_change`), whatever its time
    values["lifecycle_stage"] = (event.stage, event.occurred_at)
    values["score"] = (_decimal(event.score), event.occurred_at)
    if event.event_type is LeadEventType.SCORE_CHANGED:
        values["score_factors"] = (directory.score_factors(event.lead_id), event.occurred_at)
    if event.event_type is LeadEventType.MQL_REACHED:
        values["mql_date"] = (event.occurred_at.date().isoformat(), event.occurred_at)
    return HubUpdate("contact", event.lead_id, values, "revops.leads", event.event_id)


def _handoff(event: HandoffEvent) -> HubUpdate | None:
    if event.kind != "lead":
        return None  # a customer handoff's owner is the account's CSM, which no mapping carries yet
    values: dict[str, Timed] = {"handoff_status": (event.status, event.occurred_at)}
    if event.rep_id:  # every handoff event names its rep: a restatement of it is no change (`hub_change`)
        values["owner"] = (event.rep_id, event.occurred_at)
    actor = event.actor if event.actor != "hub" else "revops.handoffs"
    return HubUpdate("contact", event.lead_id, values, actor, event.event_id)


def _health(event: SuccessEvent, directory: HubDirectory) -> HubUpdate | None:
    if event.event_type is not SuccessEventType.HEALTH_CHANGED or not event.tenant_id:
        return None
    values: dict[str, Timed] = {}
    profile = directory.account_profile(event.tenant_id)
    if profile is not None:
        values.update(profile.values)
    values["health_score"] = (_decimal(event.score) if event.score is not None else None, event.occurred_at)
    values["health_band"] = (event.band, event.occurred_at)
    return HubUpdate("account", event.tenant_id, values, "revops.success", event.event_id)


def _expansion(event: SuccessEvent, directory: HubDirectory) -> HubUpdate | None:
    """The expansion record a signal creates: one per signal (its event id), its account's."""
    if not event.tenant_id:
        return None
    profile = directory.account_profile(event.tenant_id)
    name = (profile.values.get("name") or (None,))[0] if profile is not None else None
    values = expansion_values(
        event.event_id,
        event.tenant_id,
        name,
        event.readiness,
        list(event.reasons),
        list(event.suggestions or []),
        event.occurred_at,
    )
    return HubUpdate(
        "expansion",
        event.event_id,
        {hub_field: (value, event.occurred_at) for hub_field, value in values.items()},
        "revops.success",
        event.event_id,
        parent=record_key("account", event.tenant_id),
    )


def _attribution(event: AttributionEvent) -> HubUpdate | None:
    """A won deal's attribution summary, for the CRM deal it came from (`deal_id` is the CRM's, qualified). A
    conversion another one counts (`superseded_by`: emptied) writes none: its deal keeps the summary it had, and
    the conversion that counts it writes its own."""
    if event.event_type is not AttributionEventType.CONVERSION_ATTRIBUTED or not event.deal_id:
        return None
    if event.superseded_by:
        return None
    summary = (
        f"{event.touches or 0} touches; first: {event.first_touch_campaign or 'none'}; "
        f"last: {event.last_touch_campaign or 'none'}; {event.company_amount or '0'} {event.company_currency}"
    )
    return HubUpdate(
        "deal",
        event.deal_id,
        {"attribution_summary": (summary, event.occurred_at)},
        "revops.attribution",
        event.event_id,
    )


def _decimal(points: float) -> str:
    # the events carry two-decimal scores as JSON numbers; the CRMs get them as exact decimal text
    return format(Decimal(repr(points)).quantize(Decimal("0.01")).normalize(), "f")
