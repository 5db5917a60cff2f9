"""Salesforce Outbound Messages: a SOAP 1.1 `notifications` envelope of 1 to 100 `Notification`s, unsigned.

Salesforce does not sign outbound messages. The only proof of origin inside the message is its
`OrganizationId`, which must be one of the configured org ids. An org id is not a secret (any user of the
org can read it), so this admits what the org sends but keeps out only casual forgeries; pair the route
with an unguessable path or an IP allow list where that matters.

Salesforce retries a message until it gets its SOAP `Ack`, re-sending every notification with the same
`Notification/Id`, which is therefore the dedupe key.
"""

from __future__ import annotations

import hmac
import math
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Reply, Vendor, parse_iso, qualified

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
MAX_NOTIFICATIONS = 100

ACK = (
    f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}"><soapenv:Body>'
    f'<notificationsResponse xmlns="{OUTBOUND_NS}"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)

# Entity declarations are how XML bombs and external-entity reads get in; Salesforce never sends a DTD, so
# the body is refused before any parser sees it.
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_CONTACTS = {"Lead", "Contact"}


class Salesforce(Vendor):
    name = "salesforce"
    max_body_bytes = 1024 * 1024  # up to 100 notifications, each a whole sObject

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        try:
            organization_id = _text(_notifications(request.body), "OrganizationId")
        except MalformedPayload as exc:
            raise SignatureError(f"cannot read the OrganizationId: {exc}") from None
        if not organization_id:
            raise SignatureError("the outbound message has no OrganizationId")
        if len(organization_id) not in (15, 18):
            raise SignatureError("OrganizationId is not a 15- or 18-character Salesforce id")
        presented = _org_key(organization_id)
        # compare_digest on every configured org, so the time taken does not say which prefix matched
        matched = False
        for secret in secrets:
            matched |= hmac.compare_digest(_org_key(secret), presented)
        if not matched:
            raise SignatureError("OrganizationId is not one of the configured Salesforce orgs")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        notifications = _notifications(request.body)
        header = {
            "organization_id": _text(notifications, "OrganizationId"),
            "action_id": _text(notifications, "ActionId"),
        }
        elements = notifications.findall(f"{{{OUTBOUND_NS}}}Notification")
        if not elements:
            raise MalformedPayload("the outbound message holds no Notification")
        if len(elements) > MAX_NOTIFICATIONS:
            raise MalformedPayload(f"Salesforce sends at most {MAX_NOTIFICATIONS} notifications per message")
        return [_event(position, element, header) for position, element in enumerate(elements)]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        sobject = event.vendor_event_type
        fields: dict[str, Any] = dict(event.payload["fields"])
        record_id = qualified(self.name, fields.get("Id"))
        account_id = qualified(self.name, fields.get("AccountId"))
        base = {"sobject_type": sobject, "action_id": event.payload.get("action_id"), "fields": fields}
        if sobject in _CONTACTS:
            email = fields.get("Email") if isinstance(fields.get("Email"), str) and fields.get("Email") else None
            subject = Subject(contact_id=record_id, account_id=account_id, email=email)
            return self.canonical(event, context, EventType.CONTACT_UPSERTED, subject, base)
        if sobject == "Account":
            subject = Subject(account_id=record_id)
            return self.canonical(
                event, context, EventType.ACCOUNT_UPSERTED, subject, base | {"name": fields.get("Name")}
            )
        if sobject == "Opportunity":
            subject = Subject(deal_id=record_id, account_id=account_id)
            return self.canonical(event, context, _deal_outcome(fields), subject, base | _deal(fields))
        return self.canonical(event, context, EventType.VENDOR_UNMAPPED, Subject(), {"payload": dict(event.payload)})

    def reply(self, answer: Reply) -> Reply:
        # Salesforce keeps retrying (for up to 24 hours) anything that is not a SOAP Ack, so a stored or
        # duplicate delivery must be acknowledged in its own dialect; failures stay JSON and are retried.
        if 200 <= answer.status_code < 300:
            return Reply(200, ACK, "text/xml")
        return answer


def _notifications(body: bytes) -> ET.Element:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedPayload("body is not UTF-8 XML") from None
    if _DECLARATION.search(text):
        raise MalformedPayload("body declares a DOCTYPE or ENTITY; Salesforce never does, so it is refused")
    try:
        # parsing the decoded text, not the bytes, so an XML declaration cannot switch the encoding under
        # the declaration check above
        envelope = ET.fromstring(text)  # noqa: S314 - DTDs are refused above, so no entity can be expanded
    except ET.ParseError as exc:
        raise MalformedPayload(f"body is not well-formed XML: {exc}") from None
    if envelope.tag != f"{{{SOAP_NS}}}Envelope":
        raise MalformedPayload("body is not a SOAP 1.1 Envelope")
    notifications = envelope.find(f"{{{SOAP_NS}}}Body/{{{OUTBOUND_NS}}}notifications")
    if notifications is None:
        raise MalformedPayload(f"SOAP Body holds no notifications element in {OUTBOUND_NS}")
    return notifications


def _event(position: int, element: ET.Element, header: dict[str, str | None]) -> VendorEvent:
    notification_id = _text(element, "Id")
    if not notification_id:
        raise MalformedPayload(f"Notification {position} has no Id")
    sobject = element.find(f"{{{OUTBOUND_NS}}}sObject")
    if sobject is None:
        raise MalformedPayload(f"Notification {notification_id} has no sObject")
    # xsi:type is "sf:Lead" with whatever prefix the message bound to the sObject namespace
    declared = sobject.get(f"{{{XSI_NS}}}type") or ""
    sobject_type = declared.rpartition(":")[2]
    if not sobject_type:
        raise MalformedPayload(f"sObject of Notification {notification_id} has no xsi:type")
    fields = _fields(sobject)
    return VendorEvent(
        dedupe_key=notification_id,
        vendor_event_id=notification_id,
        vendor_event_type=sobject_type,
        occurred_at=parse_iso(fields.get("LastModifiedDate") or fields.get("SystemModstamp")),
        payload=header | {"notification_id": notification_id, "sobject_type": sobject_type, "fields": fields},
    )


def _fields(element: ET.Element) -> dict[str, Any]:
    """Field elements by local name: the enterprise and partner WSDLs put them in different namespaces."""
    fields: dict[str, Any] = {}
    for child in element:
        name = child.tag.rpartition("}")[2]
        if child.get(f"{{{XSI_NS}}}nil") == "true":
            fields[name] = None
        elif len(child):
            fields[name] = _fields(child)
        else:
            fields[name] = (child.text or "").strip()
    return fields


def _text(element: ET.Element, name: str) -> str | None:
    value = element.findtext(f"{{{OUTBOUND_NS}}}{name}")
    return value.strip() if value and value.strip() else None


def _org_key(org_id: str) -> bytes:
    # Setup shows the 15-character org id, messages carry the 18-character one: the last 3 characters are
    # only a checksum of the first 15, so either form configured matches.
    return org_id.strip()[:15].encode()


def _deal_outcome(fields: dict[str, Any]) -> EventType:
    stage = str(fields.get("StageName") or "").strip().lower()
    won = _true(fields.get("IsWon")) or stage == "closed won"
    if won:
        return EventType.DEAL_WON
    if _true(fields.get("IsClosed")) or stage == "closed lost":
        return EventType.DEAL_LOST
    return EventType.DEAL_STAGE_CHANGED


def _deal(fields: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": fields.get("Name"),
        "stage": fields.get("StageName"),
        "amount": _number(fields.get("Amount")),
        "close_date": fields.get("CloseDate"),
        "is_won": _true(fields.get("IsWon")),
        "is_closed": _true(fields.get("IsClosed")),
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
