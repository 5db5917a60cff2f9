"""Stream records set aside in a function's failure queue, in Lambda's destination-record format (condition
`PermanentFailure`): `make redrive` (and the local runtime's redrive) hands `requestPayload` back to the
function, here `{"Records": [the stream record]}`, once the cause is fixed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.redrive import destination_record
from shared.webhooks.model import OutboxEntry

PERMANENT_CONDITION = "PermanentFailure"


class SetAside(Exception):
    """The reason a record was set aside, as the error of its destination record."""


class SqsStreamDeadLetters:
    def __init__(self, client: Any, queue_name: str, function_name: str, records: Mapping[str, dict[str, Any]]) -> None:
        self._client = client
        self._queue_name = queue_name
        self._function_name = function_name
        self._records = records  # this invocation's stream records by position
        self._queue_url: str | None = None

    def send(self, entry: OutboxEntry, reason: str) -> None:
        self.send_record(self._records[entry.position], reason)

    def send_record(self, record: dict[str, Any], reason: str) -> None:
        payload = {"Records": [record]}
        letter = destination_record(self._function_name, payload, SetAside(reason), PERMANENT_CONDITION, 1)
        if self._queue_url is None:
            self._queue_url = self._client.get_queue_url(QueueName=self._queue_name)["QueueUrl"]
        self._client.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(letter, default=str))
