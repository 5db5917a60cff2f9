"""Salesforce outbound messages onto the taxonomy, by sObject type: leads and contacts, accounts and
opportunities (open, won or lost), a campaign member who responded (an engagement, a touch of the campaign for
attribution); any other record unmapped."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.types import EngagementKind
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import Id, Payload, Str, Text, canonical, read
from shared.webhooks.vendor import DeliveryContext, qualified
from shared.webhooks.vendors.salesforce import Salesforce

SALESFORCE = Salesforce.name
_CONTACTS = {"Lead", "Contact"}


# A formula field on CampaignMember holding its campaign's Type (`TEXT(Campaign.Type)`): an outbound message carries
# only the notified record's own fields, and the campaign's type is what says its channel (`config/attribution.json`).
CAMPAIGN_TYPE_FIELD = "Campaign_Type__c"


class SObject(Payload):
    """The fields of a notified record the hub reads. XML gives each a string (None when `xsi:nil`), or an
    object for a compound field; an id or a stage that is an object is malformed."""

    id: Id = Field(None, alias="Id")
    account_id: Id = Field(None, alias="AccountId")
    email: Text = Field(None, alias="Email")
    stage: Str = Field(None, alias="StageName")
    is_won: Str = Field(None, alias="IsWon")
    is_closed: Str = Field(None, alias="IsClosed")
    lead_id: Id = Field(None, alias="LeadId")
    contact_id: Id = Field(None, alias="ContactId")
    campaign_id: Id = Field(None, alias="CampaignId")
    has_responded: Str = Field(None, alias="HasResponded")
    campaign_type: Text = Field(None, alias=CAMPAIGN_TYPE_FIELD)


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    sobject = event.vendor_event_type
    fields: dict[str, Any] = dict(event.payload["fields"])
    record = read(SObject, fields, f"Notification {event.vendor_event_id}.sObject")
    record_id = qualified(SALESFORCE, record.id)
    account_id = qualified(SALESFORCE, record.account_id)
    base = {"sobject_type": sobject, "action_id": event.payload.get("action_id"), "fields": fields}
    if sobject in _CONTACTS:
        subject = Subject(contact_id=record_id, account_id=account_id, email=record.email)
        return canonical(SALESFORCE, event, context, EventType.CONTACT_UPSERTED, subject, base)
    if sobject == "Account":
        subject = Subject(account_id=record_id)
        data = base | {"name": fields.get("Name")}
        return canonical(SALESFORCE, event, context, EventType.ACCOUNT_UPSERTED, subject, data)
    if sobject == "Opportunity":
        subject = Subject(deal_id=record_id, account_id=account_id)
        return canonical(SALESFORCE, event, context, _deal_outcome(record), subject, base | _deal(fields, record))
    if sobject == "CampaignMember" and _true(record.has_responded) and (record.contact_id or record.lead_id):
        # the member is a Contact or a Lead: the hub knows either by its Salesforce id
        subject = Subject(contact_id=qualified(SALESFORCE, record.contact_id or record.lead_id))
        return canonical(SALESFORCE, event, context, EventType.ENGAGEMENT_RECORDED, subject, _response(fields, record))
    return canonical(SALESFORCE, event, context, EventType.VENDOR_UNMAPPED, Subject(), {"payload": dict(event.payload)})


def _response(fields: dict[str, Any], record: SObject) -> dict[str, Any]:
    """A campaign response as an engagement: its campaign is the Salesforce campaign (`name` its id, as Segment's
    `context.campaign.name` is the campaign id), sourced `salesforce`, its medium the campaign's type lower-cased
    (`trade show`, `webinar`), which the attribution channel mapping reads."""
    campaign = {"name": record.campaign_id, "source": "salesforce"}
    if record.campaign_type and record.campaign_type.strip():
        campaign["medium"] = record.campaign_type.strip().lower()
    return {
        "kind": EngagementKind.CAMPAIGN_RESPONSE.value,
        "name": "Salesforce campaign response",
        "campaign": campaign,
        "properties": {
            "campaign_member_id": record.id,
            "status": fields.get("Status"),
            "first_responded_on": fields.get("FirstRespondedDate"),
        },
    }


def _deal_outcome(record: SObject) -> EventType:
    stage = (record.stage or "").strip().lower()
    won = _true(record.is_won) or stage == "closed won"
    if won:
        return EventType.DEAL_WON
    if _true(record.is_closed) or stage == "closed lost":
        return EventType.DEAL_LOST
    return EventType.DEAL_STAGE_CHANGED


def _deal(fields: dict[str, Any], record: SObject) -> dict[str, Any]:
    return {
        "name": fields.get("Name"),
        "stage": record.stage,
        "amount": _number(fields.get("Amount")),
        "close_date": fields.get("CloseDate"),
        "is_won": _true(record.is_won),
        "is_closed": _true(record.is_closed),
    }


def _true(value: object) -> bool:
    return isinstance(value, str) and value.lower() == "true"


def _number(value: object) -> float | None:
    # Amount is an xsd:double in the enterprise WSDL; NaN and infinities have no JSON form
    try:
        number = float(value) if isinstance(value, str) and value else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
