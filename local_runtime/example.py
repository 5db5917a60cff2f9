"""Signed sample deliveries for every vendor, shaped like the vendors' own, for trying the local hub.

    python -m local_runtime.example stripe | sh                  # a correctly signed delivery: 202
    python -m local_runtime.example hubspot --secret wrong | sh   # a forged one: 401
    python -m local_runtime.example --list

Each run makes a new vendor event id, so it is a new delivery; `--twice` sends the same one twice (the second
is a duplicate: 200). The command targets the hub that is running (`local_runtime.discovery`: the port `make run`
was given, exported or not), or `--hub`.
The e2e suite and `make bench` use the same builders.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from local_runtime.discovery import hub_url
from shared.webhooks.vendors import (
    calendly,
    hubspot,
    intercom,
    segment,
    slack,
    standard,
    stripe,
    typeform,
    zendesk,
)

SECRETS = Path(__file__).resolve().parent.parent / "config" / "local.secrets.json"


@dataclass(frozen=True)
class Example:
    body: bytes
    headers: dict[str, str]
    proof_headers: tuple[str, ...] = ()  # what proves the sender; an unsigned delivery leaves these out
    timestamped: bool = False  # the scheme refuses stale deliveries
    content_type: str = "application/json"
    path: str = ""  # overrides /webhooks/<vendor>
    extra: dict[str, str] = field(default_factory=dict)


Builder = Callable[[str, str, datetime, str], Example]  # (url, secret, now, unique id) -> example


def _stripe(url: str, secret: str, now: datetime, uid: str) -> Example:
    body = json.dumps(
        {
            "id": f"evt_{uid}",
            "object": "event",
            "type": "invoice.paid",
            "created": int(now.timestamp()),
            "livemode": False,
            "data": {
                "object": {
                    "object": "invoice",
                    "id": f"in_{uid[:12]}",
                    "customer": "cus_local_1",
                    "customer_email": "ada@example.com",
                    "amount_paid": 4900,
                    "currency": "usd",
                }
            },
        }
    ).encode()
    header = stripe.sign(secret, body, int(now.timestamp()))
    return Example(body, {"Stripe-Signature": header}, ("Stripe-Signature",), timestamped=True)


def hubspot_property_change(
    url: str,
    secret: str,
    now: datetime,
    uid: str,
    object_id: int = 501,
    prop: str = "email",
    value: str = "ada@example.com",
    change_source: str = "CRM",
) -> Example:
    """HubSpot's `contact.propertyChange` of one property, signed (v3) for `url`: the `hubspot` example, and what
    the e2e suite and the benches send as a person changing a contact in HubSpot."""
    millis = int(now.timestamp() * 1000)
    event = {
        "eventId": int(hashlib.sha256(uid.encode()).hexdigest()[:8], 16),
        "subscriptionId": 1,
        "portalId": 62515,
        "appId": 1,
        "occurredAt": millis,
        "subscriptionType": "contact.propertyChange",
        "attemptNumber": 0,
        "objectId": object_id,
        "changeSource": change_source,
        "propertyName": prop,
        "propertyValue": value,
    }
    body = json.dumps([event]).encode()
    headers = {
        "X-HubSpot-Signature-v3": hubspot.sign(secret, "POST", url, body, str(millis)),
        "X-HubSpot-Request-Timestamp": str(millis),
    }
    return Example(body, headers, ("X-HubSpot-Signature-v3",), timestamped=True)


def _salesforce(url: str, secret: str, now: datetime, uid: str) -> Example:
    # Outbound messages carry no signature: the configured org id inside the body is the proof.
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{secret}</OrganizationId><ActionId>04k000000000001AAA</ActionId>"
        f"<Notification><Id>04l{uid[:15]}</Id>"
        '<sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">'
        "<sf:Id>00Q000000000001AAA</sf:Id><sf:Email>ada@example.com</sf:Email><sf:Company>Acme</sf:Company>"
        "</sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"
    ).encode()
    return Example(body, {"SOAPAction": '""'}, content_type="text/xml; charset=utf-8")


def _segment(url: str, secret: str, now: datetime, uid: str) -> Example:
    message = {
        "type": "track",
        "event": "Demo Requested",
        "messageId": f"msg-{uid}",
        "userId": "user-local-1",
        "properties": {"plan": "enterprise"},
        "timestamp": now.isoformat(),
    }
    body = json.dumps(message).encode()
    return Example(body, {"X-Signature": segment.sign(secret, body)}, ("X-Signature",))


def _segment_api(url: str, secret: str, now: datetime, uid: str) -> Example:
    import base64

    message = {
        "type": "page",
        "messageId": f"msg-{uid}",
        "anonymousId": "anon-local-1",
        "name": "Pricing",
        "properties": {"url": "https://example.com/pricing"},
        "timestamp": now.isoformat(),
    }
    body = json.dumps({"batch": [message]}).encode()
    auth = "Basic " + base64.b64encode(f"{secret}:".encode()).decode()
    return Example(body, {"Authorization": auth}, ("Authorization",), path="/v1/batch")


def _calendly(url: str, secret: str, now: datetime, uid: str) -> Example:
    body = json.dumps(
        {
            "event": "invitee.created",
            "created_at": now.isoformat(),
            "created_by": "https://api.calendly.com/users/LOCAL",
            "payload": {
                "uri": f"https://api.calendly.com/scheduled_events/EV1/invitees/{uid}",
                "email": "ada@example.com",
                "name": "Ada Lovelace",
                "status": "active",
                "scheduled_event": {"name": "Product demo", "start_time": now.isoformat()},
            },
        }
    ).encode()
    header = calendly.sign(secret, body, int(now.timestamp()))
    return Example(body, {"Calendly-Webhook-Signature": header}, ("Calendly-Webhook-Signature",), timestamped=True)


def _typeform(url: str, secret: str, now: datetime, uid: str) -> Example:
    body = json.dumps(
        {
            "event_id": uid,
            "event_type": "form_response",
            "form_response": {
                "form_id": "lead-form",
                "token": uid,
                "submitted_at": now.isoformat(),
                "hidden": {"utm_campaign": "q4-launch"},
                "definition": {"id": "lead-form", "title": "Talk to sales", "fields": []},
                "answers": [
                    {
                        "type": "email",
                        "email": "ada@example.com",
                        "field": {"id": "f1", "type": "email", "ref": "email"},
                    },
                    {"type": "text", "text": "Acme", "field": {"id": "f2", "type": "short_text", "ref": "company"}},
                ],
            },
        }
    ).encode()
    return Example(body, {"Typeform-Signature": typeform.sign(secret, body)}, ("Typeform-Signature",))


def _zendesk(url: str, secret: str, now: datetime, uid: str) -> Example:
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = json.dumps(
        {
            "id": uid,
            "type": "zen:event-type:ticket.created",
            "account_id": 1,
            "time": stamp,
            "zendesk_event_version": "2022-11-06",
            "subject": "zen:ticket:35436",
            "detail": {"id": "35436", "subject": "Cannot export invoices", "status": "OPEN", "requester_id": "659"},
            "event": {},
        }
    ).encode()
    headers = {
        "X-Zendesk-Webhook-Signature": zendesk.sign(secret, body, stamp),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }
    return Example(body, headers, ("X-Zendesk-Webhook-Signature",), timestamped=True)


def _intercom(url: str, secret: str, now: datetime, uid: str) -> Example:
    body = json.dumps(
        {
            "type": "notification_event",
            "id": f"notif_{uid}",
            "topic": "conversation.user.created",
            "created_at": int(now.timestamp()),
            "data": {
                "type": "notification_event_data",
                "item": {
                    "type": "conversation",
                    "id": "147",
                    "title": "Help with billing",
                    "source": {"author": {"type": "user", "id": "5f1a", "email": "ada@example.com"}},
                },
            },
        }
    ).encode()
    return Example(body, {"X-Hub-Signature": intercom.sign(secret, body)}, ("X-Hub-Signature",))


def _slack(url: str, secret: str, now: datetime, uid: str) -> Example:
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T061EG9R6",
            "event_id": f"Ev{uid[:10]}",
            "event_time": int(now.timestamp()),
            "event": {"type": "app_mention", "user": "U061F7AUR", "text": "<@U0LAN0Z89> hi"},
        }
    ).encode()
    stamp = int(now.timestamp())
    headers = {"X-Slack-Signature": slack.sign(secret, body, stamp), "X-Slack-Request-Timestamp": str(stamp)}
    return Example(body, headers, ("X-Slack-Signature",), timestamped=True)


def _standard(url: str, secret: str, now: datetime, uid: str) -> Example:
    body = json.dumps(
        {
            "type": "product.usage_reported",
            "timestamp": now.isoformat(),
            "data": {"account_id": "acct_9", "metric": "seats", "quantity": 12},
        }
    ).encode()
    stamp, msg_id = int(now.timestamp()), f"msg_{uid}"
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard.sign(secret, msg_id, stamp, body),
    }
    return Example(body, headers, ("webhook-signature",), timestamped=True)


BUILDERS: dict[str, Builder] = {
    "stripe": _stripe,
    "hubspot": hubspot_property_change,
    "salesforce": _salesforce,
    "segment": _segment,
    "segment_api": _segment_api,
    "calendly": _calendly,
    "typeform": _typeform,
    "zendesk": _zendesk,
    "intercom": _intercom,
    "slack": _slack,
    "standard": _standard,
}
SECRET_KEYS = {"segment_api": "segment_write_key"}


def local_secret(vendor: str) -> str:
    return str(json.loads(SECRETS.read_text())[SECRET_KEYS.get(vendor, vendor)][0])


def build(
    vendor: str, hub: str, secret: str | None = None, now: datetime | None = None, uid: str | None = None
) -> tuple[str, Example]:
    """The URL to post to and the delivery, signed with the local secret unless `secret` is given."""
    builder = BUILDERS[vendor]
    probe = builder("", local_secret(vendor), datetime.now(UTC), "0" * 32)
    url = f"{hub}{probe.path or f'/webhooks/{vendor}'}"
    example = builder(url, secret or local_secret(vendor), now or datetime.now(UTC), uid or uuid.uuid4().hex)
    return url, example


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("vendor", nargs="?", choices=sorted(BUILDERS))
    parser.add_argument(
        "--hub",
        help="the hub's URL (default: $HUB_URL, else the running hub `make run` started, else port $HUB_PORT or 3000)",
    )
    parser.add_argument("--secret", help="sign with this secret instead of the configured one (a forgery)")
    parser.add_argument("--twice", action="store_true", help="send the same delivery twice (202, then 200)")
    parser.add_argument("--list", action="store_true", help="list the vendors")
    args = parser.parse_args()
    if args.list or not args.vendor:
        print("\n".join(sorted(BUILDERS)))
        return 0
    url, example = build(args.vendor, (args.hub or hub_url()).rstrip("/"), args.secret)
    parts = ["curl", "-sS", "-i", "-X", "POST", url, "-H", f"Content-Type: {example.content_type}"]
    for name, value in example.headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-binary", example.body.decode()]
    print(shlex.join(parts))
    if args.twice:
        print("echo", "&&", shlex.join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
