"""Deterministic identity: which identifiers an event or a captured lead carries, normalized so the same
person matches across vendors, and never on placeholder values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from shared.events.canonical import CanonicalEvent
from shared.leads.model import Identity

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
    if is_placeholder(email) or not _EMAIL.match(email):
        return None
    return email


def normalize_phone(value: object) -> str | None:
    """Digits with the leading `+` kept; fewer than 7 digits is not a phone number."""
    if not isinstance(value, str | int):
        return None
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7 or is_placeholder(digits):
        return None
    return ("+" if text.startswith("+") else "") + digits


def email_domain(email: str | None) -> str | None:
    return email.rsplit("@", 1)[1] if email and "@" in email else None


def company_domain(email: str | None) -> str | None:
    """The employer's domain from a work email; None for personal mailboxes."""
    domain = email_domain(email)
    return domain if domain and domain not in PERSONAL_EMAIL_DOMAINS else None


def vendor_identity(qualified_id: str | None) -> Identity | None:
    """`"hubspot:501"` -> Identity("hubspot", "501"), unless the id is a placeholder."""
    if not qualified_id or ":" not in qualified_id:
        return None
    kind, _, value = qualified_id.partition(":")
    if is_placeholder(value) or not kind:
        return None
    return Identity(kind, value.strip())


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
    """A person's identities in a canonical event: the subject, and the ids Segment-style messages carry
    side by side (an identify with both `userId` and `anonymousId` links a visitor to a known user)."""
    data: Mapping[str, Any] = event.data
    traits = data.get("traits") if isinstance(data.get("traits"), Mapping) else {}
    qualified = [event.subject.contact_id]
    vendor = event.source_vendor.removesuffix("_api")
    if data.get("user_id"):
        qualified.append(f"{vendor}:{data['user_id']}")
    if data.get("anonymous_id"):
        qualified.append(f"{vendor}-anonymous:{data['anonymous_id']}")
    if data.get("previous_id"):  # Segment's alias: the id the visitor had before signing up
        qualified.append(f"{vendor}-anonymous:{data['previous_id']}")
    email = event.subject.email or (traits.get("email") if isinstance(traits, Mapping) else None)
    phone = traits.get("phone") if isinstance(traits, Mapping) else None
    return identities(email, phone, qualified)
