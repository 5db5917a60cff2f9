"""Who a stored delivery is about, as the receiver can tell without normalizing it: the subject key of each
vendor event (its person's email when the event carries one, else the vendor's id of the person), and of a
refused body the first email in it. The ledger stores the key's salted hash on the items it writes, in the
write it makes anyway, so an erasure finds a person's raw bodies through a sparse index instead of a scan.

One key per item (an index key holds one value): the email, which the person's other identities lead to as
well, else the vendor's id of the person. An erasure looks up every identity the hub linked to the person, so
an event that names them only by a vendor id is found through that id.

Receiver path: standard library only (no pydantic), bounded work per event.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from typing import Any

from shared.privacy.subject_keys import email_key, subject_hash

MAX_VALUES_WALKED = 2000  # of one event's payload, breadth first: shallow emails (the subject's) come first
MAX_BODY_BYTES_SEARCHED = 64 * 1024  # of a refused body
_EMAIL = re.compile(rb"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,24}")


def subject_of_event(vendor: str, payload: Mapping[str, Any]) -> str | None:
    """The hashed subject key of one vendor event, or None when it names no person."""
    key = _first_email(payload) or _vendor_identity(vendor, payload)
    return subject_hash(key) if key else None


def subject_of_body(body: bytes) -> str | None:
    """The hashed key of the first email in a body the receiver did not split into events (refused)."""
    found = _EMAIL.search(body[:MAX_BODY_BYTES_SEARCHED])
    key = email_key(found.group().decode("ascii", "replace")) if found else None
    return subject_hash(key) if key else None


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
