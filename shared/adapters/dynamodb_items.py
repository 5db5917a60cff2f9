"""What every DynamoDB adapter of the hub writes and reads alike: keys, plain values to and from DynamoDB JSON,
datetimes as sortable UTC strings, and DynamoDB's measure of an item (checked before a write, so the caller
hears which record is too big instead of a failed transaction)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

# DynamoDB refuses items over 400 KB (attribute names and values, UTF-8).
MAX_ITEM_BYTES = 400 * 1024

serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def iso(moment: datetime) -> str:
    """Fixed-width UTC with microseconds, so stored strings sort in time order."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the hub stores aware datetimes only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def when_or_none(text: str | None) -> datetime | None:
    return None if text is None else when(text)


def key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: serializer.serialize(value) for key, value in item.items()}


def plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's measure of an item (plain values): attribute names plus values, strings as UTF-8."""
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def value_size(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8", "surrogatepass"))
    if isinstance(value, bytes):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 1
    if isinstance(value, int | float | Decimal):
        return len(str(value)) // 2 + 2
    if isinstance(value, dict):
        return 3 + sum(len(str(k).encode()) + value_size(v) + 1 for k, v in value.items())
    if isinstance(value, list | set | tuple):
        return 3 + sum(value_size(v) + 1 for v in value)
    return len(str(value))


@dataclass(frozen=True)
class ConditionalWrite:
    """One item of a transaction, what it is (for messages) and why its condition failed, given the item as it
    was (None: absent)."""

    request: dict[str, Any]
    what: str
    refused: Callable[[dict[str, Any] | None], str]


def transact(client: Any, writes: Sequence[ConditionalWrite], conflict: type[Exception]) -> None:
    """One TransactWriteItems; a cancellation by conditions or by a concurrent transaction raises `conflict`
    naming each item at fault (what was there when a condition failed), anything else propagates."""
    try:
        # A fresh token per call: botocore's own retries of this call then cannot apply it twice.
        client.transact_write_items(TransactItems=[w.request for w in writes], ClientRequestToken=uuid.uuid4().hex)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "TransactionCanceledException":
            raise
        reasons: list[dict[str, Any]] = list(exc.response.get("CancellationReasons", []))  # type: ignore[arg-type]
        problems = []
        for write, reason in zip(writes, reasons, strict=False):
            code = reason.get("Code")
            if code == "ConditionalCheckFailed":
                problems.append(write.refused(plain(reason["Item"]) if reason.get("Item") else None))
            elif code == "TransactionConflict":
                problems.append(f"{write.what} is being written by another transaction")
        if not problems:
            raise
        raise conflict("; ".join(problems)) from None


def version_condition(expected: int) -> dict[str, Any]:
    """The condition parts of a write of an item read at version `expected`: for 0 (none read) that there is
    none, else that it is still at that version."""
    if expected == 0:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "#version = :expected",
        "ExpressionAttributeNames": {"#version": "version"},
        "ExpressionAttributeValues": serialize({":expected": expected}),
    }


class VersionConflict(Exception):
    """A write at a version refused by its condition: `found` is the item as stored then (plain values), None
    when there was none."""

    def __init__(self, found: dict[str, Any] | None) -> None:
        super().__init__(found)
        self.found = found


def put_at_version(client: Any, table: str, item: dict[str, Any], expected: int) -> None:
    """One PutItem of `item` (plain values) read at version `expected` (see `version_condition`): a refusal by
    the condition raises VersionConflict with the item as stored, anything else propagates."""
    try:
        client.put_item(
            TableName=table,
            Item=serialize(item),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **version_condition(expected),
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        old: Any = exc.response.get("Item")
        raise VersionConflict(plain(old) if old else None) from None


def stale_version(what: str, expected: int, found: int | None) -> str:
    """Why a write conditioned on the version read (`expected`, 0: none) was refused, given the version found
    (None: there is none)."""
    if found is None:
        return f"{what} does not exist (it was read at version {expected})"
    if expected == 0:
        return f"{what} exists already (version {found})"
    return f"{what} is at version {found}, not {expected} as read"
