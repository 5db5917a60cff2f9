"""One contract, two ledgers: the DynamoDB adapter (over moto) and the in-memory fake behave alike. Plus
what only DynamoDB shows: the item layout, one write per one-event delivery, and the stream the publisher
reads (`outbox_entry`)."""

from __future__ import annotations

import os
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger, outbox_entry
from shared.catalog import WEBHOOK_DELIVERIES, physical_name
from shared.events.ids import event_id
from shared.privacy.subject_keys import subject_hash
from shared.webhooks.model import (
    ClaimStatus,
    DeliveryAttempt,
    DeliveryQuery,
    Disposition,
    EventRecord,
    InvalidQuery,
    Outcome,
    StoredEvent,
)
from shared.webhooks.ports import DeliveryLedger, PayloadTooLargeToStore
from tests.fakes import FixedClock, InMemoryLedger
from tests.integration.conftest import STAGE

TABLE = physical_name(STAGE, WEBHOOK_DELIVERIES.name)
DYNAMODB_ITEM_LIMIT = 400 * 1024


@pytest.fixture(params=["dynamodb", "in-memory"])
def ledger_and_clock(request: pytest.FixtureRequest) -> Iterator[tuple[DeliveryLedger, FixedClock]]:
    clock = FixedClock()
    if request.param == "in-memory":
        yield InMemoryLedger(), clock
        return
    request.getfixturevalue("aws")
    yield DynamoDbDeliveryLedger(boto3.client("dynamodb", region_name="us-east-1"), TABLE, clock.now), clock


@pytest.fixture
def dynamo(aws: Any) -> tuple[DynamoDbDeliveryLedger, Any, FixedClock]:
    clock = FixedClock()
    client = boto3.client("dynamodb", region_name="us-east-1")
    return DynamoDbDeliveryLedger(client, TABLE, clock.now), client, clock


def stored(key: str, vendor: str = "stripe", subject: str | None = None) -> StoredEvent:
    return StoredEvent(vendor, key, event_id(vendor, key), subject)


def attempt_of(
    attempt_id: str,
    at: datetime,
    events: list[StoredEvent] | None = None,
    vendor: str = "stripe",
    outcome: Outcome = Outcome.ACCEPTED,
    body: bytes = b'{"id": "evt"}' * 50,
) -> DeliveryAttempt:
    records = [EventRecord(e.dedupe_key, "invoice.paid", e.event_id, Disposition.ACCEPTED) for e in events or []]
    return DeliveryAttempt(
        attempt_id=attempt_id,
        vendor=vendor,
        received_at=at,
        outcome=outcome,
        status_code=202 if outcome is Outcome.ACCEPTED else 401,
        body=body,
        body_sha256="abc",
        body_size=len(body),
        content_type="application/json",
        user_agent="Stripe/1.0",
        source_ip="203.0.113.9",
        events=records,
        url="https://hub.example.com/webhooks/stripe",
        request_id="req-1",
        headers={"content-type": "application/json", "webhook-id": "msg_1"},
    )


# -------------------------------------------------------------------------------------------- the contract


def test_a_new_event_is_stored_once_and_its_repeat_is_a_duplicate(ledger_and_clock) -> None:  # type: ignore[no-untyped-def]
    ledger, clock = ledger_and_clock
    event = stored("evt_1")
    # When a one-event delivery is accepted, and the same event arrives in another delivery
    first = ledger.accept(attempt_of("a1", clock.now(), [event]), [event])
    again = ledger.accept(attempt_of("a2", clock.now(), [event]), [event])
    # Then the first stores it, the second is a duplicate and stores nothing
    assert (first, again) == ({"evt_1": ClaimStatus.NEW}, {"evt_1": ClaimStatus.DUPLICATE})
    [logged] = ledger.list_attempts(DeliveryQuery()).attempts
    assert logged.attempt_id == "a1"
    assert [record.disposition for record in logged.events] == [Disposition.ACCEPTED]


def test_a_batch_stores_what_is_new_and_reports_the_rest_as_duplicates(ledger_and_clock) -> None:  # type: ignore[no-untyped-def]
    ledger, clock = ledger_and_clock
    seen = [stored("evt_0"), stored("evt_1")]
    ledger.accept(attempt_of("a0", clock.now(), seen), seen)
    # When a batch holding those two and three new events is accepted
    batch = [stored(f"evt_{n}") for n in range(5)]
    statuses = ledger.accept(attempt_of("a1", clock.now(), batch), batch)
    # Then the three are new, the two duplicates, and the log says so event by event
    assert statuses == {f"evt_{n}": ClaimStatus.DUPLICATE if n < 2 else ClaimStatus.NEW for n in range(5)}
    logged = {a.attempt_id: a for a in ledger.list_attempts(DeliveryQuery()).attempts}
    assert [r.disposition.value for r in logged["a1"].events] == ["duplicate"] * 2 + ["accepted"] * 3
    # And the batch's request can be read back, as received, for the publisher
    request = ledger.request_of("a1")
    assert request is not None
    assert (request.vendor, request.url, request.request_id) == (
        "stripe",
        "https://hub.example.com/webhooks/stripe",
        "req-1",
    )
    assert request.body == b'{"id": "evt"}' * 50
    assert request.header("webhook-id") == "msg_1"


def test_a_batch_of_only_duplicates_stores_nothing(ledger_and_clock) -> None:  # type: ignore[no-untyped-def]
    ledger, clock = ledger_and_clock
    batch = [stored("evt_0"), stored("evt_1")]
    ledger.accept(attempt_of("a0", clock.now(), batch), batch)
    statuses = ledger.accept(attempt_of("a1", clock.now(), batch), batch)
    assert set(statuses.values()) == {ClaimStatus.DUPLICATE}
    assert [a.attempt_id for a in ledger.list_attempts(DeliveryQuery()).attempts] == ["a0"]


def test_a_batch_larger_than_a_transaction_is_stored_whole(ledger_and_clock) -> None:  # type: ignore[no-untyped-def]
    ledger, clock = ledger_and_clock
    seen = [stored(f"evt_{n}") for n in (0, 120, 149)]
    ledger.accept(attempt_of("a0", clock.now(), seen), seen)
    # When a batch of 150 events (two transactions) that holds three seen ones is accepted
    batch = [stored(f"evt_{n}") for n in range(150)]
    statuses = ledger.accept(attempt_of("a1", clock.now(), batch), batch)
    # Then 147 are stored, and the attempt's log entry knows every event's disposition
    assert sum(status is ClaimStatus.NEW for status in statuses.values()) == 147
    logged = {a.attempt_id: a for a in ledger.list_attempts(DeliveryQuery()).attempts}
    duplicates = [r.vendor_event_id for r in logged["a1"].events if r.disposition is Disposition.DUPLICATE]
    assert duplicates == ["evt_0", "evt_120", "evt_149"]


def test_a_dedupe_key_longer_than_a_dynamodb_key_is_stored_and_deduplicated(ledger_and_clock) -> None:  # type: ignore[no-untyped-def]
    ledger, clock = ledger_and_clock
    event = stored("m" * 3000)
    first = ledger.accept(attempt_of("a1", clock.now(), [event]), [event])
    again = ledger.accept(attempt_of("a2", clock.now(), [event]), [event])
    assert (first[event.dedupe_key], again[event.dedupe_key]) == (ClaimStatus.NEW, ClaimStatus.DUPLICATE)


def test_the_log_lists_newest_first_across_days_with_filters_and_pages(ledger_and_clock) -> None:  # type: ignore[no-untyped-def]
    ledger, clock = ledger_and_clock
    start = clock.now() - timedelta(days=2)
    # Given 9 attempts over three days, every third one from HubSpot and rejected
    for n in range(9):
        vendor, outcome = ("hubspot", Outcome.REJECTED) if n % 3 == 0 else ("stripe", Outcome.ACCEPTED)
        ledger.record(attempt_of(f"a{n}", start + timedelta(hours=7 * n), vendor=vendor, outcome=outcome))
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


def test_a_cursor_the_api_did_not_issue_is_refused(ledger_and_clock) -> None:  # type: ignore[no-untyped-def]
    ledger, _ = ledger_and_clock
    with pytest.raises(InvalidQuery):
        ledger.list_attempts(DeliveryQuery(before="not-a-cursor!"))


# ------------------------------------------------------------------------------------ DynamoDB specifics


def test_a_one_event_delivery_is_one_put_of_one_item_and_its_repeat_one_more_call(dynamo) -> None:  # type: ignore[no-untyped-def]
    ledger, client, clock = dynamo
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    event = stored("evt_one")
    # When a one-event delivery is accepted
    ledger.accept(attempt_of("a1", clock.now(), [event]), [event])
    # Then that is one PutItem of one item: the claim and the attempt with its body, listed in the log
    assert calls == ["PutItem"]
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "EVENT#stripe#evt_one"}})["Item"]
    assert (item["kind"]["S"], item["attempt_id"]["S"]) == ("claim", "a1")
    assert zlib.decompress(item["body"]["B"]) == b'{"id": "evt"}' * 50
    assert int(item["expires_at"]["N"]) == int((clock.now() + timedelta(days=30)).timestamp())
    assert "webhook-id" in item["request"]["S"]
    # And the index (the log) leaves the body out
    indexed = client.query(
        TableName=TABLE,
        IndexName="by-time",
        KeyConditionExpression="log_partition = :p",
        ExpressionAttributeValues={":p": item["log_partition"]},
    )["Items"]
    assert "body" not in indexed[0]


def test_the_stream_hands_the_publisher_every_new_event_once(dynamo) -> None:  # type: ignore[no-untyped-def]
    ledger, client, clock = dynamo
    single = stored("evt_single")
    batch = [stored("evt_b1"), stored("evt_b2")]
    # Given a one-event delivery, a batch, a duplicate and a rejected attempt
    ledger.accept(attempt_of("one", clock.now(), [single]), [single])
    ledger.accept(attempt_of("two", clock.now(), batch), batch)
    ledger.accept(attempt_of("dup", clock.now(), [single]), [single])
    ledger.record(attempt_of("rej", clock.now(), outcome=Outcome.REJECTED))
    # When the table's stream is read, keeping what the publisher's trigger matches
    records = [r for r in _stream_records(client) if r["eventName"] == "INSERT"]
    claims = [outbox_entry(r) for r in records if r["dynamodb"]["NewImage"]["kind"]["S"] == "claim"]
    # Then each new event is there once; a one-event delivery brings its request, a batch's events point at it
    assert sorted(e.dedupe_key for e in claims) == ["evt_b1", "evt_b2", "evt_single"]
    by_key = {e.dedupe_key: e for e in claims}
    assert by_key["evt_single"].request is not None
    assert by_key["evt_single"].request.body == b'{"id": "evt"}' * 50
    assert by_key["evt_single"].request.header("webhook-id") == "msg_1"
    assert (by_key["evt_b1"].request, by_key["evt_b1"].attempt_id) == (None, "two")
    assert by_key["evt_b1"].event_id == event_id("stripe", "evt_b1")


def test_an_attempt_too_large_to_store_is_refused_before_anything_is_written(dynamo) -> None:  # type: ignore[no-untyped-def]
    ledger, _, clock = dynamo
    batch = [stored(f"evt_{n}") for n in range(150)]
    incompressible = os.urandom(400 * 1024)
    with pytest.raises(PayloadTooLargeToStore):
        ledger.accept(attempt_of("too-big", clock.now(), batch, body=incompressible), batch)
    # No claim was written: the same events in a smaller delivery are all new
    statuses = ledger.accept(attempt_of("retry", clock.now(), batch), batch)
    assert set(statuses.values()) == {ClaimStatus.NEW}


def test_the_log_entry_of_a_large_batch_stays_within_one_dynamodb_item(dynamo) -> None:  # type: ignore[no-untyped-def]
    ledger, client, clock = dynamo
    batch = [stored(f"m-{n:05}", "segment_api") for n in range(2500)]
    attempt = replace(attempt_of("big-1", clock.now(), batch, vendor="segment_api"), body=b'{"batch": []}' * 1000)
    statuses = ledger.accept(attempt, batch)
    assert set(statuses.values()) == {ClaimStatus.NEW}
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "ATTEMPT#big-1"}})["Item"]
    assert _item_size(item) < DYNAMODB_ITEM_LIMIT
    listed = {a.attempt_id: a for a in ledger.list_attempts(DeliveryQuery(limit=5)).attempts}["big-1"]
    assert [record.vendor_event_id for record in listed.events] == [f"m-{n:05}" for n in range(2500)]


def test_every_person_a_kept_body_names_finds_it_in_the_write_that_keeps_it(dynamo) -> None:  # type: ignore[no-untyped-def]
    ledger, client, clock = dynamo
    calls: list[str] = []
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    pat, quinn, pia = (subject_hash(f"email#{name}@fjord.io") for name in ("pat", "quinn", "pia"))
    first = [stored("evt_pat", subject=pat)]
    ledger.accept(attempt_of("a1", clock.now(), first), first)
    calls.clear()
    # When a batch repeats Pat's stored event beside Quinn's new one, a refused body names one person, and
    # another names three
    batch = [stored("evt_pat", subject=pat), stored("evt_quinn", subject=quinn)]
    assert ledger.accept(attempt_of("a2", clock.now(), batch), batch)["evt_pat"] is ClaimStatus.DUPLICATE
    ledger.record(replace(attempt_of("r1", clock.now(), outcome=Outcome.REJECTED), subjects=(pia,)))
    ledger.record(replace(attempt_of("r3", clock.now(), outcome=Outcome.REJECTED), subjects=(pat, quinn, pia)))
    # Then each costs the calls it did (the batch's first transaction finds the duplicate, a second stores the
    # rest, now with a pointer; a refused body is one put), but a refused body naming several people, which is
    # one transaction instead of a put
    assert calls == ["TransactWriteItems", "TransactWriteItems", "PutItem", "TransactWriteItems"]
    # And every body is found under everyone it names
    assert _attempts_under(client, pat) == {"a1", "a2", "r3"}
    assert _attempts_under(client, quinn) == {"a2", "r3"}
    assert _attempts_under(client, pia) == {"r1", "r3"}
    # And the pointers are no claims: the publisher's stream filter leaves them out
    kinds = [r["dynamodb"]["NewImage"]["kind"]["S"] for r in _stream_records(client) if r["eventName"] == "INSERT"]
    assert kinds.count("claim") == 2
    assert kinds.count("subject") == 4


def test_a_batch_of_several_transactions_is_found_under_the_people_of_its_duplicates(dynamo) -> None:  # type: ignore[no-untyped-def]
    ledger, client, clock = dynamo
    people = [subject_hash(f"email#p{n}@fjord.io") for n in range(150)]
    batch = [stored(f"evt_{n}", subject=people[n]) for n in range(150)]
    # Given the first 99 events (the whole first transaction) and one of the rest stored before
    seen = [*batch[:99], batch[120]]
    ledger.accept(attempt_of("a0", clock.now(), seen), seen)
    # When the batch of 150 is accepted: the attempt goes with the second transaction
    ledger.accept(attempt_of("a1", clock.now(), batch), batch)
    # Then its body is found under every one of the 150
    assert all("a1" in _attempts_under(client, person) for person in people)


def _attempts_under(client: Any, subject: str) -> set[str]:
    items = client.query(
        TableName=TABLE,
        IndexName="by-subject",
        KeyConditionExpression="subject = :s",
        ExpressionAttributeValues={":s": {"S": subject}},
    )["Items"]
    return {item["attempt_id"]["S"] for item in items}


def _stream_records(client: Any) -> list[dict[str, Any]]:
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    arn = client.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        records += streams.get_records(ShardIterator=iterator)["Records"]
    return records


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (strings in UTF-8, binary as bytes, numbers ~ digits)."""
    size = 0
    for name, value in item.items():
        [(kind, raw)] = value.items()
        size += len(name.encode()) + (len(raw) if kind == "B" else len(str(raw).encode()))
    return size
