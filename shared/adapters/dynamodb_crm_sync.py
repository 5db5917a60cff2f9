"""The CRM sync store in DynamoDB (table `crm-sync`, `shared.catalog.crm`).

Items:
- a synced record: `pk` = `RECORD#<kind>:<hub_id>`, `sk` = `RECORD`; `version` (a number, from 1) and `body`:
  the record as compact JSON text (fields with value, time, source, actor; per CRM its id, the agreed and the
  recently written values, the sync version; the open conflicts). JSON keeps None values and needs no
  Decimal round trip; the record is read and written whole.
- an audit entry: `pk` = the record's, `sk` = `AUDIT#<recorded_at>#<entry_id>` (fixed-width UTC time, so a
  descending query reads the trail newest first); `body`: the entry as JSON.
- a link: `pk` = `LINK#<crm>#<kind>#<crm id>`, `sk` = `LINK`; `record_key`.
- a conflict: `pk` = `CONFLICT#<conflict_id>`, `sk` = `CONFLICT`; `body`, and for the `by-status` index
  `conflict_status` (open, resolved) and `flagged_sort` = `<flagged_at>#<conflict_id>`.
- a reconciliation checkpoint: `pk` = `CHECKPOINT#<crm>#<kind>`, `sk` = `CHECKPOINT`; `until` (ISO).
- a bus event decided on the record: `pk` = the record's, `sk` = `APPLIED#<event id>`; `version`: the record's
  version the decision's commit stored (0: a decision that changed nothing, `mark_decided`). Read with the
  record (one BatchGetItem of both) before deciding; erased with the record's partition.
- what an erasure finds a CRM's record by (`DynamoDbErasureLookups`: a create never answered, for an erased
  person): `pk` = `ERASING#<crm>#<record key>`, `sk` = `ERASING`; `field`, `values` (JSON), `expires` (epoch
  seconds). Written by the erasure before its notice is queued, deleted by the writer once the record is deleted.

`commit` is one PutItem of the record on condition of its version when it writes nothing else, otherwise one
TransactWriteItems of the record (same condition) with its audit entries, conflicts, links and event marker.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_items import (
    ConditionalWrite,
    VersionConflict,
    iso,
    iso_or_none,
    key,
    plain,
    put_at_version,
    serialize,
    transact,
    version_condition,
    when,
    when_or_none,
)
from shared.crm.audit import AuditEntry, Conflict, ConflictStatus
from shared.crm.ports import CrmName, Link, ObjectKind, StaleRecord
from shared.crm.records import CreateClaim, CrmCopy, FieldState, SyncedRecord, parse_record_key
from shared.crm.store import AuditPage, ConflictPage, InvalidCursor

RECORD = "RECORD"
APPLIED = "APPLIED#"
ERASING = "ERASING"
# How long an erasure's kept values may wait for the writer: its notice's retries, then the dead-letter queue's
# retention (14 days) for a redrive. The `expires` attribute names it (for a table TTL).
ERASING_KEPT = timedelta(days=15)
BATCH_GET = 100
MAX_PAGE = 200


class DynamoDbSyncStore:
    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    # records ---------------------------------------------------------------------------------------------------

    def record(self, key_: str) -> SyncedRecord | None:
        item = self._client.get_item(TableName=self._table, Key=key(f"RECORD#{key_}", RECORD), ConsistentRead=True)
        return _record(plain(item["Item"])) if "Item" in item else None

    def record_and_applied(self, key_: str, event_id: str) -> tuple[SyncedRecord | None, int | None]:
        record_key_, marker_key = key(f"RECORD#{key_}", RECORD), key(f"RECORD#{key_}", APPLIED + event_id)
        pending: dict[str, Any] = {self._table: {"Keys": [record_key_, marker_key], "ConsistentRead": True}}
        record, applied = None, None
        while pending:
            answer = self._client.batch_get_item(RequestItems=pending)
            for item in answer.get("Responses", {}).get(self._table, []):
                if item["sk"]["S"] == RECORD:
                    record = _record(plain(item))
                else:
                    applied = int(item["version"]["N"])
            pending = answer.get("UnprocessedKeys") or {}
        return record, applied

    def applied(self, key_: str, event_id: str) -> bool:
        found = self._client.get_item(
            TableName=self._table,
            Key=key(f"RECORD#{key_}", APPLIED + event_id),
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return "Item" in found

    def mark_decided(self, key_: str, event_id: str) -> None:
        marker = {"pk": f"RECORD#{key_}", "sk": APPLIED + event_id, "version": 0}
        try:
            self._client.put_item(
                TableName=self._table, Item=serialize(marker), ConditionExpression="attribute_not_exists(pk)"
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise

    def records(self, keys: Sequence[str]) -> dict[str, SyncedRecord]:
        found: dict[str, SyncedRecord] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), BATCH_GET):
            pending: dict[str, Any] = {
                self._table: {
                    "Keys": [key(f"RECORD#{k}", RECORD) for k in unique[start : start + BATCH_GET]],
                    "ConsistentRead": True,
                }
            }
            while pending:
                answer = self._client.batch_get_item(RequestItems=pending)
                for item in answer.get("Responses", {}).get(self._table, []):
                    record = _record(plain(item))
                    found[record.key] = record
                pending = answer.get("UnprocessedKeys") or {}
        return found

    def linked(self, crm: CrmName, kind: ObjectKind, crm_id: str) -> str | None:
        item = self._client.get_item(TableName=self._table, Key=key(_link_pk(crm, kind, crm_id), "LINK"))
        return str(item["Item"]["record_key"]["S"]) if "Item" in item else None

    def commit(
        self,
        record: SyncedRecord,
        audit: Sequence[AuditEntry] = (),
        conflicts: Sequence[Conflict] = (),
        links: Sequence[Link] = (),
        applied: str | None = None,
    ) -> SyncedRecord:
        stored = replace(record, version=record.version + 1)
        item = _record_item(stored)
        if not (audit or conflicts or links or applied):
            try:
                put_at_version(self._client, self._table, item, record.version)
            except VersionConflict:
                raise StaleRecord(record.key) from None
            return stored
        writes = [
            ConditionalWrite(
                {"Put": {"TableName": self._table, "Item": serialize(item), **version_condition(record.version)}},
                f"record {record.key}",
                lambda found: f"record {record.key} is at version {found.get('version') if found else 'none'}",
            )
        ]
        for entry in audit:
            writes.append(_put(self._table, _audit_item(entry), f"audit entry {entry.entry_id}"))
        for conflict in conflicts:
            writes.append(_put(self._table, _conflict_item(conflict), f"conflict {conflict.conflict_id}"))
        for link in links:
            item_ = {"pk": _link_pk(link.crm, link.kind, link.crm_id), "sk": "LINK", "record_key": link.record_key}
            writes.append(_put(self._table, item_, f"link {link.crm} {link.crm_id}"))
        if applied:
            marker = {"pk": f"RECORD#{record.key}", "sk": APPLIED + applied, "version": stored.version}
            what = f"event {applied} on record {record.key}"
            put = {
                "TableName": self._table,
                "Item": serialize(marker),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
            writes.append(ConditionalWrite({"Put": put}, what, lambda _: f"{what} was decided on already"))
        transact(self._client, writes, StaleRecord)
        return stored

    # audit and conflicts ---------------------------------------------------------------------------------------

    def audit(self, key_: str, cursor: str | None = None, limit: int = 50) -> AuditPage:
        items, next_cursor = self._query(
            {
                "KeyConditionExpression": "pk = :pk AND begins_with(sk, :audit)",
                "ExpressionAttributeValues": serialize({":pk": f"RECORD#{key_}", ":audit": "AUDIT#"}),
                "ScanIndexForward": False,
            },
            cursor,
            limit,
        )
        return AuditPage([_audit(item) for item in items], next_cursor)

    def conflict(self, conflict_id: str) -> Conflict | None:
        item = self._client.get_item(
            TableName=self._table, Key=key(f"CONFLICT#{conflict_id}", "CONFLICT"), ConsistentRead=True
        )
        return _conflict(plain(item["Item"])) if "Item" in item else None

    def conflicts(self, status: ConflictStatus | None, cursor: str | None = None, limit: int = 50) -> ConflictPage:
        if status is None:
            return self._every_conflict(cursor, limit)
        items, next_cursor = self._query(
            {
                "IndexName": "by-status",
                "KeyConditionExpression": "conflict_status = :status",
                "ExpressionAttributeValues": serialize({":status": status.value}),
                "ScanIndexForward": False,
            },
            cursor,
            limit,
        )
        return ConflictPage([_conflict(item) for item in items], next_cursor)

    def _every_conflict(self, cursor: str | None, limit: int) -> ConflictPage:
        """Conflicts of every status, newest flagged first: the newest of each status's index after the cursor,
        merged. The cursor is the `flagged_sort` of the page's last conflict, which a resolution does not change
        (only the status does), so a conflict resolved between two pages is neither given twice nor skipped."""
        limit = max(1, min(limit, MAX_PAGE))
        before = _decode_boundary(cursor) if cursor else None
        found = [item for status in ConflictStatus for item in self._newest(status, before, limit + 1)]
        found.sort(key=lambda item: str(item["flagged_sort"]), reverse=True)
        page = found[:limit]
        more = len(found) > limit
        return ConflictPage(
            [_conflict(item) for item in page], _encode_boundary(page[-1]["flagged_sort"]) if more else None
        )

    def _newest(self, status: ConflictStatus, before: str | None, count: int) -> list[dict[str, Any]]:
        """Up to `count` conflicts of `status`, newest flagged first, flagged before `before` when given."""
        condition, values = "conflict_status = :status", {":status": status.value}
        if before is not None:
            condition, values = f"{condition} AND flagged_sort < :before", {**values, ":before": before}
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "by-status",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": False,
        }
        items: list[dict[str, Any]] = []
        while len(items) < count:  # a query answers at most 1 MB: read on until `count` or the index's end
            answer = self._client.query(**request, Limit=count - len(items))
            items += [plain(item) for item in answer.get("Items", [])]
            if "LastEvaluatedKey" not in answer:
                break
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return items

    # reconciliation ----------------------------------------------------------------------------------------------

    def checkpoint(self, crm: CrmName, kind: ObjectKind) -> datetime | None:
        item = self._client.get_item(
            TableName=self._table, Key=key(f"CHECKPOINT#{crm}#{kind}", "CHECKPOINT"), ConsistentRead=True
        )
        return when(item["Item"]["until"]["S"]) if "Item" in item else None

    def save_checkpoint(self, crm: CrmName, kind: ObjectKind, until: datetime) -> None:
        item = {"pk": f"CHECKPOINT#{crm}#{kind}", "sk": "CHECKPOINT", "until": iso(until)}
        self._client.put_item(TableName=self._table, Item=serialize(item))

    def _query(
        self, request: dict[str, Any], cursor: str | None, limit: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        arguments: dict[str, Any] = {"TableName": self._table, "Limit": max(1, min(limit, MAX_PAGE)), **request}
        if cursor:
            arguments["ExclusiveStartKey"] = _decode_cursor(cursor)
        try:
            answer = self._client.query(**arguments)
        except ClientError as exc:
            # a cursor of another record or listing (or made up) names a start key this query cannot take
            if cursor and exc.response["Error"]["Code"] == "ValidationException":
                raise InvalidCursor() from None
            raise
        last = answer.get("LastEvaluatedKey")
        return [plain(item) for item in answer.get("Items", [])], _encode_cursor(last) if last else None


class DynamoDbErasureLookups:
    """The values by which an erasure finds the CRM record a create never answered made (`shared.crm.erasure.
    ErasureLookups`), kept in the table under the crm and the synced record's key, so the erasure notice on the
    queue carries that reference, never the person's email."""

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def keep(self, crm: str, lookup: str, field: str, values: Sequence[str], now: datetime | None = None) -> None:
        """Keep the values under the reference (those kept before for it replaced: a later run finds them all)."""
        expires = (now or datetime.now(UTC)) + ERASING_KEPT
        item = {
            "pk": f"{ERASING}#{crm}#{lookup}",
            "sk": ERASING,
            "field": field,
            "values": json.dumps(list(dict.fromkeys(values))),
            "expires": int(expires.timestamp()),
        }
        self._client.put_item(TableName=self._table, Item=serialize(item))

    def values(self, crm: CrmName, lookup: str) -> tuple[str, tuple[str, ...]] | None:
        item = self._client.get_item(
            TableName=self._table, Key=key(f"{ERASING}#{crm}#{lookup}", ERASING), ConsistentRead=True
        ).get("Item")
        if item is None:
            return None
        values = json.loads(item["values"]["S"])
        return item["field"]["S"], tuple(str(v) for v in values if isinstance(v, str) and v)

    def forget(self, crm: CrmName, lookup: str) -> None:
        self._client.delete_item(TableName=self._table, Key=key(f"{ERASING}#{crm}#{lookup}", ERASING))


def _encode_cursor(last: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(last, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise InvalidCursor() from None
    if not isinstance(decoded, dict) or not all(isinstance(v, dict) for v in decoded.values()):
        raise InvalidCursor()
    return decoded


def _encode_boundary(flagged_sort: str) -> str:
    """The cursor of the every-status conflict list: where its next page starts (exclusive)."""
    return base64.urlsafe_b64encode(json.dumps({"before": flagged_sort}, separators=(",", ":")).encode()).decode()


def _decode_boundary(cursor: str) -> str:
    """A cursor `_encode_boundary` made; any other (a status list's, a trail's, made up) is InvalidCursor."""
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        raise InvalidCursor() from None
    if not isinstance(decoded, dict) or set(decoded) != {"before"} or not isinstance(decoded["before"], str):
        raise InvalidCursor()
    return decoded["before"]


def _put(table: str, item: dict[str, Any], what: str) -> ConditionalWrite:
    return ConditionalWrite({"Put": {"TableName": table, "Item": serialize(item)}}, what, lambda _: f"{what} refused")


def _link_pk(crm: str, kind: str, crm_id: str) -> str:
    return f"LINK#{crm}#{kind}#{crm_id}"


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _record_item(record: SyncedRecord) -> dict[str, Any]:
    body = {
        "fields": {
            name: {"v": s.value, "at": iso(s.modified_at), "src": s.source, "by": s.actor}
            for name, s in record.fields.items()
        },
        "crms": {
            crm: {
                "id": c.crm_id,
                "agreed": dict(c.agreed),
                "written": {k: [[value, iso(until)] for value, until in v] for k, v in c.written.items()},
                "sv": c.sync_version,
                "unsure": sorted(c.unsure),
                "seen": {k: iso(v) for k, v in c.seen.items()},
                **({"creating": _claim_item(c.creating)} if c.creating is not None else {}),
            }
            for crm, c in record.crms.items()
        },
        "conflicts": dict(record.open_conflicts),
        "merged_into": record.merged_into,
        "told": dict(record.hub_told),
        "parent": record.parent,
    }
    return {"pk": f"RECORD#{record.key}", "sk": RECORD, "version": record.version, "body": _json(body)}


def _record(item: dict[str, Any]) -> SyncedRecord:
    parsed = parse_record_key(str(item["pk"]).removeprefix("RECORD#"))
    assert parsed is not None, item["pk"]
    kind, hub_id = parsed
    body = json.loads(item["body"])
    fields = {
        name: FieldState(f["v"], when(f["at"]), f["src"], f.get("by")) for name, f in body.get("fields", {}).items()
    }
    crms = {
        crm: CrmCopy(
            c.get("id"),
            dict(c.get("agreed", {})),
            {k: tuple((value, when(until)) for value, until in v) for k, v in c.get("written", {}).items()},
            int(c.get("sv", 0)),
            frozenset(c.get("unsure", ())),
            {k: when(v) for k, v in c.get("seen", {}).items()},
            _claim(c.get("creating")),
        )
        for crm, c in body.get("crms", {}).items()
    }
    conflicts = dict(body.get("conflicts", {}))
    told = dict(body.get("told", {}))  # absent on records stored before it
    return SyncedRecord(
        kind, hub_id, fields, crms, conflicts, int(item["version"]), body.get("merged_into"), told, body.get("parent")
    )


def _claim_item(claim: CreateClaim) -> dict[str, Any]:
    """A create claim as the record's body keeps it (the privacy adapter reads `field` and `sent` too)."""
    return {
        "writer": claim.writer,
        "field": claim.match_field,
        "sent": list(claim.sent),
        "at": iso(claim.at),
        "until": iso(claim.until),
    }


def _claim(item: Any) -> CreateClaim | None:
    if not isinstance(item, dict):
        return None  # none (a record stored before claims, or with no create on its way)
    sent = tuple(str(v) for v in item["sent"])
    return CreateClaim(str(item["writer"]), str(item["field"]), sent, when(item["at"]), when(item["until"]))


def _audit_item(entry: AuditEntry) -> dict[str, Any]:
    return {
        "pk": f"RECORD#{entry.record_key}",
        "sk": f"AUDIT#{iso(entry.recorded_at)}#{entry.entry_id}",
        "body": _json(
            {
                "field": entry.hub_field,
                "outcome": entry.outcome,
                "rule": entry.rule,
                "source": entry.source,
                "actor": entry.actor,
                "changed_at": iso(entry.changed_at),
                "recorded_at": iso(entry.recorded_at),
                "old": entry.old_value,
                "new": entry.new_value,
                "losing": entry.losing_value,
                "cause": entry.cause,
            }
        ),
    }


def _audit(item: dict[str, Any]) -> AuditEntry:
    b = json.loads(item["body"])
    return AuditEntry(
        str(item["pk"]).removeprefix("RECORD#"),
        b["field"],
        b["outcome"],
        b["rule"],
        b["source"],
        b.get("actor"),
        when(b["changed_at"]),
        when(b["recorded_at"]),
        b.get("old"),
        b.get("new"),
        b.get("losing"),
        b["cause"],
    )


def _conflict_item(conflict: Conflict) -> dict[str, Any]:
    body = {
        "record": conflict.record_key,
        "field": conflict.hub_field,
        "hub_value": conflict.hub_value,
        "hub_source": conflict.hub_source,
        "hub_modified_at": iso(conflict.hub_modified_at),
        "crm": conflict.crm,
        "crm_value": conflict.crm_value,
        "crm_modified_at": iso(conflict.crm_modified_at),
        "flagged_at": iso(conflict.flagged_at),
        "resolved_value": conflict.resolved_value,
        "resolved_by": conflict.resolved_by,
        "resolved_at": iso_or_none(conflict.resolved_at),
    }
    return {
        "pk": f"CONFLICT#{conflict.conflict_id}",
        "sk": "CONFLICT",
        "body": _json(body),
        "conflict_status": conflict.status.value,
        "flagged_sort": f"{iso(conflict.flagged_at)}#{conflict.conflict_id}",
    }


def _conflict(item: dict[str, Any]) -> Conflict:
    b = json.loads(item["body"])
    parsed = parse_record_key(b["record"])
    assert parsed is not None
    kind, hub_id = parsed
    return Conflict(
        str(item["pk"]).removeprefix("CONFLICT#"),
        b["record"],
        kind,
        hub_id,
        b["field"],
        b.get("hub_value"),
        b["hub_source"],
        when(b["hub_modified_at"]),
        b["crm"],
        b.get("crm_value"),
        when(b["crm_modified_at"]),
        when(b["flagged_at"]),
        ConflictStatus(item["conflict_status"]),
        b.get("resolved_value"),
        b.get("resolved_by"),
        when_or_none(b.get("resolved_at")),
    )
