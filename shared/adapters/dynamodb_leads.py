"""The lead repository in DynamoDB (table `leads`; item layout in `dynamodb_lead_items.py`).

A change is one TransactWriteItems: the contacts (each conditioned on the version it was read at, new ones on
not existing), the identities they claim (conditioned on being unclaimed), the engagements and consent changes
they log and the markers of the events they apply (`APPLIED#<event id>`, under the contact or account; each
conditioned on not being logged yet), the accounts they touch and the accounts' identities, the lead events the
change makes (the outbox, `dynamodb_lead_outbox.py`, published from the table's stream), and as much of the
history as fits; history beyond 100 items follows in further transactions once the rest is in. Any
condition that fails is a `ConcurrentUpdate`: the use case reads again and redoes. Nothing is written half:
an identity is never claimed for a contact that was not saved.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_lead_items import (
    APPLIED,
    BAD_CURSOR,
    CONSENT,
    CONTACT_ACCOUNT,
    ENG,
    MERGE,
    OWNER,
    PROFILE,
    SCORE,
    TRANSITION,
    account_from,
    account_identity_pk,
    account_item,
    account_pk,
    check_size,
    consent_from,
    consent_item,
    contact_from,
    contact_item,
    contact_pk,
    decode_cursor,
    encode_cursor,
    engagement_attributes,
    engagement_from,
    entry_attributes,
    identity_pk,
    key,
    merge_from,
    order,
    padded,
    plain,
    score_change_from,
    serialize,
    serializer,
    stage_partition,
    transition_from,
)
from shared.adapters.dynamodb_lead_outbox import outbox_put
from shared.adapters.dynamodb_reads import batch_get, get_item, query_pages
from shared.errors import InvalidInput
from shared.leads.model import (
    Account,
    ConsentRecord,
    Contact,
    EngagementRecord,
    Identity,
    MergeRecord,
    Stage,
    Transition,
)
from shared.leads.ports import (
    ChangeSet,
    ConcurrentUpdate,
    ContactPage,
    History,
    HistoryEntry,
    IdentityClaim,
    OwnerKind,
)

TRANSACTION_LIMIT = 100
INDEX = "by-stage"
ACCOUNT_INDEX = "by-account"
_CONFLICTS = ("ConditionalCheckFailed", "TransactionConflict")


class DynamoDbLeadRepository:
    def __init__(self, client: Any, table_name: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._table = table_name
        self._sleep = sleep

    # ------------------------------------------------------------------------------------------ identities

    def owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        return self._owners([identity_pk(i.key) for i in identities], "contact_id")

    def account_owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        return self._owners([account_identity_pk(i.key) for i in identities], "account_id")

    def _owners(self, pks: list[str], owner_field: str) -> dict[str, str]:
        keys = list(dict.fromkeys(pks))
        items = self._batch_get([key(pk, OWNER) for pk in keys], f"identity_key, {owner_field}")
        return {item["identity_key"]: item[owner_field] for item in items}

    # -------------------------------------------------------------------------------------------- contacts

    def contact(self, contact_id: str) -> Contact | None:
        item = get_item(self._client, self._table, contact_pk(contact_id), PROFILE)
        return None if item is None else contact_from(item)

    def contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact]:
        ids = list(dict.fromkeys(contact_ids))
        found = {
            contact.contact_id: contact
            for contact in map(contact_from, self._batch_get([key(contact_pk(cid), PROFILE) for cid in ids]))
        }
        return {cid: found[cid] for cid in ids if cid in found}

    # ---------------------------------------------------------------------------------------------- writes

    def commit(self, change: ChangeSet) -> None:
        contacts, accounts = list(change.contacts.values()), list(change.accounts.values())
        if len(contacts) + len(accounts) > TRANSACTION_LIMIT:
            raise ValueError(f"at most {TRANSACTION_LIMIT} contacts and accounts can be saved all or nothing")
        versions = {contact.contact_id: contact.version + 1 for contact in contacts}
        writes = [self._contact_put(contact, contact.contact_id in change.created) for contact in contacts]
        writes += [self._claim_put(claim) for claim in change.claims.values()]
        writes += [self._engagement_put(record) for record in change.engagements]
        writes += [self._consent_put(record) for record in change.consents]
        writes += [self._applied_put(kind, owner, event_id) for kind, owner, event_id in change.applied]
        writes += [self._account_put(account) for account in accounts]
        writes += [
            self._account_claim_put(identity_key, owner) for identity_key, owner in change.account_claims.items()
        ]
        # the lead events, in the same transaction as what made them (one item per id: a transaction names an
        # item once)
        writes += [outbox_put(self._table, event) for event in {e.event_id: e for e in change.events}.values()]
        later = self._entry_writes(change.entries, versions)
        room = TRANSACTION_LIMIT - len(writes)
        if room < 0:
            raise ValueError(f"a change of {len(writes)} items does not fit one transaction ({TRANSACTION_LIMIT})")
        writes, later = writes + later[:room], later[room:]
        if writes:
            self._transact(writes, conditional=True)
        for contact in contacts:
            contact.version += 1
        for account in accounts:
            account.version += 1
        for start in range(0, len(later), TRANSACTION_LIMIT):
            self._transact(later[start : start + TRANSACTION_LIMIT], conditional=False)

    def _contact_put(self, contact: Contact, create: bool) -> dict[str, Any]:
        item = contact_item(contact, contact.version + 1)
        check_size(item, f"lead {contact.contact_id}")
        return self._versioned_put(item, contact.version, create)

    def _account_put(self, account: Account) -> dict[str, Any]:
        item = account_item(account, account.version + 1)
        check_size(item, f"account {account.account_id}")
        return self._versioned_put(item, account.version, create=account.version == 0)

    def _versioned_put(self, item: dict[str, Any], read_version: int, create: bool) -> dict[str, Any]:
        conditions, values = [], {}
        if create or read_version == 0:
            conditions.append("attribute_not_exists(pk)")
        if read_version != 0:
            conditions.append("#version = :version")
            values[":version"] = {"N": str(read_version)}
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": serialize(item),
            "ConditionExpression": " AND ".join(conditions),
        }
        if values:
            put["ExpressionAttributeNames"] = {"#version": "version"}
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _claim_put(self, claim: IdentityClaim) -> dict[str, Any]:
        identity_key = claim.identity.key
        item = {
            "pk": identity_pk(identity_key),
            "sk": OWNER,
            "entity": "identity",
            "identity_key": identity_key,
            "contact_id": claim.contact_id,
        }
        put: dict[str, Any] = {"TableName": self._table, "Item": serialize(item)}
        if claim.replaces is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:  # a dangling claim is taken over only from the claimant that never got written
            put["ConditionExpression"] = "contact_id = :dangling"
            put["ExpressionAttributeValues"] = {":dangling": {"S": claim.replaces}}
        return {"Put": put}

    def _account_claim_put(self, identity_key: str, account_id: str) -> dict[str, Any]:
        item = {
            "pk": account_identity_pk(identity_key),
            "sk": OWNER,
            "entity": "account_identity",
            "identity_key": identity_key,
            "account_id": account_id,
        }
        return {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _engagement_put(self, record: EngagementRecord) -> dict[str, Any]:
        item = {"pk": contact_pk(record.contact_id), "sk": ENG + record.event_id, **engagement_attributes(record)}
        check_size(item, f"engagement {record.event_id}")
        return {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _consent_put(self, record: ConsentRecord) -> dict[str, Any]:
        item = consent_item(record)
        check_size(item, f"consent record {record.record_id}")
        return {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _applied_put(self, owner_kind: OwnerKind, owner_id: str, event_id: str) -> dict[str, Any]:
        item = {"pk": _owner_pk(owner_kind, owner_id), "sk": APPLIED + event_id, "entity": "applied_event"}
        return {
            "Put": {
                "TableName": self._table,
                "Item": serialize(item),
                "ConditionExpression": "attribute_not_exists(pk)",  # a duplicate applying it meanwhile: redo
            }
        }

    def _entry_writes(self, entries: Sequence[HistoryEntry], versions: dict[str, int]) -> list[dict[str, Any]]:
        """Transaction items for history entries, one per item key (a later entry for the same key wins)."""
        writes: dict[tuple[str, str], dict[str, Any]] = {}
        for n, entry in enumerate(entries):
            if isinstance(entry, MergeRecord):
                for side in dict.fromkeys((entry.survivor_id, entry.absorbed_id)):
                    item_key = (contact_pk(side), MERGE + entry.merge_id)
                    writes[item_key] = self._merge_update(item_key, entry, order(entry.at, versions.get(side), n))
            else:
                prefix = TRANSITION if isinstance(entry, Transition) else SCORE
                item_key = (contact_pk(entry.contact_id), prefix + order(entry.at, versions.get(entry.contact_id), n))
                item = {"pk": item_key[0], "sk": item_key[1], **entry_attributes(entry)}
                writes[item_key] = {"Put": {"TableName": self._table, "Item": serialize(item)}}
        return list(writes.values())

    def _merge_update(self, item_key: tuple[str, str], record: MergeRecord, position: str) -> dict[str, Any]:
        attributes = entry_attributes(record)
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        values = {f":a{i}": serializer.serialize(value) for i, value in enumerate(attributes.values())}
        assignments = [f"#a{i} = :a{i}" for i in range(len(attributes))]
        names["#order"], values[":order"] = "history_order", {"S": position}
        assignments.append("#order = if_not_exists(#order, :order)")  # an undo keeps the merge's place
        expression = "SET " + ", ".join(assignments)
        if record.undone_at is None:
            names["#undone"] = "undone_at"
            expression += " REMOVE #undone"
        return {
            "Update": {
                "TableName": self._table,
                "Key": key(*item_key),
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _transact(self, writes: list[dict[str, Any]], conditional: bool) -> None:
        for attempt in range(3):
            try:
                # A fresh token per attempt: botocore's own retries of this call then cannot apply it twice.
                self._client.transact_write_items(TransactItems=writes, ClientRequestToken=uuid.uuid4().hex)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons: list[dict[str, Any]] = list(exc.response.get("CancellationReasons", []))  # type: ignore[arg-type]
                codes = {reason.get("Code") for reason in reasons}
                if conditional and codes & set(_CONFLICTS):
                    raise ConcurrentUpdate(
                        f"the change conflicts with another ({', '.join(sorted(map(str, codes)))})"
                    ) from None
                if "TransactionConflict" not in codes or attempt == 2:
                    raise
                self._sleep(0.05 * 2**attempt)  # history-only chunk: nothing to re-read, write it again

    # ---------------------------------------------------------------------------------------- engagements

    def has_engagement(self, contact_id: str, event_id: str) -> bool:
        response = self._client.get_item(
            TableName=self._table,
            Key=key(contact_pk(contact_id), ENG + event_id),
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return "Item" in response

    def applied(self, owner_kind: OwnerKind, owner_id: str, event_id: str) -> bool:
        response = self._client.get_item(
            TableName=self._table,
            Key=key(_owner_pk(owner_kind, owner_id), APPLIED + event_id),
            ConsistentRead=True,
            ProjectionExpression="pk",
        )
        return "Item" in response

    def engagements(self, contact_ids: Sequence[str]) -> list[EngagementRecord]:
        return [
            engagement_from(item)
            for contact_id in contact_ids
            for item in self._query_partition(contact_pk(contact_id), "begins_with(sk, :from)", {":from": ENG})
        ]

    def consents(self, contact_ids: Sequence[str]) -> list[ConsentRecord]:
        return [
            consent_from(item)
            for contact_id in contact_ids
            for item in self._query_partition(contact_pk(contact_id), "begins_with(sk, :from)", {":from": CONSENT})
        ]

    def history(self, contact_id: str) -> History:
        """One range read: MERGE# < PROFILE < SCORE# < TRANSITION#, so `MERGE#`..`TRANSITION$` spans the
        history and at most the profile besides (skipped), never the engagement log (ENG#)."""
        transitions, score_changes, merges = [], [], []
        for item in self._query_partition(
            contact_pk(contact_id), "sk BETWEEN :from AND :to", {":from": MERGE, ":to": TRANSITION[:-1] + "$"}
        ):
            sk = item["sk"]
            if sk.startswith(TRANSITION):
                transitions.append(transition_from(item))
            elif sk.startswith(SCORE):
                score_changes.append(score_change_from(item))
            elif sk.startswith(MERGE):
                merges.append(item)
        merges.sort(key=lambda item: str(item.get("history_order", item["at"])))
        return History(transitions, score_changes, [merge_from(item) for item in merges])

    def _query_partition(self, pk: str, sk_condition: str, values: dict[str, str]) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": f"pk = :pk AND {sk_condition}",
            "ExpressionAttributeValues": serialize({":pk": pk, **values}),
            "ConsistentRead": True,
        }
        return query_pages(self._client, request)

    # ------------------------------------------------------------------------------------------- listings

    def by_stage(self, stage: Stage, min_score: float | None, limit: int, cursor: str | None) -> ContactPage:
        """Query `by-stage` descending. Asks for one item more than the page so the cursor is None exactly
        when nothing follows; the cursor is the index key of the page's last contact."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        if min_score is not None and not math.isfinite(min_score):
            raise InvalidInput("min_score must be a finite number")
        partition = stage_partition(stage)
        condition, values = "stage_partition = :partition", {":partition": partition}
        lowest: str | None = None
        if min_score is not None:
            lowest = padded(math.ceil(round(min_score * 100, 6)))
            condition += " AND stage_sort >= :lowest"
            values[":lowest"] = lowest
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": serialize(values),
            "ScanIndexForward": False,
        }
        if cursor is not None:
            start = decode_cursor(cursor)
            if start["stage_partition"] != partition or (lowest is not None and start["stage_sort"] < lowest):
                raise InvalidInput(BAD_CURSOR)
            request["ExclusiveStartKey"] = serialize(start)
        items: list[dict[str, Any]] = []
        while len(items) <= limit:
            request["Limit"] = limit + 1 - len(items)
            try:
                response = self._client.query(**request)
            except ClientError as exc:
                if cursor is not None and exc.response["Error"]["Code"] == "ValidationException":
                    raise InvalidInput(BAD_CURSOR) from None
                raise
            items.extend(plain(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        page = items[:limit]
        next_cursor = encode_cursor(page[-1]) if len(items) > limit else None
        return ContactPage([contact_from(item) for item in page], next_cursor)

    def contact_ids(self, *, segment: int = 0, segments: int = 1) -> Iterator[str]:
        """Scan for contact profiles not merged away, a page at a time. `segment` of `segments` lets
        workers split the table (DynamoDB parallel scan); the defaults read all of it."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :profile AND begins_with(pk, :contact) AND "
            "(attribute_not_exists(merged_into) OR attribute_type(merged_into, :null))",
            "ProjectionExpression": "contact_id",
            "ExpressionAttributeValues": serialize({":profile": PROFILE, ":contact": "CONTACT#", ":null": "NULL"}),
        }
        if segments > 1:
            request.update(Segment=segment, TotalSegments=segments)
        while True:
            response = self._client.scan(**request)
            yield from (str(plain(item)["contact_id"]) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -------------------------------------------------------------------------------------------- accounts

    def account(self, account_id: str) -> Account | None:
        item = get_item(self._client, self._table, account_pk(account_id), PROFILE)
        return None if item is None else account_from(item)

    def account_contacts(self, account_id: str) -> list[str]:
        """Query the sparse `by-account` index (every page): only contact profiles not merged away carry
        `contact_account`. Eventually consistent, like every GSI read: a contact saved a moment ago may be
        missing, or still listed under the account it just left or after it was merged away."""
        if not account_id:
            return []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ACCOUNT_INDEX,
            "KeyConditionExpression": "#account = :account",
            "ExpressionAttributeNames": {"#account": CONTACT_ACCOUNT},
            "ExpressionAttributeValues": serialize({":account": account_id}),
            "ProjectionExpression": "contact_id",
        }
        return sorted(str(item["contact_id"]) for item in query_pages(self._client, request))

    # ------------------------------------------------------------------------------------------- plumbing

    def _batch_get(self, keys: list[dict[str, Any]], projection: str | None = None) -> list[dict[str, Any]]:
        return batch_get(self._client, self._table, keys, "lead reads", self._sleep, projection)


def _owner_pk(owner_kind: OwnerKind, owner_id: str) -> str:
    return contact_pk(owner_id) if owner_kind == "contact" else account_pk(owner_id)
