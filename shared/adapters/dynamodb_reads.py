"""How every DynamoDB adapter of the hub reads: one item by key, every page of a query, a filtered page read
in bounded work, every item of a partition, and many items by key (BatchGetItem, its unprocessed keys asked
again). Items come back as plain values (`dynamodb_items.plain`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from shared.adapters.dynamodb_items import key, plain, serialize

BATCH_GET_LIMIT = 100  # DynamoDB's limit on the keys of one BatchGetItem
UNPROCESSED_RETRIES = 8
# DynamoDB applies a Query's Limit before its filter: a page of 1 line among 1,000 that the filter drops would
# take 500 round trips at Limit 2. A filtered query reads this many items a call instead (billed by the bytes
# read, not by the call) and the page is cut from what matched.
FILTERED_READ = 1_000
# ... and stops after reading about this many, answering a short page and where to resume: a filter that
# matches little must not read a whole month in one API request (API Gateway gives up at 29 s).
FILTERED_READ_BUDGET = 10_000


def get_item(client: Any, table: str, pk: str, sk: str, projection: str | None = None) -> dict[str, Any] | None:
    """The item under (pk, sk), strongly consistent (None: absent)."""
    request: dict[str, Any] = {"TableName": table, "Key": key(pk, sk), "ConsistentRead": True}
    if projection:
        request["ProjectionExpression"] = projection
    response = client.get_item(**request)
    return plain(response["Item"]) if "Item" in response else None


def query_pages(client: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item the Query returns, following every page (the request is continued in place)."""
    while True:
        response = client.query(**request)
        yield from (plain(item) for item in response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def read_limit(wanted: int, filtered: bool) -> int:
    """The Limit of a Query for `wanted` items: exactly that without a filter, `FILTERED_READ` with one."""
    return max(wanted, FILTERED_READ) if filtered else wanted


@dataclass(frozen=True)
class BoundedPage:
    """Up to the wanted items a Query matched, in its order; `resume_after` is the key of the last item read
    when the read budget ran out before the page was full and more items follow (None otherwise)."""

    items: list[dict[str, Any]]
    resume_after: dict[str, Any] | None


def bounded_query(client: Any, request: dict[str, Any], wanted: int, budget: int = FILTERED_READ_BUDGET) -> BoundedPage:
    """The first `wanted` items the Query matches, reading about `budget` items at most (a filter may drop
    most of what is read); the request is continued in place."""
    items: list[dict[str, Any]] = []
    read = 0
    while True:
        response = client.query(**request)
        items += (plain(item) for item in response.get("Items", []))
        read += int(response.get("ScannedCount", 0))
        last = response.get("LastEvaluatedKey")
        if len(items) >= wanted or last is None:
            return BoundedPage(items[:wanted], None)
        if read >= budget:
            return BoundedPage(items, plain(last))
        request["ExclusiveStartKey"] = last


def partition_items(client: Any, table: str, pk: str, prefix: str | None = None) -> Iterator[dict[str, Any]]:
    """Every item of a partition (with a sort key starting with `prefix`), in sort key order, strongly
    consistent."""
    values = {":pk": pk}
    condition = "pk = :pk"
    if prefix is not None:
        values[":prefix"] = prefix
        condition += " AND begins_with(sk, :prefix)"
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": serialize(values),
        "ConsistentRead": True,
    }
    return query_pages(client, request)


def batch_get(
    client: Any,
    table: str,
    keys: Sequence[dict[str, Any]],
    what: str,
    sleep: Callable[[float], None],
    projection: str | None = None,
) -> list[dict[str, Any]]:
    """The items found under these (distinct) keys, in no particular order: BatchGetItem by 100 keys, strongly
    consistent. Unprocessed keys are asked again, with backoff (`sleep`) while DynamoDB processes none of them:
    `UNPROCESSED_RETRIES` times in a row at most, then RuntimeError ("DynamoDB left N <what> unprocessed")."""
    found: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        wanted: dict[str, Any] = {"Keys": list(keys[start : start + BATCH_GET_LIMIT]), "ConsistentRead": True}
        if projection:
            wanted["ProjectionExpression"] = projection
        request: dict[str, Any] = {table: wanted}
        asked, idle = len(wanted["Keys"]), 0
        while True:
            response = client.batch_get_item(RequestItems=request)
            found.extend(plain(item) for item in response.get("Responses", {}).get(table, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                break
            left = len(request[table]["Keys"])
            idle = 0 if left < asked else idle + 1
            if idle > UNPROCESSED_RETRIES:
                raise RuntimeError(f"DynamoDB left {left} {what} unprocessed")
            sleep(min(0.025 * 2**idle, 1.0))
            asked = left
    return found
