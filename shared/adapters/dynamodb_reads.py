"""How every DynamoDB adapter of the hub reads: one item by key, every page of a query, every item of a
partition, and many items by key (BatchGetItem, its unprocessed keys asked again). Items come back as plain
values (`dynamodb_items.plain`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from shared.adapters.dynamodb_items import key, plain, serialize

BATCH_GET_LIMIT = 100  # DynamoDB's limit on the keys of one BatchGetItem
UNPROCESSED_RETRIES = 8


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
