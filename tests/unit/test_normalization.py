"""Vendor events map onto the canonical taxonomy (`shared.webhooks.normalizers`); what the hub does not map is
kept as vendor.unmapped."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.events.canonical import CanonicalEvent, EventType
from shared.events.ids import event_id
from shared.webhooks import normalizers
from shared.webhooks.model import InboundWebhook, VendorEvent
from shared.webhooks.registry import TRACKING_API, VENDORS
from shared.webhooks.vendor import DeliveryContext, MalformedPayload
from tests.vendor_samples import slack_block_action, slack_interaction, slack_request
from tests.webhook_samples import hubspot_event, hubspot_events, hubspot_request, stripe_event, stripe_request

CONTEXT = DeliveryContext("delivery-1", "request-1", datetime(2026, 11, 25, tzinfo=UTC))


def parse(vendor: str, body: bytes) -> list[VendorEvent]:
    request = (
        stripe_request(body, signature="t=0,v1=00") if vendor == "stripe" else hubspot_request(body, signature="x")
    )
    return VENDORS[vendor].parse(request)


def normalize(vendor: str, body: bytes) -> list[CanonicalEvent]:
    return [normalizers.normalize(vendor, event, CONTEXT) for event in parse(vendor, body)]


@pytest.mark.parametrize(
    ("stripe_type", "expected"),
    [
        ("invoice.paid", EventType.PAYMENT_SUCCEEDED),
        ("payment_intent.succeeded", EventType.PAYMENT_SUCCEEDED),
        ("invoice.payment_failed", EventType.PAYMENT_FAILED),
        ("charge.failed", EventType.PAYMENT_FAILED),
        ("customer.subscription.updated", EventType.SUBSCRIPTION_CHANGED),
        ("customer.subscription.deleted", EventType.SUBSCRIPTION_CHANGED),
        ("customer.created", EventType.ACCOUNT_UPSERTED),
        ("payout.paid", EventType.VENDOR_UNMAPPED),
    ],
)
def test_stripe_event_types_map_onto_the_taxonomy(stripe_type: str, expected: EventType) -> None:
    # Given a Stripe event of a given type
    # When it is normalized
    [event] = normalize("stripe", stripe_event("evt_1", stripe_type))
    # Then it has the canonical type and keeps the vendor's id and type
    assert event.event_type is expected
    assert (event.vendor_event_id, event.vendor_event_type) == ("evt_1", stripe_type)
    assert event.occurred_at == datetime.fromtimestamp(1_764_072_000, UTC)


@pytest.mark.parametrize(
    ("stripe_type", "obj"),
    [
        ("charge.succeeded", {"object": "charge", "id": "ch_9", "payment_intent": "pi_9"}),
        ("charge.succeeded", {"object": "charge", "id": "ch_9", "payment_intent": {"id": "pi_9", "object": "x"}}),
        ("payment_intent.succeeded", {"object": "payment_intent", "id": "pi_9"}),
    ],
    ids=["a charge", "a charge with its intent expanded", "the intent"],
)
def test_a_payments_charge_and_its_intent_name_the_same_payment_intent(stripe_type: str, obj: dict) -> None:
    # Given a one-off payment (no invoice) told on its charge or on its payment intent
    # When it is normalized
    [event] = normalize("stripe", stripe_event("evt_9", stripe_type, **obj))
    # Then both name the payment intent, by which health counts the payment once
    assert event.event_type is EventType.PAYMENT_SUCCEEDED
    assert (event.data["invoice_id"], event.data["payment_intent_id"]) == (None, "pi_9")


def test_a_paid_checkout_session_is_a_payment() -> None:
    [event] = normalize("stripe", stripe_event("evt_c", "checkout.session.completed", payment_status="paid"))
    assert event.event_type is EventType.PAYMENT_SUCCEEDED


def test_unmapped_events_keep_the_whole_vendor_payload() -> None:
    # Given an event type the hub does not map
    # When it is normalized
    [event] = normalize("stripe", stripe_event("evt_u", "payout.paid"))
    # Then nothing is lost: the payload travels in data
    assert event.data["payload"]["type"] == "payout.paid"


def test_event_ids_are_stable_for_the_same_vendor_event() -> None:
    # Given the same Stripe event normalized twice in different deliveries
    first = normalize("stripe", stripe_event("evt_same"))[0]
    second = normalize("stripe", stripe_event("evt_same"))[0]
    # Then the canonical event id is the same, so consumers can de-duplicate too
    assert first.event_id == second.event_id
    assert first.event_id != normalize("stripe", stripe_event("evt_other"))[0].event_id


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"subscriptionType": "contact.creation"}, EventType.CONTACT_UPSERTED),
        ({"subscriptionType": "company.propertyChange"}, EventType.ACCOUNT_UPSERTED),
        (
            {"subscriptionType": "deal.propertyChange", "propertyName": "dealstage", "propertyValue": "closedlost"},
            EventType.DEAL_LOST,
        ),
        (
            {
                "subscriptionType": "deal.propertyChange",
                "propertyName": "dealstage",
                "propertyValue": "appointmentscheduled",
            },
            EventType.DEAL_STAGE_CHANGED,
        ),
        ({"subscriptionType": "deal.propertyChange", "propertyName": "amount"}, EventType.DEAL_UPDATED),
        ({"subscriptionType": "deal.creation"}, EventType.DEAL_UPDATED),
        ({"subscriptionType": "deal.deletion"}, EventType.VENDOR_UNMAPPED),
        ({"subscriptionType": "ticket.creation"}, EventType.VENDOR_UNMAPPED),
    ],
)
def test_hubspot_subscription_types_map_onto_the_taxonomy(fields: dict, expected: EventType) -> None:
    [event] = normalize("hubspot", hubspot_events(hubspot_event(**fields)))
    assert event.event_type is expected


def test_a_hubspot_contact_email_change_carries_the_email() -> None:
    [event] = normalize("hubspot", hubspot_events(hubspot_event()))
    assert (event.subject.contact_id, event.subject.email) == ("hubspot:123", "ada@example.com")


@pytest.mark.parametrize(
    ("vendor", "body", "message"),
    [
        ("stripe", b"not json", "not valid JSON"),
        ("stripe", json.dumps({"object": "event", "type": "x"}).encode(), "no id"),
        ("hubspot", b"[]", "no events"),
        ("hubspot", json.dumps([{"eventId": 1}]).encode(), "subscriptionType"),
        ("hubspot", json.dumps([hubspot_event(i) for i in range(101)]).encode(), "at most 100"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(vendor: str, body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        normalize(vendor, body)


def test_a_failed_invoice_reports_the_amount_that_failed() -> None:
    # Given an invoice whose payment failed: nothing was paid, 4900 was due
    body = stripe_event("evt_f", "invoice.payment_failed", amount_paid=0, amount_due=4900)
    # When it is normalized
    [event] = normalize("stripe", body)
    # Then the failed amount is what was due
    assert (event.event_type, event.data["amount_minor"]) == (EventType.PAYMENT_FAILED, 4900)


def test_a_stripe_customer_names_both_the_person_and_the_account() -> None:
    # Given a trial subscription created for a Stripe customer
    body = stripe_event("evt_t", "customer.subscription.created", object="subscription", status="trialing")
    # When it is normalized
    [event] = normalize("stripe", body)
    # Then the customer is the subject as a person and as an account, so the lead it belongs to gets the trial
    assert event.event_type is EventType.SUBSCRIPTION_CHANGED
    assert (event.subject.contact_id, event.subject.account_id) == ("stripe:cus_1", "stripe:cus_1")
    assert (event.data["change"], event.data["status"]) == ("created", "trialing")


def test_a_hubspot_form_submission_is_a_form_submit_engagement() -> None:
    # Given HubSpot's count of a contact's form submissions going up
    body = hubspot_events(hubspot_event(propertyName="num_conversion_events", propertyValue="2"))
    # When it is normalized
    [event] = normalize("hubspot", body)
    # Then it is a form submission by that contact, not a profile change
    assert event.event_type is EventType.ENGAGEMENT_RECORDED
    assert event.data["kind"] == "form_submit"
    assert event.subject.contact_id == "hubspot:123"


def test_a_hubspot_contact_associated_with_a_company_names_the_account() -> None:
    body = hubspot_events(hubspot_event(propertyName="associatedcompanyid", propertyValue="9001"))
    [event] = normalize("hubspot", body)
    assert event.event_type is EventType.CONTACT_UPSERTED
    assert (event.subject.contact_id, event.subject.account_id) == ("hubspot:123", "hubspot:9001")


@pytest.mark.parametrize("value", [{"id": "9" * 5000}, ["9001"], True, 90.01])
def test_a_hubspot_company_association_that_is_not_an_id_names_no_account(value: object) -> None:
    # Given a contact's associatedcompanyid holding something other than an id (HubSpot sends a string of digits)
    body = hubspot_events(hubspot_event(propertyName="associatedcompanyid", propertyValue=value))
    # When it is normalized
    [event] = normalize("hubspot", body)
    # Then the change is kept as it came, but no account is keyed by it (a 5,000-character "id" would be a key
    # DynamoDB refuses, failing the lead processor on every retry)
    assert event.event_type is EventType.CONTACT_UPSERTED
    assert (event.subject.contact_id, event.subject.account_id) == ("hubspot:123", None)
    assert event.data["value"] == value


def test_segment_engagements_carry_the_campaign_of_their_batch_context() -> None:
    # Given a tracking API batch whose shared context names the campaign, one message with a campaign of its own
    shared = {"campaign": {"name": "spring-26", "medium": "cpc", "source": "google"}}
    own = {"campaign": {"name": "nurture-3", "medium": "email"}}
    page = {"type": "page", "userId": "u1", "timestamp": "2026-11-25T11:00:00Z"}
    batch = {"batch": [page | {"messageId": "m1"}, page | {"messageId": "m2", "context": own}], "context": shared}
    request = InboundWebhook("segment_api", "POST", "https://hub/v1/batch", {}, json.dumps(batch).encode(), "r")
    # When the batch is split and normalized
    events = [normalizers.normalize("segment_api", event, CONTEXT) for event in TRACKING_API.parse(request)]
    # Then each engagement carries the campaign that applies to it
    assert [event.data["campaign"] for event in events] == [shared["campaign"], own["campaign"]]


# The publisher's side of the outbox ------------------------------------------------------------------------


def test_every_vendor_the_gateway_receives_has_a_normalizer() -> None:
    assert set(normalizers.NORMALIZERS) == {*VENDORS, TRACKING_API.name}


def test_an_event_of_a_vendor_without_a_normalizer_is_refused_by_name() -> None:
    [event] = parse("stripe", stripe_event("evt_1"))
    with pytest.raises(normalizers.UnknownVendor, match="acme"):
        normalizers.normalize("acme", event, CONTEXT)


def test_the_event_id_is_computable_without_the_canonical_model() -> None:
    # Given a Stripe event the receiver split (and stored) without normalizing it
    [stored] = parse("stripe", stripe_event("evt_id"))
    # When the publisher normalizes it
    [event] = normalize("stripe", stripe_event("evt_id"))
    # Then its id is the one the receiver could compute from the vendor and the dedupe key alone
    assert event.event_id == event_id("stripe", stored.dedupe_key) == CanonicalEvent.id_for("stripe", "evt_id")


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (
            stripe_event("evt_items", "customer.subscription.updated", items="x"),
            "data.object.items: expected an object",
        ),
        (
            stripe_event("evt_price", "customer.subscription.updated", items={"data": [{"price": "p"}]}),
            "data.object.items.data[0].price: expected an object",
        ),
        (stripe_event("evt_details", "invoice.paid", customer_details="x"), "data.object.customer_details: "),
    ],
)
def test_a_deep_field_of_the_wrong_type_is_refused_by_the_normalizer_naming_it(body: bytes, named: str) -> None:
    # Given a Stripe event whose envelope is sound but whose data.object holds a field of the wrong type
    # When the receiver splits it, Then it is an identifiable event it can store
    [event] = parse("stripe", body)
    assert event.vendor_event_id is not None
    # When the publisher normalizes it, Then the field is named
    with pytest.raises(MalformedPayload) as refused:
        normalizers.normalize("stripe", event, CONTEXT)
    assert named in str(refused.value)


# Slack's handoff buttons ------------------------------------------------------------------------------------

HANDOFF_BUTTON_VALUE = '{"handoff_id":"h-42","lead_id":"hubspot:501"}'


def slack_click(body: bytes) -> CanonicalEvent:
    [event] = VENDORS["slack"].parse(slack_request(body))
    return normalizers.normalize("slack", event, CONTEXT)


@pytest.mark.parametrize(
    ("action_id", "expected"),
    [("handoff_accept", EventType.HANDOFF_ACCEPTED), ("handoff_reject", EventType.HANDOFF_REJECTED)],
)
def test_a_click_on_a_handoff_button_is_the_handoff_event_of_that_button(action_id: str, expected: EventType) -> None:
    # Given a click on the Accept or the Reject button of a handoff message
    # When it is normalized
    event = slack_click(slack_block_action(action_id=action_id, value=HANDOFF_BUTTON_VALUE))
    # Then it is that button's event, with the handoff and lead of the button's value and who clicked
    assert event.event_type is expected
    assert (event.data["handoff_id"], event.data["lead_id"]) == ("h-42", "hubspot:501")
    assert (event.data["slack_user_id"], event.data["slack_user_name"]) == ("UA8RXUSPL", "grace")
    assert (event.data["channel_id"], event.data["message_ts"]) == ("CBR2V3XEX", "1548261231.000200")
    assert event.subject.contact_id == "hubspot:501"
    assert (event.source_vendor, event.vendor_event_type) == ("slack", "block_actions")


def test_accept_and_reject_on_the_same_message_are_two_events() -> None:
    # Given the same handoff message clicked Reject, and clicked Accept
    rejected = slack_click(slack_block_action(action_id="handoff_reject", value=HANDOFF_BUTTON_VALUE))
    accepted = slack_click(slack_block_action(action_id="handoff_accept", value=HANDOFF_BUTTON_VALUE))
    # Then they are different events: neither is deduplicated away as the other
    assert rejected.event_id != accepted.event_id
    assert rejected.data["handoff_id"] == accepted.data["handoff_id"] == "h-42"


def test_a_reject_whose_value_is_not_json_keeps_the_value_as_is() -> None:
    event = slack_click(slack_block_action(action_id="handoff_reject", value="h-42"))
    assert event.event_type is EventType.HANDOFF_REJECTED
    assert event.data["value"] == "h-42"
    assert event.subject.contact_id is None


@pytest.mark.parametrize("lead_id", ["hubspot:" + "5" * 2000, "hubspot:50\n1"], ids=["too-long", "control-character"])
def test_a_click_whose_lead_id_no_lead_can_have_names_no_contact(lead_id: str) -> None:
    # Given a click whose button value names a lead id longer than any id the hub keys a record by
    value = json.dumps({"handoff_id": "h-42", "lead_id": lead_id})
    # When it is normalized
    event = slack_click(slack_block_action(action_id="handoff_accept", value=value))
    # Then it is still the click, but no contact is keyed by that id (the lead processor would retry it forever
    # against a key DynamoDB refuses)
    assert event.event_type is EventType.HANDOFF_ACCEPTED
    assert event.data["lead_id"] == lead_id
    assert event.subject.contact_id is None


@pytest.mark.parametrize(
    "actions",
    [
        [{"type": "button", "action_id": "handoff_decline", "value": HANDOFF_BUTTON_VALUE}],
        [{"type": "button", "action_id": "HANDOFF_REJECT", "value": HANDOFF_BUTTON_VALUE}],
        [{"type": "button", "action_id": ["handoff_reject"], "value": HANDOFF_BUTTON_VALUE}],
        [{"type": "button", "action_id": {"id": "handoff_accept"}, "value": HANDOFF_BUTTON_VALUE}],
    ],
    ids=["another-button", "other-case", "a-list", "an-object"],
)
def test_a_click_on_anything_but_the_two_buttons_is_kept_unmapped(actions: list[dict]) -> None:
    # Given a block_actions payload whose action is not exactly one of the hub's buttons
    body = slack_interaction({"type": "block_actions", "trigger_id": "1.2.3", "actions": actions})
    # When it is normalized, Then it is kept, unmapped, whatever the action_id holds
    event = slack_click(body)
    assert event.event_type is EventType.VENDOR_UNMAPPED
    assert event.data["payload"]["actions"] == actions


def stripe_subscription_items(*prices: tuple[int | None, str, int, int]) -> dict[str, Any]:
    """`items` as Stripe's Subscription object holds it: a list of subscription items, each with its price
    (`unit_amount` in minor units, `recurring.interval` and `interval_count`) and quantity."""
    return {
        "object": "list",
        "data": [
            {
                "id": f"si_{n}",
                "object": "subscription_item",
                "price": {
                    "id": f"price_{n}",
                    "object": "price",
                    "currency": "usd",
                    "unit_amount": amount,
                    "unit_amount_decimal": None if amount is None else str(amount),
                    "recurring": {"interval": interval, "interval_count": count, "usage_type": "licensed"},
                },
                "quantity": quantity,
            }
            for n, (amount, interval, count, quantity) in enumerate(prices)
        ],
    }


@pytest.mark.parametrize(
    ("prices", "mrr"),
    [
        ([(12000, "year", 1, 5)], 5000),  # 5 seats at 120.00 a year: 50.00 a month
        ([(4900, "month", 1, 1), (1500, "month", 3, 2)], 5900),  # 49.00 + 2 x 15.00 a quarter
        ([(1000, "week", 1, 1)], 4333),  # 10.00 a week: 52/12 weeks a month, half to even
        ([(None, "month", 1, 1)], None),  # no price known: no MRR
    ],
)
def test_a_stripe_subscription_carries_its_monthly_recurring_revenue(prices: list, mrr: int | None) -> None:
    # Given a subscription as Stripe sends it, with its items' prices
    body = stripe_event(
        "evt_s",
        "customer.subscription.updated",
        object="subscription",
        id="sub_1",
        status="active",
        currency="usd",
        items=stripe_subscription_items(*prices),
    )
    # When it is normalized
    [event] = normalize("stripe", body)
    # Then it says its MRR in minor units of its currency, and each item's price
    assert (event.data["mrr_minor"], event.data["currency"]) == (mrr, "USD")
    assert event.data["items"][0]["interval"] == prices[0][1]


def test_a_metered_price_has_no_monthly_rate() -> None:
    items = stripe_subscription_items((20, "month", 1, 1))
    items["data"][0]["price"]["recurring"]["usage_type"] = "metered"
    body = stripe_event("evt_m", "customer.subscription.created", object="subscription", status="active", items=items)
    [event] = normalize("stripe", body)
    assert event.data["mrr_minor"] is None
