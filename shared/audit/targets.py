"""What a request was about: its path parameters, the person it names (a privacy route's `email`, by its digest),
then the well-known ids of its JSON response (the lead a capture created, the lines of a spend batch, the erasure's
receipt). Only the response's top level and the lists named in `COLLECTIONS` and `ID_LISTS` are read: a what-if
report (`.../simulate`, `.../compare`) lists leads it changed nothing about, and they are no target.

Every id is kept as `target_id` makes it (an email becomes its digest), except the person a route declares
(`Route.audit_subject`), which, holding an `@`, is digested whole whatever it looks like (`subject_digest`). A
search's target is made both ways (`searched_ids`), so `?target=<email>` finds the records naming that email
without the trail holding it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from shared.audit.privacy import could_be_email, email_digest, kept, legacy_email_digest, subject_digest
from shared.audit.record import Target
from shared.privacy.subject_keys import normalized_email

# Top-level response fields that name what a write created or changed.
TARGET_FIELDS = (
    "lead_id",
    "contact_id",
    "separated_from",  # the other lead of an unmerge
    "handoff_id",
    "conflict_id",
    "hub_id",  # the hub record a resolved CRM conflict changed
    "erasure_id",
    "spend_id",
    "intervention_id",
    "feedback_id",
    "launch_id",
    "campaign_id",
    "customer_id",
    "tenant_id",
    "deal_id",
)
# Lists of created or changed items in a response, and the id fields of each item.
COLLECTIONS: Mapping[str, tuple[str, ...]] = {"lines": ("spend_id",)}
# Lists of ids in a response, and the field each id is a target as (the leads an erasure removed).
ID_LISTS: Mapping[str, str] = {"lead_ids": "lead_id"}
MAX_ID = 128
MAX_RESPONSE_READ = 1024 * 1024  # a larger response is not parsed for ids (no write answers with that much)


def target_id(value: str) -> str:
    """An id as the trail keeps and indexes it: trimmed, each email replaced by its digest, at most `MAX_ID`
    characters (a longer one keeps its start and a digest of the whole). An id that is itself an email as the
    privacy API takes one is digested whole, as a declared person is (no pattern knows every form of one)."""
    if normalized_email(value) is not None:
        return subject_digest(value)
    return kept(value.strip(), MAX_ID) or ""


def _subject_id(value: str) -> str:
    """A declared person as the trail keeps them: digested whole when the value holds an `@` (an encoded one too),
    whatever the rest looks like; a value with none is no email (a refused erasure of `nobody`) and is kept as
    any id is."""
    return subject_digest(value) if could_be_email(value) else target_id(value)


def searched_ids(value: str) -> tuple[str, ...]:
    """The ids a search for `value` looks under, the first as the trail keeps it now: `value` as `target_id` makes
    it, then, when it could be an email, its whole digest (a declared person's) and the digest records stored before
    the privacy domain's normalization held (lower-cased, not case-folded)."""
    ids = [target_id(value)]
    if could_be_email(value) and value.strip():
        ids += [email_digest(value), legacy_email_digest(value)]
    return tuple(dict.fromkeys(i for i in ids if i))


def targets_of(
    path_parameters: Mapping[str, Any] | None,
    response_body: str | None,
    status: int | None,
    subject: Target | None = None,
) -> list[Target]:
    """Path parameters first (in the route's order), then the person the request names (`subject`, whatever the
    outcome: a refused export still says whose data was asked for), then the response's ids; each id once."""
    found = [
        (Target(str(name), str(value)), target_id)
        for name, value in (path_parameters or {}).items()
        if value is not None
    ]
    if subject is not None:
        found.append((subject, _subject_id))
    if response_body and status is not None and 200 <= status < 300 and len(response_body) <= MAX_RESPONSE_READ:
        found += [(target, target_id) for target in _response_ids(response_body)]
    unique: list[Target] = []
    seen: set[str] = set()
    for target, stored in found:
        value = stored(target.id)
        if value and value not in seen:
            seen.add(value)
            unique.append(Target(target.field, value))
    return unique


def _response_ids(body: str) -> Iterable[Target]:
    try:
        document = json.loads(body)
    except ValueError:
        return
    if not isinstance(document, dict):
        return
    yield from _ids(document, TARGET_FIELDS)
    for name, fields in COLLECTIONS.items():
        items = document.get(name)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, dict):
                    yield from _ids(item, fields)
    for name, field in ID_LISTS.items():
        ids = document.get(name)
        if isinstance(ids, list):
            for value in ids:
                yield from _ids({field: value}, (field,))


def _ids(document: Mapping[str, Any], fields: Iterable[str]) -> Iterable[Target]:
    for name in fields:
        value = document.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            yield Target(name, str(value))
