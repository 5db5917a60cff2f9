"""What each lead event type means, which of the type-specific fields it sets, and an example of it.

Hand-maintained prose for the schema registry descriptions and `docs/events.md`. `shared/leads/service.py` is
the authority on what is published when; this table describes it for readers and is not imported by it.
`tests/unit/test_lead_event_taxonomy.py` holds the table to the service: it runs leads through their lifecycle
and checks that every type is published with the fields listed here, and no other type-specific one.

A type missing here is still published, registered and documented, flagged as not described yet; add it here
when adding it to `LeadEventType`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from shared.events.canonical import CanonicalEvent
from shared.events.lead_events import LeadEvent, LeadEventType

# Fields only some types set; on the others they are null. Every other field describes the lead after the
# change and is set on every type (`email` and `model_version` when known).
TYPE_SPECIFIC_FIELDS = (
    "previous_stage",
    "previous_score",
    "priority",
    "other_lead_id",
    "cause_event_id",
    "changed_fields",
)


@dataclass(frozen=True)
class LeadEventTypeInfo:
    meaning: str
    sets: tuple[str, ...]  # of TYPE_SPECIFIC_FIELDS, those this type sets (some only when they apply)
    example: LeadEvent | None = None
    described: bool = True


NOT_DESCRIBED = LeadEventTypeInfo(
    meaning="Not described yet: add it to `LEAD_EVENT_TYPES` in `shared/events/lead_taxonomy.py`.",
    sets=(),
    described=False,
)

# One lead through the README's journey: Sam is captured from a web form, identifies (absorbing the
# anonymous visitor who read the pricing page), requests a demo, qualifies weeks later, and an admin undoes
# the merge. Fixed values, so the examples (and the document built from them) are the same on every run.
_SAM = "5b1f0c9e2d8a4e7b9c3f6a1d0e4b7c28"
_VISITOR = "c4e8a2f6b0d94c1e8f3a7b5d2c9e6f10"
_MERGE_ID = "9d41e7b2c6a84f0e8b3d5a1c7e9f2b46"
_MODEL_VERSION = "2026.1"
_IDENTIFIED_AT = datetime(2025, 1, 15, 9, 28, 12, tzinfo=UTC)
_DEMO_AT = datetime(2025, 1, 15, 9, 30, 0, tzinfo=UTC)
_QUALIFIED_AT = datetime(2025, 2, 3, 16, 5, 0, tzinfo=UTC)
_UNMERGED_AT = datetime(2025, 2, 4, 10, 15, 0, tzinfo=UTC)
_PHONE_AT = datetime(2025, 1, 20, 14, 2, 41, tzinfo=UTC)
# Segment messages (here from the tracking API) have their ids in Segment's one namespace, `segment_api`
_DEMO_EVENT = CanonicalEvent.id_for("segment_api", "demo-1")
_TICKET_EVENT = CanonicalEvent.id_for("zendesk", "ticket-4711")
_EMAIL_CLICK_EVENT = CanonicalEvent.id_for("segment_api", "email-click-17")


def _sam(event_type: LeadEventType, discriminator: str, occurred_at: datetime, **fields: Any) -> LeadEvent:
    """Sam's lead event, as `LeadService._lead_event` builds it: the lead's snapshot plus `fields`."""
    snapshot: dict[str, Any] = {
        "lead_id": _SAM,
        "email": "sam@northwind.io",
        "stage": "Lead",
        "score": 85.0,
        "fit_score": 85.0,
        "engagement_score": 0.0,
        "model_version": _MODEL_VERSION,
    }
    return LeadEvent(
        event_id=LeadEvent.id_for(_SAM, event_type, discriminator),
        event_type=event_type,
        occurred_at=occurred_at,
        **(snapshot | fields),
    )


_QUALIFIED = {"stage": "MQL", "score": 312.4, "engagement_score": 227.4}

LEAD_EVENT_TYPES: Mapping[LeadEventType, LeadEventTypeInfo] = MappingProxyType(
    {
        LeadEventType.SCORE_CHANGED: LeadEventTypeInfo(
            meaning="A lead's total score changed: an engagement was logged, its profile or account changed, a "
            "merge or an unmerge changed its log, or it was rescored (by the hourly nurture clock, or by "
            "`make rescore` applying a model). `previous_score` is the total before, null on the lead's first "
            "score; not published when the total stays the same. Anonymous visitors are scored too (`email` null, "
            "stage `Visitor`).",
            sets=("previous_score", "cause_event_id"),
            example=_sam(
                LeadEventType.SCORE_CHANGED,
                f"{_DEMO_EVENT}:18500",
                _DEMO_AT,
                score=185.0,
                engagement_score=100.0,
                previous_score=85.0,
                reason="segment_api track demo-1",
                cause_event_id=_DEMO_EVENT,
            ),
        ),
        LeadEventType.STAGE_CHANGED: LeadEventTypeInfo(
            meaning="A lead moved forward in its lifecycle: Visitor → Lead → MQL → SQL → Opportunity → Customer → "
            "Advocate. Stages never move back. `previous_stage` is the stage it left and `reason` what moved it "
            "(for example `identified`, `MQL criteria met`, `deal won`); a lead passing several stages at once "
            "publishes one event per stage, in order.",
            sets=("previous_stage", "cause_event_id"),
            example=_sam(
                LeadEventType.STAGE_CHANGED,
                "MQL",
                _QUALIFIED_AT,
                **_QUALIFIED,
                previous_stage="Lead",
                reason="MQL criteria met",
                cause_event_id=_EMAIL_CLICK_EVENT,
            ),
        ),
        LeadEventType.MQL_REACHED: LeadEventTypeInfo(
            meaning="A lead met the scoring model's MQL criteria (`config/scoring-model.json`) and became an MQL. "
            "Published once per lead, right after the lead.stage_changed to `MQL`, with the same `cause_event_id`.",
            sets=("cause_event_id",),
            example=_sam(
                LeadEventType.MQL_REACHED,
                "mql",
                _QUALIFIED_AT,
                **_QUALIFIED,
                reason="MQL criteria met",
                cause_event_id=_EMAIL_CLICK_EVENT,
            ),
        ),
        LeadEventType.HANDOFF_REQUESTED: LeadEventTypeInfo(
            meaning="Sales should pick up this lead, an identified person at stage Lead or MQL (or an SQL sales "
            "recycled since its last request). `priority` says how "
            "urgently and `reason` why: `immediate` when the total reaches the model's immediate line, `priority` "
            "on a recent buying signal (a demo request, a pricing page visit, a trial signup; its event is the "
            "`cause_event_id`), `standard` for an MQL nurtured for the model's minimum number of days. Published "
            "once per lead and priority, the most urgent new one only; a lead without an email waits until it "
            "identifies.",
            sets=("priority", "cause_event_id"),
            example=_sam(
                LeadEventType.HANDOFF_REQUESTED,
                "priority",
                _DEMO_AT,
                score=185.0,
                engagement_score=100.0,
                priority="priority",
                reason="demo_request at 2025-01-15T09:30:00+00:00, within the last 30 days",
                cause_event_id=_DEMO_EVENT,
            ),
        ),
        LeadEventType.MERGED: LeadEventTypeInfo(
            meaning="Two contacts turned out to be one person, because one event named both (a Segment `identify` "
            "with a `userId` and an `anonymousId`, a CRM contact with the email of a captured lead): "
            "`other_lead_id` was merged into this lead, the survivor, and its engagement now counts for it. A "
            "known person survives an anonymous visitor, otherwise the older contact does; `reason` names the "
            "event that tied them. The scores are the survivor's before the merge; the lead.score_changed that "
            "follows has the new ones.",
            sets=("other_lead_id",),
            example=_sam(
                LeadEventType.MERGED,
                _MERGE_ID,
                _IDENTIFIED_AT,
                other_lead_id=_VISITOR,
                reason="segment_api identify identify-1",
            ),
        ),
        LeadEventType.UNMERGED: LeadEventTypeInfo(
            meaning="A merge was undone (`POST /api/v1/leads/{lead_id}/unmerge`). Published for each of the two "
            "contacts, `other_lead_id` naming the other: each gets back its own identities, profile fields, "
            "engagement log and score, and the two are never merged again. The scores are those before the "
            "split; the lead.score_changed events that follow have the new ones.",
            sets=("other_lead_id",),
            example=_sam(
                LeadEventType.UNMERGED,
                f"unmerge:{_UNMERGED_AT.isoformat()}",
                _UNMERGED_AT,
                **_QUALIFIED,
                other_lead_id=_VISITOR,
                reason="merge undone",
            ),
        ),
        LeadEventType.PROFILE_CHANGED: LeadEventTypeInfo(
            meaning="What the hub knows of a lead's person changed: an event gave an existing lead a new value of a "
            "profile field (a Segment `identify`, a Zendesk ticket, a Calendly booking, a capture of the same person, "
            "a CRM change through the CRM sync), or a merge or an unmerge changed its combined profile. Published "
            "whether or not the score or the stage moved too, once per cause; not for a lead the change creates "
            "(its first lead.score_changed tells of it), and not when every value stays the same (a redelivery, a "
            "replay). `changed_fields` names the fields whose value changed, sorted, and never their values: read "
            "the lead (`GET /api/v1/leads/{lead_id}`) for those. The CRM sync takes the lead's profile from it to "
            "HubSpot and Salesforce.",
            sets=("changed_fields", "cause_event_id"),
            example=_sam(
                LeadEventType.PROFILE_CHANGED,
                _TICKET_EVENT,
                _PHONE_AT,
                score=185.0,
                engagement_score=100.0,
                changed_fields=["last_name", "phone"],
                reason="zendesk ticket.created ticket-4711",
                cause_event_id=_TICKET_EVENT,
            ),
        ),
    }
)


def describe(event_type: LeadEventType) -> LeadEventTypeInfo:
    return LEAD_EVENT_TYPES.get(event_type, NOT_DESCRIBED)


def example_event(event_type: LeadEventType) -> LeadEvent:
    """A deterministic lead event of `event_type`, as the lead domain would publish it."""
    return describe(event_type).example or _sam(event_type, "example", _DEMO_AT, reason="an example")
