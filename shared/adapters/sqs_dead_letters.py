"""Stream records set aside in a function's failure queue, in Lambda's destination-record format (condition
`PermanentFailure`): `make redrive` (and the local runtime's redrive) hands `requestPayload` back to the
function, here `{"Records": [the stream record]}`, once the cause is fixed.

A function whose records hold personal data an erasure must reach (the lead publisher's outbox items carry the
lead's email) sets aside the record less its item images (`located`): which item it is (`Keys`), where it is in
the stream (`SequenceNumber`, `eventSourceARN`) and what happened (`eventName`, `eventID`). The queue then keeps
nothing of the person for its 14 days, and `make redrive` reads the item back from its table by its keys
(`restored`): an item erased meanwhile is not published again."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from shared.redrive import PERMANENT_CONDITION, destination_record
from shared.webhooks.model import OutboxEntry

IMAGES = ("NewImage", "OldImage")


class SetAside(Exception):
    """The reason a record was set aside, as the error of its destination record."""


def located(record: Mapping[str, Any]) -> dict[str, Any]:
    """A stream record less its item images: what locates it (see the module)."""
    dynamodb = record.get("dynamodb")
    if not isinstance(dynamodb, Mapping):
        return dict(record)
    return {**record, "dynamodb": {name: value for name, value in dynamodb.items() if name not in IMAGES}}


def is_located(record: Mapping[str, Any]) -> bool:
    """Whether `record` was set aside less its images, and names the item to read back."""
    dynamodb = record.get("dynamodb")
    return isinstance(dynamodb, Mapping) and "Keys" in dynamodb and not any(i in dynamodb for i in IMAGES)


def restored(record: Mapping[str, Any], get_item: Callable[[dict[str, Any]], dict[str, Any] | None]) -> dict[str, Any]:
    """A located record with its item read back (`get_item(keys)`, DynamoDB JSON) as its new image; None from
    `get_item` (the item is gone: erased, or past its TTL) raises LookupError."""
    keys = dict(record["dynamodb"]["Keys"])
    item = get_item(keys)
    if item is None:
        raise LookupError(f"item {json.dumps(keys, sort_keys=True)} is no longer in the table")
    return {**record, "dynamodb": {**record["dynamodb"], "NewImage": item}}


class SqsStreamDeadLetters:
    def __init__(
        self,
        client: Any,
        queue_name: str,
        function_name: str,
        records: Mapping[str, dict[str, Any]],
        images: bool = True,
    ) -> None:
        self._client = client
        self._queue_name = queue_name
        self._function_name = function_name
        self._records = records  # this invocation's stream records by position
        self._images = images  # False: records are set aside `located`, less their images
        self._queue_url: str | None = None

    def send(self, entry: OutboxEntry, reason: str) -> None:
        self.send_record(self._records[entry.position], reason)

    def send_record(self, record: dict[str, Any], reason: str) -> None:
        payload = {"Records": [record if self._images else located(record)]}
        letter = destination_record(self._function_name, payload, SetAside(reason), PERMANENT_CONDITION, 1)
        if self._queue_url is None:
            self._queue_url = self._client.get_queue_url(QueueName=self._queue_name)["QueueUrl"]
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(letter, default=str))
