"""Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the body keyed with the app's client secret.

HMAC-SHA1 is still sound as a MAC (SHA-1's collision weakness does not carry over to HMAC), but nothing
timestamped is signed: the notification `id`, which Intercom keeps across its retries (only
`delivery_attempts` and friends change), is the dedupe key and what makes a replay harmless. How its
notifications map onto the taxonomy: `shared.webhooks.normalizers.intercom`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from shared.webhooks.envelope import epoch_seconds, key_id
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.signatures import SignatureError, any_match, decode_hex, header_signatures
from shared.webhooks.vendor import MalformedPayload, Reply, Vendor, load_json

SIGNATURE_HEADER = "X-Hub-Signature"
_PREFIX = "sha1="
# The authors a conversation or ticket is about (`shared.webhooks.normalizers.intercom`): when its author is one
# of them, the author is its subject, else its first listed contact.
CUSTOMER_AUTHORS = {"user", "lead", "contact"}


class Intercom(Vendor):
    name = "intercom"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        signatures = header_signatures(request.header(SIGNATURE_HEADER), SIGNATURE_HEADER, _PREFIX)
        expected = (_hmac_sha1(secret, request.body) for secret in secrets)
        if not any_match(expected, decode_hex(signatures)):
            raise SignatureError(f"{SIGNATURE_HEADER} does not match any configured client secret")

    def handshake(self, request: InboundWebhook) -> Reply | None:
        # Intercom's "send test request" is a signed `ping` notification: answered, never published. Only its
        # topic is looked at, so a ping need not carry everything a real notification must.
        body = load_json(request.body)
        if isinstance(body, dict) and body.get("topic") == "ping":
            return Reply(200, {"status": "pong"})
        return None

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        notification = _notification(request.body)
        created = epoch_seconds(notification, "created_at")
        return [
            VendorEvent(
                dedupe_key=notification["id"],
                vendor_event_id=notification["id"],
                vendor_event_type=notification["topic"],
                occurred_at=created,
                payload=notification,
            )
        ]


def _notification(body: bytes) -> dict[str, Any]:
    notification = load_json(body)
    if not isinstance(notification, dict) or notification.get("type") != "notification_event":
        raise MalformedPayload('expected an Intercom notification ({"type": "notification_event", ...})')
    for key in ("id", "topic"):
        if not isinstance(notification.get(key), str) or not notification[key]:
            raise MalformedPayload(f"Intercom notification has no {key}")
    data = notification.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("item"), dict):
        raise MalformedPayload("Intercom notification has no data.item object")
    # the conversation's, ticket's or contact's id and a ticket's `ticket_id` key the hub's records (a contact,
    # a ticket's signals): at most 255 characters, no control characters
    item = data["item"]
    key_id(item, "id", "data.item")
    if isinstance(item.get("ticket_id"), str | int):
        key_id(item, "ticket_id", "data.item")
    _customer_id(item)
    return notification


def _customer_id(item: dict[str, Any]) -> None:
    """The id of the customer a conversation or ticket is about, its subject (`intercom:<id>`): the author's
    when a user or lead, else the first listed contact's. Held to the limit of a record id when it is an id;
    anything else (an author that is not an object) is left to the normalizer, as before."""
    source = item.get("source")
    author = source.get("author") if isinstance(source, dict) else None
    if isinstance(author, dict) and isinstance(author.get("type"), str) and author["type"] in CUSTOMER_AUTHORS:
        _held(author, "data.item.source.author")
        return
    contacts = item.get("contacts")
    listed = contacts.get("contacts") if isinstance(contacts, dict) else None
    if isinstance(listed, list) and listed and isinstance(listed[0], dict):
        _held(listed[0], "data.item.contacts.contacts[0]")


def _held(person: dict[str, Any], where: str) -> None:
    person_id = person.get("id")
    if isinstance(person_id, str | int) and not isinstance(person_id, bool):
        key_id(person, "id", where)


def _hmac_sha1(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha1).digest()


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` header Intercom would send; for local examples."""
    return _PREFIX + _hmac_sha1(secret, body).hex()
