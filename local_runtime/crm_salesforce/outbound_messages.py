"""Outbound messages, as the org's workflow rule sends them on every save of a Lead, Contact, Account or
Opportunity: the notifications, the SOAP 1.1 `notifications` message of a batch of them, posting it until the
receiver acknowledges it, and how a delivery is listed."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

import requests

from local_runtime.crm_salesforce.record_ids import id18
from local_runtime.crm_webhooks import Attempt, Delivery

MAX_NOTIFICATIONS = 100  # per outbound message
NOTIFIED = ("Lead", "Contact", "Account", "Opportunity")  # the objects the workflow rule's outbound message is on

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
ENTERPRISE_NS = "urn:sobject.enterprise.soap.sforce.com"

_ACK = re.compile(rb"<(?:[\w.-]+:)?Ack>\s*true\s*</(?:[\w.-]+:)?Ack>")


@dataclass
class Notification:
    id: str
    sobject: str
    record: dict[str, Any]  # a copy of the record as saved


def outbound_message(
    batch: list[Notification],
    instance: str,
    organization_id: str,
    api_version: str,
    fields: Mapping[str, Sequence[str]],
) -> bytes:
    """The outbound message of one delivery: notifications of one sObject type, each with the `fields` of its
    object, from the org `organization_id` whose instance URL is `instance`."""
    sobject = batch[0].sobject
    org15 = organization_id[:15]
    notifications = "".join(
        f"<Notification><Id>{n.id}</Id>"
        f'<sObject xsi:type="sf:{n.sobject}" xmlns:sf="{ENTERPRISE_NS}">'
        + "".join(_xml_field(name, n.record.get(name)) for name in fields[n.sobject])
        + "</sObject></Notification>"
        for n in batch
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body>"
        f'<notifications xmlns="{OUTBOUND_NS}">'
        f"<OrganizationId>{escape(organization_id)}</OrganizationId>"
        f"<ActionId>{_action_id(sobject)}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{escape(instance)}/services/Soap/c/{api_version}/{org15}</EnterpriseUrl>"
        f"<PartnerUrl>{escape(instance)}/services/Soap/u/{api_version}/{org15}</PartnerUrl>"
        f"{notifications}"
        "</notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()


def _xml_field(name: str, value: Any) -> str:
    if value is None:
        return f'<sf:{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    else:
        text = str(value)
    return f"<sf:{name}>{escape(text)}</sf:{name}>"


def _action_id(sobject: str) -> str:
    """The outbound message's id (one outbound message action per object)."""
    return id18(f"04k{NOTIFIED.index(sobject) + 1:012d}") if sobject in NOTIFIED else id18("04k000000000000")


def delivery_view(delivery: Delivery[Notification]) -> dict[str, Any]:
    """An outbound message and what became of it, as `deliveries` and /_webhooks list it."""
    return {
        "id": f"delivery-{delivery.number}",
        "sobject": delivery.items[0].sobject,
        "notification_ids": [n.id for n in delivery.items],
        "record_ids": [n.record["Id"] for n in delivery.items],
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status": delivery.response_status,
        "last_error": delivery.error,
        "url": delivery.url,
    }


def post_message(url: str, body: bytes, attempt: int) -> Attempt:
    """Posts an outbound message (the same at every attempt): delivered when the receiver acknowledged it."""
    try:
        answer = requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": '""',
                "User-Agent": "Jakarta Commons-HttpClient/3.1",
            },
            timeout=10,
        )
    except requests.RequestException as exc:
        return Attempt(None, f"{type(exc).__name__}: {str(exc)[:200]}", False)
    if not 200 <= answer.status_code < 300:
        return Attempt(answer.status_code, f"HTTP {answer.status_code}: {answer.text[:200]}", False)
    if not _ACK.search(answer.content):
        return Attempt(answer.status_code, "the answer is not a SOAP Ack", False)
    return Attempt(answer.status_code, None, True)
