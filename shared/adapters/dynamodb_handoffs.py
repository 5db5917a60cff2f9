"""The handoff repository in DynamoDB (table `handoffs`; item layout in `dynamodb_handoff_items.py`).

A change is one TransactWriteItems:

- the handoff, conditioned on not existing (version 1) or on being at the version before this one;
- the lead's lock: `CLAIM` puts `LEAD#<lead>/OPEN_HANDOFF` on condition that no handoff or this one holds it.
  `RELEASE` deletes it only when this handoff holds it; when another handoff holds it (or nobody does) the
  change leaves it alone, as the port says ("freed, if this handoff holds it"), instead of failing: failing
  would be a conflict no re-read can resolve. Which handoff holds it is read before the transaction (one
  GetItem); the delete is still conditioned on that holder, and the handoff's own version condition means
  no other write of this handoff can take or free the lock in between;
- each rep delta: an Update adding to `open_handoffs`, `assignments` and `version` (ADD starts a missing
  number at 0, so the first delta creates the load), conditioned on the version read (0: the load must not
  exist) and, with a capacity, on `open_handoffs <= capacity - open_delta` (a condition cannot add; a load
  without `open_handoffs` counts as 0 open).

Any condition that fails, or a transaction conflict (DynamoDB cancels transactions that touch an item
another transaction is writing), is a `HandoffConflict` naming the items: read again and decide again.
Nothing is written half. Every other error propagates.

Listings are newest first on `requested_sort` (or, asked, oldest first: ScanIndexForward, `>` below). A cursor
holds the last `requested_sort` returned (and the query and order it belongs to); the next page is read with
`requested_sort < that` as the key condition, so the same
cursor works for one index partition and for several merged. With a rep, the query is `by-rep` (the status,
if any, and the priority are filters); with only a status, `by-status`; with neither, every status partition
of `by-status`, merged newest first (seven queries a page: every handoff is in exactly one of them, closed
ones included, and no walk back over days is needed to know a listing has ended).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared.adapters.dynamodb_handoff_items import (
    ONBOARDED,
    OPEN_HANDOFF,
    REPS,
    STATE,
    Position,
    check_size,
    day_partition,
    decode_cursor,
    encode_cursor,
    handoff_from,
    handoff_item,
    handoff_pk,
    iso,
    lead_pk,
    lock_item,
    onboarded_item,
    rep_load_from,
    rep_partition,
    rep_sk,
    status_partition,
    unannounced_item,
    unannounced_pk,
    unannounced_shards,
)
from shared.adapters.dynamodb_items import ConditionalWrite, key, plain, serialize, transact, version_condition
from shared.adapters.dynamodb_reads import get_item, query_pages, read_limit
from shared.errors import InvalidInput
from shared.handoffs.model import Handoff, HandoffStatus, Priority, RepLoad
from shared.handoffs.ports import HandoffChange, HandoffConflict, HandoffPage, LeadLock, RepDelta

TRANSACTION_LIMIT = 100
BY_STATUS, BY_REP, BY_DAY = "by-status", "by-rep", "by-day"
_CONFLICTS = ("ConditionalCheckFailed", "TransactionConflict")


class DynamoDbHandoffRepository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # ---------------------------------------------------------------------------------------------- reads

    def handoff(self, handoff_id: str) -> Handoff | None:
        item = self._get(handoff_pk(handoff_id), STATE)
        return None if item is None else handoff_from(item)

    def open_handoff_of(self, lead_id: str) -> str | None:
        item = self._get(lead_pk(lead_id), OPEN_HANDOFF, "handoff_id")
        return None if item is None else str(item["handoff_id"])

    def onboarded_by(self, subject: str) -> str | None:
        item = self._get(lead_pk(subject), ONBOARDED, "handoff_id")
        return None if item is None else str(item["handoff_id"])

    def rep_loads(self) -> dict[str, RepLoad]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :reps",
            "ExpressionAttributeValues": serialize({":reps": REPS}),
            "ConsistentRead": True,
        }
        loads = (rep_load_from(item) for item in query_pages(self._client, request))
        return {load.rep_id: load for load in loads}

    def _get(self, pk: str, sk: str, projection: str | None = None) -> dict[str, Any] | None:
        return get_item(self._client, self._table, pk, sk, projection)

    # --------------------------------------------------------------------------------------------- writes

    def commit(self, change: HandoffChange) -> None:
        handoff = change.handoff
        if handoff.version < 1:
            raise ValueError(f"handoff {handoff.handoff_id}: a stored handoff's version is 1 or more")
        rep_ids = [delta.rep_id for delta in change.reps]
        if len(set(rep_ids)) != len(rep_ids):
            raise ValueError("a change holds at most one delta per rep")
        if len(change.reps) + 4 > TRANSACTION_LIMIT:
            raise ValueError(f"a change touches at most {TRANSACTION_LIMIT - 4} reps")
        item = handoff_item(handoff)
        check_size(item, f"handoff {handoff.handoff_id}")
        writes = [self._handoff_put(item, handoff)]
        if change.lead_lock is LeadLock.CLAIM:
            writes.append(self._lock_claim(handoff))
        elif change.lead_lock is LeadLock.RELEASE and self.open_handoff_of(handoff.lead_id) == handoff.handoff_id:
            writes.append(self._lock_release(handoff))
        if change.onboarded:
            onboarded = {
                "TableName": self._table,
                "Item": serialize(onboarded_item(handoff.lead_id, handoff.handoff_id)),
            }
            what = f"the onboarding of {handoff.lead_id}"
            writes.append(ConditionalWrite({"Put": onboarded}, what, lambda _: f"{what} has no condition to fail"))
        writes.append(self._announcement_marker(handoff))
        writes += [self._rep_update(delta) for delta in change.reps]
        transact(self._client, writes, HandoffConflict)

    def _announcement_marker(self, handoff: Handoff) -> ConditionalWrite:
        """The handoff's unannounced marker, put while a transition is unannounced, deleted once none is."""
        what = f"the announcement marker of handoff {handoff.handoff_id}"
        if handoff.announced < len(handoff.history):
            put = {"TableName": self._table, "Item": serialize(unannounced_item(handoff.handoff_id))}
            return ConditionalWrite({"Put": put}, what, lambda _: f"{what} has no condition to fail")
        marker = key(unannounced_pk(handoff.handoff_id), handoff_pk(handoff.handoff_id))
        delete = {"TableName": self._table, "Key": marker}
        return ConditionalWrite({"Delete": delete}, what, lambda _: f"{what} has no condition to fail")

    def unannounced(self, limit: int = 100) -> list[Handoff]:
        """One query per marker shard (ids only), then each marked handoff read. A marker whose handoff is gone
        (erased) is deleted as found, so it takes no place in later sweeps."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        found: list[Handoff] = []
        for shard in unannounced_shards():
            request: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :shard",
                "ExpressionAttributeValues": serialize({":shard": shard}),
                "ProjectionExpression": "handoff_id",
                "ConsistentRead": True,
                "Limit": limit,
            }
            for marker in query_pages(self._client, request):
                if len(found) >= limit:
                    return found
                handoff = self.handoff(str(marker["handoff_id"]))
                if handoff is None:
                    self._client.delete_item(TableName=self._table, Key=key(shard, handoff_pk(marker["handoff_id"])))
                elif handoff.announced < len(handoff.history):
                    found.append(handoff)
        return found

    def _handoff_put(self, item: dict[str, Any], handoff: Handoff) -> ConditionalWrite:
        expected = handoff.version - 1
        put = {
            "TableName": self._table,
            "Item": serialize(item),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **version_condition(expected),
        }
        what = f"handoff {handoff.handoff_id}"

        def refused(old: dict[str, Any] | None) -> str:
            if old is None:
                return f"{what} does not exist (it was read at version {expected})"
            if expected == 0:
                return f"{what} exists already (version {old.get('version')})"
            return f"{what} is at version {old.get('version')}, not {expected} as read"

        return ConditionalWrite({"Put": put}, what, refused)

    def _lock_claim(self, handoff: Handoff) -> ConditionalWrite:
        what = f"lead {handoff.lead_id}"
        put = {
            "TableName": self._table,
            "Item": serialize(lock_item(handoff.lead_id, handoff.handoff_id)),
            "ConditionExpression": "attribute_not_exists(pk) OR #holder = :handoff",
            "ExpressionAttributeNames": {"#holder": "handoff_id"},
            "ExpressionAttributeValues": serialize({":handoff": handoff.handoff_id}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return ConditionalWrite(
            {"Put": put}, what, lambda old: f"{what} is held by open handoff {(old or {}).get('handoff_id')}"
        )

    def _lock_release(self, handoff: Handoff) -> ConditionalWrite:
        what = f"lead {handoff.lead_id}"
        delete = {
            "TableName": self._table,
            "Key": key(lead_pk(handoff.lead_id), OPEN_HANDOFF),
            "ConditionExpression": "attribute_not_exists(pk) OR #holder = :handoff",
            "ExpressionAttributeNames": {"#holder": "handoff_id"},
            "ExpressionAttributeValues": serialize({":handoff": handoff.handoff_id}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        return ConditionalWrite(
            {"Delete": delete}, what, lambda old: f"{what} was taken by open handoff {(old or {}).get('handoff_id')}"
        )

    def _rep_update(self, delta: RepDelta) -> ConditionalWrite:
        names = {
            "#rep": "rep_id",
            "#entity": "entity",
            "#open": "open_handoffs",
            "#assigned": "assignments",
            "#version": "version",
        }
        values: dict[str, Any] = {
            ":rep": delta.rep_id,
            ":entity": "rep_load",
            ":open": delta.open_delta,
            ":assigned": delta.assignment_delta,
            ":one": 1,
        }
        if delta.expected_version == 0:
            conditions = ["attribute_not_exists(#version)"]
        else:
            conditions = ["#version = :expected"]
            values[":expected"] = delta.expected_version
        if delta.capacity is not None:
            values[":most_open_before"] = most = delta.capacity - delta.open_delta
            # A load not stored yet has no open handoffs: it passes when 0 open would.
            conditions.append(
                "(attribute_not_exists(#open) OR #open <= :most_open_before)"
                if most >= 0
                else "#open <= :most_open_before"
            )
        rotation = ""
        if delta.rotation is not None:
            names["#rotation"], values[":rotation"] = "rotation", delta.rotation
            rotation = ", #rotation = :rotation"
        update = {
            "TableName": self._table,
            "Key": key(REPS, rep_sk(delta.rep_id)),
            "UpdateExpression": f"SET #rep = :rep, #entity = :entity{rotation} "
            "ADD #open :open, #assigned :assigned, #version :one",
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        what = f"rep {delta.rep_id}"

        def refused(old: dict[str, Any] | None) -> str:
            version = int(old.get("version", 0)) if old else 0
            if version != delta.expected_version:
                return f"{what}'s load is at version {version}, not {delta.expected_version} as read"
            open_now = int(old.get("open_handoffs", 0)) if old else 0
            return f"{what} is at capacity: {open_now} open handoffs {delta.open_delta:+d} would pass {delta.capacity}"

        return ConditionalWrite({"Update": update}, what, refused)

    def set_rep_overrides(
        self, rep_id: str, available: bool | None, capacity: int | None, overrides_version: str
    ) -> RepLoad:
        """Last writer wins (an operator's setting); the version moves, so a commit computed from the load as
        it was conflicts and is decided again under the new overrides."""
        if capacity is not None and capacity < 0:
            raise InvalidInput("capacity must be 0 or more")
        names = {
            "#rep": "rep_id",
            "#entity": "entity",
            "#overrides": "overrides_version",
            "#open": "open_handoffs",
            "#assigned": "assignments",
            "#available": "available",
            "#capacity": "capacity",
            "#version": "version",
        }
        values: dict[str, Any] = {
            ":rep": rep_id,
            ":entity": "rep_load",
            ":overrides": overrides_version,
            ":zero": 0,
            ":one": 1,
        }
        sets = [
            "#rep = :rep",
            "#entity = :entity",
            "#overrides = :overrides",
            "#open = if_not_exists(#open, :zero)",
            "#assigned = if_not_exists(#assigned, :zero)",
        ]
        removes = []
        for name, value in (("available", available), ("capacity", capacity)):
            if value is None:
                removes.append(f"#{name}")
            else:
                sets.append(f"#{name} = :{name}")
                values[f":{name}"] = value
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        response = self._client.update_item(
            TableName=self._table,
            Key=key(REPS, rep_sk(rep_id)),
            UpdateExpression=expression + " ADD #version :one",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=serialize(values),
            ReturnValues="ALL_NEW",
        )
        return rep_load_from(plain(response["Attributes"]))

    # ------------------------------------------------------------------------------------------- listings

    def handoffs(
        self,
        status: HandoffStatus | None = None,
        rep_id: str | None = None,
        priority: Priority | None = None,
        limit: int = 50,
        cursor: str | None = None,
        oldest_first: bool = False,
    ) -> HandoffPage:
        """Newest first (requested_at, then handoff id, descending), or with `oldest_first` ascending
        (ScanIndexForward). Asks each query for one handoff more than the page, so the cursor is None exactly
        when nothing follows."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        query = Position(
            "",
            None if status is None else HandoffStatus(status).value,
            rep_id,
            None if priority is None else Priority(priority).value,
            oldest_first,
        )
        before: str | None = None
        if cursor is not None:
            position = decode_cursor(cursor)
            if (position.status, position.rep_id, position.priority) != (query.status, query.rep_id, query.priority):
                raise InvalidInput("cursor belongs to a listing with other filters; start again without it")
            if position.oldest_first != oldest_first:
                raise InvalidInput("cursor belongs to a listing in the other order; start again without it")
            before = position.after
        filters: dict[str, str] = {}
        if priority is not None:
            filters["priority"] = Priority(priority).value
        if rep_id is not None:
            if status is not None:
                filters["status"] = HandoffStatus(status).value
            sources = [
                self._in_order(BY_REP, "rep_partition", rep_partition(rep_id), before, filters, limit, oldest_first)
            ]
        else:
            statuses = list(HandoffStatus) if status is None else [HandoffStatus(status)]
            sources = [
                self._in_order(BY_STATUS, "status_partition", status_partition(s), before, filters, limit, oldest_first)
                for s in statuses
            ]
        merged = heapq.merge(*sources, key=lambda item: str(item["requested_sort"]), reverse=not oldest_first)
        items = list(itertools.islice(merged, limit + 1))
        page = items[:limit]
        next_cursor = None
        if len(items) > limit:
            next_cursor = encode_cursor(
                Position(str(page[-1]["requested_sort"]), query.status, query.rep_id, query.priority, oldest_first)
            )
        return HandoffPage([handoff_from(item) for item in page], next_cursor)

    def _in_order(
        self,
        index: str,
        partition_key: str,
        partition: str,
        after: str | None,
        filters: dict[str, str],
        limit: int,
        oldest_first: bool,
    ) -> Iterator[dict[str, Any]]:
        """One index partition newest first (or oldest first), past the cursor's `requested_sort` if any."""
        names = {"#partition": partition_key}
        values: dict[str, Any] = {":partition": partition}
        condition = "#partition = :partition"
        if after is not None:
            names["#sort"], values[":after"] = "requested_sort", after
            condition += f" AND #sort {'>' if oldest_first else '<'} :after"
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": oldest_first,
            "Limit": read_limit(limit + 1, bool(filters)),  # applied before the filter
        }
        if filters:
            names.update({f"#f_{name}": name for name in filters})
            values.update({f":f_{name}": value for name, value in filters.items()})
            request["FilterExpression"] = " AND ".join(f"#f_{name} = :f_{name}" for name in filters)
        request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = serialize(values)
        return query_pages(self._client, request)

    def requested_between(self, start: datetime, end: datetime) -> Iterator[Handoff]:
        """Oldest first: one by-day query per UTC day of [start, end), on the sort key's range."""
        low, high = iso(start), iso(end)  # aware datetimes only, checked now rather than on first use
        first, last = start.astimezone(UTC).date(), (end.astimezone(UTC) - timedelta(microseconds=1)).date()
        days = [first + timedelta(days=n) for n in range((last - first).days + 1)] if start < end else []
        return self._requested_on(days, low, high)

    def _requested_on(self, days: list[date], low: str, high: str) -> Iterator[Handoff]:
        for day in days:
            # `<iso(end)>#<id>` sorts after `<iso(end)>`: BETWEEN takes requested_at >= start and < end.
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": BY_DAY,
                "KeyConditionExpression": "#day = :day AND #sort BETWEEN :low AND :high",
                "ExpressionAttributeNames": {"#day": "day_partition", "#sort": "requested_sort"},
                "ExpressionAttributeValues": serialize({":day": day_partition(day), ":low": low, ":high": high}),
            }
            yield from (handoff_from(item) for item in query_pages(self._client, request))
