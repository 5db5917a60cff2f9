"""The person's synced records in the `crm-sync` table (`shared.privacy.ports.SyncedRecords`, access patterns in
`shared/catalog/crm.py`): found by the contacts' record keys and their links from CRM ids; what is deleted and
what is kept, and why, at the class."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.adapters.dynamodb_crm_sync import DynamoDbErasureLookups
from shared.adapters.dynamodb_privacy_items import (
    MAX_MERGE_HOPS,
    composite_key,
    delete_items,
    exported,
    get_items,
    item_key,
    query_partition,
    string_attribute,
)
from shared.privacy.model import CrmRecordRef, Needles, Person
from shared.privacy.redaction import redact

CRMS = ("hubspot", "salesforce")


@dataclass(frozen=True)
class CrmRecordLookup(CrmRecordRef):
    """A CRM's record found by its values (`match_field`, `match_values`, a create never answered), which the
    table keeps under `lookup` (the synced record's key) for the sync's writer: its notice carries only that."""

    lookup: str = ""


class CrmSyncPrivacy:
    """Table `crm-sync`: each of the person's contacts' synced record (`RECORD#contact:<id>`: the record and its
    audit trail), its links from CRM ids and its conflicts are deleted; their accounts' records keep their
    fields less any value naming the person, and audit entries naming them are deleted. The CRMs' own copies
    are deleted by the sync's writer (`crm_records`, asked by the service through the queue).

    A contact record is also the person's when a link from one of their CRM ids names it. The lead domain
    publishes a change's events before committing it: a change that loses its commit (a capture and an identify
    of one new person at once) has told the sync of a contact it created, and the sync keeps a record of it, with
    the email. Its redo stores that contact merged into the person (`shared.leads.service`), but one that never
    comes (a redo that finds the event applied meanwhile) leaves it to the sync alone: its record's CRM copies
    come back as the person's identities (the CRMs' webhooks of the records the writer made), and their links
    lead to it. Followed to a fixed point: a record found so names more CRM ids.

    A contact record whose copy in a CRM has no id but a create claim (a create in flight when the person is
    erased, or sent and never answered) names the CRM's record by the values the create sent (the email): the
    erasure asks the CRM to delete what holds them. Those values are kept in the table (`DynamoDbErasureLookups`,
    under the CRM and the record's key) before the notice is queued, and the notice names only that reference
    (`CrmRecordLookup.lookup`): the person's email never sits in the queue or its dead-letter queue; the writer
    deletes them with the CRM's record."""

    name = "crm-sync"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def _found(self, person: Person) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
        """The person's contact records (record key -> its partition's items) and the links of their CRM ids."""
        records: dict[str, list[dict[str, Any]]] = {}
        links: dict[tuple[str, str], dict[str, Any]] = {}
        pending = [f"contact:{c}" for c in person.contact_ids]
        for _ in range(MAX_MERGE_HOPS):
            for record in dict.fromkeys(k for k in pending if k not in records):
                records[record] = query_partition(self._client, self._table, f"RECORD#{record}")
            refs = [ref for ref in _crm_refs(person, records) if ref.crm_id and (ref.crm, ref.crm_id) not in links]
            keys = [composite_key(f"LINK#{ref.crm}#contact#{ref.crm_id}", "LINK") for ref in refs]
            for ref in refs:
                links[(ref.crm, ref.crm_id)] = {}
            for item in get_items(self._client, self._table, keys) if keys else []:
                crm, _, crm_id = (string_attribute(item, "pk") or "").removeprefix("LINK#").partition("#contact#")
                links[(crm, crm_id)] = item
            pending = [
                linked
                for item in links.values()
                if (linked := string_attribute(item, "record_key"))
                and linked.startswith("contact:")
                and linked not in records
            ]
            if not pending:
                break
        return records, [item for item in links.values() if item]

    def crm_records(self, person: Person) -> list[CrmRecordRef]:
        """The person's CRM records; the values of those found by their values kept for the writer first."""
        records, _ = self._found(person)
        refs = _crm_refs(person, records)
        lookups = DynamoDbErasureLookups(self._client, self._table)
        for ref in refs:
            if isinstance(ref, CrmRecordLookup) and ref.match_field:
                lookups.keep(ref.crm, ref.lookup, ref.match_field, ref.match_values)
        return refs

    def export(self, person: Person) -> dict[str, Any]:
        sections: dict[str, list[dict[str, Any]]] = {"records": [], "audit": [], "applied_events": []}
        records, links = self._found(person)
        for items in records.values():
            for item in items:
                shown = exported(item)
                if isinstance(shown.get("body"), str):
                    shown["body"] = json.loads(shown["body"])
                sections[_crm_section(string_attribute(item, "sk") or "")].append(shown)
        return {**sections, "links": [exported(i) for i in links]}

    def erase(self, person: Person) -> int:
        records, links = self._found(person)
        keys: list[dict[str, Any]] = [item_key(i) for i in links]
        for items in records.values():
            for item in items:
                keys.append(item_key(item))
                if string_attribute(item, "sk") == "RECORD":
                    keys += [composite_key(f"CONFLICT#{c}", "CONFLICT") for c in (_body(item).get("conflicts") or {})]
        erased = delete_items(self._client, self._table, keys)
        for account in person.account_ids:
            erased += self._scrub_account(account, person.needles)
        return erased

    def _scrub_account(self, account_id: str, needles: Needles) -> int:
        items = query_partition(self._client, self._table, f"RECORD#account:{account_id}")
        scrubbed = 0
        naming = [
            i
            for i in items
            if string_attribute(i, "sk") != "RECORD" and needles.found_in(string_attribute(i, "body") or "")
        ]
        scrubbed += delete_items(self._client, self._table, [item_key(i) for i in naming])
        for item in items:
            if string_attribute(item, "sk") != "RECORD":
                continue
            body, changed = redact(_body(item), needles)
            if changed:
                self._client.update_item(
                    TableName=self._table,
                    Key=item_key(item),
                    UpdateExpression="SET body = :body",
                    ConditionExpression="body = :read",
                    ExpressionAttributeValues={
                        ":body": {"S": json.dumps(body, separators=(",", ":"))},
                        ":read": item["body"],
                    },
                )
                scrubbed += 1
        return scrubbed


def _crm_section(sk: str) -> str:
    """Where a synced record's item goes in an export: the record, its audit trail, or the events applied to it."""
    if sk == "RECORD":
        return "records"
    return "applied_events" if sk.startswith("APPLIED#") else "audit"


def _crm_refs(person: Person, records: Mapping[str, list[dict[str, Any]]]) -> list[CrmRecordRef]:
    """The CRM contacts of the person: their records' copies, and the CRM ids the lead domain linked, synced or
    not."""
    refs: dict[tuple[str, str], CrmRecordRef] = {}
    for record_key, items in records.items():
        for item in items:
            if string_attribute(item, "sk") == "RECORD":
                for crm, copy in (_body(item).get("crms") or {}).items():
                    if crm in CRMS and isinstance(copy, Mapping) and copy.get("id"):
                        refs[(crm, str(copy["id"]))] = CrmRecordRef(crm, "contact", str(copy["id"]))
                    elif crm in CRMS and isinstance(copy, Mapping) and (found_by := _created_unanswered(copy)):
                        refs[(crm, f"lookup:{record_key}")] = CrmRecordLookup(
                            crm, "contact", "", found_by[0], found_by[1], record_key
                        )
    for key in person.identity_keys:
        crm, _, crm_id = key.partition("#")
        if crm in CRMS and crm_id:
            refs.setdefault((crm, crm_id), CrmRecordRef(crm, "contact", crm_id))
    return list(refs.values())


def _created_unanswered(copy: Mapping[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """A copy with no CRM id whose create claim is there (`shared.crm.records.CreateClaim`: a create in flight, or
    sent and never answered): the field it was matched on and the values sent, by which the CRM's record is found."""
    claim = copy.get("creating")
    if not isinstance(claim, Mapping):
        return None
    field, sent = claim.get("field"), claim.get("sent")
    values = tuple(v for v in sent if isinstance(v, str) and v) if isinstance(sent, list) else ()
    return (field, values) if isinstance(field, str) and field and values else None


def _body(item: Mapping[str, Any]) -> dict[str, Any]:
    raw = string_attribute(item, "body")
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
