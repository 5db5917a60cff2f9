"""The CRM sync queue over SQS: the recorder sends change notices (`ChangeQueue`), the writer takes them as
Lambda's SQS batch, holds back the ones a rate-limited CRM asked to wait for, and dead-letters at once the ones
a CRM refused for good, with the reason."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shared.crm.ports import ChangeNotice

SEND_BATCH = 10  # SendMessageBatch takes at most 10 entries
MAX_VISIBILITY_SECONDS = 12 * 3600


def notice_body(notice: ChangeNotice) -> str:
    return json.dumps({"crm": notice.crm, "record": notice.record_key, "version": notice.version}, sort_keys=True)


def notice_of(body: str) -> ChangeNotice:
    """A notice from a message body; ValueError when it is not one the recorder sent."""
    data = json.loads(body)
    if not isinstance(data, dict) or data.get("crm") not in ("hubspot", "salesforce"):
        raise ValueError("not a change notice: crm must be hubspot or salesforce")
    record, version = data.get("record"), data.get("version")
    if not isinstance(record, str) or not record or not isinstance(version, int):
        raise ValueError("not a change notice: record (text) and version (integer) are required")
    return ChangeNotice(data["crm"], record, version)


class SqsChangeQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url
        self._fifo = queue_url.endswith(".fifo")

    def send(self, notices: Sequence[ChangeNotice]) -> None:
        entries = []
        for n, notice in enumerate(notices):
            entry: dict[str, Any] = {"Id": str(n), "MessageBody": notice_body(notice)}
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
    """What the writer does to messages of the batch it was handed, besides reporting failures."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._urls: dict[str, str] = {}

    def hold_back(self, queue_arn: str, receipt_handles: Sequence[str], seconds: float) -> None:
        """The messages come back after `seconds` (a CRM's Retry-After) rather than the queue's default."""
        url = self._url(queue_arn)
        timeout = max(0, min(int(seconds + 0.999), MAX_VISIBILITY_SECONDS))
        handles = list(receipt_handles)
        for start in range(0, len(handles), SEND_BATCH):
            entries = [
                {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": timeout}
                for n, handle in enumerate(handles[start : start + SEND_BATCH])
            ]
            self._client.change_message_visibility_batch(QueueUrl=url, Entries=entries)

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

    def _url(self, queue_arn: str) -> str:
        if queue_arn not in self._urls:
            name = queue_arn.rsplit(":", 1)[-1]
            self._urls[queue_arn] = self._client.get_queue_url(QueueName=name)["QueueUrl"]
        return self._urls[queue_arn]
