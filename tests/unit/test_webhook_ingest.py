"""The webhook gateway over in-memory adapters, the receiver and the publisher of its outbox: exactly once,
nothing lost, forgeries refused, no input a 5xx."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest

from shared.events.canonical import EventType
from shared.webhooks import normalizers
from shared.webhooks.model import Disposition, Outcome
from shared.webhooks.registry import VENDORS
from tests.fakes import FixedClock, StaticSecrets
from tests.vendor_samples import (
    JSON_VENDORS,
    calendly_event,
    intercom_notification,
    secrets_for,
    signed,
    slack_block_action,
    slack_event_callback,
    standard_event,
    typeform_response,
    zendesk_event,
)
from tests.vendor_samples import Gateway as VendorGateway
from tests.webhook_samples import (
    HUBSPOT_SECRET,
    STRIPE_PREVIOUS_SECRET,
    STRIPE_SECRET,
    hubspot_event,
    hubspot_events,
    hubspot_request,
    stripe_event,
    stripe_request,
)


class Gateway(VendorGateway):
    """Stripe and HubSpot behind the whole gateway (receiver, then publisher), with their own helpers."""

    def __init__(self) -> None:
        secrets = StaticSecrets({"stripe": [STRIPE_SECRET, STRIPE_PREVIOUS_SECRET], "hubspot": [HUBSPOT_SECRET]})
        super().__init__(VENDORS, secrets)
        self.clock.moment = FixedClock().moment

    @property
    def epoch(self) -> int:
        return int(self.clock.now().timestamp())

    def stripe(self, body: bytes, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("timestamp", self.epoch)
        return self.receive(stripe_request(body, **kwargs))

    def hubspot(self, body: bytes, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("timestamp_ms", self.epoch * 1000)
        return self.receive(hubspot_request(body, **kwargs))

    def attempt(self, delivery_id: str):  # type: ignore[no-untyped-def]
        return self.ledger.attempts[delivery_id]


@pytest.fixture
def gateway() -> Gateway:
    return Gateway()


def test_a_signed_stripe_event_is_accepted_published_once_and_logged(gateway: Gateway) -> None:
    # Given a Stripe invoice.paid event signed with the current secret
    # When it is delivered
    response = gateway.stripe(stripe_event("evt_paid"))
    # Then it is accepted, published as payment.succeeded and logged as accepted
    assert response.status_code == 202
    assert response.body["accepted"] == 1
    [event] = gateway.publisher.published
    assert event.event_type is EventType.PAYMENT_SUCCEEDED
    assert event.vendor_event_id == "evt_paid"
    assert event.subject.account_id == "stripe:cus_1"
    assert event.data["amount_minor"] == 4200
    attempt = gateway.attempt(response.body["delivery_id"])
    assert attempt.outcome is Outcome.ACCEPTED
    assert [record.disposition for record in attempt.events] == [Disposition.ACCEPTED]


def test_the_same_delivery_again_is_a_duplicate_and_publishes_nothing(gateway: Gateway) -> None:
    # Given an event that was already accepted
    first = gateway.stripe(stripe_event("evt_dup"))
    # When Stripe delivers it again
    second = gateway.stripe(stripe_event("evt_dup"))
    # Then the retry is acknowledged 200 without a second publish, and logged as a duplicate
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.body["event_ids"] == first.body["event_ids"]
    assert len(gateway.publisher.published) == 1
    assert gateway.attempt(second.body["delivery_id"]).outcome is Outcome.DUPLICATE


@pytest.mark.parametrize(
    ("case", "request_kwargs", "reason"),
    [
        ("forged", {"secret": "whsec_attacker"}, "no v1 signature matches"),
        ("unsigned", {"signature": "t=1764072000"}, "no v1 signature"),
        ("stale", {"timestamp_offset": -301}, "s old"),
        ("from the future", {"timestamp_offset": 301}, "in the future"),
    ],
)
def test_forged_unsigned_and_stale_stripe_deliveries_are_refused_and_logged(
    gateway: Gateway, case: str, request_kwargs: dict, reason: str
) -> None:
    # Given a Stripe delivery that is <case>
    offset = request_kwargs.pop("timestamp_offset", 0)
    # When it is delivered
    response = gateway.stripe(stripe_event(), timestamp=gateway.epoch + offset, **request_kwargs)
    # Then it is refused with 401, nothing is published and the log says why
    assert response.status_code == 401, case
    assert reason in response.body["message"]
    assert gateway.publisher.published == []
    attempt = gateway.attempt(response.body["delivery_id"])
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 401)
    assert reason in (attempt.reason or "")


def test_a_tampered_body_is_refused(gateway: Gateway) -> None:
    # Given a correctly signed request whose body was changed afterwards
    signed = stripe_request(stripe_event(amount_paid=100), timestamp=gateway.epoch)
    tampered = replace(signed, body=stripe_event(amount_paid=999_999))
    # When it is delivered
    response = gateway.receive(tampered)
    # Then the signature no longer matches
    assert response.status_code == 401
    assert gateway.publisher.published == []


def test_the_previous_secret_still_verifies_during_rotation(gateway: Gateway) -> None:
    # Given an event signed with the secret being rotated out
    # When it is delivered
    response = gateway.stripe(stripe_event("evt_rotating"), secret=STRIPE_PREVIOUS_SECRET)
    # Then it is accepted
    assert response.status_code == 202


def test_any_of_several_signatures_in_the_header_may_match(gateway: Gateway) -> None:
    # Given a header carrying a stale-secret signature first and the valid one second (Stripe does this)
    body = stripe_event("evt_multi")
    valid = stripe_request(body, timestamp=gateway.epoch).headers["stripe-signature"]
    header = f"t={gateway.epoch},v1={'0' * 64},{valid.split(',')[1]}"
    # When it is delivered
    response = gateway.stripe(body, signature=header)
    # Then it is accepted
    assert response.status_code == 202


def test_a_vendor_without_a_configured_secret_rejects_everything(gateway: Gateway) -> None:
    # Given no Stripe secret is configured
    gateway.secrets.by_vendor.pop("stripe")
    # When a delivery arrives
    response = gateway.stripe(stripe_event())
    # Then it is refused rather than let through
    assert response.status_code == 401
    assert "no signing secret" in response.body["message"]


def test_an_unknown_vendor_is_404_and_logged(gateway: Gateway) -> None:
    # Given a request to a vendor the hub does not know
    request = replace(stripe_request(stripe_event(), timestamp=gateway.epoch), vendor="acme")
    # When it is delivered
    response = gateway.receive(request)
    # Then it is 404 naming the known vendors
    assert response.status_code == 404
    assert "stripe" in response.body["message"]
    assert gateway.attempt(response.body["delivery_id"]).outcome is Outcome.REJECTED


def test_a_signed_but_malformed_body_is_400(gateway: Gateway) -> None:
    # Given a correctly signed body that is not a Stripe event
    # When it is delivered
    response = gateway.stripe(b'{"hello": "world"}')
    # Then it is 400 naming what is wrong
    assert response.status_code == 400
    assert "Stripe event" in response.body["message"]


def test_a_body_over_the_limit_is_413(gateway: Gateway) -> None:
    # Given a body larger than the gateway accepts
    body = b"x" * (VENDORS["stripe"].max_body_bytes + 1)
    # When it is delivered
    response = gateway.stripe(body)
    # Then it is 413 before any verification work
    assert response.status_code == 413


def test_a_refused_publish_is_retried_by_the_publisher_not_the_vendor(gateway: Gateway) -> None:
    # Given the bus refuses the next entry (FailedEntryCount > 0, a throttle)
    gateway.publisher.refuse_next = 1
    # When a delivery arrives
    first = gateway.stripe(stripe_event("evt_retry"))
    # Then the vendor got 202 (stored); the event waits for the publisher's retry
    assert first.status_code == 202
    assert gateway.publisher.published == []
    assert [entry.event_id for entry in gateway.retry] == first.body["event_ids"]
    # And when the vendor retries anyway, it is a duplicate; the publisher's next pass publishes the event once
    retried = gateway.stripe(stripe_event("evt_retry"))
    gateway.drain()
    assert retried.status_code == 200
    assert [event.vendor_event_id for event in gateway.publisher.published] == ["evt_retry"]
    assert gateway.retry == []


def test_an_unreachable_bus_loses_nothing(gateway: Gateway) -> None:
    # Given the bus raises instead of answering
    gateway.publisher.raise_next = ConnectionError("bus unreachable")
    # When a delivery arrives
    response = gateway.stripe(stripe_event("evt_down"))
    # Then it is stored (202) and waits for the publisher's retry, which publishes it
    assert response.status_code == 202
    assert len(gateway.retry) == 1
    gateway.drain()
    assert [event.vendor_event_id for event in gateway.publisher.published] == ["evt_down"]


def test_a_retry_while_the_first_attempt_is_unpublished_is_a_duplicate_not_a_409(gateway: Gateway) -> None:
    # Given a delivery stored, its event not yet on the bus (the publisher has not run)
    body = stripe_event("evt_inflight")
    first = gateway.ingest.receive(stripe_request(body, timestamp=gateway.epoch))
    # When the vendor retries it at once
    again = gateway.ingest.receive(stripe_request(body, timestamp=gateway.epoch))
    gateway.drain()
    # Then the retry is acknowledged as a duplicate, and the event goes on the bus once
    assert (first.status_code, again.status_code) == (202, 200)
    assert len(gateway.publisher.published) == 1


def test_a_hubspot_batch_publishes_each_event_once_across_retries(gateway: Gateway) -> None:
    # Given a batch of three HubSpot events
    events = [hubspot_event(1), hubspot_event(2, objectId=124), hubspot_event(3, subscriptionType="contact.creation")]
    first = gateway.hubspot(hubspot_events(*events))
    # When HubSpot retries the batch (it bumps attemptNumber on every retry)
    retried = gateway.hubspot(hubspot_events(*[event | {"attemptNumber": 1} for event in events]))
    # Then all three are published once and the retry is a duplicate
    assert (first.status_code, first.body["accepted"]) == (202, 3)
    assert (retried.status_code, retried.body["duplicates"]) == (200, 3)
    assert len(gateway.publisher.published) == 3


def test_a_hubspot_deal_moved_to_closedwon_becomes_deal_won(gateway: Gateway) -> None:
    # Given a deal stage change to closedwon
    event = hubspot_event(
        9, subscriptionType="deal.propertyChange", propertyName="dealstage", propertyValue="closedwon"
    )
    # When it is delivered
    response = gateway.hubspot(hubspot_events(event))
    # Then it is published as deal.won about that deal
    assert response.status_code == 202
    [published] = gateway.publisher.published
    assert published.event_type is EventType.DEAL_WON
    assert published.subject.deal_id == "hubspot:123"


def test_hubspot_stale_timestamps_in_milliseconds_are_refused(gateway: Gateway) -> None:
    # Given a HubSpot request signed six minutes ago (HubSpot sends milliseconds)
    six_minutes_ago = (gateway.epoch - 360) * 1000
    # When it is delivered
    response = gateway.hubspot(hubspot_events(hubspot_event()), timestamp_ms=six_minutes_ago)
    # Then it is refused as stale
    assert response.status_code == 401
    assert "s old" in response.body["message"]


def test_concurrent_duplicates_publish_exactly_once(gateway: Gateway) -> None:
    # Given eight copies of one Stripe delivery arriving at the same moment
    from concurrent.futures import ThreadPoolExecutor

    body = stripe_event("evt_concurrent")
    # When they are processed in parallel
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: gateway.stripe(body).status_code, range(8)))
    # Then exactly one stores it; the others are duplicates (none is told to come back later)
    gateway.drain()
    assert sorted(answers) == [200] * 7 + [202]
    assert [event.vendor_event_id for event in gateway.publisher.published] == ["evt_concurrent"]


# No input gives a 5xx (issue 8) -----------------------------------------------------------------------------


def _stripe_with(**fields: object) -> bytes:
    return json.dumps(json.loads(stripe_event("evt_shape")) | fields).encode()


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize(
    ("case", "body", "named"),
    [
        ("data a string", _stripe_with(data="x"), "data: expected an object"),
        ("created 1e20", _stripe_with(created=1e20), "created: "),
        ("created 10**18", _stripe_with(created=10**18), "created: "),
        ("created in milliseconds", _stripe_with(created=1_764_072_000_000), "created: "),
        ("nested 10,000 deep", _nested(10_000), "nests deeper than 64"),
        ("nested 65 deep", _nested(65), "nests deeper than 64"),
        ("a 5,000-digit number", b'{"object": "event", "id": "evt_n", "n": ' + b"7" * 5000 + b"}", "digits"),
        ("NaN", b'{"object": "event", "id": "evt_nan", "type": "x", "n": NaN}', "not valid JSON"),
    ],
)
def test_a_signed_malformed_stripe_payload_is_400_and_logged(
    gateway: Gateway, case: str, body: bytes, named: str
) -> None:
    # Given a correctly signed Stripe delivery whose payload is <case>
    # When it is delivered
    response = gateway.stripe(body)
    # Then it is refused with 400 naming what is wrong, nothing is published, and the log says why
    assert response.status_code == 400, case
    assert named in response.body["message"]
    attempt = gateway.attempt(response.body["delivery_id"])
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 400)
    assert named in (attempt.reason or "")
    assert attempt.body == body
    assert gateway.publisher.published == []


@pytest.mark.parametrize(
    ("case", "body", "named"),
    [
        (
            "subscription items a string",
            stripe_event("evt_items", "customer.subscription.updated", items="x"),
            "data.object.items: expected an object",
        ),
        (
            "subscription item price a string",
            stripe_event("evt_price", "customer.subscription.updated", items={"data": [{"price": "p"}]}),
            "data.object.items.data[0].price: expected an object",
        ),
    ],
)
def test_a_deep_field_the_normalizer_cannot_read_is_published_unmapped_with_the_problem(
    gateway: Gateway, case: str, body: bytes, named: str
) -> None:
    # Given a signed Stripe delivery whose event is well formed, but one of its deeper fields is <case>
    # When it is delivered
    response = gateway.stripe(body)
    # Then it is stored (the vendor is done), and published as vendor.unmapped naming the field, not dropped
    assert response.status_code == 202, case
    [event] = gateway.publisher.published
    assert event.event_type is EventType.VENDOR_UNMAPPED
    assert named in event.data["problem"]
    assert event.data["payload"]["id"] == json.loads(body)["id"]


def test_a_stripe_email_that_is_a_number_is_published_without_an_email(gateway: Gateway) -> None:
    # Given a paid invoice whose customer_email is a number (a vendor-side mix-up, not a malformed event)
    body = stripe_event("evt_email_number", customer_email=5)
    # When it is delivered
    response = gateway.stripe(body)
    # Then it is published about the customer, without an email, and logged as accepted
    assert response.status_code == 202
    [event] = gateway.publisher.published
    assert (event.subject.account_id, event.subject.email) == ("stripe:cus_1", None)
    assert gateway.attempt(response.body["delivery_id"]).outcome is Outcome.ACCEPTED


@pytest.mark.parametrize(
    ("case", "fields", "named"),
    [
        ("occurredAt 1e20", {"occurredAt": 1e20}, "[0].occurredAt: "),
        ("occurredAt a string", {"occurredAt": "yesterday"}, "[0].occurredAt: "),
        ("objectId an object", {"objectId": {"id": 1}}, "[0].objectId: "),
    ],
)
def test_a_signed_malformed_hubspot_event_is_400_and_logged(
    gateway: Gateway, case: str, fields: dict, named: str
) -> None:
    # Given a signed HubSpot batch whose event has <case>
    # When it is delivered
    response = gateway.hubspot(hubspot_events(hubspot_event(1, **fields)))
    # Then it is refused with 400 naming the field, and logged
    assert response.status_code == 400, case
    assert named in response.body["message"]
    attempt = gateway.attempt(response.body["delivery_id"])
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 400)
    assert named in (attempt.reason or "")


def _broken(*args: object, **kwargs: object) -> None:
    raise RuntimeError("a bug in our adapter")


def test_a_bug_in_a_vendor_parse_is_a_logged_400_not_a_5xx(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a vendor whose parse raises an exception it was never meant to
    gateway = Gateway()
    monkeypatch.setattr(VENDORS["stripe"], "parse", _broken)
    # When a delivery arrives
    with caplog.at_level(logging.ERROR):
        response = gateway.stripe(stripe_event("evt_bug"))
    # Then the vendor gets a 400 (a retry can never succeed), the log records it with the exception type,
    # the traceback is logged for us, and the answer is flagged for the alarm
    assert response.status_code == 400
    assert response.incident == "RuntimeError"
    [attempt] = gateway.ledger.attempts.values()
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 400)
    assert attempt.reason == "could not read this payload: RuntimeError"
    assert "a bug in our adapter" in caplog.text
    assert gateway.publisher.published == []


def test_a_bug_in_a_normalizer_is_retried_by_the_publisher_and_logged(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Stripe's normalizer raising what it never should
    gateway = Gateway()
    monkeypatch.setitem(normalizers.NORMALIZERS, "stripe", _broken)
    # When a delivery arrives
    with caplog.at_level(logging.ERROR):
        response = gateway.stripe(stripe_event("evt_bug"))
    # Then it is stored, the publisher logs the traceback and keeps the event for a retry (the stream retries it
    # and, past its retries, hands it to the dead-letter queue): nothing is lost, nothing published half-made
    assert response.status_code == 202
    assert "a bug in our adapter" in caplog.text
    assert len(gateway.retry) == 1
    assert gateway.publisher.published == []
    # And once the normalizer is fixed, the retry publishes it
    monkeypatch.undo()
    gateway.drain()
    assert [event.vendor_event_id for event in gateway.publisher.published] == ["evt_bug"]


def test_lone_surrogates_are_replaced_published_and_recorded(gateway: Gateway) -> None:
    # Given a HubSpot property change whose value holds a lone surrogate, which no bus can carry
    body = b"[" + json.dumps(hubspot_event(7, propertyName="firstname", propertyValue="Ada")).encode()[:-1]
    body = body.replace(b'"Ada"', b'"Ada \\ud800"') + b"}]"
    # When it is delivered, and delivered again
    first = gateway.hubspot(body)
    again = gateway.hubspot(body)
    # Then it is published once with the surrogate replaced by U+FFFD, and the log says so
    assert (first.status_code, again.status_code) == (202, 200)
    [event] = gateway.publisher.published
    assert event.data["value"] == "Ada \ufffd"
    assert "U+FFFD" in (gateway.attempt(first.body["delivery_id"]).reason or "")


def test_an_event_the_bus_can_never_accept_is_set_aside_with_the_reason(gateway: Gateway) -> None:
    # Given the bus refuses the next entry for a reason retries cannot fix
    gateway.publisher.refuse_next, gateway.publisher.refusal = 1, "MalformedDetail: injected"
    # When a delivery arrives
    response = gateway.stripe(stripe_event("evt_refused"))
    # Then the vendor's delivery is stored (202); the publisher does not retry it for ever but sets it aside in
    # the dead-letter queue, saying why, to be redriven once the cause is fixed
    assert response.status_code == 202
    assert gateway.retry == []
    [(entry, reason)] = gateway.dead_letters.letters
    assert entry.event_id == response.body["event_ids"][0]
    assert "MalformedDetail" in reason


@pytest.mark.parametrize("vendor", JSON_VENDORS)
@pytest.mark.parametrize(
    ("case", "body", "named"),
    [
        ("JSON nested 10,000 deep", _nested(10_000), "nests deeper than 64"),
        ("a 5,000-digit integer", b'{"type": "x", "n": ' + b"9" * 5000 + b"}", "digits"),
        ("an integer beyond 64 bits", b'{"type": "x", "n": 9223372036854775808}', "64-bit"),
    ],
)
def test_every_json_vendor_refuses_unbounded_json_with_a_logged_400(
    vendor: str, case: str, body: bytes, named: str
) -> None:
    # Given a correctly signed <vendor> delivery whose body is <case>
    gateway = VendorGateway(VENDORS[vendor], secrets_for(vendor))
    # When it is delivered
    answer = gateway.receive(signed(vendor, body))
    # Then it is a 400 naming the limit, and the attempt is in the delivery log with the reason
    assert answer.status_code == 400, answer.body
    assert isinstance(answer.body, dict)
    assert named in answer.body["message"]
    [attempt] = gateway.ledger.attempts.values()
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 400)
    assert named in (attempt.reason or "")


def _with(body: bytes, **fields: object) -> bytes:
    return json.dumps(json.loads(body) | fields).encode()


def _slack_click_at(action_ts: str) -> bytes:
    from urllib.parse import parse_qs, urlencode

    payload = json.loads(parse_qs(slack_block_action().decode())["payload"][0])
    payload["actions"][0]["action_ts"] = action_ts
    return urlencode({"payload": json.dumps(payload)}).encode()


@pytest.mark.parametrize(
    ("vendor", "body", "named"),
    [
        ("intercom", _with(intercom_notification(), created_at=1e20), "created_at: "),
        ("intercom", _with(intercom_notification(), created_at="yesterday"), "created_at: expected a Unix time"),
        ("slack", _with(slack_event_callback(), event_time=1e20), "event_time: "),
        ("slack", _slack_click_at("100000000000000000000.000001"), "actions[0].action_ts: "),
        ("calendly", _with(calendly_event(), created_at="2201-01-01T00:00:00Z"), "created_at: "),
        ("typeform", typeform_response().replace(b"2026-11-25T11:58:00Z", b"1969-07-20T20:17:00Z"), "submitted_at"),
        ("zendesk", _with(zendesk_event(), time="2300-01-01T00:00:00Z"), "time: "),
        ("standard", _with(standard_event(), timestamp="0001-01-01T00:00:00Z"), "timestamp: "),
        (
            "segment",
            b'{"type": "page", "messageId": "m", "userId": "u", "timestamp": "3000-01-01T00:00:00Z"}',
            "timestamp: ",
        ),
    ],
)
def test_an_event_time_outside_1970_to_2200_is_a_logged_400_naming_the_field(
    vendor: str, body: bytes, named: str
) -> None:
    # Given a signed <vendor> delivery whose event time is garbage, or a unit mix-up, or out of range
    gateway = VendorGateway(VENDORS[vendor], secrets_for(vendor))
    # When it is delivered
    answer = gateway.receive(signed(vendor, body))
    # Then it is a 400 naming the field (not a crash on a datetime it cannot hold), and logged with the reason
    assert answer.status_code == 400, answer.body
    assert isinstance(answer.body, dict)
    assert named in answer.body["message"]
    [attempt] = gateway.ledger.attempts.values()
    assert (attempt.outcome, attempt.status_code) == (Outcome.REJECTED, 400)
    assert named in (attempt.reason or "")
    assert gateway.publisher.published == []


@pytest.mark.parametrize(
    ("vendor", "body"),
    [
        ("segment", b'{"type": "identify", "messageId": "m-e", "userId": "u", "traits": {"email": 42}}'),
        ("calendly", _with(calendly_event(), payload=json.loads(calendly_event())["payload"] | {"email": 42})),
        ("standard", standard_event("contact.upserted", {"contact_id": "c-1", "email": 42})),
        ("zendesk", zendesk_event("user.created", detail={"id": "42", "email": 42})),
        ("intercom", intercom_notification("contact.user.created", {"type": "contact", "id": "c1", "email": 42})),
    ],
)
def test_a_number_where_an_email_goes_never_fails_the_event(vendor: str, body: bytes) -> None:
    # Given a signed <vendor> delivery whose person's email is a number (a custom-field mix-up)
    gateway = VendorGateway(VENDORS[vendor], secrets_for(vendor))
    # When it is delivered
    answer = gateway.receive(signed(vendor, body))
    # Then the event is published without an email, and the delivery logged as accepted
    assert answer.status_code == 202, answer.body
    [event] = gateway.publisher.published
    assert event.subject.email is None
    [attempt] = gateway.ledger.attempts.values()
    assert attempt.outcome is Outcome.ACCEPTED


def test_the_stored_request_keeps_no_signature_or_credential(gateway: Gateway) -> None:
    # Given a signed Stripe delivery that also carries an Authorization header
    request = stripe_request(stripe_event("evt_headers"), timestamp=gateway.epoch)
    request = replace(request, headers={**request.headers, "authorization": "Basic c2VjcmV0Og=="})
    # When it is accepted
    response = gateway.receive(request)
    # Then the attempt keeps the headers a publisher reads again, but never the signature or the credential
    headers = gateway.attempt(response.body["delivery_id"]).headers
    assert "content-type" in headers
    assert not {"stripe-signature", "authorization"} & set(headers)
