"""`NoticeDeliveries` in the DynamoDB table `handoffs`: one item per channel of a notice that went out,
`NOTICE#<key>` / `SENT` (`shared.handoffs.notifier.notice_delivery_key`: the transition's event id, the
purpose, the recipient's rep id or team channel, the channel), with `expires_at` (the table's TTL) past the
14 days a dead-lettered event can wait for its redrive. The item holds no address nor message."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from shared.catalog.handoffs import NOTICE_KEY_PREFIX

KEPT = timedelta(days=15)  # a failure-queue message is kept 14 days: its redrive must still find what went out
SK = "SENT"


class DynamoDbNoticeDeliveries:
    def __init__(self, client: Any, table_name: str, now: Callable[[], datetime]) -> None:
        self._client = client
        self._table = table_name
        self._now = now

    def delivered(self, keys: Sequence[str]) -> set[str]:
        # a consistent read: the retry that asks may follow the attempt that recorded by a second
        return {
            key
            for key in dict.fromkeys(keys)
            if "Item"
            in self._client.get_item(
                TableName=self._table,
                Key=_key(key),
                ConsistentRead=True,
                ProjectionExpression="pk",
            )
        }

    def record(self, key: str) -> None:
        expires_at = int((self._now() + KEPT).timestamp())
        self._client.put_item(TableName=self._table, Item=_key(key) | {"expires_at": {"N": str(expires_at)}})


def _key(key: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"{NOTICE_KEY_PREFIX}{key}"}, "sk": {"S": SK}}
