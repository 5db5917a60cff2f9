"""HubSpot events onto the taxonomy: contacts, companies, deals (stages, creation, amounts) and form
submissions."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType, Subject
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import Id, Payload, Str, canonical, read
from shared.webhooks.vendor import DeliveryContext, qualified
from shared.webhooks.vendors.hubspot import HubSpot

HUBSPOT = HubSpot.name
# HubSpot reports a form submission on a contact as property changes: `num_conversion_events` goes up by one
# per submission (the form's name changes `recent_conversion_event_name` only when it differs from the last).
FORM_SUBMISSIONS_PROPERTY = "num_conversion_events"
ASSOCIATED_COMPANY_PROPERTY = "associatedcompanyid"
DEAL_AMOUNT_PROPERTY = "amount"
# HubSpot's Salesforce integration names a deal's Salesforce Opportunity in this property: attribution folds the
# HubSpot deal into the Salesforce one (`shared.attribution.deals`), so one deal is credited once
SALESFORCE_OPPORTUNITY_PROPERTY = "hs_salesforceopportunityid"
_WON_STAGES = {"closedwon"}
_LOST_STAGES = {"closedlost"}


class HubSpotEvent(Payload):
    """One event of a HubSpot webhook batch, as far as the normalizer reads it."""

    object_id: Id = Field(None, alias="objectId")
    property_name: Str = Field(None, alias="propertyName")
    change_source: Str = Field(None, alias="changeSource")  # the CRM sync tells a person's change by it
    source_id: Id = Field(None, alias="sourceId")


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    payload: dict[str, Any] = dict(event.payload)
    fields = read(HubSpotEvent, payload)
    object_type, _, action = event.vendor_event_type.partition(".")
    object_id = qualified(HUBSPOT, fields.object_id)
    prop, value = fields.property_name, payload.get("propertyValue")
    change = {
        "action": action,
        "property": prop,
        "value": value,
        "change_source": fields.change_source,
        # who made the change (`userId:123`, an app's id): the CRM sync's audit trail names them
        "source_id": fields.source_id,
        "portal_id": payload.get("portalId"),
    }
    if object_type == "contact" and action == "propertyChange" and prop == FORM_SUBMISSIONS_PROPERTY:
        data = {
            "kind": EngagementKind.FORM_SUBMIT.value,
            "name": "HubSpot form submission",
            "properties": {"submissions": value, "portal_id": payload.get("portalId")},
        }
        return canonical(HUBSPOT, event, context, EventType.ENGAGEMENT_RECORDED, Subject(contact_id=object_id), data)
    if object_type == "contact" and action in {"creation", "propertyChange", "merge", "restore"}:
        email = value if prop == "email" and isinstance(value, str) else None
        # only an id names the account (the receiver bounded it); any other value is kept in the change alone
        is_id = isinstance(value, str | int) and not isinstance(value, bool)
        company = qualified(HUBSPOT, value) if prop == ASSOCIATED_COMPANY_PROPERTY and is_id else None
        subject = Subject(contact_id=object_id, account_id=company, email=email)
        return canonical(HUBSPOT, event, context, EventType.CONTACT_UPSERTED, subject, change)
    if object_type == "company" and action in {"creation", "propertyChange", "merge", "restore"}:
        return canonical(HUBSPOT, event, context, EventType.ACCOUNT_UPSERTED, Subject(account_id=object_id), change)
    if object_type == "deal":
        change |= _salesforce_opportunity(payload, prop, value)
    if object_type == "deal" and action == "propertyChange" and prop == "dealstage":
        stage = str(value or "")
        event_type = (
            EventType.DEAL_WON
            if stage.lower() in _WON_STAGES
            else EventType.DEAL_LOST
            if stage.lower() in _LOST_STAGES
            else EventType.DEAL_STAGE_CHANGED
        )
        return canonical(HUBSPOT, event, context, event_type, Subject(deal_id=object_id), change | {"stage": stage})
    if object_type == "deal" and action in {"creation", "propertyChange"}:
        # HubSpot sends a deal's amount as its own property change, apart from its stage: the deal record
        # folds it in (a deal won before its amount arrived is credited when the amount comes).
        amount = {"amount": value} if prop == DEAL_AMOUNT_PROPERTY and value not in (None, "") else {}
        return canonical(HUBSPOT, event, context, EventType.DEAL_UPDATED, Subject(deal_id=object_id), change | amount)
    return canonical(HUBSPOT, event, context, EventType.VENDOR_UNMAPPED, Subject(), {"payload": payload})


def _salesforce_opportunity(payload: dict[str, Any], prop: str | None, value: object) -> dict[str, str]:
    """`salesforce_opportunity_id` of a deal event: the change of `hs_salesforceopportunityid`, or the property
    as a payload carrying the deal's properties holds it; nothing when absent or empty (a link removed in HubSpot
    does not unlink the deals: the first link stands)."""
    properties = payload.get("properties")
    if prop != SALESFORCE_OPPORTUNITY_PROPERTY and isinstance(properties, dict):
        value = properties.get(SALESFORCE_OPPORTUNITY_PROPERTY)
        if isinstance(value, dict):  # {"value": ...}, as HubSpot's v1 deal records give their properties
            value = value.get("value")
    elif prop != SALESFORCE_OPPORTUNITY_PROPERTY:
        return {}
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return {}
    return {"salesforce_opportunity_id": value.strip()}
