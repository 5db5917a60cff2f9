"""Salesforce Outbound Messages: a SOAP 1.1 `notifications` envelope of 1 to 100 `Notification`s, unsigned.

Salesforce does not sign outbound messages. The only proof of origin inside the message is its
`OrganizationId`, which must be one of the configured org ids. An org id is not a secret (any user of the
org can read it), so this admits what the org sends but keeps out only casual forgeries; pair the route
with an unguessable path or an IP allow list where that matters.

Salesforce retries a message until it gets its SOAP `Ack`, re-sending every notification with the same
`Notification/Id`, which is therefore the dedupe key. How its records map onto the taxonomy:
`shared.webhooks.normalizers.salesforce`.
"""

from __future__ import annotations

import hmac
import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from shared.webhooks.envelope import identifier, iso_time, key_id
from shared.webhooks.envelope import text as text_field
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import MalformedPayload, Reply, Vendor

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
_NO_DTD = "body declares a DOCTYPE or ENTITY; Salesforce never does, so it is refused"
# Envelope, Body, notifications, Notification, sObject, a field, a compound field (an address) and its
# parts: 8 levels. 32 leaves room for what Salesforce may add and stops anything built to hurt.
MAX_XML_DEPTH = 32
# The fields of each sObject type its canonical event's subject is made of (`contact_id`, `account_id`,
# `deal_id`, `salesforce:<id>`; `shared.webhooks.normalizers.salesforce`): ids the hub keys records by.
SUBJECT_IDS: dict[str, tuple[str, ...]] = {
    "Lead": ("Id", "AccountId"),
    "Contact": ("Id", "AccountId"),
    "Account": ("Id",),
    "Opportunity": ("Id", "AccountId"),
    "CampaignMember": ("ContactId", "LeadId"),  # the member, a contact or a lead; its own Id is not a subject
}


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
        raise MalformedPayload(_NO_DTD)
    # defusedxml refuses DTDs, entities and external references inside the parser too, whatever the regex
    # above missed; the tree is built through `_BoundedTree`, which stops at MAX_XML_DEPTH. Imported here,
    # on the first Salesforce message, rather than on every cold start of the function.
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import DefusedXMLParser

    parser = DefusedXMLParser(target=_BoundedTree(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        # parsing the decoded text, not the bytes, so an XML declaration cannot switch the encoding under
        # the declaration check above
        parser.feed(text)
        envelope = parser.close()
    except DefusedXmlException:
        raise MalformedPayload(_NO_DTD) from None
    except ET.ParseError as exc:
        raise MalformedPayload(f"body is not well-formed XML: {exc}") from None
    if envelope.tag != f"{{{SOAP_NS}}}Envelope":
        raise MalformedPayload("body is not a SOAP 1.1 Envelope")
    notifications = envelope.find(f"{{{SOAP_NS}}}Body/{{{OUTBOUND_NS}}}notifications")
    if notifications is None:
        raise MalformedPayload(f"SOAP Body holds no notifications element in {OUTBOUND_NS}")
    return notifications


class _BoundedTree:
    """An ElementTree builder that refuses elements nested deeper than MAX_XML_DEPTH as they arrive, so a
    deep body is refused before it is built (and before anything recurses through it)."""

    def __init__(self) -> None:
        self._builder = ET.TreeBuilder()
        self._depth = 0

    def start(self, tag: str, attrs: dict[str, str]) -> ET.Element:
        self._depth += 1
        if self._depth > MAX_XML_DEPTH:
            raise MalformedPayload(f"body nests XML deeper than {MAX_XML_DEPTH} levels")
        return self._builder.start(tag, attrs)

    def end(self, tag: str) -> ET.Element:
        self._depth -= 1
        return self._builder.end(tag)

    def data(self, data: str) -> None:
        self._builder.data(data)

    def close(self) -> ET.Element:
        return self._builder.close()


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
        occurred_at=_modified(sobject_type, fields, f"Notification {notification_id}.sObject"),
        payload=header | {"notification_id": notification_id, "sobject_type": sobject_type, "fields": fields},
    )


def _modified(sobject_type: str, fields: dict[str, Any], where: str) -> datetime | None:
    """When the record was last changed. XML gives each field a string (None when `xsi:nil`), or an object
    for a compound field: the ids, stage and flags the normalizer reads must be strings, the ids its subject is
    made of at most 255 characters (`key_id`), and the times ISO-8601 times between 1970 and 2200."""
    identifier(fields, "Id", where)
    identifier(fields, "AccountId", where)
    for name in SUBJECT_IDS.get(sobject_type, ()):
        if isinstance(fields.get(name), str):  # a compound field is no id, and left to the normalizer as before
            key_id(fields, name, where)
    for name in ("StageName", "IsWon", "IsClosed"):
        text_field(fields, name, where)
    last_modified = iso_time(fields, "LastModifiedDate", where)
    system_modstamp = iso_time(fields, "SystemModstamp", where)
    return last_modified or system_modstamp


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
