"""A batch of DynamoDB stream records handed to a stream-triggered function (an outbox publisher): the records by
position, reading each into what the function publishes (a record that cannot be read is set aside at once in
the function's failure queue with why: retrying cannot help), and the answer naming the records to retry.

`images=False` (records holding personal data an erasure must reach): a record is set aside less its item images
(`sqs_dead_letters.located`), and why it could not be read names the fields at fault, not their values."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.adapters.sqs_dead_letters import SqsStreamDeadLetters
from shared.catalog import physical_name
from shared.function_environment import FunctionEnvironment

_log = logging.getLogger(__name__)
Entry = TypeVar("Entry")


class StreamRecordBatch:
    def __init__(self, event: dict[str, Any], sqs: Any, environment: FunctionEnvironment, images: bool = True) -> None:
        self.records = {str(record["dynamodb"]["SequenceNumber"]): record for record in event.get("Records", [])}
        failures = physical_name(environment.stage, environment.function.failure_queue.name)
        self.dead_letters = SqsStreamDeadLetters(sqs, failures, environment.function.slug, self.records, images)
        self._images = images

    def read(self, reader: Callable[[dict[str, Any]], Entry], what: str) -> list[Entry]:
        """Each record as `reader` reads it; one it refuses (KeyError, TypeError, ValueError) is not `what`."""
        entries = []
        for position, record in self.records.items():
            try:
                entries.append(reader(record))
            except (KeyError, TypeError, ValueError) as exc:  # not an item the writer writes: retrying cannot help
                why = str(exc) if self._images else _without_values(exc)
                self.dead_letters.send_record(record, f"not {what}: {type(exc).__name__}: {why}")
                _log.error("stream record %s is not %s", position, what)
        return entries

    def set_aside(self, position: str, reason: str) -> None:
        self.dead_letters.send_record(self.records[position], reason)

    @staticmethod
    def answer(retry: Iterable[str]) -> dict[str, Any]:
        """Lambda's partial batch response: the stream retries these records (bisecting), and only these."""
        return {"batchItemFailures": [{"itemIdentifier": position} for position in retry]}


def _without_values(exc: Exception) -> str:
    """Why a record could not be read, naming the fields at fault but none of their values (pydantic's message
    quotes the input)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_input=False, include_url=False, include_context=False)
        return "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(event)'}: {error['msg']}" for error in errors
        )
    return str(exc)
