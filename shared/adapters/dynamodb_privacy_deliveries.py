"""The person's raw bodies in the `webhook-deliveries` table (`shared.privacy.ports.DeliveryLog`): found by
their subject hashes in the sparse `by-subject` index (`shared/catalog/webhooks.py`); what an erasure removes
and what it keeps, and why, at the class."""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

from shared.adapters.dynamodb_items import iso
from shared.adapters.dynamodb_ledger import POINTER_KIND, SUBJECT, SUBJECT_INDEX, claim_event_id, deflate
from shared.adapters.dynamodb_privacy_items import exported, get_items, string_attribute
from shared.privacy.model import Needles, Person
from shared.privacy.redaction import redact_body


class DeliveriesPrivacy:
    """Table `webhook-deliveries`: the raw bodies. Each of the person's subject hashes is looked up in the sparse
    `by-subject` index. A one-event delivery's item, or a refused attempt naming only them, is the person's
    whole: its body and request (headers) are removed, its log entry kept without the caller's address and agent.
    A claim of a batch, or a pointer (a body naming several people: a batch's event stored before, a refused body),
    points at the attempt holding the body: the person's parts of it are replaced by `{"erased": true}` (an element
    of a list) or `"[erased]"` (`shared.privacy.redaction`), the others kept; a body that is not JSON (Salesforce's
    SOAP, gzip) is removed whole. Claims lose their `subject`, so they leave the index, and stay (a vendor's retry
    stays a duplicate); pointers are deleted."""

    name = "webhook-deliveries"

    def __init__(self, client: Any, table: str, clock: Any) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def _indexed(self, person: Person) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for subject in person.subjects:
            request: dict[str, Any] = {
                "TableName": self._table,
                "IndexName": SUBJECT_INDEX,
                "KeyConditionExpression": "#subject = :subject",
                "ExpressionAttributeNames": {"#subject": SUBJECT},
                "ExpressionAttributeValues": {":subject": {"S": subject}},
            }
            while True:
                answer = self._client.query(**request)
                for item in answer.get("Items", []):
                    found[item["pk"]["S"]] = item
                if "LastEvaluatedKey" not in answer:
                    break
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return list(found.values())

    def event_ids(self, person: Person) -> frozenset[str]:
        return frozenset(claim_event_id(item) for item in self._indexed(person) if _is_claim(item))

    def export(self, person: Person) -> list[dict[str, Any]]:
        """Each raw body about the person once (a batch's attempt holds several of their events), with the ids
        of their events in it."""
        shown: dict[str, dict[str, Any]] = {}
        for item in self._indexed(person):
            holder = self._body_holder(item)
            if holder is None:
                continue
            view = shown.get(holder["pk"]["S"])
            if view is None:
                view = {n: v for n, v in exported(holder).items() if n not in (SUBJECT, "log_partition", "log_sort")}
                view["event_ids"] = []
                shown[holder["pk"]["S"]] = view
            if _is_claim(item):
                view["event_ids"].append(claim_event_id(item))
        return list(shown.values())

    def _body_holder(self, indexed: dict[str, Any]) -> dict[str, Any] | None:
        """The item holding the raw body of an indexed item: itself, or a batch claim's attempt."""
        own = get_items(self._client, self._table, [{"pk": indexed["pk"]}])
        if own and "body" in own[0]:
            return own[0]
        attempt = string_attribute(own[0], "attempt_id") if own else string_attribute(indexed, "attempt_id")
        if not attempt:
            return None
        found = get_items(self._client, self._table, [{"pk": {"S": f"ATTEMPT#{attempt}"}}])
        return found[0] if found and "body" in found[0] else None

    def erase(self, person: Person) -> int:
        erased = 0
        needles = person.needles
        now = iso(self._clock())
        for indexed in self._indexed(person):
            own = get_items(self._client, self._table, [{"pk": indexed["pk"]}])
            if not own:
                continue
            item = own[0]
            if "body" in item:  # a one-event delivery or a refused attempt: all of it is the person's
                erased += self._drop_body(item, now)
            elif attempt := string_attribute(item, "attempt_id"):
                erased += self._redact_attempt(attempt, needles, now)
            if string_attribute(item, "kind") == POINTER_KIND:
                self._client.delete_item(TableName=self._table, Key={"pk": item["pk"]})
            else:
                self._client.update_item(
                    TableName=self._table, Key={"pk": item["pk"]}, UpdateExpression=f"REMOVE {SUBJECT}"
                )
        return erased

    def _drop_body(self, item: dict[str, Any], now: str) -> int:
        values: dict[str, Any] = {":erased": {"S": now}}
        update = "SET erased_at = :erased"
        if "log" in item:
            values[":log"] = {"B": _anonymous_log(item["log"])}
            update += ", #log = :log"
        self._client.update_item(
            TableName=self._table,
            Key={"pk": item["pk"]},
            UpdateExpression=f"{update} REMOVE body, #request",
            ExpressionAttributeNames={"#request": "request"} | ({"#log": "log"} if "log" in item else {}),
            ExpressionAttributeValues=values,
        )
        return 1

    def _redact_attempt(self, attempt_id: str, needles: Needles, now: str) -> int:
        found = get_items(self._client, self._table, [{"pk": {"S": f"ATTEMPT#{attempt_id}"}}])
        if not found or "body" not in found[0]:
            return 0
        item = found[0]
        body = zlib.decompress(_binary(item["body"]))
        redacted = redact_body(body, needles)
        if redacted is None:
            return self._drop_body(item, now)
        if redacted == body:
            return 0
        self._client.update_item(
            TableName=self._table,
            Key={"pk": item["pk"]},
            UpdateExpression="SET body = :body, erased_at = :erased",
            ExpressionAttributeValues={":body": {"B": deflate(redacted)}, ":erased": {"S": now}},
        )
        return 1


def _is_claim(item: Mapping[str, Any]) -> bool:
    """A claim on an event (a one-event delivery's item, a batch's claim), whose key and dedupe key give its event
    id (`claim_event_id`); pointers and refused attempts name no event."""
    return bool(string_attribute(item, "dedupe_key")) and (string_attribute(item, "pk") or "").startswith("EVENT#")


def _binary(value: Mapping[str, Any]) -> bytes:
    raw = value["B"]
    return bytes(raw.value if hasattr(raw, "value") else raw)


def _anonymous_log(log: Mapping[str, Any]) -> bytes:
    """The log entry without who called (the caller's address and agent: a browser's, for the tracking API)."""
    entry = json.loads(zlib.decompress(_binary(log)))
    entry["source_ip"] = entry["user_agent"] = None
    return deflate(json.dumps(entry, separators=(",", ":")).encode())
