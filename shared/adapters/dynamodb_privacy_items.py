"""What the privacy adapters share: reading every item of a partition, deleting items in batches, keys and string
attributes in DynamoDB JSON, and plain values made JSON-ready for an export."""

from __future__ import annotations

import base64
import zlib
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from shared.adapters.dynamodb_items import plain

BATCH_WRITE = 25  # BatchWriteItem's limit
BATCH_GET = 100  # BatchGetItem's limit
MAX_UNPROCESSED_ROUNDS = 8
MAX_MERGE_HOPS = 20  # merged_into chains and members are short; this bounds a corrupt cycle


def query_partition(client: Any, table: str, pk: str, sk_prefix: str | None = None) -> list[dict[str, Any]]:
    """Every item under `pk` (whose sort key begins with `sk_prefix`), as DynamoDB JSON, strongly consistent."""
    request: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk" + (" AND begins_with(sk, :prefix)" if sk_prefix else ""),
        "ExpressionAttributeValues": {":pk": {"S": pk}} | ({":prefix": {"S": sk_prefix}} if sk_prefix else {}),
        "ConsistentRead": True,
    }
    return list(pages(client.query, request))


def scan_matching(
    client: Any, table: str, filter_expression: str, values: Mapping[str, Any], names: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """The items a filtered scan finds (for small tables with no index on what is looked for; see the callers)."""
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": filter_expression,
        "ExpressionAttributeValues": dict(values),
    }
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    return list(pages(client.scan, request))


def pages(call: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a query or scan `request` reads, page after page, as it reads them."""
    while True:
        answer = call(**request)
        yield from answer.get("Items", [])
        if "LastEvaluatedKey" not in answer:
            return
        request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]


def get_items(client: Any, table: str, keys: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The items that exist among `keys` (DynamoDB JSON keys), in no particular order."""
    found: list[dict[str, Any]] = []
    unique = list({tuple(sorted((k, v["S"]) for k, v in key.items())): key for key in keys}.values())
    for start in range(0, len(unique), BATCH_GET):
        pending: dict[str, Any] = {table: {"Keys": unique[start : start + BATCH_GET], "ConsistentRead": True}}
        for _ in range(MAX_UNPROCESSED_ROUNDS):
            answer = client.batch_get_item(RequestItems=pending)
            found.extend(answer.get("Responses", {}).get(table, []))
            pending = answer.get("UnprocessedKeys") or {}
            if not pending:
                break
        else:
            raise RuntimeError(f"DynamoDB left keys of {table} unprocessed after {MAX_UNPROCESSED_ROUNDS} rounds")
    return found


def delete_items(client: Any, table: str, keys: Sequence[Mapping[str, Any]]) -> int:
    """Delete the items (DynamoDB JSON keys); how many keys were deleted (absent ones count: a delete is a
    delete)."""
    for start in range(0, len(keys), BATCH_WRITE):
        pending: dict[str, Any] = {
            table: [{"DeleteRequest": {"Key": dict(key)}} for key in keys[start : start + BATCH_WRITE]]
        }
        for _ in range(MAX_UNPROCESSED_ROUNDS):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
        else:
            raise RuntimeError(f"DynamoDB left deletes of {table} unprocessed after {MAX_UNPROCESSED_ROUNDS} rounds")
    return len(keys)


def item_key(item: Mapping[str, Any], sort_key: bool = True) -> dict[str, Any]:
    return {"pk": item["pk"], "sk": item["sk"]} if sort_key else {"pk": item["pk"]}


def composite_key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def string_attribute(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, Mapping) else None


def exported(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (DynamoDB JSON) as an export shows it: plain JSON values; compressed binaries inflated."""
    return {name: json_ready(value) for name, value in plain(dict(item)).items()}


def json_ready(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
        try:
            return zlib.decompress(raw).decode("utf-8", "replace")
        except zlib.error:
            return base64.b64encode(raw).decode()
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(json_ready(v) for v in value)
    if hasattr(value, "value") and type(value).__name__ == "Binary":  # boto3's Binary
        return json_ready(value.value)
    return value
