"""The lead repository in DynamoDB (table `leads`; access patterns in `shared/catalog.py`).

Items, all under `pk` + `sk`:

- `IDENTITY#<kind>#<value>` / `OWNER`: the contact that claimed an identity (conditional put, first claim wins).
- `CONTACT#<id>` / `PROFILE`: the whole contact, saved with an optimistic `version` condition. Contacts not
  merged away also carry the `by-stage` index keys `stage_partition=STAGE#<stage>` and
  `stage_sort=<padded score hundredths>#<id>`; a merged contact is saved without them and leaves the index.
- `CONTACT#<id>` / `ENG#<event id>`: the append-only engagement log (conditional put).
- `CONTACT#<id>` / `TRANSITION#<at>#<order>` and `SCORE#<at>#<order>`: history, in the contact's transaction.
- `CONTACT#<id>` / `MERGE#<merge id>`: a merge, under the survivor and the absorbed contact alike; undoing it
  rewrites both copies in place (they keep their original `history_order`).
- `ACCOUNT#<id>` / `PROFILE` and `ACCOUNT_IDENTITY#<kind>#<value>` / `OWNER` (first claim wins).

Datetimes are stored as fixed-width UTC ISO strings with microseconds (they sort as they compare) and come
back aware in UTC. The free-form parts (profile values and attributes, engagement properties) are stored
as JSON text: DynamoDB numbers would turn 12.0 into 12 and refuse NaN or more than 38 digits, and JSON
keeps ints, floats, unicode and nesting exactly; datetimes inside them are tagged `{"$datetime": iso}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from shared.errors import InvalidInput
from shared.leads.model import (
    Account,
    Contact,
    ContactProfile,
    EngagementRecord,
    Identity,
    MergeRecord,
    ScoreChange,
    ScoreSnapshot,
    Stage,
    Transition,
)
from shared.leads.ports import ConcurrentUpdate, ContactPage, History, HistoryEntry

TRANSACTION_LIMIT = 100
BATCH_GET_LIMIT = 100
BATCH_RETRIES = 8
INDEX = "by-stage"
PROFILE, OWNER = "PROFILE", "OWNER"
ENG, TRANSITION, SCORE, MERGE = "ENG#", "TRANSITION#", "SCORE#", "MERGE#"
# stage_sort holds the score in hundredths (scores are whole hundredths), offset so negatives sort below
# zero, zero-padded so the string order is the numeric order.
SCORE_OFFSET = 10**15
SCORE_WIDTH = 16
DATETIME_TAG = "$datetime"
_BAD_CURSOR = "cursor is not one this API returned for this query; start again without it"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class DynamoDbLeadRepository:
    def __init__(self, client: Any, table_name: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._table = table_name
        self._sleep = sleep

    # ------------------------------------------------------------------------------------------ identities

    def owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        keys = list(dict.fromkeys(identity.key for identity in identities))
        items = self._batch_get([_key(_identity_pk(key), OWNER) for key in keys], "identity_key, contact_id")
        held = {item["identity_key"]: item["contact_id"] for item in items}
        return {key: held[key] for key in keys if key in held}

    def claim(self, contact_id: str, identities: Sequence[Identity]) -> dict[str, str]:
        taken = {}
        for key in dict.fromkeys(identity.key for identity in identities):
            item = {"pk": _identity_pk(key), "sk": OWNER, "entity": "identity", "identity_key": key}
            owner = self._claim(item, "contact_id", contact_id)
            if owner != contact_id:
                taken[key] = owner
        return taken

    # -------------------------------------------------------------------------------------------- contacts

    def contact(self, contact_id: str) -> Contact | None:
        response = self._client.get_item(
            TableName=self._table, Key=_key(_contact_pk(contact_id), PROFILE), ConsistentRead=True
        )
        return _contact_from(_plain(response["Item"])) if "Item" in response else None

    def contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact]:
        ids = list(dict.fromkeys(contact_ids))
        found = {
            contact.contact_id: contact
            for contact in map(_contact_from, self._batch_get([_key(_contact_pk(cid), PROFILE) for cid in ids]))
        }
        return {cid: found[cid] for cid in ids if cid in found}

    def save(self, contact: Contact, *entries: HistoryEntry, create: bool = False) -> None:
        self.save_many([contact], *entries, create=create)

    def save_many(self, contacts: Sequence[Contact], *entries: HistoryEntry, create: bool = False) -> None:
        """One TransactWriteItems: every contact (conditioned on the version it was read at) and as many
        entries as fit; entries beyond 100 items follow in further transactions once the contacts are in."""
        ids = [contact.contact_id for contact in contacts]
        if len(set(ids)) != len(ids):
            raise ValueError(f"a contact appears more than once in one save: {ids}")
        if len(contacts) > TRANSACTION_LIMIT:
            raise ValueError(f"at most {TRANSACTION_LIMIT} contacts can be saved all or nothing")
        versions = {contact.contact_id: contact.version + 1 for contact in contacts}
        writes = [self._contact_put(contact, create) for contact in contacts]
        later = self._entry_writes(entries, versions)
        room = TRANSACTION_LIMIT - len(writes)
        writes, later = writes + later[:room], later[room:]
        if writes:
            self._transact(writes, contacts)
        for contact in contacts:
            contact.version += 1
        for start in range(0, len(later), TRANSACTION_LIMIT):
            self._transact(later[start : start + TRANSACTION_LIMIT], ())

    def _contact_put(self, contact: Contact, create: bool) -> dict[str, Any]:
        conditions, values = [], {}
        if create or contact.version == 0:
            conditions.append("attribute_not_exists(pk)")
        if contact.version != 0:
            conditions.append("#version = :version")
            values[":version"] = {"N": str(contact.version)}
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": _serialize(_contact_item(contact, contact.version + 1)),
            "ConditionExpression": " AND ".join(conditions),
        }
        if values:
            put["ExpressionAttributeNames"] = {"#version": "version"}
            put["ExpressionAttributeValues"] = values
        return {"Put": put}

    def _entry_writes(self, entries: Sequence[HistoryEntry], versions: dict[str, int]) -> list[dict[str, Any]]:
        """Transaction items for history entries, one per item key (a later entry for the same key wins)."""
        writes: dict[tuple[str, str], dict[str, Any]] = {}
        for n, entry in enumerate(entries):
            if isinstance(entry, MergeRecord):
                for side in dict.fromkeys((entry.survivor_id, entry.absorbed_id)):
                    key = (_contact_pk(side), MERGE + entry.merge_id)
                    writes[key] = self._merge_update(key, entry, _order(entry.at, versions.get(side), n))
            else:
                prefix = TRANSITION if isinstance(entry, Transition) else SCORE
                key = (_contact_pk(entry.contact_id), prefix + _order(entry.at, versions.get(entry.contact_id), n))
                item = {"pk": key[0], "sk": key[1], **_entry_attributes(entry)}
                writes[key] = {"Put": {"TableName": self._table, "Item": _serialize(item)}}
        return list(writes.values())

    def _merge_update(self, key: tuple[str, str], record: MergeRecord, order: str) -> dict[str, Any]:
        attributes = _entry_attributes(record)
        names = {f"#a{i}": name for i, name in enumerate(attributes)}
        values = {f":a{i}": _serializer.serialize(value) for i, value in enumerate(attributes.values())}
        assignments = [f"#a{i} = :a{i}" for i in range(len(attributes))]
        names["#order"], values[":order"] = "history_order", {"S": order}
        assignments.append("#order = if_not_exists(#order, :order)")  # an undo keeps the merge's place
        expression = "SET " + ", ".join(assignments)
        if record.undone_at is None:
            names["#undone"] = "undone_at"
            expression += " REMOVE #undone"
        return {
            "Update": {
                "TableName": self._table,
                "Key": _key(*key),
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _transact(self, writes: list[dict[str, Any]], contacts: Sequence[Contact]) -> None:
        for attempt in range(3):
            try:
                # A fresh token per attempt: botocore's own retries of this call then cannot apply it twice.
                self._client.transact_write_items(TransactItems=writes, ClientRequestToken=uuid.uuid4().hex)
                return
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
                reasons: list[dict[str, Any]] = list(exc.response.get("CancellationReasons", []))  # type: ignore[arg-type]
                codes = [reason.get("Code") for reason in reasons]
                for contact, code in zip(contacts, codes, strict=False):
                    if code in ("ConditionalCheckFailed", "TransactionConflict"):
                        raise ConcurrentUpdate(contact.contact_id) from None
                if contacts and "TransactionConflict" in codes:
                    raise ConcurrentUpdate(", ".join(c.contact_id for c in contacts)) from None
                if "TransactionConflict" not in codes or attempt == 2:
                    raise
                self._sleep(0.05 * 2**attempt)  # history-only chunk: nothing to re-read, write it again

    # ---------------------------------------------------------------------------------------- engagements

    def append(self, record: EngagementRecord) -> bool:
        item = {"pk": _contact_pk(record.contact_id), "sk": ENG + record.event_id, **_engagement_attributes(record)}
        try:
            self._client.put_item(
                TableName=self._table, Item=_serialize(item), ConditionExpression="attribute_not_exists(pk)"
            )
            return True
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise

    def engagements(self, contact_ids: Sequence[str]) -> list[EngagementRecord]:
        return [
            _engagement_from(item)
            for contact_id in contact_ids
            for item in self._query_partition(_contact_pk(contact_id), "begins_with(sk, :from)", {":from": ENG})
        ]

    def history(self, contact_id: str) -> History:
        """One range read: MERGE# < PROFILE < SCORE# < TRANSITION#, so `MERGE#`..`TRANSITION$` spans the
        history and at most the profile besides (skipped), never the engagement log (ENG#)."""
        transitions, score_changes, merges = [], [], []
        for item in self._query_partition(
            _contact_pk(contact_id), "sk BETWEEN :from AND :to", {":from": MERGE, ":to": TRANSITION[:-1] + "$"}
        ):
            sk = item["sk"]
            if sk.startswith(TRANSITION):
                transitions.append(_transition_from(item))
            elif sk.startswith(SCORE):
                score_changes.append(_score_change_from(item))
            elif sk.startswith(MERGE):
                merges.append(item)
        merges.sort(key=lambda item: str(item.get("history_order", item["at"])))
        return History(transitions, score_changes, [_merge_from(item) for item in merges])

    def _query_partition(self, pk: str, sk_condition: str, values: dict[str, str]) -> Iterator[dict[str, Any]]:
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": f"pk = :pk AND {sk_condition}",
            "ExpressionAttributeValues": _serialize({":pk": pk, **values}),
            "ConsistentRead": True,
        }
        while True:
            response = self._client.query(**request)
            yield from (_plain(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # ------------------------------------------------------------------------------------------- listings

    def by_stage(self, stage: Stage, min_score: float | None, limit: int, cursor: str | None) -> ContactPage:
        """Query `by-stage` descending. Asks for one item more than the page so the cursor is None exactly
        when nothing follows; the cursor is the index key of the page's last contact."""
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        if min_score is not None and not math.isfinite(min_score):
            raise InvalidInput("min_score must be a finite number")
        partition = _stage_partition(stage)
        condition, values = "stage_partition = :partition", {":partition": partition}
        lowest: str | None = None
        if min_score is not None:
            lowest = _padded(math.ceil(round(min_score * 100, 6)))
            condition += " AND stage_sort >= :lowest"
            values[":lowest"] = lowest
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": INDEX,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _serialize(values),
            "ScanIndexForward": False,
        }
        if cursor is not None:
            start = _decode_cursor(cursor)
            if start["stage_partition"] != partition or (lowest is not None and start["stage_sort"] < lowest):
                raise InvalidInput(_BAD_CURSOR)
            request["ExclusiveStartKey"] = _serialize(start)
        items: list[dict[str, Any]] = []
        while len(items) <= limit:
            request["Limit"] = limit + 1 - len(items)
            try:
                response = self._client.query(**request)
            except ClientError as exc:
                if cursor is not None and exc.response["Error"]["Code"] == "ValidationException":
                    raise InvalidInput(_BAD_CURSOR) from None
                raise
            items.extend(_plain(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        page = items[:limit]
        next_cursor = _encode_cursor(page[-1]) if len(items) > limit else None
        return ContactPage([_contact_from(item) for item in page], next_cursor)

    def contact_ids(self, *, segment: int = 0, segments: int = 1) -> Iterator[str]:
        """Scan for contact profiles not merged away, a page at a time. `segment` of `segments` lets
        workers split the table (DynamoDB parallel scan); the defaults read all of it."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "sk = :profile AND begins_with(pk, :contact) AND "
            "(attribute_not_exists(merged_into) OR attribute_type(merged_into, :null))",
            "ProjectionExpression": "contact_id",
            "ExpressionAttributeValues": _serialize({":profile": PROFILE, ":contact": "CONTACT#", ":null": "NULL"}),
        }
        if segments > 1:
            request.update(Segment=segment, TotalSegments=segments)
        while True:
            response = self._client.scan(**request)
            yield from (str(_plain(item)["contact_id"]) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    # -------------------------------------------------------------------------------------------- accounts

    def account(self, account_id: str) -> Account | None:
        response = self._client.get_item(
            TableName=self._table, Key=_key(_account_pk(account_id), PROFILE), ConsistentRead=True
        )
        return _account_from(_plain(response["Item"])) if "Item" in response else None

    def account_owner(self, identity: Identity) -> str | None:
        response = self._client.get_item(
            TableName=self._table, Key=_key(_account_identity_pk(identity.key), OWNER), ConsistentRead=True
        )
        return str(_plain(response["Item"])["account_id"]) if "Item" in response else None

    def save_account(self, account: Account, identities: Sequence[Identity]) -> None:
        """The account is written as given (last write wins); each identity goes to its first claimant."""
        self._client.put_item(TableName=self._table, Item=_serialize(_account_item(account)))
        for key in dict.fromkeys(identity.key for identity in identities):
            item = {"pk": _account_identity_pk(key), "sk": OWNER, "entity": "account_identity", "identity_key": key}
            self._claim(item, "account_id", account.account_id)

    # ------------------------------------------------------------------------------------------- plumbing

    def _claim(self, item: dict[str, Any], owner_field: str, owner: str) -> str:
        """Put an ownership item unless one exists; the owner that holds it either way."""
        for _ in range(3):
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=_serialize({**item, owner_field: owner}),
                    ConditionExpression="attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return owner
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
                held: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
                if held is None:
                    held = self._client.get_item(
                        TableName=self._table, Key=_key(item["pk"], item["sk"]), ConsistentRead=True
                    ).get("Item")
                if held is not None:
                    return str(_plain(held)[owner_field])
        raise RuntimeError(f"could not claim {item['pk']}: it vanished between the put and the read")

    def _batch_get(self, keys: list[dict[str, Any]], projection: str | None = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            wanted: dict[str, Any] = {"Keys": keys[start : start + BATCH_GET_LIMIT], "ConsistentRead": True}
            if projection:
                wanted["ProjectionExpression"] = projection
            request: dict[str, Any] = {self._table: wanted}
            for attempt in range(BATCH_RETRIES):
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(_plain(item) for item in response.get("Responses", {}).get(self._table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._sleep(min(0.025 * 2**attempt, 1.0))
            else:
                raise RuntimeError(f"DynamoDB left {len(request[self._table]['Keys'])} lead reads unprocessed")
        return found


# ---------------------------------------------------------------------------------------------- item layout


def _contact_pk(contact_id: str) -> str:
    return f"CONTACT#{contact_id}"


def _identity_pk(identity_key: str) -> str:
    return f"IDENTITY#{identity_key}"


def _account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def _account_identity_pk(identity_key: str) -> str:
    return f"ACCOUNT_IDENTITY#{identity_key}"


def _stage_partition(stage: Stage) -> str:
    return f"STAGE#{Stage(stage).value}"


def _padded(hundredths: int) -> str:
    shifted = min(max(hundredths + SCORE_OFFSET, 0), 10**SCORE_WIDTH - 1)
    return f"{shifted:0{SCORE_WIDTH}d}"


def _stage_sort(contact: Contact) -> str:
    hundredths = round(contact.score.total * 100) if contact.score else 0
    if not -SCORE_OFFSET <= hundredths < SCORE_OFFSET:
        raise ValueError(f"score {contact.score.total if contact.score else 0} is out of the indexable range")
    return f"{_padded(hundredths)}#{contact.contact_id}"


def _order(at: datetime, version: int | None, n: int) -> str:
    """Where an entry sits among the contact's entries at the same instant: the contact version it was
    saved with, then its place in that save; entries of a contact not in the save get a unique tail."""
    if version is None:
        return f"{_iso(at)}#{0:012d}#{n:04d}#{uuid.uuid4().hex}"
    return f"{_iso(at)}#{version:012d}#{n:04d}"


def _contact_item(contact: Contact, version: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _contact_pk(contact.contact_id),
        "sk": PROFILE,
        "entity": "contact",
        "contact_id": contact.contact_id,
        "created_at": _iso(contact.created_at),
        "updated_at": _iso(contact.updated_at),
        "stage": Stage(contact.stage).value,
        "stage_entered_at": _iso_or_none(contact.stage_entered_at),
        "lead_since": _iso_or_none(contact.lead_since),
        "profile": _profile_json(contact.profile),
        "identities": sorted(contact.identities),
        "account_id": contact.account_id,
        "score": _score_map(contact.score) if contact.score else None,
        "merged_into": contact.merged_into,
        "members": list(contact.members),
        "handoffs": {level: _iso(at) for level, at in contact.handoffs.items()},
        "never_merge": sorted(contact.never_merge),
        "version": version,
    }
    if contact.merged_into is None:  # only contacts that are not merged away are listed by stage
        item["stage_partition"] = _stage_partition(contact.stage)
        item["stage_sort"] = _stage_sort(contact)
    return {name: value for name, value in item.items() if value is not None}


def _contact_from(item: dict[str, Any]) -> Contact:
    return Contact(
        contact_id=item["contact_id"],
        created_at=_when(item["created_at"]),
        updated_at=_when(item["updated_at"]),
        stage=Stage(item["stage"]),
        stage_entered_at=_when_or_none(item.get("stage_entered_at")),
        lead_since=_when_or_none(item.get("lead_since")),
        profile=_profile_from(item["profile"]),
        identities=set(item.get("identities", [])),
        account_id=item.get("account_id"),
        score=_score_from(item["score"]) if item.get("score") else None,
        merged_into=item.get("merged_into"),
        members=list(item.get("members", [])),
        handoffs={level: _when(at) for level, at in item.get("handoffs", {}).items()},
        never_merge=set(item.get("never_merge", [])),
        version=int(item["version"]),
    )


def _score_map(score: ScoreSnapshot) -> dict[str, Any]:
    return {
        "total": _number(score.total),
        "fit": _number(score.fit),
        "engagement": _number(score.engagement),
        "mql": score.mql,
        "handoff": score.handoff,
        "model_version": score.model_version,
        "as_of": _iso(score.as_of),
        "email_engagement": _number(score.email_engagement),
        "content_pieces": int(score.content_pieces),
        "website_sessions": int(score.website_sessions),
        "icp_fit": score.icp_fit,
    }


def _score_from(item: dict[str, Any]) -> ScoreSnapshot:
    return ScoreSnapshot(
        total=float(item["total"]),
        fit=float(item["fit"]),
        engagement=float(item["engagement"]),
        mql=bool(item["mql"]),
        handoff=item.get("handoff"),
        model_version=item["model_version"],
        as_of=_when(item["as_of"]),
        email_engagement=float(item.get("email_engagement", 0)),
        content_pieces=int(item.get("content_pieces", 0)),
        website_sessions=int(item.get("website_sessions", 0)),
        icp_fit=bool(item.get("icp_fit", False)),
    )


def _profile_json(profile: ContactProfile) -> str:
    return _dumps({"values": profile.values, "updated_at": profile.updated_at, "attributes": profile.attributes})


def _profile_from(text: str) -> ContactProfile:
    document = _loads(text)
    return ContactProfile(document["values"], document["updated_at"], document["attributes"])


def _entry_attributes(entry: HistoryEntry) -> dict[str, Any]:
    if isinstance(entry, Transition):
        return {
            "entity": "transition",
            "contact_id": entry.contact_id,
            "at": _iso(entry.at),
            "from_stage": Stage(entry.from_stage).value,
            "to_stage": Stage(entry.to_stage).value,
            "cause": entry.cause,
        }
    if isinstance(entry, ScoreChange):
        attributes = {
            "entity": "score_change",
            "contact_id": entry.contact_id,
            "at": _iso(entry.at),
            "previous": None if entry.previous is None else _number(entry.previous),
            "total": _number(entry.total),
            "fit": _number(entry.fit),
            "engagement": _number(entry.engagement),
            "cause": entry.cause,
        }
        return {name: value for name, value in attributes.items() if value is not None}
    attributes = {
        "entity": "merge",
        "merge_id": entry.merge_id,
        "survivor_id": entry.survivor_id,
        "absorbed_id": entry.absorbed_id,
        "at": _iso(entry.at),
        "cause": entry.cause,
        "undone_at": _iso_or_none(entry.undone_at),
    }
    return {name: value for name, value in attributes.items() if value is not None}


def _transition_from(item: dict[str, Any]) -> Transition:
    return Transition(
        item["contact_id"], _when(item["at"]), Stage(item["from_stage"]), Stage(item["to_stage"]), item["cause"]
    )


def _score_change_from(item: dict[str, Any]) -> ScoreChange:
    return ScoreChange(
        contact_id=item["contact_id"],
        at=_when(item["at"]),
        previous=float(item["previous"]) if "previous" in item else None,
        total=float(item["total"]),
        fit=float(item["fit"]),
        engagement=float(item["engagement"]),
        cause=item["cause"],
    )


def _merge_from(item: dict[str, Any]) -> MergeRecord:
    return MergeRecord(
        merge_id=item["merge_id"],
        survivor_id=item["survivor_id"],
        absorbed_id=item["absorbed_id"],
        at=_when(item["at"]),
        cause=item["cause"],
        undone_at=_when_or_none(item.get("undone_at")),
    )


def _engagement_attributes(record: EngagementRecord) -> dict[str, Any]:
    attributes = {
        "entity": "engagement",
        "event_id": record.event_id,
        "contact_id": record.contact_id,
        "occurred_at": _iso(record.occurred_at),
        "kind": record.kind,
        "source_vendor": record.source_vendor,
        "name": record.name,
        "url": record.url,
        "path": record.path,
        "properties": _dumps(record.properties),
    }
    return {name: value for name, value in attributes.items() if value is not None}


def _engagement_from(item: dict[str, Any]) -> EngagementRecord:
    return EngagementRecord(
        event_id=item["event_id"],
        contact_id=item["contact_id"],
        occurred_at=_when(item["occurred_at"]),
        kind=item["kind"],
        source_vendor=item["source_vendor"],
        name=item.get("name"),
        url=item.get("url"),
        path=item.get("path"),
        properties=_loads(item.get("properties", "{}")),
    )


def _account_item(account: Account) -> dict[str, Any]:
    item = {
        "pk": _account_pk(account.account_id),
        "sk": PROFILE,
        "entity": "account",
        "account_id": account.account_id,
        "created_at": _iso(account.created_at),
        "updated_at": _iso(account.updated_at),
        "domain": account.domain,
        "profile": _profile_json(account.profile),
        "identities": sorted(account.identities),
        "version": account.version,
    }
    return {name: value for name, value in item.items() if value is not None}


def _account_from(item: dict[str, Any]) -> Account:
    return Account(
        account_id=item["account_id"],
        created_at=_when(item["created_at"]),
        updated_at=_when(item["updated_at"]),
        domain=item.get("domain"),
        profile=_profile_from(item["profile"]),
        identities=set(item.get("identities", [])),
        version=int(item.get("version", 0)),
    )


# ------------------------------------------------------------------------------------------------ encodings


def _iso(moment: datetime) -> str:
    """Fixed-width UTC with microseconds, so stored strings sort in time order."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: the lead repository stores aware datetimes only")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else _iso(moment)


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _when_or_none(text: str | None) -> datetime | None:
    return None if text is None else _when(text)


def _number(value: float) -> Decimal:
    """A float as DynamoDB takes it: the shortest decimal that reads back as the same float."""
    number = Decimal(repr(float(value)))
    if not number.is_finite():
        raise ValueError(f"{value!r} cannot be stored as a DynamoDB number")
    return number


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_tag, separators=(",", ":"))


def _tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {DATETIME_TAG: _iso(value)}
    raise TypeError(f"{type(value).__name__} is not storable in a lead profile; use JSON values or datetimes")


def _untag(document: dict[str, Any]) -> Any:
    if len(document) == 1 and isinstance(document.get(DATETIME_TAG), str):
        try:
            return _when(document[DATETIME_TAG])
        except ValueError:
            return document  # a stored dict that merely looks like a tag
    return document


def _loads(text: str) -> Any:
    return json.loads(text, object_hook=_untag)


def _encode_cursor(item: dict[str, Any]) -> str:
    start = {name: item[name] for name in ("pk", "sk", "stage_partition", "stage_sort")}
    return base64.urlsafe_b64encode(json.dumps(start, separators=(",", ":")).encode()).decode()


def _decode_cursor(cursor: str) -> dict[str, str]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        start = {name: decoded[name] for name in ("pk", "sk", "stage_partition", "stage_sort")}
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidInput(_BAD_CURSOR) from None
    if not all(isinstance(value, str) and value for value in start.values()) or start["sk"] != PROFILE:
        raise InvalidInput(_BAD_CURSOR)
    return start


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _serialize(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in item.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}
