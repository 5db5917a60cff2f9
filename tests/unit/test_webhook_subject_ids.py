"""The ids a canonical event's subject is made of (`contact_id`, `account_id`, `deal_id`, each `<vendor>:<id>`):
a Stripe customer, a HubSpot contact, company or deal, a Salesforce record and its account, a campaign member's
contact or lead, a Zendesk requester and organization, an Intercom conversation's or ticket's customer. The
consumers key records by them (the lead processor's `IDENTITY#<vendor>#<id>`, a DynamoDB key of at most 2,048
bytes), so the receiver holds each to the limit of every record id: at most 255 characters, no control
characters, or the delivery is a 400 naming the field and the limit, in the delivery log, and nothing is
published. A longer id was accepted with a 202, then failed every consumer (the lead processor retried its
ValidationException 8 times instead of setting the event aside). An id the normalizer does not make a subject
of, or a value that is not an id (an expanded object), travels as it came."""

from __future__ import annotations

from typing import Any

import pytest

from shared.webhooks.envelope import MAX_KEY_ID_CHARACTERS
from tests.vendor_samples import (
    assert_refused_and_logged,
    delivered,
    intercom_notification,
    salesforce_message,
    salesforce_notification,
    zendesk_event,
)
from tests.webhook_samples import hubspot_event, hubspot_events, stripe_event

LONG = "x" * (MAX_KEY_ID_CHARACTERS + 1)
LONGEST = "x" * MAX_KEY_ID_CHARACTERS
LIMIT = f"an id is at most {MAX_KEY_ID_CHARACTERS} characters"
SOBJECT = "Notification 04l000000000001AAA.sObject"
ADMIN = {"type": "admin", "id": "991", "email": "agent@example.com"}


def subscription(**fields: Any) -> dict[str, Any]:
    price = {"id": "price_1", "unit_amount": 4900, "currency": "usd", "recurring": {"interval": "month"}}
    return {"object": "subscription", "id": "sub_1", "items": {"data": [{"price": price, "quantity": 1}]}} | fields


def customer(**fields: Any) -> dict[str, Any]:
    return {"object": "customer", "id": "cus_1", "email": "ada@example.com", "name": "Ada"} | fields


def hubspot(**fields: Any) -> bytes:
    return hubspot_events(hubspot_event(**fields))


def salesforce(sobject: str, **fields: str | None) -> bytes:
    return salesforce_message(salesforce_notification(sobject=sobject, **fields))


def conversation(author: dict[str, Any], *contacts: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "conversation",
        "id": "147",
        "state": "open",
        "source": {"type": "conversation", "author": author},
        "contacts": {"type": "contact.list", "contacts": list(contacts)},
    }


REFUSED = [
    # Stripe: the customer a payment, a subscription or any other object is of; a customer event's own id
    ("stripe", stripe_event("evt_1", "invoice.paid", customer=LONG), "data.object.customer"),
    ("stripe", stripe_event("evt_1", "invoice.payment_failed", customer=LONG), "data.object.customer"),
    (
        "stripe",
        stripe_event("evt_1", "customer.subscription.updated", **subscription(customer=LONG)),
        "data.object.customer",
    ),
    ("stripe", stripe_event("evt_1", "invoice.created", customer=LONG), "data.object.customer"),
    ("stripe", stripe_event("evt_1", "invoice.paid", customer="cus\n1"), "data.object.customer"),
    ("stripe", stripe_event("evt_1", "customer.created", **customer(id=LONG)), "data.object.id"),
    ("stripe", stripe_event("evt_1", "customer.updated", **customer(id="cus\x001")), "data.object.id"),
    # HubSpot: the contact, company or deal an event is about, and the company a contact is associated with
    ("hubspot", hubspot(objectId=LONG), "[0].objectId"),
    ("hubspot", hubspot(subscriptionType="contact.creation", objectId=LONG), "[0].objectId"),
    ("hubspot", hubspot(subscriptionType="company.creation", objectId=LONG), "[0].objectId"),
    (
        "hubspot",
        hubspot(subscriptionType="deal.propertyChange", objectId=LONG, propertyName="dealstage", propertyValue="won"),
        "[0].objectId",
    ),
    ("hubspot", hubspot(subscriptionType="deal.creation", objectId=LONG), "[0].objectId"),
    ("hubspot", hubspot_events(hubspot_event(100), hubspot_event(101, objectId=LONG)), "[1].objectId"),
    ("hubspot", hubspot(propertyName="associatedcompanyid", propertyValue=LONG), "[0].propertyValue"),
    ("hubspot", hubspot(propertyName="associatedcompanyid", propertyValue="9\t9"), "[0].propertyValue"),
    # Salesforce: a lead's, contact's, account's or opportunity's id and its account; a campaign member's contact
    # or lead
    ("salesforce", salesforce("Lead", Id=LONG), f"{SOBJECT}.Id"),
    ("salesforce", salesforce("Contact", AccountId=LONG), f"{SOBJECT}.AccountId"),
    ("salesforce", salesforce("Account", Id=LONG), f"{SOBJECT}.Id"),
    ("salesforce", salesforce("Opportunity", Id=LONG, StageName="Prospecting"), f"{SOBJECT}.Id"),
    ("salesforce", salesforce("Opportunity", AccountId=LONG, StageName="Prospecting"), f"{SOBJECT}.AccountId"),
    (
        "salesforce",
        salesforce("CampaignMember", Id="00v1", HasResponded="true", CampaignId="701A", ContactId=LONG),
        f"{SOBJECT}.ContactId",
    ),
    (
        "salesforce",
        salesforce("CampaignMember", Id="00v1", HasResponded="true", CampaignId="701A", LeadId=LONG),
        f"{SOBJECT}.LeadId",
    ),
    # Zendesk: a ticket's requester and organization, a user's organization
    ("zendesk", zendesk_event("ticket.created", detail={"requester_id": LONG}), "detail.requester_id"),
    ("zendesk", zendesk_event("ticket.created", detail={"organization_id": LONG}), "detail.organization_id"),
    (
        "zendesk",
        zendesk_event("ticket.status_changed", detail={"requester_id": LONG}, event={"current": "SOLVED"}),
        "detail.requester_id",
    ),
    (
        "zendesk",
        zendesk_event("user.created", detail={"id": "77", "email": "ada@example.com", "organization_id": LONG}),
        "detail.organization_id",
    ),
    # Intercom: a conversation's or ticket's customer, its author when a user or lead, else its first contact
    (
        "intercom",
        intercom_notification("conversation.user.created", conversation({"type": "user", "id": LONG})),
        "data.item.source.author.id",
    ),
    (
        "intercom",
        intercom_notification("conversation.admin.closed", conversation({"type": "lead", "id": "a\nb"})),
        "data.item.source.author.id",
    ),
    (
        "intercom",
        intercom_notification("conversation.admin.opened", conversation(ADMIN, {"type": "contact", "id": LONG})),
        "data.item.contacts.contacts[0].id",
    ),
    (
        "intercom",
        intercom_notification("ticket.created", conversation({}, {"type": "contact", "id": LONG}) | {"type": "ticket"}),
        "data.item.contacts.contacts[0].id",
    ),
]


@pytest.mark.parametrize(("vendor", "body", "named"), REFUSED, ids=[f"{v}-{n}" for v, _, n in REFUSED])
def test_an_over_long_subject_id_is_a_logged_400_naming_it(vendor: str, body: bytes, named: str) -> None:
    # Given a signed delivery whose contact's, account's or deal's id is longer than a record id may be (or holds
    # a control character)
    # When it is delivered
    gateway, response = delivered(vendor, body)
    # Then it is refused naming the field and the limit, logged as rejected with that reason, and not published
    assert_refused_and_logged(gateway, response, f"{named}: {LIMIT}")


SUBJECT = ("contact_id", "account_id", "deal_id")

KEPT = [
    # at the limit: published as sent
    ("stripe", stripe_event("evt_1", "invoice.paid", customer=LONGEST), {"contact_id": f"stripe:{LONGEST}"}),
    (
        "stripe",
        stripe_event("evt_1", "customer.subscription.created", **subscription(customer=LONGEST)),
        {"account_id": f"stripe:{LONGEST}"},
    ),
    ("stripe", stripe_event("evt_1", "customer.created", **customer(id=LONGEST)), {"account_id": f"stripe:{LONGEST}"}),
    ("hubspot", hubspot(objectId=LONGEST), {"contact_id": f"hubspot:{LONGEST}"}),
    ("hubspot", hubspot(subscriptionType="company.creation", objectId=LONGEST), {"account_id": f"hubspot:{LONGEST}"}),
    ("hubspot", hubspot(subscriptionType="deal.creation", objectId=LONGEST), {"deal_id": f"hubspot:{LONGEST}"}),
    (
        "hubspot",
        hubspot(propertyName="associatedcompanyid", propertyValue=LONGEST),
        {"contact_id": "hubspot:123", "account_id": f"hubspot:{LONGEST}"},
    ),
    ("salesforce", salesforce("Lead", Id=LONGEST, AccountId=LONGEST), {"contact_id": f"salesforce:{LONGEST}"}),
    (
        "salesforce",
        salesforce("Opportunity", Id=LONGEST, AccountId=LONGEST, StageName="Prospecting"),
        {"deal_id": f"salesforce:{LONGEST}", "account_id": f"salesforce:{LONGEST}"},
    ),
    (
        "salesforce",
        salesforce("CampaignMember", Id="00v1", HasResponded="true", CampaignId="701A", LeadId=LONGEST),
        {"contact_id": f"salesforce:{LONGEST}"},
    ),
    (
        "zendesk",
        zendesk_event("ticket.created", detail={"requester_id": LONGEST, "organization_id": LONGEST}),
        {"contact_id": f"zendesk:{LONGEST}", "account_id": f"zendesk:{LONGEST}"},
    ),
    (
        "intercom",
        intercom_notification("conversation.user.created", conversation({"type": "user", "id": LONGEST})),
        {"contact_id": f"intercom:{LONGEST}"},
    ),
    (
        "intercom",
        intercom_notification("conversation.admin.closed", conversation(ADMIN, {"type": "contact", "id": LONGEST})),
        {"contact_id": f"intercom:{LONGEST}"},
    ),
    # ids that are not text stay as the receiver read them: HubSpot's and Zendesk's numeric ids
    ("hubspot", hubspot(objectId=501), {"contact_id": "hubspot:501"}),
    (
        "hubspot",
        hubspot(propertyName="associatedcompanyid", propertyValue=9001),
        {"contact_id": "hubspot:123", "account_id": "hubspot:9001"},
    ),
    (
        "zendesk",
        zendesk_event("ticket.created", detail={"requester_id": 6596848315901, "organization_id": 8800}),
        {"contact_id": "zendesk:6596848315901", "account_id": "zendesk:8800"},
    ),
    # a value that is not an id names no subject and travels as it came: Stripe's expanded customer
    ("stripe", stripe_event("evt_1", "invoice.paid", customer={"id": "cus_1", "object": "customer"}), {}),
    # an id no subject is made of is not held to the limit: an admin who wrote a conversation whose customer is
    # its listed contact, a campaign member's own id, a record of a type the hub does not map
    (
        "intercom",
        intercom_notification(
            "conversation.admin.closed", conversation(ADMIN | {"id": LONG}, {"type": "contact", "id": "6a2b"})
        ),
        {"contact_id": "intercom:6a2b"},
    ),
    (
        "salesforce",
        salesforce("CampaignMember", Id=LONG, HasResponded="true", CampaignId="701A", ContactId="003A"),
        {"contact_id": "salesforce:003A"},
    ),
    ("salesforce", salesforce("Task", Id=LONG, AccountId=LONG), {}),
]


@pytest.mark.parametrize(("vendor", "body", "subject"), KEPT, ids=[f"{v}-{n}" for n, (v, _, _) in enumerate(KEPT)])
def test_subject_ids_up_to_the_limit_are_published_as_sent(vendor: str, body: bytes, subject: dict[str, str]) -> None:
    # Given a signed delivery whose subject's ids are as long as a record id may be, or numbers, or not ids at all,
    # or whose long ids are not made a subject of
    # When it is delivered
    gateway, response = delivered(vendor, body)
    # Then it is accepted and published with each subject id as sent, qualified by its vendor
    assert response.status_code in (200, 202), response.body
    [event] = gateway.publisher.published
    assert {key: getattr(event.subject, key) for key in SUBJECT if key in subject} == subject
    if not subject:
        assert (event.subject.contact_id, event.subject.account_id, event.subject.deal_id) == (None, None, None)
