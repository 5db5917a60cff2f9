"""Deterministic identity: which identifiers an event or a captured lead carries, normalized so the same
person matches across vendors, and never on placeholder values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType
from shared.leads.model import Identity

# Every identity becomes a key (`IDENTITY#<kind>#<value>`, a DynamoDB partition key of at most 2,048 bytes): a
# value longer than any real one of its kind is not an identity, and is dropped like any other malformed one (kept,
# it would fail the lead processor on every attempt and dead-letter the event).
MAX_EMAIL_CHARACTERS = 254  # RFC 5321: a forward path is at most 256 octets, two of them its angle brackets
MAX_PHONE_DIGITS = 20  # E.164: at most 15 digits; the rest is room for an extension
MAX_KIND_CHARACTERS = 64  # a vendor's name (`segment-anonymous`)
MAX_VALUE_BYTES = 1024  # a vendor's id in UTF-8: ids are keyed at 255 characters at the webhook boundary

# no control character (a NUL, DEL) and no lone surrogate: no CRM, inbox or UTF-8 store takes such an address
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f\ud800-\udfff]+@[^@\s\x00-\x1f\x7f\ud800-\udfff]+\.[a-z]{2,}$")
# Values tools put where they have no real identifier; matching on them would merge strangers.
_PLACEHOLDERS = frozenset({"", "null", "none", "nil", "undefined", "anonymous", "unknown", "n/a", "na", "-1", "-"})
PERSONAL_EMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "mail.com",
        "yandex.com",
    }
)


def is_placeholder(value: object) -> bool:
    text = str(value).strip().casefold() if value is not None else ""
    return text in _PLACEHOLDERS or (text != "" and set(text) <= {"0"})


def normalize_email(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    email = value.strip().lower()
    if len(email) > MAX_EMAIL_CHARACTERS or is_placeholder(email) or not _EMAIL.match(email):
        return None
    return email


def normalize_phone(value: object) -> str | None:
    """Digits with the leading `+` kept; fewer than 7 digits, or more than `MAX_PHONE_DIGITS`, is not a phone
    number."""
    if not isinstance(value, str | int):
        return None
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if not 7 <= len(digits) <= MAX_PHONE_DIGITS or is_placeholder(digits):
        return None
    return ("+" if text.startswith("+") else "") + digits


def email_domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1] if email and "@" in email else None


def company_domain(email: str | None) -> str | None:
    """The employer's domain from a work email; None for personal mailboxes."""
    domain = email_domain(email)
    return domain if domain and domain not in PERSONAL_EMAIL_DOMAINS else None


def vendor_identity(qualified_id: str | None) -> Identity | None:
    """`"hubspot:501"` -> Identity("hubspot", "501"), unless the id is a placeholder or too long to key by."""
    if not qualified_id or ":" not in qualified_id:
        return None
    kind, _, value = qualified_id.partition(":")
    value = value.strip()
    if is_placeholder(value) or not kind or len(kind) > MAX_KIND_CHARACTERS:
        return None
    if len(value.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
        return None
    return Identity(kind, value)


def identities(email: object = None, phone: object = None, qualified_ids: Iterable[str | None] = ()) -> list[Identity]:
    """Every usable identity, strongest first: email, then vendor ids, then phone."""
    found: list[Identity] = []
    if (normalized := normalize_email(email)) is not None:
        found.append(Identity("email", normalized))
    for qualified_id in qualified_ids:
        identity = vendor_identity(qualified_id)
        if identity is not None and identity not in found:
            found.append(identity)
    if (number := normalize_phone(phone)) is not None:
        found.append(Identity("phone", number))
    return found


def identities_of_event(event: CanonicalEvent) -> list[Identity]:
    """A person's identities in a canonical event (see `person_identities`)."""
    subject = event.subject
    return person_identities(event.source_vendor, event.event_type, subject.contact_id, subject.email, event.data)


def person_identities(
    source_vendor: str, event_type: str | None, contact_id: object, email: object, data: Mapping[str, Any]
) -> list[Identity]:
    """A person's identities in a canonical event (given as its fields, so the lead processor and the erasure
    guard read an event alike): the subject, and the ids Segment-style messages carry side by side (an identify
    with both `userId` and `anonymousId` links a visitor to a known user).

    `data.traits` are the person's on a contact or engagement event (Segment's identify, track, page, screen),
    never on an account event: a Segment `group` call's traits are the company's (its reserved traits include
    `email` and `phone`), so its person is its user (`userId`/`anonymousId`) and the email of its
    `context.traits`, which the normalizer puts in the subject.

    An `alias` call's `previousId` is, by Segment's spec, "an anonymous ID ... or a user ID you previously
    identified them with", and the call does not say which: it names both, `<vendor>:<previousId>` and
    `<vendor>-anonymous:<previousId>`. Either way alias asserts the previous id is this user: the user id joins the
    person who identified by it (so two aliases naming the same previous id for two users join them, as Segment
    would), while the anonymous id stays weak (it never joins two people known by their own email or user id)."""
    traits = data.get("traits") if event_type != EventType.ACCOUNT_UPSERTED else None
    person_traits: Mapping[str, Any] = traits if isinstance(traits, Mapping) else {}
    qualified = [contact_id if isinstance(contact_id, str) else None]
    vendor = source_vendor.removesuffix("_api")
    if data.get("user_id"):
        qualified.append(f"{vendor}:{data['user_id']}")
    if data.get("anonymous_id"):
        qualified.append(f"{vendor}-anonymous:{data['anonymous_id']}")
    if data.get("previous_id"):  # Segment's alias: the id the person had before (an anonymous or a user id)
        qualified += [f"{vendor}:{data['previous_id']}", f"{vendor}-anonymous:{data['previous_id']}"]
    return identities(email or person_traits.get("email"), person_traits.get("phone"), qualified)
