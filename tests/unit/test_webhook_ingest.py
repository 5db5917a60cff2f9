"""The webhook gateway's use case over in-memory adapters: exactly once, nothing lost, forgeries refused."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from shared.events.canonical import EventType
from shared.webhooks.ingest import CLAIM_LEASE, WebhookIngest
from shared.webhooks.model import Disposition, Outcome
from shared.webhooks.registry import VENDORS
from tests.fakes import FixedClock, InMemoryLedger, RecordingPublisher, StaticSecrets
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


class Gateway:
    def __init__(self) -> None:
        self.clock = FixedClock()
        self.ledger = InMemoryLedger()
        self.publisher = RecordingPublisher()
        self.secrets = StaticSecrets({"stripe": [STRIPE_SECRET, STRIPE_PREVIOUS_SECRET], "hubspot": [HUBSPOT_SECRET]})
        ids = iter(f"attempt-{n}" for n in range(1000))
        self.ingest = WebhookIngest(VENDORS, self.secrets, self.ledger, self.publisher, self.clock, lambda: next(ids))

    @property
    def epoch(self) -> int:
        return int(self.clock.now().timestamp())

    def stripe(self, body: bytes, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("timestamp", self.epoch)
        return self.ingest.receive(stripe_request(body, **kwargs))

    def hubspot(self, body: bytes, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("timestamp_ms", self.epoch * 1000)
        return self.ingest.receive(hubspot_request(body, **kwargs))

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
    assert [record.disposition for record in attempt.events] == [Disposition.PUBLISHED]


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
    response = gateway.ingest.receive(tampered)
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
    response = gateway.ingest.receive(request)
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


def test_a_refused_publish_answers_503_and_the_retry_publishes_exactly_once(gateway: Gateway) -> None:
    # Given the bus refuses the next entry (FailedEntryCount > 0)
    gateway.publisher.refuse_next = 1
    # When a delivery arrives, and then the vendor retries it
    failed = gateway.stripe(stripe_event("evt_retry"))
    retried = gateway.stripe(stripe_event("evt_retry"))
    again = gateway.stripe(stripe_event("evt_retry"))
    # Then the first gets 503 (so the vendor retries), the retry publishes, a third time is a duplicate
    assert (failed.status_code, retried.status_code, again.status_code) == (503, 202, 200)
    assert [event.vendor_event_id for event in gateway.publisher.published] == ["evt_retry"]
    assert gateway.attempt(failed.body["delivery_id"]).outcome is Outcome.FAILED


def test_an_unreachable_bus_answers_503_and_releases_the_claim(gateway: Gateway) -> None:
    # Given the bus raises instead of answering
    gateway.publisher.raise_next = ConnectionError("bus unreachable")
    # When a delivery arrives and is retried
    failed = gateway.stripe(stripe_event("evt_down"))
    retried = gateway.stripe(stripe_event("evt_down"))
    # Then the retry is not swallowed by the first attempt's claim
    assert (failed.status_code, retried.status_code) == (503, 202)
    assert "bus unreachable" in (gateway.attempt(failed.body["delivery_id"]).reason or "")


def test_a_delivery_still_being_processed_is_409_until_its_lease_expires(gateway: Gateway) -> None:
    # Given an attempt that claimed the event and then died before publishing
    body = stripe_event("evt_crash")
    gateway.publisher.raise_next = None
    gateway.ledger.claim(
        [_claim_for(gateway, body)], gateway.clock.now(), gateway.clock.now() + CLAIM_LEASE, _attempt_stub(gateway)
    )
    # When the vendor retries within the lease, and again after it
    during = gateway.stripe(body)
    gateway.clock.advance(CLAIM_LEASE + timedelta(seconds=1))
    after = gateway.stripe(body)
    # Then the first retry is told to come back later, the second takes over and publishes once
    assert (during.status_code, after.status_code) == (409, 202)
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


def _claim_for(gateway: Gateway, body: bytes):  # type: ignore[no-untyped-def]
    from shared.webhooks.model import Claim
    from shared.webhooks.vendor import DeliveryContext

    vendor = VENDORS["stripe"]
    [event] = vendor.parse(stripe_request(body, timestamp=gateway.epoch))
    canonical = vendor.normalize(event, DeliveryContext("crashed", "req", gateway.clock.now()))
    return Claim("stripe", event.dedupe_key, canonical)


def _attempt_stub(gateway: Gateway):  # type: ignore[no-untyped-def]
    from shared.webhooks.model import DeliveryAttempt

    def attempt_for(_statuses):  # type: ignore[no-untyped-def]
        return DeliveryAttempt(
            "crashed", "stripe", gateway.clock.now(), Outcome.ACCEPTED, 202, b"", "", 0, None, None, None
        )

    return attempt_for


def test_concurrent_duplicates_publish_exactly_once(gateway: Gateway) -> None:
    # Given eight copies of one Stripe delivery arriving at the same moment
    from concurrent.futures import ThreadPoolExecutor

    body = stripe_event("evt_concurrent")
    # When they are processed in parallel
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: gateway.stripe(body).status_code, range(8)))
    # Then exactly one publishes; the others are duplicates or told to retry while it is in flight
    assert answers.count(202) == 1
    assert set(answers) <= {202, 200, 409}
    assert [event.vendor_event_id for event in gateway.publisher.published] == ["evt_concurrent"]
