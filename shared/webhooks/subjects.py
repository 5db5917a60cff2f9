"""Who a stored delivery is about, as the receiver can tell without normalizing it: of each vendor event its own
person (the person the vendor sends it about) and every other email it names; of a refused body every email in
it. The ledger stores the keys' salted hashes in the write it makes anyway (the event's person on the item
holding its claim, and a small pointer item per further person a kept body names), so an erasure finds a
person's raw bodies through a sparse index instead of a scan.

An event's own person first, by one key: their email where the vendor puts it (Segment's `traits` /
`context.traits`, Stripe's customer email, a HubSpot contact's `email` property, ...), which the person's other
identities lead to as well, else the vendor's id of the person (Segment's `userId`, else `anonymousId`; HubSpot's
and Stripe's customer id), else (a vendor without either) the first email found breadth first. An erasure looks
up every identity the hub linked to the person, so an event that names them only by a vendor id is found through
that id. Every other email the event holds is a further person (an invitee, a referrer): the body is found under
them too, and an erasure of them takes their parts out of it, not the body of the person it is about. A value is
an email only when the whole of it is one (`https://shop.io/?ref=partner@promo.io` is a URL, not a person).

A refused body was never split into events: it is about everyone whose email it holds, so it is searched whole
(up to any vendor's largest body, inflated when gzip), and one that holds more than that, or names more people
than one write indexes, is not kept (`subjects_of_body`).

Receiver path: standard library only (no pydantic), bounded work per event.
"""

from __future__ import annotations

import re
import zlib
from collections import deque
from collections.abc import Mapping
from typing import Any

from shared.privacy.subject_keys import email_key, subject_hash

# A refused body is searched whole up to this (Salesforce's limit, the largest any vendor may send; inflated, for a
# gzip body): about 0.1 s of CPU at worst, on refusals only.
MAX_BODY_BYTES_SEARCHED = 1024 * 1024
# The people one refused body may name and still be kept: the attempt and a pointer item per person fit one
# DynamoDB transaction (100 items), so the body is never stored without its index.
MAX_BODY_SUBJECTS = 99
# An email starts where no character of a local part precedes it: a run of such characters is tried once, not
# from each of its positions (which cost 60 times as much on a long run).
_EMAIL = re.compile(rb"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,24}")
_GZIP_MAGIC = b"\x1f\x8b"
# A whole value that is an email (trimmed): no character of a URL (`:`, `/`, `?`, `=`, `&`) or of prose around it.
_WHOLE_EMAIL = re.compile(r"[\w.%+'\-]{1,64}@(?:[\w\-]{1,63}\.){1,8}[\w\-]{2,63}")


def subject_of_event(vendor: str, payload: Mapping[str, Any]) -> str | None:
    """The hashed subject key of one vendor event's own person, or None when it names no person."""
    return people_of_event(vendor, payload)[0]


def people_of_event(vendor: str, payload: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """The hashed key of the event's own person (None when it names none), and of every further person it names
    (each other email in it, whole values only, in the order met breadth first)."""
    emails = _emails(payload)
    key = _own_email(vendor, payload) or _vendor_identity(vendor, payload) or (emails[0] if emails else None)
    own = subject_hash(key) if key else None
    further = [subject_hash(email) for email in emails if email != key]
    return own, tuple(dict.fromkeys(further))


def subjects_of_body(body: bytes, content_encoding: str | None = None) -> tuple[str, ...] | None:
    """The hashed keys of every email in a body the receiver did not split into events (refused), in the order
    they first appear; None when they cannot all be told or indexed, so the body must not be kept: it is longer
    than searched (inflated, when gzip), a gzip body that does not inflate, or names more than
    `MAX_BODY_SUBJECTS` people."""
    text = _searchable(body, content_encoding)
    if text is None:
        return None
    subjects: dict[str, None] = {}
    if b"@" in text:
        for found in _EMAIL.finditer(text):
            if (key := email_key(found.group().decode("ascii", "replace"))) is not None:
                subjects[subject_hash(key)] = None
                if len(subjects) > MAX_BODY_SUBJECTS:
                    return None
    return tuple(subjects)


def _searchable(body: bytes, content_encoding: str | None) -> bytes | None:
    if (content_encoding or "").strip().lower() == "gzip" and body.startswith(_GZIP_MAGIC):
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            text = inflate.decompress(body, MAX_BODY_BYTES_SEARCHED + 1)
        except zlib.error:
            return None
        complete = inflate.eof and not inflate.unused_data  # one whole member: nothing left unsearched
        return text if complete and len(text) <= MAX_BODY_BYTES_SEARCHED else None
    return body if len(body) <= MAX_BODY_BYTES_SEARCHED else None


def _email_key(value: object) -> str | None:
    """The key of a value that is, whole, an email."""
    if not isinstance(value, str) or "@" not in value or not _WHOLE_EMAIL.fullmatch(value.strip()):
        return None
    return email_key(value)


def _emails(payload: Mapping[str, Any]) -> list[str]:
    """The key of every whole-value email in the payload, breadth first (the shallow ones first), each once. All
    of it is walked: the vendor's reader bounded its size and depth."""
    found: dict[str, None] = {}
    queue: deque[Any] = deque([payload])
    while queue:
        value = queue.popleft()
        if isinstance(value, str):
            if (key := _email_key(value)) is not None:
                found[key] = None
        elif isinstance(value, Mapping):
            queue.extend(value.values())
        elif isinstance(value, list | tuple):
            queue.extend(value)
    return list(found)


def _own_email(vendor: str, payload: Mapping[str, Any]) -> str | None:
    """The email of the person the vendor sends the event about, where its normalizer reads it."""
    if vendor in ("segment", "segment_api"):
        traits = _mapping(payload.get("traits")) or _mapping(_mapping(payload.get("context")).get("traits"))
        return _email_key(traits.get("email"))
    if vendor == "stripe":
        obj = _mapping(_mapping(payload.get("data")).get("object"))
        if obj.get("object") == "customer":  # the customer itself
            return _email_key(obj.get("email"))
        candidates = [obj.get(name) for name in ("customer_email", "receipt_email", "email")]
        candidates.append(_mapping(obj.get("customer_details")).get("email"))
        return next((key for value in candidates if (key := _email_key(value)) is not None), None)
    if vendor == "hubspot":
        return _email_key(payload.get("propertyValue")) if payload.get("propertyName") == "email" else None
    if vendor == "standard":
        return _email_key(_mapping(payload.get("data")).get("email"))
    if vendor == "zendesk":
        return _email_key(_mapping(payload.get("detail")).get("email"))
    if vendor == "intercom":
        item = _mapping(_mapping(payload.get("data")).get("item"))
        author = _mapping(_mapping(item.get("source")).get("author"))
        return _email_key(item.get("email")) or _email_key(author.get("email"))
    if vendor == "salesforce":
        return _email_key(_mapping(payload.get("fields")).get("Email"))
    return None


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _vendor_identity(vendor: str, payload: Mapping[str, Any]) -> str | None:
    """The vendor's id of the person, keyed as the lead domain keys it (`shared.leads.identity`)."""
    if vendor in ("segment", "segment_api"):
        if user := _text(payload.get("userId")):
            return f"segment#{user}"
        if anonymous := _text(payload.get("anonymousId")):
            return f"segment-anonymous#{anonymous}"
        return None
    if vendor == "hubspot":
        kind = str(payload.get("subscriptionType") or "")
        return (
            f"hubspot#{object_id}"
            if kind.startswith("contact.") and (object_id := _text(payload.get("objectId")))
            else None
        )
    if vendor == "stripe":
        data = payload.get("data")
        obj = data.get("object") if isinstance(data, Mapping) else None
        if isinstance(obj, Mapping):
            customer = obj.get("id") if obj.get("object") == "customer" else obj.get("customer")
            return f"stripe#{customer}" if (customer := _text(customer)) else None
    return None


def _text(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None
