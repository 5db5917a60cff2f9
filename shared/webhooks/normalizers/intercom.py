"""Intercom notifications onto the taxonomy: contacts created, conversations and tickets opened, solved and
conversations reopened; any other topic unmapped."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.webhooks.model import VendorEvent
from shared.webhooks.normalizers.base import Id, List, Obj, Payload, Str, Text, canonical, read
from shared.webhooks.vendor import DeliveryContext, qualified
from shared.webhooks.vendors.intercom import Intercom

INTERCOM = Intercom.name
_OPENED = {"conversation.user.created", "ticket.created"}
_REOPENED = "conversation.admin.opened"  # an admin opened a closed (or snoozed) conversation again
_CONTACT = {"contact.user.created", "contact.lead.created", "user.created"}
_SOLVED_STATES = {"resolved", "closed"}


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


def normalize(event: VendorEvent, context: DeliveryContext) -> CanonicalEvent:
    raw: dict[str, Any] = dict(event.payload["data"]["item"])
    item = read(Item, raw, "data.item")
    topic = event.vendor_event_type
    if topic in _CONTACT:
        subject = Subject(contact_id=qualified(INTERCOM, item.id), email=item.email)
        data = {key: raw.get(key) for key in ("id", "external_id", "email", "name", "role")}
        return canonical(INTERCOM, event, context, EventType.CONTACT_UPSERTED, subject, data)
    if topic in _OPENED:
        return canonical(INTERCOM, event, context, EventType.SUPPORT_TICKET_OPENED, _contact(item), _ticket(raw, item))
    if topic == _REOPENED:
        data = _ticket(raw, item) | {"reopened": True}
        return canonical(INTERCOM, event, context, EventType.SUPPORT_TICKET_OPENED, _contact(item), data)
    if topic == "conversation.admin.closed" or (topic == "ticket.state.updated" and _state(raw) in _SOLVED_STATES):
        return canonical(INTERCOM, event, context, EventType.SUPPORT_TICKET_SOLVED, _contact(item), _ticket(raw, item))
    return canonical(INTERCOM, event, context, EventType.VENDOR_UNMAPPED)


def _contact(item: Item) -> Subject:
    """The customer of a conversation or ticket: the conversation's author if a user or lead, else its first
    listed contact."""
    author = item.source.author
    if author.type in {"user", "lead", "contact"}:
        return Subject(contact_id=qualified(INTERCOM, author.id), email=author.email)
    listed = [read(Person, c, "data.item.contacts.contacts[0]") for c in item.contacts.contacts[:1]]
    return Subject(contact_id=qualified(INTERCOM, listed[0].id)) if listed else Subject()


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
