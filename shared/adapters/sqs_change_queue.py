"""The CRM sync queue over SQS: the recorder sends change notices (`ChangeQueue`), the writer takes them as
Lambda's SQS batch, queues again (delayed) the ones a rate-limited CRM asked to wait for, and dead-letters at once
the ones a CRM refused for good, with the reason."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from shared.crm.erasure import CREATE_IN_FLIGHT_SECONDS, CRM_NAMES, OBJECT_KINDS, ErasureNotice
from shared.crm.ports import ChangeNotice

SEND_BATCH = 10  # SendMessageBatch takes at most 10 entries
MAX_DELAY_SECONDS = 900


def notice_body(notice: ChangeNotice) -> str:
    body = {"crm": notice.crm, "record": notice.record_key, "version": notice.version}
    if notice.throttled:
        body["throttled"] = notice.throttled
    if notice.held:
        body["held"] = notice.held
    if notice.claimed:
        body["claimed"] = notice.claimed
    return json.dumps(body, sort_keys=True)


def erasure_body(notice: ErasureNotice) -> str:
    """The notice as the queue holds it: a record found by its values is named by the reference under which the
    erasure kept them (`lookup`), never by the values (an erased person's email)."""
    erase: dict[str, object] = {"crm": notice.crm, "kind": notice.kind, "crm_id": notice.crm_id}
    if notice.lookup:
        erase["lookup"] = notice.lookup
    elif notice.match_field:
        # only a notice queued with its values before they were kept (read back so): sent again as it came
        erase["match_field"], erase["match_values"] = notice.match_field, list(notice.match_values)
    body: dict[str, object] = {"erase": erase}
    if notice.throttled:
        body["throttled"] = notice.throttled
    return json.dumps(body, sort_keys=True)


def is_erasure(body: str) -> bool:
    """Whether a message body is an erasure notice (`{"erase": ...}`) rather than a change notice."""
    return body.lstrip().startswith('{"erase"')


def erasure_of(body: str) -> ErasureNotice:
    """An erasure notice from a message body; ValueError when it is not one the privacy API sent."""
    data = json.loads(body)
    erase = data.get("erase") if isinstance(data, dict) else None
    if not isinstance(erase, dict) or erase.get("crm") not in CRM_NAMES or erase.get("kind") not in OBJECT_KINDS:
        raise ValueError("not an erasure notice: erase.crm (hubspot, salesforce) and erase.kind are required")
    crm_id, throttled, lookup = erase.get("crm_id"), data.get("throttled", 0), erase.get("lookup")
    field, values = erase.get("match_field"), erase.get("match_values", [])
    found_by = isinstance(field, str) and bool(field) and isinstance(values, list) and bool(values)
    if found_by and not all(isinstance(v, str) and v for v in values):
        raise ValueError("not an erasure notice: erase.match_values are texts")
    if lookup is not None and not (isinstance(lookup, str) and lookup):
        raise ValueError("not an erasure notice: erase.lookup is a text")
    if not isinstance(crm_id, str) or not (crm_id or found_by or lookup) or not isinstance(throttled, int):
        raise ValueError("not an erasure notice: erase.crm_id (text), or lookup, is required")
    if lookup:
        return ErasureNotice(erase["crm"], erase["kind"], crm_id, throttled, lookup=lookup)
    if found_by:
        return ErasureNotice(erase["crm"], erase["kind"], crm_id, throttled, field, tuple(values))
    return ErasureNotice(erase["crm"], erase["kind"], crm_id, throttled)


def notice_of(body: str) -> ChangeNotice:
    """A notice from a message body; ValueError when it is not one the recorder sent."""
    data = json.loads(body)
    if not isinstance(data, dict) or data.get("crm") not in ("hubspot", "salesforce"):
        raise ValueError("not a change notice: crm must be hubspot or salesforce")
    record, version = data.get("record"), data.get("version")
    throttled, held, claimed = data.get("throttled", 0), data.get("held", 0), data.get("claimed", 0)
    if not (
        isinstance(record, str)
        and record
        and isinstance(version, int)
        and isinstance(throttled, int)
        and isinstance(held, int)
        and isinstance(claimed, int)
    ):
        raise ValueError(
            "not a change notice: record (text), version, throttled and held (integers; claimed too) are required"
        )
    return ChangeNotice(data["crm"], record, version, throttled, held, claimed)


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

    def send_erasures(self, notices: Sequence[ErasureNotice], delay_seconds: float | None = 0) -> None:
        send_erasures(self._client, self._url, notices, delay_seconds or 0)


class SqsCrmErasures:
    """The privacy API's side: erasure notices for the sync's writer (`shared.privacy.ports.CrmErasures`)."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    def request(self, records: Sequence[Any]) -> int:
        """Queue a notice per record; those found by their values (a create never answered) visible only once
        that create can no longer be in flight, naming only the reference the values are kept under (`lookup`:
        the sync's table keeps them, `shared.adapters.dynamodb_privacy_crm_sync`). A record found by values
        that are not kept is refused (ValueError) rather than queued with them."""
        notices: list[ErasureNotice] = []
        for r in records:
            lookup = getattr(r, "lookup", None) or None
            if getattr(r, "match_field", None) and not lookup:
                raise ValueError(f"a {r.crm} record found by its values needs them kept (a lookup), not queued")
            notices.append(ErasureNotice(r.crm, r.kind, r.crm_id, lookup=lookup))
        send_erasures(self._client, self._url, [n for n in notices if not n.lookup])
        found_by = [n for n in notices if n.lookup]
        if found_by:
            send_erasures(self._client, self._url, found_by, CREATE_IN_FLIGHT_SECONDS)
        return len(notices)


def send_erasures(client: Any, queue_url: str, notices: Sequence[ErasureNotice], delay_seconds: float = 0) -> None:
    """Queue erasure notices (the queue is standard: no group or de-duplication ids), visible after the delay."""
    delay = max(0, min(int(delay_seconds + 0.999), MAX_DELAY_SECONDS))
    entries: list[dict[str, Any]] = []
    for n, notice in enumerate(notices):
        entry: dict[str, Any] = {"Id": str(n), "MessageBody": erasure_body(notice)}
        if delay:
            entry["DelaySeconds"] = delay
        entries.append(entry)
    for start in range(0, len(entries), SEND_BATCH):
        answer = client.send_message_batch(QueueUrl=queue_url, Entries=entries[start : start + SEND_BATCH])
        failed = answer.get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} erasure notice(s): {failed[0].get('Message')}")


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
