"""Intercom: `X-Hub-Signature: sha1=<hex>`, HMAC-SHA1 of the body keyed with the app's client secret.

HMAC-SHA1 is still sound as a MAC (SHA-1's collision weakness does not carry over to HMAC), but nothing
timestamped is signed: the notification `id`, which Intercom keeps across its retries (only
`delivery_attempts` and friends change), is the dedupe key and what makes a replay harmless.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.payload import EpochSeconds, Id, List, Obj, Payload, Str, Text, read
from shared.webhooks.signatures import SignatureError, any_match, decode_hex, header_signatures
from shared.webhooks.vendor import DeliveryContext, MalformedPayload, Reply, Vendor, load_json, qualified

SIGNATURE_HEADER = "X-Hub-Signature"
_PREFIX = "sha1="

_OPENED = {"conversation.user.created", "ticket.created"}
_CONTACT = {"contact.user.created", "contact.lead.created", "user.created"}
_SOLVED_STATES = {"resolved", "closed"}


class Notification(Payload):
    created_at: EpochSeconds = None


class Person(Payload):
    type: Str = None
    id: Id = None
    email: Text = None


class Source(Payload):
    author: Person = Field(default_factory=Person)


class ContactList(Payload):
    contacts: List = Field(default_factory=list)


class Item(Payload):
    """The conversation, ticket or contact a notification is about, as far as the hub reads it."""

    id: Id = None
    email: Text = None
    source: Source = Field(default_factory=Source)
    contacts: ContactList = Field(default_factory=ContactList)
    ticket_attributes: Obj = Field(default_factory=dict)


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
        created = read(Notification, notification).created_at
        return [
            VendorEvent(
                dedupe_key=notification["id"],
                vendor_event_id=notification["id"],
                vendor_event_type=notification["topic"],
                occurred_at=created,
                payload=notification,
            )
        ]

    def normalize(self, event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
        raw: dict[str, Any] = dict(event.payload["data"]["item"])
        item = read(Item, raw, "data.item")
        topic = event.vendor_event_type
        if topic in _CONTACT:
            subject = Subject(contact_id=qualified(self.name, item.id), email=item.email)
            data = {key: raw.get(key) for key in ("id", "external_id", "email", "name", "role")}
            return self.canonical(event, context, EventType.CONTACT_UPSERTED, subject, data)
        if topic in _OPENED:
            subject = self._contact(item)
            return self.canonical(event, context, EventType.SUPPORT_TICKET_OPENED, subject, _ticket(raw, item))
        if topic == "conversation.admin.closed" or (topic == "ticket.state.updated" and _state(raw) in _SOLVED_STATES):
            subject = self._contact(item)
            return self.canonical(event, context, EventType.SUPPORT_TICKET_SOLVED, subject, _ticket(raw, item))
        return self.canonical(event, context, EventType.VENDOR_UNMAPPED)

    def _contact(self, item: Item) -> Subject:
        """The customer of a conversation or ticket: the conversation's author if a user or lead, else its
        first listed contact."""
        author = item.source.author
        if author.type in {"user", "lead", "contact"}:
            return Subject(contact_id=qualified(self.name, author.id), email=author.email)
        listed = [read(Person, c, "data.item.contacts.contacts[0]") for c in item.contacts.contacts[:1]]
        return Subject(contact_id=qualified(self.name, listed[0].id)) if listed else Subject()


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
    return notification


def _state(item: dict[str, Any]) -> str:
    # ticket_state was a string before API 2.12 and is an object with a category since
    state = item.get("ticket_state")
    if isinstance(state, dict):
        state = state.get("category")
    if isinstance(state, str) and state:
        return state.lower()
    return "closed" if item.get("open") is False else ""


def _ticket(item: dict[str, Any], fields: Item) -> dict[str, Any]:
    attributes = fields.ticket_attributes
    return {
        "object": item.get("type"),
        "id": item.get("id"),
        "ticket_id": item.get("ticket_id"),
        "title": item.get("title") or attributes.get("_default_title_"),
        "state": _state(item) or item.get("state"),
        "admin_assignee_id": item.get("admin_assignee_id"),
        "team_assignee_id": item.get("team_assignee_id"),
    }


def _hmac_sha1(secret: str, body: bytes) -> bytes:
    return hmac.new(secret.encode(), body, hashlib.sha1).digest()


def sign(secret: str, body: bytes) -> str:
    """The `X-Hub-Signature` header Intercom would send; for local examples."""
    return _PREFIX + _hmac_sha1(secret, body).hex()
