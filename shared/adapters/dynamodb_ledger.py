"""The delivery ledger in DynamoDB (table `webhook-deliveries`; access patterns in the catalog): the webhook
outbox and the delivery log in one table.

- A one-event delivery is one item, `EVENT#<namespace>#<dedupe key>`: the claim on its event and the attempt
  with its raw body, written with one conditional PutItem (the receiver's only AWS call). The condition is
  the de-duplication: a retry of the delivery finds the item and is a duplicate. The namespace is the vendor's
  de-duplication namespace (`Vendor.dedupe_namespace`: its name, but `segment_api` for both of Segment's ways
  in, so a message the tracking API stored is a duplicate through the webhook destination, and the other way;
  the tracking API's claims keep the keys they always had). The key is what the event id is rebuilt from
  (`claim_event_id`), with `dedupe_key`: a claim the webhook destination stored before Segment's two ways in
  shared a namespace is keyed `EVENT#segment#...`, and keeps the id it had when read back (publisher, privacy).
- A delivery of several events (a HubSpot or Segment batch) is an attempt item `ATTEMPT#<id>` with the raw
  body plus one small claim item per event pointing at it, in one transaction (several for more than 99
  events; the attempt goes with the first). Claims of events stored before are reported duplicates and left
  out of the write.
- Every other attempt (rejected, a handshake, a duplicate) is an `ATTEMPT#<id>` item for the log.
- Everyone a kept raw body names is findable through the sparse `by-subject` index, by the salted hash of who
  it is about (`shared.webhooks.subjects`), written in the same write as the body: a one-event delivery's item
  and each claim of a batch carry its event's own person as `subject`; so does a refused attempt naming one
  person. A body naming someone no item of its write carries (further people an accepted body names, handed over
  as the attempt's `subjects`; a refused body naming several people; a batch repeating an event stored before,
  whose claim is not written again) gets a pointer item per such person, `SUBJECT#<hash>#<attempt id>`, in the
  same transaction: a one-event delivery naming only its own person, a new-only batch and a refused body naming
  one person cost what they did; a one-event delivery naming further people is stored as a batch of one (attempt,
  claim and pointers in one transaction), a refused body naming several is a transaction instead of a put.
- An event the publisher holds back (about a person erased since it happened) has its stored body blanked as an
  erasure would (`forget_event`).
The table's stream hands every new claim (`kind = claim`) to the publisher; `outbox_entry` reads one.

Within DynamoDB's limits: an item holds 400 KB, so bodies and event lists are zlib-compressed and an attempt
that still does not fit is refused whole (`PayloadTooLargeToStore`, a 413) before anything is written; a key
holds 2,048 bytes, so a claim whose dedupe key would make a longer one is keyed by the key's SHA-256.

The receiver calls this on every delivery, so items are written as DynamoDB JSON directly rather than
through boto3's TypeSerializer (which walks every value): the attributes are strings, numbers and bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.catalog import OUTBOX_CLAIM_KIND
from shared.events.ids import event_id
from shared.webhooks.model import (
    ClaimStatus,
    DeliveryAttempt,
    DeliveryPage,
    DeliveryQuery,
    DeliverySummary,
    Disposition,
    EventRecord,
    InboundWebhook,
    InvalidQuery,
    OutboxEntry,
    Outcome,
    StoredEvent,
)
from shared.webhooks.payload import replace_lone_surrogates
from shared.webhooks.ports import PayloadTooLargeToStore

if TYPE_CHECKING:
    from shared.privacy.model import Needles

MAX_ITEM_BYTES = 400 * 1024  # DynamoDB's item limit: attribute names and values, in bytes
ITEM_HEADROOM = 4 * 1024  # what the size estimate below may miss, and the index's copy of the log fields
SURELY_FITS_BYTES = 300 * 1024  # a compressed body and log under this leave the item well within its limit
MAX_REASON_CHARS = 2000
MAX_CLAIM_KEY_BYTES = 1024  # DynamoDB keys stop at 2,048 bytes; longer dedupe keys are hashed
LOG_SHARDS = 4  # spreads a day's log writes over 4 index partitions (10k rps peak, seed 000)
RETENTION = timedelta(days=30)  # the log, the raw bodies and the claims: longer than any vendor retries (3 days)
TRANSACTION_LIMIT = 100
INDEX = "by-time"
SUBJECT_INDEX = "by-subject"
# The salted hash of who an item's raw body is about (`shared.webhooks.subjects`), the `by-subject` index's key:
# on a one-event delivery's item, on each claim of a batch (its attempt holds the body), on a refused attempt
# naming one person, and on each pointer item (its attempt holds the body).
SUBJECT = "subject"
ATTEMPT_KIND = "attempt"
POINTER_KIND = "subject"  # a pointer from one more person a kept body names to its attempt; never a claim
# What the publisher needs of a stored attempt to read it again as the vendor's events.
_REQUEST_FIELDS = ("attempt_id", "vendor", "body", "request", "received_at")


class DynamoDbDeliveryLedger:
    def __init__(self, client: Any, table_name: str, clock: Callable[[], datetime]) -> None:
        self._client = client
        self._table = table_name
        self._clock = clock

    # ------------------------------------------------------------------------------------------- the outbox

    def accept(self, attempt: DeliveryAttempt, events: Sequence[StoredEvent]) -> dict[str, ClaimStatus]:
        """`attempt.subjects` of an accepted delivery: the further people its body names (none of its events'
        own), each a pointer item in the write that stores the body. No item of the write carries them as its
        `subject`: the body is not theirs whole, an erasure of them takes their parts out of it."""
        further, attempt = attempt.subjects, replace(attempt, subjects=())
        if len(events) == 1 and not further:
            return self._accept_one(attempt, events[0])
        return self._accept_batch(attempt, events, further)

    def _accept_one(self, attempt: DeliveryAttempt, event: StoredEvent) -> dict[str, ClaimStatus]:
        item = _attempt_attributes(attempt) | _claim_attributes(event, attempt)
        _check_size(item, attempt)
        try:
            self._client.put_item(
                TableName=self._table, Item=_dynamodb_json(item), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return {event.dedupe_key: ClaimStatus.DUPLICATE}
        return {event.dedupe_key: ClaimStatus.NEW}

    def _accept_batch(
        self, attempt: DeliveryAttempt, events: Sequence[StoredEvent], further: Sequence[str] = ()
    ) -> dict[str, ClaimStatus]:
        statuses = dict.fromkeys((event.dedupe_key for event in events), ClaimStatus.NEW)
        _check_size(_attempt_item(attempt), attempt)  # before anything is written
        chunks = [events[i : i + TRANSACTION_LIMIT - 1] for i in range(0, len(events), TRANSACTION_LIMIT - 1)]
        # The further people's pointers go with the attempt, as many as its transaction holds beside a chunk; the
        # rest before it (a pointer to a body not stored is found by no one's erasure but itself, and expires)
        room = TRANSACTION_LIMIT - 1 - len(chunks[0])
        inline, early = list(further[:room]), [self._put(_pointer_item(attempt, s)) for s in further[room:]]
        for i in range(0, len(early), TRANSACTION_LIMIT):
            self._client.transact_write_items(TransactItems=early[i : i + TRANSACTION_LIMIT])
        wrote_attempt = False
        pointed: set[str] = set()
        for chunk in chunks:
            wrote_attempt |= self._claim_chunk(
                attempt, events, chunk, statuses, pointed, with_attempt=not wrote_attempt, further=inline
            )
        if wrote_attempt and len(chunks) > 1 and ClaimStatus.DUPLICATE in statuses.values():
            # a later chunk found duplicates the attempt's event list did not know of when it was written
            item = _attempt_item(_with(attempt, events, statuses))
            self._client.put_item(TableName=self._table, Item=_dynamodb_json(item))
        if wrote_attempt and (owed := sorted(_unindexed(events, statuses) - pointed)):
            # only a batch of several chunks: a later chunk's duplicates, or a chunk that turned out all duplicates
            puts = [self._put(_pointer_item(attempt, subject)) for subject in owed]
            for i in range(0, len(puts), TRANSACTION_LIMIT):
                self._client.transact_write_items(TransactItems=puts[i : i + TRANSACTION_LIMIT])
        return statuses

    def _claim_chunk(
        self,
        attempt: DeliveryAttempt,
        events: Sequence[StoredEvent],
        chunk: Sequence[StoredEvent],
        statuses: dict[str, ClaimStatus],
        pointed: set[str],
        with_attempt: bool,
        further: Sequence[str] = (),
    ) -> bool:
        """Claim what is new of `chunk` (and store the attempt with it); True when the attempt was written. The
        people of the chunk's duplicates whom no new claim names get a pointer to the attempt in the same
        transaction (at most one per duplicate: it still fits), so its body is found under them too; so do the
        `further` people the body names, with the attempt."""
        for _ in range(3):  # each round leaves out the claims found taken; a taken claim never frees up
            pending = [event for event in chunk if statuses[event.dedupe_key] is ClaimStatus.NEW]
            if not pending:
                return False
            writes = [self._conditional_put(_claim_attributes(event, attempt)) for event in pending]
            if with_attempt:
                writes.insert(0, self._conditional_put(_attempt_item(_with(attempt, events, statuses))))
            pointers = sorted(_unindexed(chunk, statuses) - _subjects(events, statuses, ClaimStatus.NEW) - pointed)
            if with_attempt:
                pointers += [subject for subject in further if subject not in pointed and subject not in pointers]
            writes += [self._put(_pointer_item(attempt, subject)) for subject in pointers]  # after the claims
            try:
                self._client.transact_write_items(TransactItems=writes)
                pointed.update(pointers)
                return with_attempt
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons: list[dict[str, Any]] = list(exc.response.get("CancellationReasons", []))  # type: ignore[arg-type]
                claim_reasons = reasons[1:] if with_attempt else reasons
                taken = [
                    e for e, r in zip(pending, claim_reasons, strict=False) if r.get("Code") == "ConditionalCheckFailed"
                ]
                if not taken and not any(r.get("Code") == "TransactionConflict" for r in reasons):
                    raise
                for event in taken:
                    statuses[event.dedupe_key] = ClaimStatus.DUPLICATE
        raise RuntimeError(f"claims of delivery {attempt.attempt_id} stayed contended after 3 transactions")

    def _conditional_put(self, item: dict[str, Any]) -> dict[str, Any]:
        put = self._put(item)
        put["Put"]["ConditionExpression"] = "attribute_not_exists(pk)"
        return put

    def _put(self, item: dict[str, Any]) -> dict[str, Any]:
        return {"Put": {"TableName": self._table, "Item": _dynamodb_json(item)}}

    def request_of(self, attempt_id: str) -> InboundWebhook | None:
        response = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": _attempt_pk(attempt_id)}},
            # named by placeholder: some (`request`) are DynamoDB reserved words
            ProjectionExpression=", ".join(f"#f{n}" for n in range(len(_REQUEST_FIELDS))),
            ExpressionAttributeNames={f"#f{n}": name for n, name in enumerate(_REQUEST_FIELDS)},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _request_from(item) if item and "body" in item else None

    def forget_event(self, entry: OutboxEntry, namespace: str, needles: Needles, settled: Collection[str]) -> bool:
        """Blank what the delivery log keeps of `entry`'s event, about a person erased since it happened (the
        publisher holds it back), as an erasure would: a one-event delivery's item (the person's whole) loses its
        body and request, and the caller's address and agent from its log entry, and leaves the subject index; of
        a batch's body only the person's parts go (`shared.privacy.redaction`), and only once every accepted
        event of it is `settled` (event ids published or held back: none is still to be read from the body).
        False when it had to be left as it is for now."""
        if entry.request is not None:  # a one-event delivery: the claim's own item holds the body
            key = {"pk": {"S": _claim_key(namespace, entry.dedupe_key)}}
            item = self._client.get_item(
                TableName=self._table,
                Key=key,
                ProjectionExpression="#log",
                ExpressionAttributeNames={"#log": "log"},
                ConsistentRead=True,
            ).get("Item")
            if item is not None:  # else expired: nothing is kept
                self._drop_body(key, item.get("log"), remove_subject=True)
            return True
        key = {"pk": {"S": _attempt_pk(entry.attempt_id)}}
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        if not item or "body" not in item:
            return True
        log = json.loads(zlib.decompress(_bytes(item["log"]))) if "log" in item else {"events": []}
        accepted = {e["event_id"] for e in log["events"] if e.get("disposition") == Disposition.ACCEPTED.value}
        if not accepted <= set(settled):
            return False
        from shared.privacy.redaction import redact_body  # the publisher's: the receiver never forgets

        body = zlib.decompress(_bytes(item["body"]))
        redacted = redact_body(body, needles)
        if redacted is None:  # not JSON: it cannot be taken apart, and nothing is still to be read from it
            self._drop_body(key, item.get("log"), remove_subject=False)
        elif redacted != body:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET body = :body, erased_at = :erased",
                ExpressionAttributeValues={":body": {"B": _deflate(redacted)}, ":erased": {"S": self._now()}},
            )
        return True

    def _drop_body(self, key: dict[str, Any], log: Mapping[str, Any] | None, remove_subject: bool) -> None:
        values: dict[str, Any] = {":erased": {"S": self._now()}}
        names = {"#request": "request"}
        update = "SET erased_at = :erased"
        if log is not None:
            entry = json.loads(zlib.decompress(_bytes(log)))
            entry["source_ip"] = entry["user_agent"] = None
            values[":log"] = {"B": _deflate(json.dumps(entry, separators=(",", ":")).encode())}
            names["#log"] = "log"
            update += ", #log = :log"
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression=f"{update} REMOVE body, #request" + (f", {SUBJECT}" if remove_subject else ""),
                ConditionExpression="attribute_exists(pk)",  # never brings back an item that expired meanwhile
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat()

    # --------------------------------------------------------------------------------------- the delivery log

    def record(self, attempt: DeliveryAttempt) -> None:
        """One put; a kept body naming several people (a refused one) goes with a pointer per person, in one
        transaction (the receiver keeps at most 99; past one transaction the pointers would go first, so a body
        is never stored unfindable)."""
        kept, item = _loggable(attempt)
        if len(kept.subjects) < 2:
            self._client.put_item(TableName=self._table, Item=_dynamodb_json(item))
            return
        writes = [self._put(_pointer_item(kept, subject)) for subject in kept.subjects] + [self._put(item)]
        for i in range(0, len(writes), TRANSACTION_LIMIT):
            self._client.transact_write_items(TransactItems=writes[i : i + TRANSACTION_LIMIT])

    def list_attempts(self, query: DeliveryQuery) -> DeliveryPage:
        today = self._clock().date()
        day, before = _decode_cursor(query.before) if query.before else (today, None)
        oldest = today - RETENTION
        found: list[dict[str, Any]] = []
        while day >= oldest and len(found) < query.limit:
            wanted = query.limit - len(found)
            of_day = [item for shard in range(LOG_SHARDS) for item in self._query(day, shard, before, query, wanted)]
            of_day.sort(key=lambda item: item["log_sort"]["S"], reverse=True)
            found.extend(of_day[:wanted])
            if len(found) < query.limit:
                day, before = day - timedelta(days=1), None
        cursor = _encode_cursor(day, found[-1]["log_sort"]["S"]) if len(found) == query.limit else None
        return DeliveryPage([_summary_from(item) for item in found], cursor)

    def _query(
        self, day: date, shard: int, before: str | None, query: DeliveryQuery, wanted: int
    ) -> list[dict[str, Any]]:
        # Imported here: the receiver, which loads this module on its cold path, never lists the log.
        from shared.adapters.dynamodb_reads import read_limit

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
            "Limit": read_limit(wanted, bool(filters)),  # applied before the filter
        }
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
        if names:
            request["ExpressionAttributeNames"] = names
        items: list[dict[str, Any]] = []
        while len(items) < wanted:
            response = self._client.query(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return items[:wanted]


# --------------------------------------------------------------------------------------------- the stream


def outbox_entry(record: Mapping[str, Any]) -> OutboxEntry:
    """A DynamoDB stream record of a new claim (its new image) as the publisher's entry."""
    image = record["dynamodb"]["NewImage"]
    merged = "body" in image  # a one-event delivery: the attempt is in the claim's own item
    return OutboxEntry(
        position=str(record["dynamodb"]["SequenceNumber"]),
        vendor=image["vendor"]["S"],  # the way it came in: the publisher reads and normalizes it as that vendor's
        dedupe_key=image["dedupe_key"]["S"],
        event_id=claim_event_id(image),
        attempt_id=image["attempt_id"]["S"],
        received_at=datetime.fromisoformat(image["received_at"]["S"]),
        request=_request_from(image) if merged else None,
    )


def claim_event_id(item: Mapping[str, Any]) -> str:
    """The canonical event id of a claim (DynamoDB JSON: a stream image, an item of the `by-subject` index),
    from the namespace its key names and its dedupe key, as the receiver computed it when it stored it."""
    namespace = item["pk"]["S"].split("#", 2)[1]  # EVENT#<namespace>#<dedupe key, or its hash>
    return event_id(namespace, item["dedupe_key"]["S"])


# ------------------------------------------------------------------------------------------------ items


def _claim_key(namespace: str, dedupe_key: str) -> str:
    key = f"EVENT#{namespace}#{dedupe_key}"
    if len(key.encode()) <= MAX_CLAIM_KEY_BYTES:
        return key
    return f"EVENT#{namespace}#sha256:{hashlib.sha256(dedupe_key.encode()).hexdigest()}"


def _attempt_pk(attempt_id: str) -> str:
    return f"ATTEMPT#{attempt_id}"


def _claim_attributes(event: StoredEvent, attempt: DeliveryAttempt) -> dict[str, Any]:
    """A claim on one event: alone (one of a batch, pointing at its attempt), or with the attempt's attributes
    in the one item of a one-event delivery."""
    claim = {
        "pk": _claim_key(event.namespace, event.dedupe_key),
        "kind": OUTBOX_CLAIM_KIND,
        "vendor": event.vendor,
        "dedupe_key": event.dedupe_key,  # the event id follows from it and the key (`claim_event_id`)
        "attempt_id": attempt.attempt_id,
        "received_at": attempt.received_at.astimezone(UTC).isoformat(),
        "expires_at": int((attempt.received_at + RETENTION).timestamp()),
    }
    if event.subject:
        claim[SUBJECT] = event.subject
    return claim


def _attempt_attributes(attempt: DeliveryAttempt) -> dict[str, Any]:
    """The attempt in few attributes (each one botocore serializes and DynamoDB bills by name and value): the
    keys and what the log filters on, the log entry as one compressed JSON document, the request as received.
    JSON escapes what UTF-8 cannot carry (a lone surrogate quoted into a reason), so every string stores."""
    received = attempt.received_at.astimezone(UTC)
    log = {
        "status_code": attempt.status_code,
        "reason": attempt.reason[:MAX_REASON_CHARS] if attempt.reason else None,
        "events": [
            {
                "vendor_event_id": record.vendor_event_id,
                "vendor_event_type": record.vendor_event_type,
                "event_id": record.event_id,
                "disposition": record.disposition.value,
            }
            for record in attempt.events
        ],
        "body_size": attempt.body_size,
        "body_sha256": attempt.body_sha256,
        "content_type": attempt.content_type,
        "user_agent": attempt.user_agent,
        "source_ip": attempt.source_ip,
    }
    request = {"url": attempt.url, "id": attempt.request_id, "headers": dict(attempt.headers)}
    subject = {SUBJECT: attempt.subjects[0]} if len(attempt.subjects) == 1 else {}  # several: pointer items
    return subject | {
        "attempt_id": attempt.attempt_id,
        "vendor": replace_lone_surrogates(attempt.vendor),
        "received_at": received.isoformat(),
        "outcome": attempt.outcome.value,
        "log": _deflate(json.dumps(log, separators=(",", ":")).encode()),
        "request": json.dumps(request, separators=(",", ":")),
        "body": _deflate(attempt.body),
        "log_partition": _log_partition(received.date(), _shard(attempt.attempt_id)),
        "log_sort": f"{received.isoformat()}#{attempt.attempt_id}",
        "expires_at": int((received + RETENTION).timestamp()),
    }


def _deflate(data: bytes) -> bytes:
    """zlib with a window sized to the input. `zlib.compress` sets up its full 32 KB window and 256 KB of state
    whatever the input (some 60 µs, most of a small delivery's own CPU); a window no larger than the input
    costs a tenth of that and compresses to the same bytes. `zlib.decompress` reads any window size."""
    bits = min(15, max(9, len(data).bit_length()))
    deflate = zlib.compressobj(6, zlib.DEFLATED, bits, min(8, bits - 7))
    return deflate.compress(data) + deflate.flush()


deflate = _deflate  # what the privacy erasure writes back into a body it anonymized (`dynamodb_privacy_deliveries`)


def _attempt_item(attempt: DeliveryAttempt) -> dict[str, Any]:
    return {"pk": _attempt_pk(attempt.attempt_id), "kind": ATTEMPT_KIND, **_attempt_attributes(attempt)}


def _with(
    attempt: DeliveryAttempt, events: Sequence[StoredEvent], statuses: Mapping[str, ClaimStatus]
) -> DeliveryAttempt:
    """The attempt with each event's disposition as its claim came out."""
    disposition = {
        event.event_id: Disposition.ACCEPTED if statuses[event.dedupe_key] is ClaimStatus.NEW else Disposition.DUPLICATE
        for event in events
    }
    records = [
        replace(record, disposition=disposition.get(record.event_id, record.disposition)) for record in attempt.events
    ]
    return replace(attempt, events=records)


def _check_size(item: dict[str, Any], attempt: DeliveryAttempt) -> None:
    if len(item["body"]) + len(item["log"]) < SURELY_FITS_BYTES:
        return  # the rest of an item is far below the headroom: no need to measure it all
    size = _item_size(item)
    if size > MAX_ITEM_BYTES - ITEM_HEADROOM:
        raise PayloadTooLargeToStore(
            f"the delivery (body and its {len(attempt.events)} events, compressed) takes {size} bytes; "
            f"at most {MAX_ITEM_BYTES - ITEM_HEADROOM} can be kept"
        )


def _pointer_item(attempt: DeliveryAttempt, subject: str) -> dict[str, Any]:
    """One more person the attempt's kept body names: found through `by-subject`, it leads to `ATTEMPT#<id>`."""
    return {
        "pk": f"SUBJECT#{subject}#{attempt.attempt_id}",
        "kind": POINTER_KIND,
        SUBJECT: subject,
        "attempt_id": attempt.attempt_id,
        "vendor": replace_lone_surrogates(attempt.vendor),
        "expires_at": int((attempt.received_at + RETENTION).timestamp()),
    }


def _subjects(events: Sequence[StoredEvent], statuses: Mapping[str, ClaimStatus], status: ClaimStatus) -> set[str]:
    return {event.subject for event in events if event.subject and statuses[event.dedupe_key] is status}


def _unindexed(events: Sequence[StoredEvent], statuses: Mapping[str, ClaimStatus]) -> set[str]:
    """The people of `events` whom only a duplicate names: no claim this attempt writes carries them."""
    return _subjects(events, statuses, ClaimStatus.DUPLICATE) - _subjects(events, statuses, ClaimStatus.NEW)


def _loggable(attempt: DeliveryAttempt) -> tuple[DeliveryAttempt, dict[str, Any]]:
    """The attempt and its item, or, when it cannot be stored whole (a refused body too large to keep), its log
    entry without the body (nor its subjects), and if need be without its event list: every attempt lands in
    the log."""
    item = _attempt_item(attempt)
    if _item_size(item) <= MAX_ITEM_BYTES - ITEM_HEADROOM:
        return attempt, item
    note = f"the body ({attempt.body_size} bytes) was too large to keep"
    reason = f"{attempt.reason}; {note}" if attempt.reason else note
    kept = replace(attempt, body=b"", reason=reason, subjects=())
    item = _attempt_item(kept)
    if _item_size(item) <= MAX_ITEM_BYTES - ITEM_HEADROOM:
        return kept, item
    kept = replace(kept, events=[], reason=f"{reason}, and so was its event list")
    return kept, _attempt_item(kept)


def _item_size(item: Mapping[str, Any]) -> int:
    """DynamoDB's measure: each attribute's name plus its value (UTF-8 text, raw binary, numbers as digits)."""
    size = 0
    for name, value in item.items():
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
        size += len(name.encode()) + len(raw)
    return size


def _dynamodb_json(item: Mapping[str, Any]) -> dict[str, Any]:
    encoded: dict[str, Any] = {}
    for name, value in item.items():
        if isinstance(value, bytes):
            encoded[name] = {"B": value}
        elif isinstance(value, bool):
            encoded[name] = {"BOOL": value}
        elif isinstance(value, int):
            encoded[name] = {"N": str(value)}
        else:
            encoded[name] = {"S": str(value)}
    return encoded


def _request_from(item: Mapping[str, Any]) -> InboundWebhook:
    request = json.loads(item["request"]["S"])
    return InboundWebhook(
        vendor=item["vendor"]["S"],
        method="POST",
        url=request["url"],
        headers=request["headers"],
        body=zlib.decompress(_bytes(item["body"])),
        request_id=request["id"],
    )


def _bytes(value: Mapping[str, Any]) -> bytes:
    """Binary from the client (bytes) or from a stream record (base64 text, as Lambda hands it over)."""
    raw = value["B"]
    return base64.b64decode(raw) if isinstance(raw, str) else bytes(raw)


def _summary_from(item: Mapping[str, Any]) -> DeliverySummary:
    log = json.loads(zlib.decompress(_bytes(item["log"])))
    records = [
        EventRecord(
            vendor_event_id=record.get("vendor_event_id"),
            vendor_event_type=record["vendor_event_type"],
            event_id=record["event_id"],
            disposition=Disposition(record["disposition"]),
        )
        for record in log["events"]
    ]
    return DeliverySummary(
        attempt_id=item["attempt_id"]["S"],
        vendor=item["vendor"]["S"],
        received_at=datetime.fromisoformat(item["received_at"]["S"]),
        outcome=Outcome(item["outcome"]["S"]),
        status_code=int(log["status_code"]),
        reason=log.get("reason"),
        events=records,
        body_size=int(log.get("body_size") or 0),
        body_sha256=log.get("body_sha256") or "",
        content_type=log.get("content_type"),
        user_agent=log.get("user_agent"),
        source_ip=log.get("source_ip"),
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
