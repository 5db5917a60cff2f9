"""A person's identifiers as the privacy domain keys them, and the salted hash under which the hub stores them
wherever it must find a person again without keeping who they are in clear (the delivery log's subject index,
erasure tombstones and receipts).

A key is an identity as the lead domain writes it, `<kind>#<value>` (`email#ana@example.com`, `hubspot#501`,
`segment-anonymous#a1b2`), or `contact#<hub contact id>` for the hub's own events about a lead. Emails are
compared trimmed and case-folded, as the lead domain normalizes them.

The hash is HMAC-SHA256 under a fixed, versioned salt: a table dump does not show who is in it, and the hashes
match nothing outside the hub (no precomputed table of email hashes applies), while the hub itself can find a
person from their email at any later time. It is not a secret key: whoever holds the code and a candidate email
can test it, which the erasure itself must be able to do (a rotating secret would make older items unfindable).

Pure standard library: the webhook receiver imports this on every cold start.
"""

from __future__ import annotations

import hashlib
import hmac

SALT = b"revops-hub/privacy/subject-key/v1"
HASH_PREFIX = "s1:"  # names the salt's version, so a new one can live beside the old


def subject_hash(key: str) -> str:
    """The stored form of a subject key."""
    return HASH_PREFIX + hmac.new(SALT, key.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def normalized_email(value: object) -> str | None:
    """An email as keys hold it (trimmed, case-folded), or None when `value` is not one."""
    if not isinstance(value, str):
        return None
    email = value.strip().casefold()
    try:
        email.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no store could hold it, and no person has one
        return None
    local, at, domain = email.partition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in email) or "@" in domain:
        return None
    return email


def email_key(value: object) -> str | None:
    email = normalized_email(value)
    return f"email#{email}" if email else None


def contact_key(contact_id: str) -> str:
    """The key of a hub contact (a lead id), for the hub's own events about it."""
    return f"contact#{contact_id}"
