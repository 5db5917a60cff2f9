"""The CRM sync queue over SQS: the recorder sends change notices (`ChangeQueue`), the writer takes them as
Lambda's SQS batch, queues again (delayed) the ones a rate-limited CRM asked to wait for, and dead-letters at once
the ones a CRM refused for good, with the reason."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shared.crm.ports import ChangeNotice

SEND_BATCH = 10  # SendMessageBatch takes at most 10 entries
MAX_DELAY_SECONDS = 900


def notice_body(notice: ChangeNotice) -> str:
    body = {"crm": notice.crm, "record": notice.record_key, "version": notice.version}
    if notice.throttled:
        body["throttled"] = notice.throttled
    return json.dumps(body, sort_keys=True)


def notice_of(body: str) -> ChangeNotice:
    """A notice from a message body; ValueError when it is not one the recorder sent."""
    data = json.loads(body)
    if not isinstance(data, dict) or data.get("crm") not in ("hubspot", "salesforce"):
        raise ValueError("not a change notice: crm must be hubspot or salesforce")
    record, version = data.get("record"), data.get("version")
    throttled = data.get("throttled", 0)
    if not isinstance(record, str) or not record or not isinstance(version, int) or not isinstance(throttled, int):
        raise ValueError("not a change notice: record (text), version and throttled (integers) are required")
    return ChangeNotice(data["crm"], record, version, throttled)


class SqsChangeQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url
        self._fifo = queue_url.endswith(".fifo")

    def send(self, notices: Sequence[ChangeNotice], delay_seconds: float = 0) -> None:
        """Queue the notices, visible after `delay_seconds` (SQS delays a message 15 minutes at most)."""
        delay = max(0, min(int(delay_seconds + 0.999), MAX_DELAY_SECONDS))
        entries = []
        for n, notice in enumerate(notices):
            entry: dict[str, Any] = {"Id": str(n), "MessageBody": notice_body(notice)}
            if delay and not self._fifo:
                entry["DelaySeconds"] = delay
            if self._fifo:
                entry["MessageGroupId"] = f"{notice.crm}|{notice.record_key}"
                entry["MessageDeduplicationId"] = f"{notice.crm}|{notice.record_key}|{notice.version}"[:128]
            entries.append(entry)
        for start in range(0, len(entries), SEND_BATCH):
            answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries[start : start + SEND_BATCH])
            failed = answer.get("Failed") or []
            if failed:
                raise RuntimeError(f"SQS refused {len(failed)} change notice(s): {failed[0].get('Message')}")


class SqsBatchControl:
    """What the writer does with messages of the batch it was handed, besides reporting failures."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def dead_letter(self, dead_letter_queue: str, messages: Mapping[str, str]) -> None:
        """Send message bodies (with the reason each can never succeed) to the dead-letter queue at once."""
        url = self._client.get_queue_url(QueueName=dead_letter_queue)["QueueUrl"]
        fifo = url.endswith(".fifo")
        for n, (body, reason) in enumerate(messages.items()):
            entry: dict[str, Any] = {
                "QueueUrl": url,
                "MessageBody": body,
                "MessageAttributes": {"reason": {"DataType": "String", "StringValue": reason[:1000]}},
            }
            if fifo:
                entry["MessageGroupId"] = "refused"
                entry["MessageDeduplicationId"] = f"refused-{n}-{abs(hash(body))}"
            self._client.send_message(**entry)
