"""One contract, two ledgers: the DynamoDB adapter (over moto) and the in-memory fake behave alike."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger
from shared.catalog import physical_name
from shared.events.canonical import CanonicalEvent, EventType
from shared.webhooks.model import (
    Claim,
    ClaimStatus,
    DeliveryAttempt,
    DeliveryQuery,
    Disposition,
    EventRecord,
    InvalidQuery,
    Outcome,
)
from shared.webhooks.ports import PayloadTooLargeToStore
from tests.fakes import FixedClock, InMemoryLedger
from tests.integration.conftest import STAGE

LEASE = timedelta(seconds=60)


@pytest.fixture(params=["dynamodb", "in-memory"])
def ledger_and_clock(request: pytest.FixtureRequest) -> Iterator[tuple[object, FixedClock]]:
    clock = FixedClock()
    if request.param == "in-memory":
        yield InMemoryLedger(), clock
        return
    aws = request.getfixturevalue("aws")
    assert aws.stage == STAGE
    client = boto3.client("dynamodb", region_name="us-east-1")
    yield DynamoDbDeliveryLedger(client, physical_name(STAGE, "webhook-deliveries"), clock.now), clock


def claim_of(key: str, delivery_id: str = "a1") -> Claim:
    event = CanonicalEvent(
        event_id=CanonicalEvent.id_for("stripe", key),
        event_type=EventType.PAYMENT_SUCCEEDED,
        occurred_at=datetime(2026, 11, 25, tzinfo=UTC),
        received_at=datetime(2026, 11, 25, tzinfo=UTC),
        source_vendor="stripe",
        vendor_event_id=key,
        vendor_event_type="invoice.paid",
        correlation_id="r1",
        delivery_id=delivery_id,
    )
    return Claim("stripe", key, event)


def attempt_of(attempt_id: str, at: datetime, vendor: str = "stripe", outcome: Outcome = Outcome.ACCEPTED):
    return DeliveryAttempt(
        attempt_id=attempt_id,
        vendor=vendor,
        received_at=at,
        outcome=outcome,
        status_code=202,
        body=b'{"id": "evt"}' * 50,
        body_sha256="abc",
        body_size=650,
        content_type="application/json",
        user_agent="Stripe/1.0",
        source_ip="203.0.113.9",
        events=[EventRecord("evt", "invoice.paid", "payment.succeeded", "e1", Disposition.PUBLISHED)],
    )


def test_a_new_claim_is_new_and_stores_the_attempt(ledger_and_clock) -> None:
    ledger, clock = ledger_and_clock
    # Given an unseen event
    # When it is claimed
    statuses = ledger.claim(
        [claim_of("evt_1")], clock.now(), clock.now() + LEASE, lambda _: attempt_of("a1", clock.now())
    )
    # Then it is NEW and the attempt is in the log
    assert statuses == {"evt_1": ClaimStatus.NEW}
    [listed] = ledger.list_attempts(DeliveryQuery()).attempts
    assert (listed.attempt_id, listed.body_size, listed.source_ip) == ("a1", 650, "203.0.113.9")
    assert listed.events[0].disposition is Disposition.PUBLISHED


def test_claims_move_from_in_progress_to_duplicate_once_published(ledger_and_clock) -> None:
    ledger, clock = ledger_and_clock
    now, claim = clock.now(), claim_of("evt_2")
    # Given a claimed, not yet published event
    ledger.claim([claim], now, now + LEASE, lambda _: attempt_of("a1", now))
    # When another attempt claims it before and after the first settles
    during = ledger.claim([claim], now, now + LEASE, lambda _: attempt_of("a2", now))
    ledger.settle([claim], [])
    after = ledger.claim([claim], now, now + LEASE, lambda _: attempt_of("a3", now))
    # Then it is IN_PROGRESS, then DUPLICATE, and neither losing attempt was stored
    assert (during["evt_2"], after["evt_2"]) == (ClaimStatus.IN_PROGRESS, ClaimStatus.DUPLICATE)
    assert [a.attempt_id for a in ledger.list_attempts(DeliveryQuery()).attempts] == ["a1"]


def test_an_expired_lease_can_be_taken_over(ledger_and_clock) -> None:
    ledger, clock = ledger_and_clock
    now, claim = clock.now(), claim_of("evt_3")
    # Given an attempt that claimed the event and vanished
    ledger.claim([claim], now, now + LEASE, lambda _: attempt_of("a1", now))
    # When another attempt arrives after the lease
    later = now + LEASE + timedelta(seconds=1)
    statuses = ledger.claim([claim], later, later + LEASE, lambda _: attempt_of("a2", later))
    # Then it takes the claim over
    assert statuses == {"evt_3": ClaimStatus.NEW}


def test_a_released_claim_can_be_claimed_again(ledger_and_clock) -> None:
    ledger, clock = ledger_and_clock
    now, claim = clock.now(), claim_of("evt_4")
    # Given a claim released because publishing failed
    ledger.claim([claim], now, now + LEASE, lambda _: attempt_of("a1", now))
    ledger.settle([], [claim])
    # When the vendor's retry claims it
    statuses = ledger.claim([claim], now, now + LEASE, lambda _: attempt_of("a2", now))
    # Then the retry holds it
    assert statuses == {"evt_4": ClaimStatus.NEW}


def test_a_batch_larger_than_a_transaction_is_claimed_whole(ledger_and_clock) -> None:
    ledger, clock = ledger_and_clock
    now = clock.now()
    # Given 150 events, 3 of them already published
    seen = [claim_of(f"evt_{n}") for n in range(3)]
    ledger.claim(seen, now, now + LEASE, lambda _: attempt_of("a0", now))
    ledger.settle(seen, [])
    batch = [claim_of(f"evt_{n}") for n in range(150)]
    # When the batch is claimed
    recorded: list[dict] = []
    statuses = ledger.claim(batch, now, now + LEASE, lambda s: recorded.append(dict(s)) or attempt_of("a1", now))
    # Then 147 are NEW and 3 DUPLICATE, and the stored attempt saw the final statuses
    assert sum(s is ClaimStatus.NEW for s in statuses.values()) == 147
    assert [statuses[f"evt_{n}"] for n in range(3)] == [ClaimStatus.DUPLICATE] * 3
    assert recorded[-1] == statuses


def test_the_log_lists_newest_first_across_days_with_filters_and_pages(ledger_and_clock) -> None:
    ledger, clock = ledger_and_clock
    start = clock.now() - timedelta(days=2)
    # Given 9 attempts over three days, every third one from HubSpot and rejected
    for n in range(9):
        vendor, outcome = ("hubspot", Outcome.REJECTED) if n % 3 == 0 else ("stripe", Outcome.ACCEPTED)
        ledger.record(attempt_of(f"a{n}", start + timedelta(hours=7 * n), vendor, outcome))
    # When the log is read four at a time
    first = ledger.list_attempts(DeliveryQuery(limit=4))
    second = ledger.list_attempts(DeliveryQuery(limit=4, before=first.next_cursor))
    third = ledger.list_attempts(DeliveryQuery(limit=4, before=second.next_cursor))
    # Then pages run newest first with no gaps or repeats
    pages = [a.attempt_id for page in (first, second, third) for a in page.attempts]
    assert pages == [f"a{n}" for n in range(8, -1, -1)]
    assert third.next_cursor is None
    # And filters select by vendor and outcome
    rejected = ledger.list_attempts(DeliveryQuery(vendor="hubspot", outcome=Outcome.REJECTED))
    assert [a.attempt_id for a in rejected.attempts] == ["a6", "a3", "a0"]


def test_a_cursor_the_api_did_not_issue_is_refused(ledger_and_clock) -> None:
    ledger, _ = ledger_and_clock
    with pytest.raises(InvalidQuery):
        ledger.list_attempts(DeliveryQuery(before="not-a-cursor!"))


def test_the_raw_body_is_kept_compressed_and_left_out_of_the_index(aws) -> None:
    # Given an attempt stored through the DynamoDB ledger
    clock = FixedClock()
    table = physical_name(STAGE, "webhook-deliveries")
    client = boto3.client("dynamodb", region_name="us-east-1")
    ledger = DynamoDbDeliveryLedger(client, table, clock.now)
    attempt = attempt_of("raw-1", clock.now())
    ledger.record(attempt)
    # When the item is read back
    item = client.get_item(TableName=table, Key={"pk": {"S": "ATTEMPT#raw-1"}})["Item"]
    # Then the body is byte-identical after decompression, and it expires after the retention period
    assert zlib.decompress(item["body"]["B"]) == attempt.body
    assert int(item["expires_at"]["N"]) == int((clock.now() + timedelta(days=30)).timestamp())
    indexed = client.query(
        TableName=table,
        IndexName="by-time",
        KeyConditionExpression="log_partition = :p",
        ExpressionAttributeValues={":p": item["log_partition"]},
    )["Items"]
    assert "body" not in indexed[0]


# No input gives a 5xx (issue 8) -----------------------------------------------------------------------------

DYNAMODB_ITEM_LIMIT = 400 * 1024


def _attempt_with(attempt_id: str, at: datetime, body: bytes, events: int) -> DeliveryAttempt:
    records = [
        EventRecord(
            f"m-{n:05}",
            "track",
            "engagement.recorded",
            CanonicalEvent.id_for("segment_api", f"m-{n:05}"),
            Disposition.PUBLISHED,
        )
        for n in range(events)
    ]
    return replace(attempt_of(attempt_id, at), body=body, body_size=len(body), events=records)


def test_a_dedupe_key_longer_than_a_dynamodb_key_is_claimed_and_deduplicated(ledger_and_clock) -> None:
    ledger, clock = ledger_and_clock
    now, claim = clock.now(), claim_of("m" * 3000)
    # Given an event whose dedupe key is 3,000 bytes (DynamoDB keys stop at 2,048)
    first = ledger.claim([claim], now, now + LEASE, lambda _: attempt_of("a1", now))
    ledger.settle([claim], [])
    # When it is claimed again
    again = ledger.claim([claim], now, now + LEASE, lambda _: attempt_of("a2", now))
    # Then it was claimed, and the second claim knows it as published
    assert (first[claim.dedupe_key], again[claim.dedupe_key]) == (ClaimStatus.NEW, ClaimStatus.DUPLICATE)


def test_the_log_entry_of_a_large_batch_stays_within_one_dynamodb_item(aws) -> None:
    # Given a delivery of 2,500 events (a log entry naming each: ~475 KB as JSON) and a ledger on DynamoDB
    clock = FixedClock()
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = physical_name(STAGE, "webhook-deliveries")
    ledger = DynamoDbDeliveryLedger(client, table, clock.now)
    now = clock.now()
    attempt = _attempt_with("big-1", now, b'{"batch": []}' * 1000, 2500)
    # When its first event is claimed, storing the attempt
    statuses = ledger.claim([claim_of("m-00000", "big-1")], now, now + LEASE, lambda _: attempt)
    # Then the claim is NEW, the stored item is under DynamoDB's 400 KB, and the log lists all 2,500 events
    assert set(statuses.values()) == {ClaimStatus.NEW}
    item = client.get_item(TableName=table, Key={"pk": {"S": "ATTEMPT#big-1"}})["Item"]
    assert _item_size(item) < DYNAMODB_ITEM_LIMIT
    [listed] = ledger.list_attempts(DeliveryQuery()).attempts
    assert [record.vendor_event_id for record in listed.events] == [f"m-{n:05}" for n in range(2500)]


def test_a_log_entry_too_large_to_store_leaves_no_claim_behind(aws) -> None:
    # Given a batch of 150 events (two transactions) whose body cannot be kept in one item
    clock = FixedClock()
    ledger = DynamoDbDeliveryLedger(
        boto3.client("dynamodb", region_name="us-east-1"), physical_name(STAGE, "webhook-deliveries"), clock.now
    )
    now = clock.now()
    claims = [claim_of(f"evt_{n}", "too-big") for n in range(150)]
    incompressible = os.urandom(400 * 1024)
    # When it is claimed, the store refuses it
    with pytest.raises(PayloadTooLargeToStore):
        ledger.claim(claims, now, now + LEASE, lambda _: _attempt_with("too-big", now, incompressible, 150))
    # Then no claim was left holding a lease: the same events claimed again (a smaller retry) are all NEW
    statuses = ledger.claim(claims, now, now + LEASE, lambda _: attempt_of("retry", now))
    assert set(statuses.values()) == {ClaimStatus.NEW}


def _item_size(item: dict) -> int:
    """DynamoDB's item size: attribute names plus values (strings in UTF-8, binary as bytes, numbers ~ digits)."""
    size = 0
    for name, value in item.items():
        [(kind, raw)] = value.items()
        size += len(name.encode()) + (len(raw) if kind == "B" else len(str(raw).encode()))
    return size
