"""The audit trail in DynamoDB (`AUDIT` in `shared.catalog.audit`; the catalog's access patterns explain the keys).

Append-only: every item is put on the condition that it does not exist yet, so a record is never overwritten
(storing the same record again, as a retry does, changes nothing); the functions' IAM allows PutItem only and
explicitly denies UpdateItem, DeleteItem, BatchWriteItem and PartiQL writes (a transaction's puts are authorized as
PutItem, so the Deny holds inside TransactWriteItems too). A record is one item, plus one item per further target,
because a GSI key holds one value (`_items`): one PutItem for a record with at most one target, else transactions
of puts. Every item holds the record's `targets` and `targets_omitted`, so a record reads the same whichever index
found it. A further target's item stored before that held only its own target: reading one, the store reads the
record's own item by its key instead (one GetItem per such item; they expire with the retention period).

A search by a target that could be an email reads each id it may be stored under (`AuditQuery.target_ids`: the
current digest, a declared person's whole digest, the lower-cased digest of older records), merged newest first.

A write's receipt (`received`) is indexed under its actor, its route and its targets (its path parameters, the
person a privacy route names), not by time: a search by actor, route or target shows it only while the write's
outcome is missing (the function was stopped after writing: a timeout, out of memory), so "what did this user do"
and "who touched this lead" list each write once and never miss one.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.adapters.dynamodb_items import plain, serialize, when
from shared.adapters.dynamodb_reads import query_pages
from shared.audit.ports import AuditUnavailable
from shared.audit.query import AuditPage, AuditQuery, Key, found_under, months_of, position_of
from shared.audit.record import AuditRecord, Channel, Outcome, Phase, Target

if TYPE_CHECKING:
    from shared.audit.config import AuditConfig

# A month's records over 4 partitions of the by-time index: every audited request writes there, and writes with
# ever-increasing sort keys all land at the end of one partition (~1,000 writes/s each), however it is split.
TIME_SHARDS = 4
INDEXES = {Key.TIME: "by-time", Key.ACTOR: "by-actor", Key.ROUTE: "by-route", Key.TARGET: "by-target"}
INDEX_KEYS = {Key.TIME: "time_partition", Key.ACTOR: "actor_key", Key.ROUTE: "route_key", Key.TARGET: "target"}
TRANSACTION_ITEMS = 100  # DynamoDB's most items in one TransactWriteItems
MAX_READ_PER_PAGE = 1000  # a filtered search reads at most this many items per page, then hands a cursor back
MAX_MONTHS_PER_PAGE = 24  # a time search reads at most this many months per page (4 queries a month)
_NOT_YET = "attribute_not_exists(pk)"


def record_pk(request_id: str) -> str:
    return f"REQUEST#{request_id}"


def dynamodb_audit_store(table: str, config: AuditConfig) -> DynamoDbAuditStore:
    """The store over the table, with a client whose calls are bounded: a DynamoDB that does not answer must not
    hold a request until API Gateway's 29 s run out."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        "dynamodb",
        config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}),
    )
    return DynamoDbAuditStore(client, table, timedelta(days=config.retention_days))


class DynamoDbAuditStore:
    def __init__(self, client: Any, table: str, retention: timedelta) -> None:
        self._client = client
        self._table = table
        self._retention = retention  # TTL: a record expires this long after it was made

    # ------------------------------------------------------------------------------------------------ append

    def append(self, record: AuditRecord) -> None:
        items = [serialize(item) for item in _items(record, self._retention)]
        try:
            if len(items) == 1:
                self._put(items[0])
            else:
                for start in range(0, len(items), TRANSACTION_ITEMS):
                    self._transact(items[start : start + TRANSACTION_ITEMS])
        except (ClientError, BotoCoreError) as exc:
            raise AuditUnavailable(f"audit record {record.request_id}/{record.phase} not stored: {exc}") from exc

    def _put(self, item: dict[str, Any]) -> None:
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression=_NOT_YET)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise  # else: stored before (a retry): append-only, nothing to change

    def _transact(self, items: list[dict[str, Any]]) -> None:
        puts = [{"Put": {"TableName": self._table, "Item": item, "ConditionExpression": _NOT_YET}} for item in items]
        try:
            self._client.transact_write_items(TransactItems=puts)
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            # A transaction is all or nothing: one item already there means this chunk was stored before.
            if not any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons):
                raise

    # ------------------------------------------------------------------------------------------------ search

    def search(self, query: AuditQuery) -> AuditPage:
        if query.empty:  # nothing in range: no query (DynamoDB refuses `BETWEEN :low AND :high` with low > high)
            return AuditPage([], None)
        key = query.key
        if key is Key.TIME:
            return self._by_time(query)
        if key is Key.REQUEST:
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": {"S": record_pk(str(query.request_id))}},
                "ConsistentRead": True,
            }
            # a request's records (its further targets' items left out: each record names all its targets)
            records = [_record(item) for item in query_pages(self._client, request) if "#TARGET#" not in item["sk"]]
            found = [
                (record, target)
                for record in records
                for target in found_under(query, record)
                if query.matches(record, position_of(record), target)
            ]
            found.sort(key=lambda pair: position_of(pair[0]), reverse=True)
            return AuditPage(found[: query.limit], None)
        values = (
            query.target_ids if key is Key.TARGET else (str({Key.ACTOR: query.actor, Key.ROUTE: query.route}[key]),)
        )
        return self._by_index(query, INDEXES[key], INDEX_KEYS[key], values)

    def _by_index(self, query: AuditQuery, index: str, partition_key: str, values: tuple[str, ...]) -> AuditPage:
        found: list[tuple[AuditRecord, str | None]] = []
        completed: set[str] = set()  # the requests whose outcome this search has read
        partitions = [self._range(index, partition_key, value, query, query.limit) for value in values]
        items = partitions[0] if len(partitions) == 1 else heapq.merge(*partitions, key=_position, reverse=True)
        listed: set[str] = set()  # a record kept under two of the searched ids is listed once
        for read, item in enumerate(items, start=1):
            record, position = self._record_of(item), item["position"]
            if record.phase is Phase.COMPLETED:
                completed.add(record.request_id)
            if position in listed:
                continue
            if query.matches(record, position, item.get("target")) and not self._outcome_stored(record, completed):
                listed.add(position)
                found.append((record, item.get("target")))
                if len(found) == query.limit:
                    return AuditPage(found, position)
            if read >= MAX_READ_PER_PAGE:
                return AuditPage(found, position)
        return AuditPage(found, None)

    def _record_of(self, item: dict[str, Any]) -> AuditRecord:
        """The record an index item belongs to; a further target's item stored before they held the record's
        targets is read from the record's own item."""
        if "targets" in item or "#TARGET#" not in str(item.get("sk", "")):
            return _record(item)
        key = {"pk": {"S": str(item["pk"])}, "sk": {"S": str(item["phase"])}}
        main = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return _record(plain(main)) if main else _record(item)

    def _outcome_stored(self, record: AuditRecord, read: set[str]) -> bool:
        """Whether `record` is a write's receipt whose outcome is stored, so a listing leaves it out: the outcome
        sorts above it, so a search has mostly read it already (`read`); else (an earlier page, past `to`) one get."""
        if record.phase is not Phase.RECEIVED:
            return False
        if record.request_id in read:
            return True
        key = {"pk": {"S": record_pk(record.request_id)}, "sk": {"S": Phase.COMPLETED.value}}
        found = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True, ProjectionExpression="pk")
        return "Item" in found

    def _by_time(self, query: AuditQuery) -> AuditPage:
        found: list[tuple[AuditRecord, str | None]] = []
        months = months_of(query)
        for month in months[:MAX_MONTHS_PER_PAGE]:
            wanted = query.limit - len(found)
            of_month = [
                item
                for shard in range(TIME_SHARDS)
                for item in _newest(self._range("by-time", "time_partition", _time_partition(month, shard), query,
                                                wanted), query, wanted)
            ]  # fmt: skip
            of_month.sort(key=lambda item: str(item["position"]), reverse=True)
            found += [(_record(item), item.get("target")) for item in of_month[:wanted]]
            if len(found) == query.limit:
                return AuditPage(found, position_of(found[-1][0]))
        if len(months) > MAX_MONTHS_PER_PAGE:  # more months in range: the next page starts below the last one read
            return AuditPage(found, f"{months[MAX_MONTHS_PER_PAGE - 1]}-01T00:00:00.000000Z")
        return AuditPage(found, None)

    def _range(
        self, index: str, partition_key: str, value: str, query: AuditQuery, page_size: int
    ) -> Iterator[dict[str, Any]]:
        """The index partition's items in the query's range, newest first, page after page."""
        if query.empty:
            return iter(())
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#partition = :value AND #position BETWEEN :low AND :high",
            "ExpressionAttributeNames": {"#partition": partition_key, "#position": "position"},
            "ExpressionAttributeValues": {
                ":value": {"S": value},
                ":low": {"S": query.lowest},
                ":high": {"S": query.highest},  # inclusive here; `matches` drops the exclusive bound itself
            },
            "ScanIndexForward": False,
            "Limit": page_size + 1,
        }
        return query_pages(self._client, request)


def _position(item: dict[str, Any]) -> str:
    return str(item["position"])


def _newest(items: Iterator[dict[str, Any]], query: AuditQuery, count: int) -> list[dict[str, Any]]:
    """The first `count` items in the query's range (the range's upper bound is exclusive), newest first."""
    taken: list[dict[str, Any]] = []
    for item in items:
        if query.lowest <= item["position"] < query.highest:
            taken.append(item)
            if len(taken) == count:
                break
    return taken


def _time_partition(month: str, shard: int) -> str:
    return f"MONTH#{month}#{shard}"


def _shard(request_id: str) -> int:
    return zlib.crc32(request_id.encode()) % TIME_SHARDS


# ----------------------------------------------------------------------------------------------- encoding


def _items(record: AuditRecord, retention: timedelta) -> list[dict[str, Any]]:
    """The record's item, then (a listed record) one item per further target."""
    position = position_of(record)
    base: dict[str, Any] = {
        "pk": record_pk(record.request_id),
        "position": position,
        "expires_at": int((record.at + retention).timestamp()),
        "request_id": record.request_id,
        "at": record.at.isoformat(timespec="microseconds"),
        "channel": record.channel.value,
        "phase": record.phase.value,
        "outcome": record.outcome.value,
        "actor": record.actor,
        "route": record.route,
        "method": record.method,
        "path": record.path,
        "groups": list(record.groups),
        "scopes": list(record.scopes),
    }
    optional = {
        "status": record.status,
        "username": record.username,
        "client_id": record.client_id,
        "request_digest": record.request_digest,
        "source_ip": record.source_ip,
        "user_agent": record.user_agent,
    }
    base |= {name: value for name, value in optional.items() if value is not None}
    if record.detail:
        base["detail"] = dict(record.detail)
    # every item holds the record's targets: a record reads the same whichever of its items a search found
    base |= {
        "targets": [{"field": t.field, "id": t.id} for t in record.targets],
        "targets_omitted": record.targets_omitted,
    }
    main = base | {"sk": record.phase.value}
    # every record, a receipt too, is indexed under its actor and route (a search leaves out a receipt whose
    # outcome is stored); a write's receipt is not listed by time: its outcome is
    main |= {"actor_key": record.actor, "route_key": record.route}
    if record.listed:
        main["time_partition"] = _time_partition(position[:7], _shard(record.request_id))
    if record.targets:  # and under each of its targets
        main |= {"target": record.targets[0].id, "target_field": record.targets[0].field}
    further = [
        base | {"sk": f"{record.phase.value}#TARGET#{n:04d}", "target": t.id, "target_field": t.field}
        for n, t in enumerate(record.targets[1:], start=1)
    ]
    return [main, *further]


def _record(item: dict[str, Any]) -> AuditRecord:
    """A record from its item (plain values); a further target's item stored before items held the record's
    targets (which `DynamoDbAuditStore._record_of` reads from the record's own item) gives that target alone."""
    if "targets" in item:
        targets = tuple(Target(str(t["field"]), str(t["id"])) for t in item["targets"])
    elif "target" in item:  # a further target's item: the one target it is about
        targets = (Target(str(item.get("target_field", "")), str(item["target"])),)
    else:
        targets = ()
    return AuditRecord(
        request_id=str(item["request_id"]),
        at=when(str(item["at"])),
        channel=Channel(item["channel"]),
        phase=Phase(item["phase"]),
        outcome=Outcome(item["outcome"]),
        actor=str(item["actor"]),
        route=str(item["route"]),
        method=str(item["method"]),
        path=str(item["path"]),
        status=int(item["status"]) if "status" in item else None,
        username=item.get("username"),
        groups=tuple(str(g) for g in item.get("groups", ())),
        client_id=item.get("client_id"),
        scopes=tuple(str(s) for s in item.get("scopes", ())),
        targets=targets,
        targets_omitted=int(item.get("targets_omitted", 0)),
        request_digest=item.get("request_digest"),
        source_ip=item.get("source_ip"),
        user_agent=item.get("user_agent"),
        detail={str(k): str(v) for k, v in (item.get("detail") or {}).items()},
    )
