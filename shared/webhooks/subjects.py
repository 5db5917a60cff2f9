"""Who a stored delivery is about, as the receiver can tell without normalizing it: the subject key of each
vendor event (its person's email when the event carries one, else the vendor's id of the person), and of a
refused body every email in it. The ledger stores the keys' salted hashes in the write it makes anyway (on
the items it writes, and on a small pointer item per further person a kept body names), so an erasure finds
a person's raw bodies through a sparse index instead of a scan.

One key per event: the email, which the person's other identities lead to as well, else the vendor's id of
the person. An erasure looks up every identity the hub linked to the person, so an event that names them only
by a vendor id is found through that id. A refused body was never split into events: it is about everyone
whose email it holds, so it is searched whole (up to any vendor's largest body, inflated when gzip), and one
that holds more than that, or names more people than one write indexes, is not kept (`subjects_of_body`).

Receiver path: standard library only (no pydantic), bounded work per event.
"""

from __future__ import annotations

import re
import zlib
from collections import deque
from collections.abc import Mapping
from typing import Any

from shared.privacy.subject_keys import email_key, subject_hash

MAX_VALUES_WALKED = 2000  # of one event's payload, breadth first: shallow emails (the subject's) come first
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


def subject_of_event(vendor: str, payload: Mapping[str, Any]) -> str | None:
    """The hashed subject key of one vendor event, or None when it names no person."""
    key = _first_email(payload) or _vendor_identity(vendor, payload)
    return subject_hash(key) if key else None


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


def _first_email(payload: Mapping[str, Any]) -> str | None:
    queue: deque[Any] = deque([payload])
    walked = 0
    while queue and walked < MAX_VALUES_WALKED:
        value = queue.popleft()
        walked += 1
        if isinstance(value, str):
            if "@" in value and (key := email_key(value)) is not None:
                return key
        elif isinstance(value, Mapping):
            queue.extend(value.values())
        elif isinstance(value, list | tuple):
            queue.extend(value)
    return None


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
