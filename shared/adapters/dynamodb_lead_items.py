"""How leads are laid out in the DynamoDB table `leads` (access patterns in `shared/catalog.py`): keys, items
and the encodings of their values. The repository (`dynamodb_leads.py`) reads and writes through this.

Items, all under `pk` + `sk`:

- `IDENTITY#<kind>#<value>` / `OWNER`: the contact that claimed an identity (first claim wins).
- `CONTACT#<id>` / `PROFILE`: the whole contact, saved with an optimistic `version` condition. Contacts not
  merged away also carry the `by-stage` index keys `stage_partition=STAGE#<stage>` and
  `stage_sort=<padded score hundredths>#<id>`; a merged contact is saved without them and leaves the index.
  Contacts not merged away that belong to an account also carry the `by-account` index key
  `contact_account=<account id>` (the index sorts them by `pk`, so by contact id); a contact saved merged
  away or without an account has none and leaves that index.
- `CONTACT#<id>` / `ENG#<event id>`: the append-only engagement log (`campaign` as JSON text, left out when
  empty, like `referrer` when there is none).
- `CONTACT#<id>` / `CONSENT#<record id>`: the append-only consent log (each change of what a source said about a
  purpose; `<record id>` is `<event id>:<purpose>`), written conditioned on not existing, like the engagements.
- `CONTACT#<id>` / `APPLIED#<event id>` and `ACCOUNT#<id>` / `APPLIED#<event id>`: a canonical event that logs
  no engagement (contact, deal, subscription, survey and account events) was applied to the contact (the owner
  of its strongest identity) or the account, written with the change it made, conditioned on not existing: a
  redelivery or a replay of it is answered from this one key. Key only; erased with the contact's partition.
- `CONTACT#<id>` / `TRANSITION#<at>#<order>` and `SCORE#<at>#<order>`: history, in the contact's transaction.
- `CONTACT#<id>` / `MERGE#<merge id>`: a merge, under the survivor and the absorbed contact alike; undoing it
  rewrites both copies in place (they keep their original `history_order`).
- `ACCOUNT#<id>` / `PROFILE` and `ACCOUNT_IDENTITY#<kind>#<value>` / `OWNER` (first claim wins).
- `SCORING_MODEL` / `ACTIVE` and `SCORING_MODEL#<version>` / `DEFINITION`: the scoring model in force.
- `NURTURE_CLOCK` / `CURSORS`: the last contact the nurture clock reached in each stage (`dynamodb_lead_nurture.py`).

Datetimes are stored as fixed-width UTC ISO strings with microseconds (they sort as they compare) and come
back aware in UTC. The free-form parts (profile values and attributes, engagement properties) are stored
as JSON text: DynamoDB numbers would turn 12.0 into 12 and refuse NaN or more than 38 digits, and JSON
keeps ints, floats, unicode and nesting exactly; datetimes inside them are tagged `{"$datetime": iso}`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.adapters.dynamodb_items import (  # noqa: F401 (the lead adapters import them from here too)
    MAX_ITEM_BYTES,
    iso,
    iso_or_none,
    item_size,
    key,
    plain,
    serialize,
    serializer,
    value_size,
    when,
    when_or_none,
)
from shared.errors import InvalidInput
from shared.leads.model import (
    Account,
    ConsentRecord,
    Contact,
    ContactProfile,
    EngagementRecord,
    MergeRecord,
    ScoreChange,
    ScoreSnapshot,
    Stage,
    Transition,
)
from shared.leads.ports import HistoryEntry, TooLargeToStore

PROFILE, OWNER = "PROFILE", "OWNER"
ENG, TRANSITION, SCORE, MERGE, CONSENT = "ENG#", "TRANSITION#", "SCORE#", "MERGE#", "CONSENT#"
APPLIED = "APPLIED#"  # a canonical event applied to the contact or account (`ChangeSet.applied`): key only
# stage_sort holds the score in hundredths (scores are whole hundredths), offset so negatives sort below
# zero, zero-padded so the string order is the numeric order.
SCORE_OFFSET = 10**15
SCORE_WIDTH = 16
DATETIME_TAG = "$datetime"
# the `by-account` index key: on contact profiles not merged away that have an account
CONTACT_ACCOUNT = "contact_account"
BAD_CURSOR = "cursor is not one this API returned for this query; start again without it"


def contact_pk(contact_id: str) -> str:
    return f"CONTACT#{contact_id}"


def identity_pk(identity_key: str) -> str:
    return f"IDENTITY#{identity_key}"


def account_pk(account_id: str) -> str:
    return f"ACCOUNT#{account_id}"


def account_identity_pk(identity_key: str) -> str:
    return f"ACCOUNT_IDENTITY#{identity_key}"


def stage_partition(stage: Stage) -> str:
    return f"STAGE#{Stage(stage).value}"


def padded(hundredths: int) -> str:
    shifted = min(max(hundredths + SCORE_OFFSET, 0), 10**SCORE_WIDTH - 1)
    return f"{shifted:0{SCORE_WIDTH}d}"


def stage_sort(contact: Contact) -> str:
    hundredths = round(contact.score.total * 100) if contact.score else 0
    if not -SCORE_OFFSET <= hundredths < SCORE_OFFSET:
        raise ValueError(f"score {contact.score.total if contact.score else 0} is out of the indexable range")
    return f"{padded(hundredths)}#{contact.contact_id}"


def order(at: datetime, version: int | None, n: int) -> str:
    """Where an entry sits among the contact's entries at the same instant: the contact version it was
    saved with, then its place in that save; entries of a contact not in the save get a unique tail."""
    if version is None:
        return f"{iso(at)}#{0:012d}#{n:04d}#{uuid.uuid4().hex}"
    return f"{iso(at)}#{version:012d}#{n:04d}"


def contact_item(contact: Contact, version: int) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": contact_pk(contact.contact_id),
        "sk": PROFILE,
        "entity": "contact",
        "contact_id": contact.contact_id,
        "created_at": iso(contact.created_at),
        "updated_at": iso(contact.updated_at),
        "stage": Stage(contact.stage).value,
        "stage_entered_at": iso_or_none(contact.stage_entered_at),
        "lead_since": iso_or_none(contact.lead_since),
        "profiles": dumps({origin: profile_document(part) for origin, part in contact.profiles.items()}),
        "identities": sorted(contact.identities),
        "account_id": contact.account_id,
        "account_linked_at": iso_or_none(contact.account_linked_at),
        "score": score_map(contact.score) if contact.score else None,
        "merged_into": contact.merged_into,
        "members": list(contact.members),
        "handoffs": {level: iso(at) for level, at in contact.handoffs.items()},
        "recycled_at": iso_or_none(contact.recycled_at),
        "never_merge": sorted(contact.never_merge),
        "version": version,
    }
    if contact.merged_into is None:  # only contacts that are not merged away are listed by stage
        item["stage_partition"] = stage_partition(contact.stage)
        item["stage_sort"] = stage_sort(contact)
        if contact.account_id:  # ... and by account (an index key cannot be empty)
            item[CONTACT_ACCOUNT] = contact.account_id
    return {name: value for name, value in item.items() if value is not None}


def contact_from(item: dict[str, Any]) -> Contact:
    return Contact(
        contact_id=item["contact_id"],
        created_at=when(item["created_at"]),
        updated_at=when(item["updated_at"]),
        stage=Stage(item["stage"]),
        stage_entered_at=when_or_none(item.get("stage_entered_at")),
        lead_since=when_or_none(item.get("lead_since")),
        profiles=_profiles_from(item),
        identities=set(item.get("identities", [])),
        account_id=item.get("account_id"),
        account_linked_at=when_or_none(item.get("account_linked_at")),
        score=score_from(item["score"]) if item.get("score") else None,
        merged_into=item.get("merged_into"),
        members=list(item.get("members", [])),
        handoffs={level: when(at) for level, at in item.get("handoffs", {}).items()},
        recycled_at=when_or_none(item.get("recycled_at")),
        never_merge=set(item.get("never_merge", [])),
        version=int(item["version"]),
    )


def score_map(score: ScoreSnapshot) -> dict[str, Any]:
    return {
        "total": number(score.total),
        "fit": number(score.fit),
        "engagement": number(score.engagement),
        "mql": score.mql,
        "handoff": score.handoff,
        "model_version": score.model_version,
        "as_of": iso(score.as_of),
        "email_engagement": number(score.email_engagement),
        "content_pieces": int(score.content_pieces),
        "website_sessions": int(score.website_sessions),
        "icp_fit": score.icp_fit,
    }


def score_from(item: dict[str, Any]) -> ScoreSnapshot:
    return ScoreSnapshot(
        total=float(item["total"]),
        fit=float(item["fit"]),
        engagement=float(item["engagement"]),
        mql=bool(item["mql"]),
        handoff=item.get("handoff"),
        model_version=item["model_version"],
        as_of=when(item["as_of"]),
        email_engagement=float(item.get("email_engagement", 0)),
        content_pieces=int(item.get("content_pieces", 0)),
        website_sessions=int(item.get("website_sessions", 0)),
        icp_fit=bool(item.get("icp_fit", False)),
    )


def profile_document(profile: ContactProfile) -> dict[str, Any]:
    return {"values": profile.values, "updated_at": profile.updated_at, "attributes": profile.attributes}


def profile_of(document: dict[str, Any]) -> ContactProfile:
    return ContactProfile(document["values"], document["updated_at"], document["attributes"])


def _profiles_from(item: dict[str, Any]) -> dict[str, ContactProfile]:
    if "profiles" not in item:  # written before profiles were kept per contact: all of it is the contact's own
        return {item["contact_id"]: profile_of(loads(item["profile"]))}
    return {origin: profile_of(document) for origin, document in loads(item["profiles"]).items()}


def entry_attributes(entry: HistoryEntry) -> dict[str, Any]:
    if isinstance(entry, Transition):
        return {
            "entity": "transition",
            "contact_id": entry.contact_id,
            "at": iso(entry.at),
            "from_stage": Stage(entry.from_stage).value,
            "to_stage": Stage(entry.to_stage).value,
            "cause": entry.cause,
        }
    if isinstance(entry, ScoreChange):
        attributes = {
            "entity": "score_change",
            "contact_id": entry.contact_id,
            "at": iso(entry.at),
            "previous": None if entry.previous is None else number(entry.previous),
            "total": number(entry.total),
            "fit": number(entry.fit),
            "engagement": number(entry.engagement),
            "cause": entry.cause,
        }
        return {name: value for name, value in attributes.items() if value is not None}
    attributes = {
        "entity": "merge",
        "merge_id": entry.merge_id,
        "survivor_id": entry.survivor_id,
        "absorbed_id": entry.absorbed_id,
        "at": iso(entry.at),
        "cause": entry.cause,
        "undone_at": iso_or_none(entry.undone_at),
    }
    return {name: value for name, value in attributes.items() if value is not None}


def transition_from(item: dict[str, Any]) -> Transition:
    return Transition(
        item["contact_id"], when(item["at"]), Stage(item["from_stage"]), Stage(item["to_stage"]), item["cause"]
    )


def score_change_from(item: dict[str, Any]) -> ScoreChange:
    return ScoreChange(
        contact_id=item["contact_id"],
        at=when(item["at"]),
        previous=float(item["previous"]) if "previous" in item else None,
        total=float(item["total"]),
        fit=float(item["fit"]),
        engagement=float(item["engagement"]),
        cause=item["cause"],
    )


def merge_from(item: dict[str, Any]) -> MergeRecord:
    return MergeRecord(
        merge_id=item["merge_id"],
        survivor_id=item["survivor_id"],
        absorbed_id=item["absorbed_id"],
        at=when(item["at"]),
        cause=item["cause"],
        undone_at=when_or_none(item.get("undone_at")),
    )


def engagement_attributes(record: EngagementRecord) -> dict[str, Any]:
    attributes = {
        "entity": "engagement",
        "event_id": record.event_id,
        "contact_id": record.contact_id,
        "occurred_at": iso(record.occurred_at),
        "kind": record.kind,
        "source_vendor": record.source_vendor,
        "name": record.name,
        "url": record.url,
        "path": record.path,
        "properties": dumps(record.properties),
        "referrer": record.referrer,
        "campaign": dumps(record.campaign) if record.campaign else None,
    }
    return {name: value for name, value in attributes.items() if value is not None}


def engagement_from(item: dict[str, Any]) -> EngagementRecord:
    return EngagementRecord(
        event_id=item["event_id"],
        contact_id=item["contact_id"],
        occurred_at=when(item["occurred_at"]),
        kind=item["kind"],
        source_vendor=item["source_vendor"],
        name=item.get("name"),
        url=item.get("url"),
        path=item.get("path"),
        properties=loads(item.get("properties", "{}")),
        # items logged before attribution kept campaigns have neither
        referrer=item.get("referrer"),
        campaign=loads(item.get("campaign", "{}")),
    )


def consent_item(record: ConsentRecord) -> dict[str, Any]:
    item = {
        "pk": contact_pk(record.contact_id),
        "sk": CONSENT + record.record_id,
        "entity": "consent",
        "record_id": record.record_id,
        "contact_id": record.contact_id,
        "purpose": record.purpose,
        "granted": record.granted,
        "at": iso(record.at),
        "source": record.source,
        "detail": record.detail,
        "recorded_at": iso(record.recorded_at),
        "event_id": record.event_id,
    }
    return {name: value for name, value in item.items() if value is not None}


def consent_from(item: dict[str, Any]) -> ConsentRecord:
    return ConsentRecord(
        record_id=item["record_id"],
        contact_id=item["contact_id"],
        purpose=item["purpose"],
        granted=bool(item["granted"]),
        at=when(item["at"]),
        source=item["source"],
        detail=item["detail"],
        recorded_at=when(item["recorded_at"]),
        event_id=item.get("event_id"),
    )


def account_item(account: Account, version: int) -> dict[str, Any]:
    item = {
        "pk": account_pk(account.account_id),
        "sk": PROFILE,
        "entity": "account",
        "account_id": account.account_id,
        "created_at": iso(account.created_at),
        "updated_at": iso(account.updated_at),
        "domain": account.domain,
        "profile": dumps(profile_document(account.profile)),
        "identities": sorted(account.identities),
        "version": version,
    }
    return {name: value for name, value in item.items() if value is not None}


def account_from(item: dict[str, Any]) -> Account:
    return Account(
        account_id=item["account_id"],
        created_at=when(item["created_at"]),
        updated_at=when(item["updated_at"]),
        domain=item.get("domain"),
        profile=profile_of(loads(item["profile"])),
        identities=set(item.get("identities", [])),
        version=int(item.get("version", 0)),
    )


# ------------------------------------------------------------------------------------------------ encodings


def number(value: float) -> Decimal:
    """A float as DynamoDB takes it: the shortest decimal that reads back as the same float."""
    number = Decimal(repr(float(value)))
    if not number.is_finite():
        raise ValueError(f"{value!r} cannot be stored as a DynamoDB number")
    return number


def dumps(value: Any) -> str:
    return json.dumps(value, default=tag, separators=(",", ":"))


def tag(value: Any) -> Any:
    if isinstance(value, datetime):
        return {DATETIME_TAG: iso(value)}
    raise TypeError(f"{type(value).__name__} is not storable in a lead profile; use JSON values or datetimes")


def untag(document: dict[str, Any]) -> Any:
    if len(document) == 1 and isinstance(document.get(DATETIME_TAG), str):
        try:
            return when(document[DATETIME_TAG])
        except ValueError:
            return document  # a stored dict that merely looks like a tag
    return document


def loads(text: str) -> Any:
    return json.loads(text, object_hook=untag)


def encode_cursor(item: dict[str, Any]) -> str:
    start = {name: item[name] for name in ("pk", "sk", "stage_partition", "stage_sort")}
    return base64.urlsafe_b64encode(json.dumps(start, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str) -> dict[str, str]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        start = {name: decoded[name] for name in ("pk", "sk", "stage_partition", "stage_sort")}
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeError):
        raise InvalidInput(BAD_CURSOR) from None
    if not all(isinstance(value, str) and value for value in start.values()) or start["sk"] != PROFILE:
        raise InvalidInput(BAD_CURSOR)
    return start


def check_size(item: dict[str, Any], what: str) -> None:
    size = item_size(item)
    if size > MAX_ITEM_BYTES:
        largest = max(item, key=lambda name: value_size(item[name]))
        raise TooLargeToStore(
            f"{what} would be {size} bytes, over DynamoDB's item limit of 400 KB "
            f"(its `{largest}` takes {value_size(item[largest])})"
        )


ACTIVE_MODEL_PK, ACTIVE_MODEL_SK = "SCORING_MODEL", "ACTIVE"
MODEL_SK = "DEFINITION"


def model_pk(version: str) -> str:
    return f"SCORING_MODEL#{version}"
