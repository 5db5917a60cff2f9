"""Salesforce record ids: their shape (15 characters, or 18 with the suffix that encodes the capitals; a
user's starting 005) and how the stand-in makes new ones."""

from __future__ import annotations

import re
import secrets

ID = re.compile(r"[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?")
USER_ID = re.compile(r"005[a-zA-Z0-9]{12}(?:[A-Z0-5]{3})?")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id18(id15: str) -> str:
    """Salesforce's 18-character id: the 15-character one and a suffix that encodes its capitals."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += _CHECKSUM[bits]
    return id15 + suffix


def new_pod() -> str:
    return "".join(secrets.choice(_BASE62[1:]) for _ in range(2))


def numbered_id(prefix: str, pod: str, number: int) -> str:
    """The 18-character id of the `number`th record the stand-in makes in `pod`, with the key `prefix`."""
    digits = ""
    for _ in range(10):
        number, digit = divmod(number, 62)
        digits = _BASE62[digit] + digits
    return id18(f"{prefix}{pod}{digits}")
