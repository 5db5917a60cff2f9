"""The delivery ledger in DynamoDB (table `webhook-deliveries`; access patterns in `shared/catalog.py`).

One TransactWriteItems stores the attempt with its raw body and claims every new event; a conditional
check on each claim makes concurrent duplicates lose cleanly, and the cancellation reasons (with the old
item) say whether the winner has published or is still working.

A transaction holds at most 100 items, so a delivery of more events (a tracking API batch) is claimed in
several, the attempt going with the first. That is no longer one atomic write, so it is made all or
nothing around it: the attempt's item is built (and its size checked) before anything is written, and if
any transaction fails the claims already taken by this attempt are released before the error goes on, so
no retry is kept waiting on a lease nobody will use.

Within DynamoDB's limits: an item holds 400 KB, so the attempt keeps its body and its event list
zlib-compressed and is refused whole (`PayloadTooLargeToStore`, a 413) when they still do not fit; a key
holds 2,048 bytes, so a claim whose dedupe key would make a longer one is keyed by the key's SHA-256.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.webhooks.model import (
    Claim,
    ClaimStatus,
    DeliveryAttempt,
    DeliveryPage,
    DeliveryQuery,
    DeliverySummary,
    Disposition,
    EventRecord,
    InvalidQuery,
    Outcome,
)
from shared.webhooks.payload import replace_lone_surrogates
from shared.webhooks.ports import PayloadTooLargeToStore

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item limit: attribute names and values, in bytes
ITEM_HEADROOM = 4 * 1024  # what the size estimate below may miss (number encoding), and the index's copy
MAX_REASON_CHARS = 2000
MAX_CLAIM_KEY_BYTES = 1024  # DynamoDB keys stop at 2,048 bytes; longer dedupe keys are hashed
LOG_SHARDS = 4  # spreads a day's log writes over 4 index partitions (10k rps peak, seed 000)
LOG_RETENTION = timedelta(days=30)
CLAIM_RETENTION = timedelta(days=7)  # longer than any vendor's retry window (Stripe: 3 days)
TRANSACTION_LIMIT = 100
BATCH_WRITE_LIMIT = 25
INDEX = "by-time"
PENDING, PUBLISHED = "PENDING", "PUBLISHED"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoDbDeliveryLedger:
    def __init__(self, client: Any, table_name: str, clock: Callable[[], datetime]) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    def claim(
        self,
        claims: Sequence[Claim],
        now: datetime,
        lease_until: datetime,
        attempt_for: Callable[[dict[str, ClaimStatus]], DeliveryAttempt],
    ) -> dict[str, ClaimStatus]:
        statuses = dict.fromkeys((claim.dedupe_key for claim in claims), ClaimStatus.NEW)
        # Built once before anything is written: an attempt too large to store is refused with no claim taken.
        _attempt_item(attempt_for(statuses))
        # Later chunks first, so the attempt (written with the first chunk) records every final status.
        chunks = [claims[i : i + TRANSACTION_LIMIT - 1] for i in range(0, len(claims), TRANSACTION_LIMIT - 1)]
        taken: list[Claim] = []
        try:
            for chunk in reversed(chunks[1:]):
                self._claim_chunk(chunk, statuses, now, lease_until, attempt_for=None)
                taken.extend(claim for claim in chunk if statuses[claim.dedupe_key] is ClaimStatus.NEW)
            self._claim_chunk(chunks[0] if chunks else [], statuses, now, lease_until, attempt_for)
        except BaseException:
            self._release(taken)
            raise
        return statuses

    def _release(self, claims: Sequence[Claim]) -> None:
        """Best effort: a claim left behind still expires with its lease, and the original error is the one
        to report."""
        with contextlib.suppress(Exception):
            self.settle([], claims)

    def _claim_chunk(
        self,
        chunk: Sequence[Claim],
        statuses: dict[str, ClaimStatus],
        now: datetime,
        lease_until: datetime,
        attempt_for: Callable[[dict[str, ClaimStatus]], DeliveryAttempt] | None,
    ) -> None:
        for _ in range(3):  # each round drops the claims that lost; a lost claim never comes back
            pending = [claim for claim in chunk if statuses[claim.dedupe_key] is ClaimStatus.NEW]
            if not pending:
                return
            items: list[dict[str, Any]] = [self._claim_put(claim, now, lease_until) for claim in pending]
            if attempt_for is not None:
                items.insert(0, {"Put": {"TableName": self._table, "Item": _attempt_item(attempt_for(statuses))}})
            try:
                self._client.transact_write_items(TransactItems=items)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons: list[dict[str, Any]] = list(exc.response.get("CancellationReasons", []))  # type: ignore[arg-type]
                claim_reasons = reasons[1:] if attempt_for is not None else reasons
                conflicted = self._apply_cancellation(pending, claim_reasons, statuses)
                if not conflicted and not _lost_any(claim_reasons):
                    raise
        for claim in chunk:  # still contended after retries: someone else is working on it
            if statuses[claim.dedupe_key] is ClaimStatus.NEW:
                statuses[claim.dedupe_key] = ClaimStatus.IN_PROGRESS

    def _apply_cancellation(
        self, pending: list[Claim], reasons: list[dict[str, Any]], statuses: dict[str, ClaimStatus]
    ) -> bool:
        conflicted = False
        for claim, reason in zip(pending, reasons, strict=False):
            code = reason.get("Code")
            if code == "ConditionalCheckFailed":
                old = _plain(reason.get("Item") or {})
                statuses[claim.dedupe_key] = (
                    ClaimStatus.DUPLICATE if old.get("status") == PUBLISHED else ClaimStatus.IN_PROGRESS
                )
            elif code == "TransactionConflict":
                conflicted = True
        return conflicted

    def _claim_put(self, claim: Claim, now: datetime, lease_until: datetime) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": _claim_item(claim, PENDING, now, lease_until),
                "ConditionExpression": "attribute_not_exists(pk) OR (#status = :pending AND lease_until < :now)",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":pending": {"S": PENDING},
                    ":now": {"N": str(_epoch(now))},
                },
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }

    def settle(self, published: Sequence[Claim], failed: Sequence[Claim]) -> None:
        now = self._clock()
        requests: list[dict[str, Any]] = [
            {"PutRequest": {"Item": _claim_item(claim, PUBLISHED, now, now)}} for claim in published
        ] + [{"DeleteRequest": {"Key": {"pk": {"S": _claim_key(claim)}}}} for claim in failed]
        for start in range(0, len(requests), BATCH_WRITE_LIMIT):
            self._batch_write(requests[start : start + BATCH_WRITE_LIMIT])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        unprocessed: dict[str, Any] = {self._table: requests}
        for _ in range(5):
            response = self._client.batch_write_item(RequestItems=unprocessed)
            unprocessed = response.get("UnprocessedItems") or {}
            if not unprocessed:
                return
        raise RuntimeError(f"DynamoDB left {len(unprocessed[self._table])} ledger writes unprocessed")

    def record(self, attempt: DeliveryAttempt) -> None:
        self._client.put_item(TableName=self._table, Item=_loggable_item(attempt))

    def list_attempts(self, query: DeliveryQuery) -> DeliveryPage:
        today = self._clock().date()
        day, before = _decode_cursor(query.before) if query.before else (today, None)
        oldest = today - LOG_RETENTION
        found: list[dict[str, Any]] = []
        while day >= oldest and len(found) < query.limit:
            wanted = query.limit - len(found)
            of_day = [item for shard in range(LOG_SHARDS) for item in self._query(day, shard, before, query, wanted)]
            of_day.sort(key=lambda item: item["log_sort"], reverse=True)
            found.extend(of_day[:wanted])
            if len(found) < query.limit:
                day, before = day - timedelta(days=1), None
        cursor = _encode_cursor(day, found[-1]["log_sort"]) if len(found) == query.limit else None
        return DeliveryPage([_summary_from(item) for item in found], cursor)

    def _query(
        self, day: date, shard: int, before: str | None, query: DeliveryQuery, wanted: int
    ) -> list[dict[str, Any]]:
        key_condition = "log_partition = :partition"
        values: dict[str, Any] = {":partition": {"S": _log_partition(day, shard)}}
        if before:
            key_condition += " AND log_sort < :before"
            values[":before"] = {"S": before}
        filters, names = [], {}
        if query.vendor:
            filters.append("vendor = :vendor")
            values[":vendor"] = {"S": query.vendor}
        if query.outcome:
            filters.append("#outcome = :outcome")
            names["#outcome"] = "outcome"
            values[":outcome"] = {"S": query.outcome.value}
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": wanted,
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if names:
            request["ExpressionAttributeNames"] = names
        items: list[dict[str, Any]] = []
        while len(items) < wanted:
            response = self._client.query(**request)
            items.extend(_plain(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items[:wanted]


def _claim_key(claim: Claim) -> str:
    key = f"CLAIM#{claim.vendor}#{claim.dedupe_key}"
    if len(key.encode()) <= MAX_CLAIM_KEY_BYTES:
        return key
    return f"CLAIM#{claim.vendor}#sha256:{hashlib.sha256(claim.dedupe_key.encode()).hexdigest()}"


def _claim_item(claim: Claim, status: str, now: datetime, lease_until: datetime) -> dict[str, Any]:
    return _serialize(
        {
            "pk": _claim_key(claim),
            "kind": "claim",
            "status": status,
            "lease_until": _epoch(lease_until),
            "attempt_id": claim.event.delivery_id,
            "event_id": claim.event.event_id,
            "expires_at": int((now + CLAIM_RETENTION).timestamp()),
        }
    )


def _attempt_item(attempt: DeliveryAttempt) -> dict[str, Any]:
    received = attempt.received_at.astimezone(UTC)
    body = zlib.compress(attempt.body)
    events = zlib.compress(json.dumps([asdict(record) for record in attempt.events]).encode())
    reason = attempt.reason[:MAX_REASON_CHARS] if attempt.reason else None
    item = {
        "pk": f"ATTEMPT#{attempt.attempt_id}",
        "kind": "attempt",
        "attempt_id": attempt.attempt_id,
        "vendor": attempt.vendor,
        "received_at": received.isoformat(),
        "outcome": attempt.outcome.value,
        "status_code": attempt.status_code,
        "reason": reason,
        "events": events,
        "events_encoding": "zlib",
        "body": body,
        "body_encoding": "zlib",
        "body_size": attempt.body_size,
        "body_sha256": attempt.body_sha256,
        "content_type": attempt.content_type,
        "user_agent": attempt.user_agent,
        "source_ip": attempt.source_ip,
        "log_partition": _log_partition(received.date(), _shard(attempt.attempt_id)),
        "log_sort": f"{received.isoformat()}#{attempt.attempt_id}",
        "expires_at": int((received + LOG_RETENTION).timestamp()),
    }
    # DynamoDB strings must be valid UTF-8: a lone surrogate (quoted from a payload into a reason) never is.
    present = {
        key: replace_lone_surrogates(value) if isinstance(value, str) else value
        for key, value in item.items()
        if value is not None
    }
    size = _item_size(present)
    if size > MAX_ITEM_BYTES - ITEM_HEADROOM:
        raise PayloadTooLargeToStore(
            f"the delivery (body and its {len(attempt.events)} events, compressed) takes {size} bytes; "
            f"at most {MAX_ITEM_BYTES - ITEM_HEADROOM} can be kept"
        )
    return _serialize(present)


def _loggable_item(attempt: DeliveryAttempt) -> dict[str, Any]:
    """The attempt's item, or, when it cannot be stored whole (a refused body too large to keep), its log
    entry without the body, and if need be without its event list: every attempt lands in the log."""
    try:
        return _attempt_item(attempt)
    except PayloadTooLargeToStore:
        pass
    note = f"the body ({attempt.body_size} bytes) was too large to keep"
    reason = f"{attempt.reason}; {note}" if attempt.reason else note
    try:
        return _attempt_item(replace(attempt, body=b"", reason=reason))
    except PayloadTooLargeToStore:
        return _attempt_item(replace(attempt, body=b"", events=[], reason=f"{reason}, and so was its event list"))


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's measure: each attribute's name plus its value (UTF-8 text, raw binary, numbers as digits)."""
    size = 0
    for name, value in item.items():
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
        size += len(name.encode()) + len(raw)
    return size


def _events_from(item: dict[str, Any]) -> list[dict[str, Any]]:
    events = item.get("events")
    if events is None:
        return []
    if isinstance(events, Binary):  # zlib-compressed JSON; entries written before that are JSON text
        compressed: Any = events
        return list(json.loads(zlib.decompress(compressed.value)))
    return list(json.loads(events or "[]"))


def _summary_from(item: dict[str, Any]) -> DeliverySummary:
    records = [
        EventRecord(**{**record, "disposition": Disposition(record["disposition"])}) for record in _events_from(item)
    ]
    return DeliverySummary(
        attempt_id=item["attempt_id"],
        vendor=item["vendor"],
        received_at=datetime.fromisoformat(item["received_at"]),
        outcome=Outcome(item["outcome"]),
        status_code=int(item["status_code"]),
        reason=item.get("reason"),
        events=records,
        body_size=int(item.get("body_size", 0)),
        body_sha256=item.get("body_sha256", ""),
        content_type=item.get("content_type"),
        user_agent=item.get("user_agent"),
        source_ip=item.get("source_ip"),
    )


def _shard(attempt_id: str) -> int:
    return zlib.crc32(attempt_id.encode()) % LOG_SHARDS


def _log_partition(day: date, shard: int) -> str:
    return f"LOG#{day.isoformat()}#{shard}"


def _encode_cursor(day: date, log_sort: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"day": day.isoformat(), "before": log_sort}).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[date, str]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return date.fromisoformat(decoded["day"]), str(decoded["before"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise InvalidQuery("cursor is not one this API returned; start again without it") from None


def _lost_any(reasons: list[dict[str, Any]]) -> bool:
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


def _epoch(moment: datetime) -> Decimal:
    return Decimal(f"{moment.timestamp():.3f}")


def _serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}
