"""The person's data in the `leads` table (`shared.privacy.ports.PersonDirectory`): who an email is, what an
export shows of them, and how an erasure deletes or irreversibly anonymizes it. Found by key: the person's
contacts, identities and accounts. Access patterns in `shared/catalog/leads.py`; what is deleted and what is kept,
and why, at the class."""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import ClientError

from shared.adapters.dynamodb_items import plain
from shared.adapters.dynamodb_lead_items import account_from, contact_from, dumps, loads, profile_document
from shared.adapters.dynamodb_lead_outbox import OUTBOX
from shared.adapters.dynamodb_privacy_items import (
    MAX_MERGE_HOPS,
    composite_key,
    delete_items,
    exported,
    get_items,
    item_key,
    json_ready,
    query_partition,
    string_attribute,
)
from shared.leads.identity import normalize_email
from shared.leads.model import Contact, ContactProfile
from shared.privacy.model import Needles, Person
from shared.privacy.subject_keys import normalized_email


class LeadsPrivacy:
    """Table `leads`. The person is the contact holding `IDENTITY#email#<email>`, the contact it was merged into
    and every contact merged into that one. Erasure deletes each contact's every item (profile, engagement log,
    transitions, scores, merges, lead events) and the identities they own; accounts are companies and stay, less
    any profile value that names the person (a B2C customer named after them).

    A contact the person was merged with and split from by an unmerge (`never_merge`, and whatever that one is
    merged with) is someone else, but the lead events it made while merged carry the person's email when theirs
    won in the merged profile: its outbox items that name the person (their email, or one of their lead ids as
    the event's lead) are exported with the person's and erased with them. Its other items, and the events that
    name one of the person's lead ids only as the other side of a merge (`other_lead_id`, beside the other
    lead's email), are the other lead's and stay, as its merge records and `never_merge` keep that id."""

    name = "leads"

    def __init__(self, client: Any, table: str) -> None:
        self._client = client
        self._table = table

    def person(self, email: str) -> Person | None:
        # the identity as the lead processor keys it (`normalize_email`: `lower`, not the privacy key's `casefold`):
        # `straße@...` is its own lead, not `strasse@...`'s
        lead_email = normalize_email(email)
        key = f"email#{lead_email}" if lead_email else None
        owner = get_items(self._client, self._table, [composite_key(f"IDENTITY#{key}", "OWNER")]) if key else []
        if not owner or not (start := string_attribute(owner[0], "contact_id")):
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

    def _connected(self, start: str, split: bool = False) -> dict[str, Contact]:
        """The contact, what it was merged into, and every contact merged into those (breadth first); `split`:
        and every contact an unmerge separated from one of those (`never_merge`), and so on."""
        found: dict[str, Contact] = {}
        pending = [start]
        for _ in range(MAX_MERGE_HOPS):
            wanted = [c for c in dict.fromkeys(pending) if c not in found]
            if not wanted:
                break
            pending = []
            for item in get_items(
                self._client, self._table, [composite_key(f"CONTACT#{c}", "PROFILE") for c in wanted]
            ):
                contact = contact_from(plain(item))
                found[contact.contact_id] = contact
                pending += [*contact.members, *([contact.merged_into] if contact.merged_into else [])]
                pending += sorted(contact.never_merge) if split else []
        return found

    def _lead_events_elsewhere(self, person: Person) -> list[dict[str, Any]]:
        """The outbox items naming the person in the partitions of the contacts they were merged with and split
        from (see the class), as DynamoDB JSON."""
        ours = set(person.contact_ids)
        others = {c for start in person.contact_ids[:1] for c in self._connected(start, split=True)} - ours
        emails = {person.email, *(k.partition("#")[2] for k in person.identity_keys if k.startswith("email#"))}
        return [
            item
            for contact_id in sorted(others)
            for item in query_partition(self._client, self._table, f"CONTACT#{contact_id}", OUTBOX)
            if _names_person(item, emails, ours)
        ]

    def export(self, person: Person) -> dict[str, Any]:
        contacts, engagement, history, applied, lead_events, other = [], [], [], [], [], []
        for contact_id in person.contact_ids:
            for item in query_partition(self._client, self._table, f"CONTACT#{contact_id}"):
                sk = string_attribute(item, "sk") or ""
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
                elif sk.startswith(OUTBOX):  # the lead events the hub published about them lately (7 days)
                    lead_events.append(shown)
                else:  # what another part keeps per contact (consent, ...): shown as stored
                    other.append(shown)
        lead_events += [exported(item) for item in self._lead_events_elsewhere(person)]
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
            "lead_events": lead_events,
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
        keys = [composite_key(f"ACCOUNT#{a}", "PROFILE") for a in person.account_ids]
        return get_items(self._client, self._table, keys) if keys else []

    def erase(self, person: Person) -> int:
        # first what the person's own partitions lead to (their never_merge), so a run that fails half way finds it
        erased = delete_items(self._client, self._table, [item_key(i) for i in self._lead_events_elsewhere(person)])
        contacts = set(person.contact_ids)
        for contact_id in person.contact_ids:
            items = query_partition(self._client, self._table, f"CONTACT#{contact_id}")
            erased += delete_items(self._client, self._table, [item_key(i) for i in items])
        identities = [composite_key(f"IDENTITY#{k}", "OWNER") for k in person.identity_keys]
        owned = [
            i for i in get_items(self._client, self._table, identities) if string_attribute(i, "contact_id") in contacts
        ]
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


def _names_person(item: dict[str, Any], emails: set[str], contact_ids: set[str]) -> bool:
    """Whether an outbox item's event is about the person: it carries one of their emails, or is one of their
    leads' own; an item that cannot be read says nothing about anyone and stays, as found."""
    try:
        event = json.loads(string_attribute(item, "event") or "{}")
    except ValueError:
        return False
    if not isinstance(event, dict):
        return False
    return normalized_email(event.get("email")) in emails or event.get("lead_id") in contact_ids


def _consent(other: list[dict[str, Any]]) -> Any:
    found = [item for item in other if str(item.get("sk", "")).upper().startswith("CONSENT")]
    return found or None
