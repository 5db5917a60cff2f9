"""The person's part of the `success` table (a `shared.privacy.ports.PersonalStore`, access patterns in
`shared/catalog/success.py`): signals found by key, under the person's references and in their accounts' logs,
and the product feedback they gave or that names them (`dynamodb_privacy_feedback.py`, which says how it is found
and why it is anonymized rather than deleted); what is deleted and what is kept, and why, at the class."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from shared.adapters.dynamodb_items import plain
from shared.adapters.dynamodb_privacy_feedback import FeedbackPrivacy
from shared.adapters.dynamodb_privacy_items import (
    delete_items,
    exported,
    item_key,
    json_ready,
    query_partition,
    string_attribute,
)
from shared.privacy.model import Person
from shared.privacy.redaction import mentions, redact


class SuccessPrivacy:
    """Table `success`: signals parked under one of the person's references (`TENANT#unlinked:<reference>`) are
    deleted; in their accounts' logs, the signals their own events made (a survey answer: the signal id is the
    event id) are deleted, and any other signal value naming them is anonymized. Health snapshots are the
    account's and stay (the next signal recomputes them from what is left). Product feedback the person gave
    loses their email and its text, feedback naming them the text naming them; each stays in the ranking
    (`FeedbackPrivacy`). An export lists the signals, then the feedback items."""

    name = "success"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table
        self._feedback = FeedbackPrivacy(client, table)

    def _parked(self, person: Person) -> Iterator[dict[str, Any]]:
        references = [person.email] + [k.replace("#", ":", 1) for k in person.identity_keys]
        for reference in dict.fromkeys(references):
            yield from query_partition(self._client, self._table, f"TENANT#unlinked:{reference}")

    def _theirs(self, person: Person) -> Iterator[tuple[dict[str, Any], bool]]:
        """The account signals that came from the person's events (True) or that name them (False)."""
        needles = person.needles
        for account in person.account_ids:
            for item in query_partition(self._client, self._table, f"TENANT#{account}", "SIGNAL#"):
                if string_attribute(item, "signal_id") in person.event_ids:
                    yield item, True
                elif mentions(json_ready(plain(item)), needles, strong_only=False):
                    yield item, False

    def export(self, person: Person) -> list[dict[str, Any]]:
        signals = [exported(item) for item in self._parked(person)] + [exported(i) for i, _ in self._theirs(person)]
        return signals + self._feedback.export(person)

    def erase(self, person: Person) -> int:
        parked = [item_key(i) for i in self._parked(person)]
        own: list[dict[str, Any]] = []
        named: list[dict[str, Any]] = []
        for item, from_them in self._theirs(person):
            (own if from_them else named).append(item)
        erased = delete_items(self._client, self._table, parked + [item_key(i) for i in own])
        for item in named:
            values, _ = redact(json.loads(string_attribute(item, "values") or "{}"), person.needles)
            self._client.update_item(
                TableName=self._table,
                Key=item_key(item),
                UpdateExpression="SET #values = :values",
                ExpressionAttributeNames={"#values": "values"},
                ExpressionAttributeValues={":values": {"S": json.dumps(values, separators=(",", ":"))}},
            )
            erased += 1
        return erased + self._feedback.erase(person)
