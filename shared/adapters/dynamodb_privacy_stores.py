"""A person's data in each DynamoDB table that holds some (`shared.privacy.ports.PersonalStore`): what an export
shows of it, and how an erasure deletes or irreversibly anonymizes it. Access patterns in the catalog modules
of each table; what is deleted and what is kept, and why, at each class.

Found by key wherever the table has one: the person's contacts, identities and accounts (leads), raw bodies by
their subject hash (the delivery log's `by-subject` index), signals under the person's references and accounts
(success), synced records by the contacts' record keys and their links (crm-sync). Two tables have no index on
a person: handoffs (by lead id) and attribution (deals and conversions naming the person's contacts or email)
are read with a filtered scan. Both are small next to the delivery log (one item per handoff, per deal and
per conversion, and the funnel's markers), and an erasure is a rare operator action; an index per lead on each
would cost every write of theirs for that.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_customer_revenue import PREFIX as REVENUE_SK
from shared.adapters.dynamodb_customer_revenue import revenue_pk
from shared.adapters.dynamodb_items import iso, plain, serialize
from shared.adapters.dynamodb_lead_items import account_from, contact_from, dumps, loads, profile_document
from shared.adapters.dynamodb_ledger import SUBJECT, SUBJECT_INDEX, deflate
from shared.adapters.dynamodb_privacy_items import (
    delete_items,
    exported,
    get_items,
    item_key,
    json_ready,
    query_partition,
    scan_matching,
)
from shared.events.ids import event_id
from shared.leads.model import Contact, ContactProfile
from shared.privacy.model import CrmRecordRef, Needles, Person
from shared.privacy.redaction import mentions, redact, redact_body
from shared.privacy.subject_keys import email_key, normalized_email

MAX_MERGE_HOPS = 20  # merged_into chains and members are short; this bounds a corrupt cycle
CRMS = ("hubspot", "salesforce")


def _s(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value.get("S") if isinstance(value, Mapping) else None


# ------------------------------------------------------------------------------------------------------ leads


class LeadsPrivacy:
    """Table `leads`. The person is the contact holding `IDENTITY#email#<email>`, the contact it was merged into
    and every contact merged into that one. Erasure deletes each contact's every item (profile, engagement log,
    transitions, scores, merges) and the identities they own; accounts are companies and stay, less any profile
    value that names the person (a B2C customer named after them)."""

    name = "leads"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def person(self, email: str) -> Person | None:
        key = email_key(email)
        owner = get_items(self._client, self._table, [_key(f"IDENTITY#{key}", "OWNER")]) if key else []
        if not owner or not (start := _s(owner[0], "contact_id")):
            return None
        contacts = self._connected(start)
        if not contacts:
            return None
        survivor = next((c for c in contacts.values() if c.merged_into is None), next(iter(contacts.values())))
        ordered = [survivor, *(c for c in contacts.values() if c is not survivor)]
        identity_keys = sorted({k for c in ordered for k in c.identities})
        email_first = [k for k in identity_keys if k == key] + [k for k in identity_keys if k != key]
        return Person(
            email=normalized_email(email) or email,
            contact_ids=tuple(c.contact_id for c in ordered),
            identity_keys=tuple(email_first),
            account_ids=tuple(dict.fromkeys(c.account_id for c in ordered if c.account_id)),
            names=_names(ContactProfile.combined(p for c in ordered for p in c.profiles.values())),
        )

    def _connected(self, start: str) -> dict[str, Contact]:
        """The contact, what it was merged into, and every contact merged into those (breadth first)."""
        found: dict[str, Contact] = {}
        pending = [start]
        for _ in range(MAX_MERGE_HOPS):
            wanted = [c for c in dict.fromkeys(pending) if c not in found]
            if not wanted:
                break
            pending = []
            for item in get_items(self._client, self._table, [_key(f"CONTACT#{c}", "PROFILE") for c in wanted]):
                contact = contact_from(plain(item))
                found[contact.contact_id] = contact
                pending += [*contact.members, *([contact.merged_into] if contact.merged_into else [])]
        return found

    def export(self, person: Person) -> dict[str, Any]:
        contacts, engagement, history, applied, other = [], [], [], [], []
        for contact_id in person.contact_ids:
            for item in query_partition(self._client, self._table, f"CONTACT#{contact_id}"):
                sk = _s(item, "sk") or ""
                shown = exported(item)
                if sk == "PROFILE":
                    profiles = loads(plain(item)["profiles"]) if "profiles" in item else {}
                    shown["profiles"] = json_ready(json.loads(dumps(profiles)))
                    contacts.append(shown)
                elif sk.startswith("ENG#"):
                    engagement.append(shown)
                elif sk.startswith(("TRANSITION#", "SCORE#", "MERGE#")):
                    history.append(shown)
                elif sk.startswith("APPLIED#"):  # which of the person's events were applied, and when
                    applied.append(shown)
                else:  # what another part keeps per contact (consent, ...): shown as stored
                    other.append(shown)
        profile = self._profile(person)
        return {
            "profile": profile.values if profile else {},
            "attributes": profile.attributes if profile else {},
            "consent": (profile.attributes.get("consent") if profile else None) or _consent(other),
            "identities": list(person.identity_keys),
            "contacts": contacts,
            "engagement": engagement,
            "history": history,
            "applied_events": applied,
            "other": other,
            "accounts": [exported(item) for item in self._accounts(person)],
        }

    def _profile(self, person: Person) -> ContactProfile | None:
        contacts = self._connected(person.contact_ids[0]) if person.contact_ids else {}
        if not contacts:
            return None
        profile = ContactProfile.combined(p for c in contacts.values() for p in c.profiles.values())
        return ContactProfile(
            json_ready(json.loads(dumps(profile.values))), {}, json_ready(json.loads(dumps(profile.attributes)))
        )

    def _accounts(self, person: Person) -> list[dict[str, Any]]:
        keys = [_key(f"ACCOUNT#{a}", "PROFILE") for a in person.account_ids]
        return get_items(self._client, self._table, keys) if keys else []

    def erase(self, person: Person) -> int:
        erased = 0
        contacts = set(person.contact_ids)
        for contact_id in person.contact_ids:
            items = query_partition(self._client, self._table, f"CONTACT#{contact_id}")
            erased += delete_items(self._client, self._table, [item_key(i) for i in items])
        identities = [_key(f"IDENTITY#{k}", "OWNER") for k in person.identity_keys]
        owned = [i for i in get_items(self._client, self._table, identities) if _s(i, "contact_id") in contacts]
        erased += delete_items(self._client, self._table, [item_key(i) for i in owned])
        for item in self._accounts(person):
            erased += self._scrub_account(item, person.needles)
        return erased

    def _scrub_account(self, item: dict[str, Any], needles: Needles) -> int:
        account = account_from(plain(item))
        named = [n for n, v in account.profile.values.items() if isinstance(v, str) and needles.found_in(v)]
        if not named:
            return 0
        for name in named:
            account.profile.values.pop(name, None)
            account.profile.updated_at.pop(name, None)
        try:
            self._client.update_item(
                TableName=self._table,
                Key=item_key(item),
                UpdateExpression="SET #profile = :profile, #version = :next",
                ConditionExpression="#version = :read",
                ExpressionAttributeNames={"#profile": "profile", "#version": "version"},
                ExpressionAttributeValues={
                    ":profile": {"S": dumps(profile_document(account.profile))},
                    ":next": {"N": str(account.version + 1)},
                    ":read": {"N": str(account.version)},
                },
            )
        except ClientError as exc:  # changed meanwhile: the request is answered; a second request scrubs it
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return 0
        return 1


def _names(profile: ContactProfile) -> tuple[str, ...]:
    first, last = profile.get("first_name"), profile.get("last_name")
    names = [f"{first} {last}" if first and last else None, last, first]
    return tuple(dict.fromkeys(str(n) for n in names if n))


def _consent(other: list[dict[str, Any]]) -> Any:
    found = [item for item in other if str(item.get("sk", "")).upper().startswith("CONSENT")]
    return found or None


# ----------------------------------------------------------------------------------------- webhook-deliveries


class DeliveriesPrivacy:
    """Table `webhook-deliveries`: the raw bodies. Each of the person's subject hashes is looked up in the sparse
    `by-subject` index. A one-event delivery's item, or a refused attempt, is the person's whole: its body and
    request (headers) are removed, its log entry kept without the caller's address and agent. A claim of a batch
    points at the attempt holding the batch's body: the person's events in it are replaced by `{"erased": true}`
    (`shared.privacy.redaction`), the others kept; a body that is not JSON (Salesforce's SOAP) is removed whole.
    The items lose their `subject`, so they leave the index; claims stay (a vendor's retry stays a duplicate)."""

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
        return frozenset(
            event_id(vendor, dedupe)
            for item in self._indexed(person)
            if (vendor := _s(item, "vendor")) and (dedupe := _s(item, "dedupe_key"))
        )

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
            if (vendor := _s(item, "vendor")) and (dedupe := _s(item, "dedupe_key")):
                view["event_ids"].append(event_id(vendor, dedupe))
        return list(shown.values())

    def _body_holder(self, indexed: dict[str, Any]) -> dict[str, Any] | None:
        """The item holding the raw body of an indexed item: itself, or a batch claim's attempt."""
        own = get_items(self._client, self._table, [{"pk": indexed["pk"]}])
        if own and "body" in own[0]:
            return own[0]
        attempt = _s(own[0], "attempt_id") if own else _s(indexed, "attempt_id")
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
            elif attempt := _s(item, "attempt_id"):
                erased += self._redact_attempt(attempt, needles, now)
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


def _binary(value: Mapping[str, Any]) -> bytes:
    raw = value["B"]
    return bytes(raw.value if hasattr(raw, "value") else raw)


def _anonymous_log(log: Mapping[str, Any]) -> bytes:
    """The log entry without who called (the caller's address and agent: a browser's, for the tracking API)."""
    entry = json.loads(zlib.decompress(_binary(log)))
    entry["source_ip"] = entry["user_agent"] = None
    return deflate(json.dumps(entry, separators=(",", ":")).encode())


# --------------------------------------------------------------------------------------------------- handoffs


class HandoffsPrivacy:
    """Table `handoffs`: the person's lead handoffs and their accounts' customer handoffs (found by a filtered
    scan on `lead_id`, see the module's docstring). A handoff names its lead by the hub's contact id, which
    names nobody once the contact is erased, so handoffs and the speed-to-lead figures stay; whatever in their
    details and history names the person (a stakeholder, a note) is anonymized."""

    name = "handoffs"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def _handoffs(self, person: Person) -> list[dict[str, Any]]:
        leads = [*person.contact_ids, *(f"customer:{a}" for a in person.account_ids)]
        found: list[dict[str, Any]] = []
        for start in range(0, len(leads), 50):
            chunk = leads[start : start + 50]
            values = {f":l{n}": {"S": lead} for n, lead in enumerate(chunk)}
            expression = f"sk = :state AND lead_id IN ({', '.join(values)})"
            found += scan_matching(self._client, self._table, expression, values | {":state": {"S": "STATE"}})
        return found

    def export(self, person: Person) -> list[dict[str, Any]]:
        return [exported(item) for item in self._handoffs(person)]

    def erase(self, person: Person) -> int:
        needles = person.needles
        erased = 0
        for item in self._handoffs(person):
            handoff = plain(item)
            details, details_changed = redact(json_ready(handoff.get("details") or {}), needles)
            history, history_changed = redact(json_ready(handoff.get("history") or []), needles)
            if not (details_changed or history_changed):
                continue
            version = int(handoff.get("version", 0))
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=item_key(item),
                    UpdateExpression="SET details = :details, history = :history, #version = :next",
                    ConditionExpression="#version = :read",
                    ExpressionAttributeNames={"#version": "version"},
                    ExpressionAttributeValues=serialize(
                        {":details": details, ":history": history, ":next": version + 1, ":read": version}
                    ),
                )
                erased += 1
            except ClientError as exc:  # changed meanwhile: a second request anonymizes it
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        return erased


# ------------------------------------------------------------------------------------------------ attribution


class AttributionPrivacy:
    """Table `attribution`: the deals and conversions naming the person's contacts or email (a filtered scan, see
    the module's docstring). Touches keep their channel, campaign, time, roles and credits, so campaign,
    channel and conversion totals do not move; what links them to the person (contact ids, emails) is
    removed and the item marked `erased_at`. Totals, pipeline and funnel counts hold no person. The billing
    customers the person is (their vendor identities) lose their subscriptions (LTV), got and deleted by key."""

    name = "attribution"

    def __init__(self, client: Any, table: str, clock: Any) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def _linked(self, person: Person) -> list[dict[str, Any]]:
        values: dict[str, Any] = {":deal": {"S": "DEAL#"}, ":conversion": {"S": "CONVERSION#"}}
        values[":email"] = {"S": person.email}
        linked = ["contains(emails, :email)"]
        for n, contact_id in enumerate(person.contact_ids[:90]):
            values[f":c{n}"] = {"S": contact_id}
            linked.append(f"contains(contact_ids, :c{n})")
        expression = f"(begins_with(pk, :deal) OR begins_with(pk, :conversion)) AND ({' OR '.join(linked)})"
        return scan_matching(self._client, self._table, expression, values)

    def _revenues(self, person: Person) -> list[dict[str, Any]]:
        """The billing customers the person is (their vendor identities: `stripe#cus_...`), got by key."""
        keys = [
            {"pk": {"S": revenue_pk(k)}, "sk": {"S": REVENUE_SK}}
            for k in person.identity_keys
            if not k.startswith("email#")
        ]
        return get_items(self._client, self._table, keys)

    def export(self, person: Person) -> dict[str, list[dict[str, Any]]]:
        items = [exported(item) for item in self._linked(person)]
        return {
            "deals": [i for i in items if str(i.get("pk", "")).startswith("DEAL#")],
            "conversions": [i for i in items if str(i.get("pk", "")).startswith("CONVERSION#")],
            "customer_revenue": [exported(item) for item in self._revenues(person)],
        }

    def erase(self, person: Person) -> int:
        now = iso(self._clock())
        erased = 0
        # their subscriptions go: keyed by identities the hub no longer holds once erased, no conversion finds them
        for item in self._revenues(person):
            self._client.delete_item(TableName=self._table, Key=item_key(item))
            erased += 1
        theirs = {"contact_ids": set(person.contact_ids), "emails": {person.email.lower()}}
        for item in self._linked(person):
            sets = ["erased_at = :now"]
            values: dict[str, Any] = {":now": {"S": now}}
            for name, erased_values in theirs.items():
                if name in item:
                    # An account's deal names its other contacts too: only this person's links go.
                    kept = [v for v in item[name].get("L", []) if _linked_value(name, v) not in erased_values]
                    sets.append(f"{name} = :{name}")
                    values[f":{name}"] = {"L": kept}
            self._client.update_item(
                TableName=self._table,
                Key=item_key(item),
                UpdateExpression="SET " + ", ".join(sets),
                ExpressionAttributeValues=values,
            )
            erased += 1
        return erased


def _crm_section(sk: str) -> str:
    """Where a synced record's item goes in an export: the record, its audit trail, or the events applied to it."""
    if sk == "RECORD":
        return "records"
    return "applied_events" if sk.startswith("APPLIED#") else "audit"


def _linked_value(name: str, value: Mapping[str, Any]) -> str:
    """A deal's or conversion's link as compared with the person's: emails case-insensitively, ids exactly."""
    text = str(value.get("S", ""))
    return text.lower() if name == "emails" else text


# ---------------------------------------------------------------------------------------------------- success


class SuccessPrivacy:
    """Table `success`: signals parked under one of the person's references (`TENANT#unlinked:<reference>`) are
    deleted; in their accounts' logs, the signals their own events made (a survey answer: the signal id is the
    event id) are deleted, and any other signal value naming them is anonymized. Health snapshots are the
    account's and stay (the next signal recomputes them from what is left)."""

    name = "success"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def _parked(self, person: Person) -> Iterator[dict[str, Any]]:
        references = [person.email] + [k.replace("#", ":", 1) for k in person.identity_keys]
        for reference in dict.fromkeys(references):
            yield from query_partition(self._client, self._table, f"TENANT#unlinked:{reference}")

    def _theirs(self, person: Person) -> Iterator[tuple[dict[str, Any], bool]]:
        """The account signals that came from the person's events (True) or that name them (False)."""
        needles = person.needles
        for account in person.account_ids:
            for item in query_partition(self._client, self._table, f"TENANT#{account}", "SIGNAL#"):
                if _s(item, "signal_id") in person.event_ids:
                    yield item, True
                elif mentions(json_ready(plain(item)), needles, strong_only=False):
                    yield item, False

    def export(self, person: Person) -> list[dict[str, Any]]:
        return [exported(item) for item in self._parked(person)] + [exported(i) for i, _ in self._theirs(person)]

    def erase(self, person: Person) -> int:
        parked = [item_key(i) for i in self._parked(person)]
        own: list[dict[str, Any]] = []
        named: list[dict[str, Any]] = []
        for item, from_them in self._theirs(person):
            (own if from_them else named).append(item)
        erased = delete_items(self._client, self._table, parked + [item_key(i) for i in own])
        for item in named:
            values, _ = redact(json.loads(_s(item, "values") or "{}"), person.needles)
            self._client.update_item(
                TableName=self._table,
                Key=item_key(item),
                UpdateExpression="SET #values = :values",
                ExpressionAttributeNames={"#values": "values"},
                ExpressionAttributeValues={":values": {"S": json.dumps(values, separators=(",", ":"))}},
            )
            erased += 1
        return erased


# --------------------------------------------------------------------------------------------------- crm-sync


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
    lead to it. Followed to a fixed point: a record found so names more CRM ids."""

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
            refs = [ref for ref in _crm_refs(person, records) if (ref.crm, ref.crm_id) not in links]
            keys = [_key(f"LINK#{ref.crm}#contact#{ref.crm_id}", "LINK") for ref in refs]
            for ref in refs:
                links[(ref.crm, ref.crm_id)] = {}
            for item in get_items(self._client, self._table, keys) if keys else []:
                crm, _, crm_id = (_s(item, "pk") or "").removeprefix("LINK#").partition("#contact#")
                links[(crm, crm_id)] = item
            pending = [
                linked
                for item in links.values()
                if (linked := _s(item, "record_key")) and linked.startswith("contact:") and linked not in records
            ]
            if not pending:
                break
        return records, [item for item in links.values() if item]

    def crm_records(self, person: Person) -> list[CrmRecordRef]:
        records, _ = self._found(person)
        return _crm_refs(person, records)

    def export(self, person: Person) -> dict[str, Any]:
        sections: dict[str, list[dict[str, Any]]] = {"records": [], "audit": [], "applied_events": []}
        records, links = self._found(person)
        for items in records.values():
            for item in items:
                shown = exported(item)
                if isinstance(shown.get("body"), str):
                    shown["body"] = json.loads(shown["body"])
                sections[_crm_section(_s(item, "sk") or "")].append(shown)
        return {**sections, "links": [exported(i) for i in links]}

    def erase(self, person: Person) -> int:
        records, links = self._found(person)
        keys: list[dict[str, Any]] = [item_key(i) for i in links]
        for items in records.values():
            for item in items:
                keys.append(item_key(item))
                if _s(item, "sk") == "RECORD":
                    keys += [_key(f"CONFLICT#{c}", "CONFLICT") for c in (_body(item).get("conflicts") or {})]
        erased = delete_items(self._client, self._table, keys)
        for account in person.account_ids:
            erased += self._scrub_account(account, person.needles)
        return erased

    def _scrub_account(self, account_id: str, needles: Needles) -> int:
        items = query_partition(self._client, self._table, f"RECORD#account:{account_id}")
        scrubbed = 0
        naming = [i for i in items if _s(i, "sk") != "RECORD" and needles.found_in(_s(i, "body") or "")]
        scrubbed += delete_items(self._client, self._table, [item_key(i) for i in naming])
        for item in items:
            if _s(item, "sk") != "RECORD":
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


def _crm_refs(person: Person, records: Mapping[str, list[dict[str, Any]]]) -> list[CrmRecordRef]:
    """The CRM contacts of the person: their records' copies, and the CRM ids the lead domain linked, synced or
    not."""
    refs: dict[tuple[str, str], CrmRecordRef] = {}
    for items in records.values():
        for item in items:
            if _s(item, "sk") == "RECORD":
                for crm, copy in (_body(item).get("crms") or {}).items():
                    if crm in CRMS and isinstance(copy, Mapping) and copy.get("id"):
                        refs[(crm, str(copy["id"]))] = CrmRecordRef(crm, "contact", str(copy["id"]))
    for key in person.identity_keys:
        crm, _, crm_id = key.partition("#")
        if crm in CRMS and crm_id:
            refs.setdefault((crm, crm_id), CrmRecordRef(crm, "contact", crm_id))
    return list(refs.values())


def _body(item: Mapping[str, Any]) -> dict[str, Any]:
    raw = _s(item, "body")
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}
