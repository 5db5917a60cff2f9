"""The finance store in DynamoDB (table `finance`; item layout in `dynamodb_finance_items.py`).

`record(chunk)` is one TransactWriteItems:

- each line: a Put of its `LINE` item on condition `attribute_not_exists(pk)` (its `spend_id` is new), and a Put
  of a `MONTH#` listing item for each further month a service period touches (no condition: the line's own
  decides; they are new with it);
- each reversal: an Update of the original's `LINE` item setting `reversed_by`, on condition
  `attribute_exists(pk) AND attribute_not_exists(reversed_by)` (it exists and was not reversed yet);
- each correction: an Update of the original's `LINE` item setting `corrected_by`, on condition
  `attribute_exists(pk) AND attribute_exists(reversed_by) AND attribute_not_exists(corrected_by)` (it exists, is
  reversed, and is not corrected yet). An original reversed and corrected by the same chunk is one Update of
  both (its condition: not reversed, not corrected), and an original written by the same chunk gets them in its
  Put instead (a transaction takes one operation per item);
- each aggregate key: an Update `ADD actual :total, d<dd> :delta, ...` (its month total and each day's; ADD
  starts a missing counter at 0). One item per key whatever the days: a transactional write costs 2 write
  units per item, and a month of daily spend lines would otherwise update a day item for every day it spans.

A chunk of more than `MAX_CHUNK_ITEMS` items (`chunk.items`), a line whose `spend_id` appears twice, a key
that cannot be laid out (see the items module), a day outside its month or a quarter as a ledger period is a
ValueError before any call. Any condition that fails, or a
transaction conflict (DynamoDB cancels transactions that touch an item another transaction is writing), is a
`SpendConflict` naming the items: nothing of the chunk is written. Every other error propagates.

Budgets: `put_budget` writes `CURRENT` (on condition of the version read: absent for 0) and `V#<version>`
(on condition it is new) in one transaction; a failed condition or a transaction conflict is `StaleBudget`.
Alerts: an alert's item keeps its `state` (fired or armed) and its arm `generation`; `fire`, `rearm` (armed at
the next generation) and `unfire` (armed at the same one) are each a Put on condition the item is in the state
and generation the caller read, so exactly one caller wins and none acts on a state that moved.

Reads of single partitions are strongly consistent and follow every page DynamoDB returns. `lines` reads
the by-period index (eventually consistent, as every GSI): a month's lines by `incurred_on`, then `spend_id`;
`campaign_id` and `channel` are filters, read 1,000 items a call; a page stops after reading about
`read_budget` items, short (even empty) but with a cursor, so a filter that matches little costs bounded work per
request. A cursor holds the last `line_sort` returned (or read, for a short page) and the query it belongs to;
the next page is read with `line_sort > that` as the key condition. The `MONTH#` listing items of a page
(service-period lines counted in the month after their first) are resolved to their `LINE` items with one
BatchGetItem, strongly consistent; a page without any reads nothing more.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_finance_items import (
    AGG,
    CURRENT,
    FX_TABLE,
    LINE,
    VERSION,
    LinePosition,
    aggregate_key_from,
    aggregate_sk,
    alert_pk,
    alert_sk,
    budget_from,
    budget_item,
    budget_pk,
    check_cursor,
    check_size,
    checked_days,
    daily_from,
    day_attribute,
    encode_cursor,
    fx_from,
    fx_item,
    fx_pk,
    is_listing,
    key_days_from,
    listing_items,
    month_text,
    period_pk,
    period_text,
    spend_from,
    spend_item,
    spend_pk,
    version_sk,
)
from shared.adapters.dynamodb_items import ConditionalWrite, key, serialize, transact, version_condition
from shared.adapters.dynamodb_reads import (
    FILTERED_READ_BUDGET,
    batch_get,
    bounded_query,
    get_item,
    partition_items,
    read_limit,
)
from shared.errors import InvalidInput
from shared.finance.budget_engine import Budget
from shared.finance.fx import FxTable
from shared.finance.ports import (
    MAX_CHUNK_ITEMS,
    AlertState,
    MonthActuals,
    SpendChunk,
    SpendConflict,
    SpendPage,
    StaleBudget,
    StoredBudget,
    StoredSpend,
    check_budget_version,
)
from shared.finance.spend import SpendKey

BY_PERIOD = "by-period"
FIRED, ARMED = "fired", "armed"  # an alert's `state`


class DynamoDbFinanceStore:
    def __init__(self, client: Any, table_name: str, read_budget: int = FILTERED_READ_BUDGET) -> None:
        self._client = client
        self._table = table_name
        self._read_budget = read_budget  # items a filtered listing reads per page at most

    # ----------------------------------------------------------------------------------------------- lines

    def spend(self, spend_ids: Sequence[str]) -> dict[str, StoredSpend]:
        """BatchGetItem by 100 keys, strongly consistent; unprocessed keys are asked again (with backoff)."""
        wanted = list(dict.fromkeys(spend_ids))
        keys = [key(spend_pk(spend_id), LINE) for spend_id in wanted]
        stored = (spend_from(item) for item in batch_get(self._client, self._table, keys, "spend keys", time.sleep))
        found = {one.line.spend_id: one for one in stored}
        return {spend_id: found[spend_id] for spend_id in wanted if spend_id in found}

    def record(self, chunk: SpendChunk) -> None:
        writes = self._chunk_writes(chunk)
        if writes:
            transact(self._client, writes, SpendConflict)

    def _chunk_writes(self, chunk: SpendChunk) -> list[ConditionalWrite]:
        if chunk.items > MAX_CHUNK_ITEMS:
            raise ValueError(
                f"a chunk holds at most {MAX_CHUNK_ITEMS} items (lines + aggregate keys + reversals), not {chunk.items}"
            )
        ids = [stored.line.spend_id for stored in chunk.lines]
        repeated = sorted(spend_id for spend_id, times in Counter(ids).items() if times > 1)
        if repeated:
            raise ValueError(f"a chunk holds each spend_id once: {', '.join(repeated)} repeated")
        for original, reversal in chunk.reversals.items():
            if original == reversal:
                raise ValueError(f"spend line {original} cannot reverse itself")
        for original, correction in chunk.corrections.items():
            if original == correction:
                raise ValueError(f"spend line {original} cannot correct itself")
        writes = []
        for stored in chunk.lines:
            spend_id = stored.line.spend_id
            item = spend_item(stored, chunk.reversals.get(spend_id), chunk.corrections.get(spend_id))
            check_size(item, f"spend line {spend_id}")
            writes.append(self._line_put(item, spend_id))
            writes += [self._listing_put(listing) for listing in listing_items(stored.line)]
        in_chunk = set(ids)
        originals = [o for o in dict.fromkeys([*chunk.reversals, *chunk.corrections]) if o not in in_chunk]
        writes += [
            self._original_update(original, chunk.reversals.get(original), chunk.corrections.get(original))
            for original in originals
        ]
        seen: set[tuple[str, str]] = set()
        for (period, spend_key), days in chunk.deltas.items():
            month = month_text(period)
            where = (period_pk(month), aggregate_sk(spend_key))
            what = f"aggregate {month} {spend_key}"
            if where in seen:
                raise ValueError(f"{what} is keyed twice in the chunk")
            seen.add(where)
            writes.append(self._add(*where, checked_days(month, days, what), what))
        return writes

    def _line_put(self, item: dict[str, Any], spend_id: str) -> ConditionalWrite:
        put = {
            "TableName": self._table,
            "Item": serialize(item),
            "ConditionExpression": "attribute_not_exists(pk)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        what = f"spend line {spend_id}"

        def refused(old: dict[str, Any] | None) -> str:
            return f"{what} exists already (recorded at {(old or {}).get('recorded_at')})"

        return ConditionalWrite({"Put": put}, what, refused)

    def _listing_put(self, item: dict[str, Any]) -> ConditionalWrite:
        what = f"listing of spend line {item['spend_id']} in {item['sk'].removeprefix('MONTH#')}"
        put = {"TableName": self._table, "Item": serialize(item)}
        return ConditionalWrite({"Put": put}, what, lambda _: f"{what} refused its put")

    def _original_update(self, original: str, reversal: str | None, correction: str | None) -> ConditionalWrite:
        """The update of an original the chunk reverses and/or corrects (one operation on its item)."""
        sets, conditions = [], ["attribute_exists(pk)"]
        names: dict[str, str] = {"#reversed": "reversed_by"}
        values: dict[str, Any] = {}
        whats = []
        if reversal is not None:
            sets.append("#reversed = :reversal")
            conditions.append("attribute_not_exists(#reversed)")
            values[":reversal"] = reversal
            whats.append(f"reversal {reversal}")
        if correction is not None:
            names["#corrected"] = "corrected_by"
            sets.append("#corrected = :correction")
            if reversal is None:
                conditions.append("attribute_exists(#reversed)")
            conditions.append("attribute_not_exists(#corrected)")
            values[":correction"] = correction
            whats.append(f"correction {correction}")
        update = {
            "TableName": self._table,
            "Key": key(spend_pk(original), LINE),
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        what = f"original {original} of {' and '.join(whats)}"

        def refused(old: dict[str, Any] | None) -> str:
            if old is None:
                return f"{what} does not exist"
            if reversal is not None and old.get("reversed_by") is not None:
                return f"{what} was reversed already by {old.get('reversed_by')}"
            if old.get("corrected_by") is not None:
                return f"{what} was corrected already by {old.get('corrected_by')}"
            return f"{what} is not reversed"

        return ConditionalWrite({"Update": update}, what, refused)

    def _add(self, pk: str, sk: str, days: dict[date, int], what: str) -> ConditionalWrite:
        names = {"#actual": "actual"} | {f"#d{day.day}": day_attribute(day) for day in days}
        values = {":total": sum(days.values())} | {f":d{day.day}": delta for day, delta in days.items()}
        update = {
            "TableName": self._table,
            "Key": key(pk, sk),
            "UpdateExpression": "ADD #actual :total, " + ", ".join(f"#d{day.day} :d{day.day}" for day in days),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
        }
        return ConditionalWrite({"Update": update}, what, lambda _: f"{what} refused its update")

    def lines(
        self,
        period: str,
        campaign_id: str | None = None,
        channel: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> SpendPage:
        """Asks for one line more than the page, so the cursor is None exactly when nothing follows."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        month = month_text(period)
        query = LinePosition("", month, campaign_id, channel)
        names = {"#period": "line_period"}
        values: dict[str, Any] = {":period": period_pk(month)}
        condition = "#period = :period"
        if cursor is not None:
            names["#sort"], values[":after"] = "line_sort", check_cursor(cursor, query)
            condition += " AND #sort > :after"
        filters = {name: value for name, value in (("campaign_id", campaign_id), ("channel", channel)) if value}
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": BY_PERIOD,
            "KeyConditionExpression": condition,
            "ScanIndexForward": True,
            "Limit": read_limit(limit + 1, bool(filters)),
        }
        if filters:
            names.update({f"#f_{name}": name for name in filters})
            values.update({f":f_{name}": value for name, value in filters.items()})
            request["FilterExpression"] = " AND ".join(f"#f_{name} = :f_{name}" for name in filters)
        request["ExpressionAttributeNames"] = names
        request["ExpressionAttributeValues"] = serialize(values)
        read = bounded_query(self._client, request, limit + 1, self._read_budget)
        page = read.items[:limit]
        after = None
        if len(read.items) > limit:
            after = str(page[-1]["line_sort"])
        elif read.resume_after is not None:
            after = str(read.resume_after["line_sort"])  # a short page: the filter dropped what was read
        next_cursor = None if after is None else encode_cursor(LinePosition(after, month, campaign_id, channel))
        listed = [str(item["spend_id"]) for item in page if is_listing(item)]
        lines = self.spend(listed) if listed else {}
        items = [lines.get(str(item["spend_id"])) if is_listing(item) else spend_from(item) for item in page]
        return SpendPage([one for one in items if one is not None], next_cursor)

    # ------------------------------------------------------------------------------------------ aggregates

    def aggregates(self, period: str) -> dict[SpendKey, int]:
        items = self._partition(period_pk(month_text(period)), AGG)
        return {aggregate_key_from(str(item["sk"])): int(item.get("actual", 0)) for item in items}

    def month_actuals(self, period: str) -> MonthActuals:
        """One read of the month's partition (its aggregates with their days, and the day items of a ledger
        written before: counted in `by_day`, by no key)."""
        month = month_text(period)
        items = list(self._partition(period_pk(month)))
        aggregates = [item for item in items if str(item["sk"]).startswith(AGG)]
        by_key = {aggregate_key_from(str(item["sk"])): int(item.get("actual", 0)) for item in aggregates}
        by_key_day = {aggregate_key_from(str(item["sk"])): key_days_from(item, month) for item in aggregates}
        return MonthActuals(by_key, daily_from(items, month), by_key_day)

    # -------------------------------------------------------------------------------------------------- FX

    def fx(self, period: str) -> FxTable | None:
        item = self._get(fx_pk(period_text(period)), FX_TABLE)
        return None if item is None else fx_from(item)

    def put_fx(self, table: FxTable) -> None:
        """Last writer wins: a period's table is replaced whole."""
        self._client.put_item(TableName=self._table, Item=serialize(fx_item(table)))

    # --------------------------------------------------------------------------------------------- budgets

    def budget(self, period: str) -> StoredBudget | None:
        item = self._get(budget_pk(period_text(period)), CURRENT)
        return None if item is None else budget_from(item)

    def put_budget(self, budget: Budget, expected_version: int, at: datetime, by: str) -> StoredBudget:
        if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 0:
            raise ValueError(f"the version read is 0 (no budget) or more, not {expected_version!r}")
        if at.tzinfo is None:
            raise ValueError(f"naive datetime {at!r}: the finance store keeps aware datetimes only")
        stored = StoredBudget(budget, expected_version + 1, at.astimezone(UTC), by)
        current = budget_item(stored, CURRENT)
        what = f"budget of {budget.period}"
        check_size(current, what)
        put = {
            "TableName": self._table,
            "Item": serialize(current),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            **version_condition(expected_version),
        }

        def refused(old: dict[str, Any] | None) -> str:
            if old is None:
                return f"{what} does not exist (it was read at version {expected_version})"
            return f"{what} is at version {old.get('version')}, not {expected_version} as read"

        version = {
            "TableName": self._table,
            "Item": serialize(budget_item(stored, version_sk(stored.version))),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        transact(
            self._client,
            [
                ConditionalWrite({"Put": put}, what, refused),
                ConditionalWrite(
                    {"Put": version}, f"{what}, version {stored.version}", lambda _: f"{what}: version exists"
                ),
            ],
            StaleBudget,
        )
        return stored

    def budget_versions(self, period: str) -> list[StoredBudget]:
        return [budget_from(item) for item in self._partition(budget_pk(period_text(period)), VERSION)]

    def budget_version(self, period: str, version: int) -> StoredBudget | None:
        check_budget_version(version)
        item = self._get(budget_pk(period_text(period)), version_sk(version))
        return None if item is None else budget_from(item)

    # ---------------------------------------------------------------------------------------------- alerts

    def fired(self, period: str) -> set[tuple[str, int]]:
        return {alert for alert, state in self.alerts(period).items() if state.fired}

    def alerts(self, period: str) -> dict[tuple[str, int], AlertState]:
        """An item without `state` and `generation` was fired before generations were kept: fired at 0."""
        return {
            (str(item["label"]), int(item["threshold"])): AlertState(
                int(item.get("generation", 0)), item.get("state", FIRED) == FIRED
            )
            for item in self._partition(alert_pk(period_text(period)))
        }

    def fire(self, period: str, label: str, threshold: int, generation: int) -> bool:
        return self._move_alert(period, label, threshold, AlertState(generation, False), AlertState(generation, True))

    def rearm(self, period: str, label: str, threshold: int, generation: int) -> bool:
        read, then = AlertState(generation, True), AlertState(generation + 1, False)
        return self._move_alert(period, label, threshold, read, then)

    def unfire(self, period: str, label: str, threshold: int, generation: int) -> bool:
        return self._move_alert(period, label, threshold, AlertState(generation, True), AlertState(generation, False))

    def _move_alert(self, period: str, label: str, threshold: int, read: AlertState, then: AlertState) -> bool:
        """One conditional put: the alert's item as `then`, on condition it is as `read` (absent is armed at
        generation 0; an item without `state` or `generation` is fired at 0)."""
        sk = alert_sk(label, threshold)
        if isinstance(read.generation, bool) or not isinstance(read.generation, int) or read.generation < 0:
            raise ValueError(f"an alert's generation is a whole number 0 or more, not {read.generation!r}")
        item = {
            "pk": alert_pk(period_text(period)),
            "sk": sk,
            "label": label,
            "threshold": threshold,
            "generation": then.generation,
            "state": FIRED if then.fired else ARMED,
        }
        generation = "#generation = :read"
        if read.generation == 0:
            generation = f"(attribute_not_exists(#generation) OR {generation})"
        if read.fired:
            condition = f"attribute_exists(pk) AND (attribute_not_exists(#state) OR #state = :state) AND {generation}"
        else:
            condition = f"#state = :state AND {generation}"
            if read.generation == 0:
                condition = f"attribute_not_exists(pk) OR ({condition})"
        try:
            self._client.put_item(
                TableName=self._table,
                Item=serialize(item),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#state": "state", "#generation": "generation"},
                ExpressionAttributeValues=serialize(
                    {":read": read.generation, ":state": FIRED if read.fired else ARMED}
                ),
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # ------------------------------------------------------------------------------------------------ reads

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        return get_item(self._client, self._table, pk, sk)

    def _partition(self, pk: str, prefix: str | None = None) -> Iterator[dict[str, Any]]:
        return partition_items(self._client, self._table, pk, prefix)
