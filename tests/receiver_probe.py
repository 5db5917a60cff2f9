"""Run in a fresh interpreter (`python -m tests.receiver_probe`) by tests/unit/test_receiver_import_path.py:
imports every receiver-side module, has every vendor verify (a forgery), answer handshakes, split a body into
events and shape its replies, and prints (JSON) which of the modules the receiver must not load got loaded.

Standard library and the receiver's own modules only: anything else imported here would be counted too.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from datetime import UTC, datetime
from typing import Any

FORBIDDEN = (
    "pydantic",
    "pydantic_core",
    "aws_lambda_powertools",
    "shared.events.canonical",
    "shared.webhooks.normalizers",
)

_SALESFORCE = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
    '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
    "<OrganizationId>00D000000000001AAA</OrganizationId><Notification><Id>04l1</Id>"
    '<sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>00Q1</sf:Id>'
    "<sf:LastModifiedDate>2026-11-25T11:59:00Z</sf:LastModifiedDate></sObject></Notification>"
    "</notifications></soapenv:Body></soapenv:Envelope>"
)
_TRACK = {
    "type": "track",
    "messageId": "m",
    "userId": "u",
    "event": "Demo Requested",
    "timestamp": "2026-11-25T11:59:00Z",
}
BODIES: dict[str, Any] = {
    "stripe": {"id": "evt_1", "object": "event", "type": "invoice.paid", "created": 1764072000, "data": {}},
    "hubspot": [{"subscriptionType": "contact.creation", "eventId": 1, "objectId": 1, "occurredAt": 1764072000000}],
    "salesforce": _SALESFORCE,
    "segment": _TRACK,
    "segment_api": {"batch": [_TRACK]},
    "calendly": {"event": "invitee.created", "payload": {"uri": "u"}, "created_at": "2026-11-25T11:59:00Z"},
    "typeform": {"event_id": "e", "event_type": "form_response", "form_response": {"submitted_at": "2026-11-25"}},
    "zendesk": {"type": "zen:event-type:ticket.created", "id": "z", "time": "2026-11-25T11:59:30Z", "detail": {}},
    "intercom": {"type": "notification_event", "id": "n", "topic": "ticket.created", "data": {"item": {}}},
    "slack": {"type": "event_callback", "event_id": "Ev1", "event_time": 1764072000, "event": {"type": "x"}},
    "standard": {"type": "contact.upserted", "timestamp": "2026-11-25T11:59:00Z", "data": {}},
}
HANDSHAKES: dict[str, Any] = {
    "slack": {"type": "url_verification", "challenge": "c"},
    "intercom": {"type": "notification_event", "topic": "ping"},
}
URLS = {"segment_api": "https://hub.example.com/v1/batch"}
HEADERS = {"standard": {"webhook-id": "msg_1"}}


def main() -> None:
    import shared.bounded_json
    import shared.events.ids
    import shared.webhooks.envelope
    import shared.webhooks.payload
    import shared.webhooks.signatures
    import shared.webhooks.vendors
    from shared.webhooks.model import InboundWebhook
    from shared.webhooks.registry import TRACKING_API, VENDORS
    from shared.webhooks.signatures import SignatureError
    from shared.webhooks.vendor import MalformedPayload, Reply

    for module in pkgutil.iter_modules(shared.webhooks.vendors.__path__, "shared.webhooks.vendors."):
        importlib.import_module(module.name)
    shared.events.ids.event_id("stripe", "evt_1")

    def request(name: str, body: Any) -> InboundWebhook:
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        url = URLS.get(name, f"https://hub.example.com/webhooks/{name}")
        return InboundWebhook(name, "POST", url, HEADERS.get(name, {}), raw, "r")

    now = datetime.now(UTC)
    for name, vendor in {**VENDORS, TRACKING_API.name: TRACKING_API}.items():
        assert vendor.secret_key, name
        assert vendor.max_body_bytes > 0, name
        try:
            vendor.verify(request(name, BODIES[name]), ["not-the-secret"], now)
        except SignatureError:
            pass
        else:
            raise AssertionError(f"{name} verified a forgery")
        assert vendor.handshake(request(name, BODIES[name])) is None, name
        if name in HANDSHAKES:
            assert vendor.handshake(request(name, HANDSHAKES[name])) is not None, name
        assert vendor.parse(request(name, BODIES[name])), name
        try:
            vendor.parse(request(name, "<x" if name == "salesforce" else "{"))
        except MalformedPayload:
            pass
        else:
            raise AssertionError(f"{name} parsed a broken body")
        vendor.reply(Reply(202, {"status": "accepted"}))
        vendor.reply(Reply(400, {"message": "refused"}))

    print(json.dumps(sorted(name for name in sys.modules if name.startswith(FORBIDDEN))))


if __name__ == "__main__":
    if "--with-normalizers" in sys.argv:
        importlib.import_module("shared.webhooks.normalizers")
    main()
