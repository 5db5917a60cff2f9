"""What the audit trail may keep of what a caller sent: a digest of the body, never the body, and no email in
clear anywhere (a path parameter, a user agent, a username or an operator's argument may hold one; the
privacy erasure request's body is an email). An email is replaced by a short digest of its
lower-cased form, enough to tell two apart and to check a known address against, not to read one back."""

from __future__ import annotations

import hashlib
import re

# Deliberately wide (anything@anything.tld): a false positive only hides a harmless string.
_EMAIL = re.compile(r"[^\s@/?#&=\"'<>,;:()\[\]]+@[^\s@/?#&=\"'<>,;:()\[\]]+\.[^\s@/?#&=\"'<>,;:()\[\]]+")
_ALSO_ENCODED = re.compile(r"%40", re.IGNORECASE)  # an email in a URL path arrives with its @ encoded
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_TEXT = 256  # a longer value (a user agent, an id) keeps its first characters and a digest of the whole


def body_digest(body: bytes) -> str | None:
    """`sha256:<hex>` of the body as received; None when there was none."""
    return f"sha256:{hashlib.sha256(body).hexdigest()}" if body else None


def email_digest(email: str) -> str:
    # surrogatepass: the trail records a request before its body is validated, lone surrogates included
    return "email:" + hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:16]


def without_emails(text: str) -> str:
    """The text with each email replaced by its digest (an encoded `@` counts too)."""
    decoded = _ALSO_ENCODED.sub("@", text)
    return _EMAIL.sub(lambda found: email_digest(found.group(0)), decoded) if "@" in decoded else text


def kept(text: str | None, limit: int = MAX_TEXT) -> str | None:
    """A caller-supplied string as the trail keeps it: emails digested, each lone surrogate written as its escape
    (`\\ud800`: the refused request is recorded, and no UTF-8 store or log takes the character itself), at most
    `limit` characters."""
    if text is None:
        return None
    clean = storable(without_emails(str(text)))
    if len(clean) <= limit:
        return clean
    whole = hashlib.sha256(clean.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{clean[: limit - 28]}...(sha256:{whole})"


def storable(text: str) -> str:
    """`text` with each lone surrogate (half of a UTF-16 pair, which a JSON `\\ud800` escape makes) written as
    its escape, so UTF-8 can encode it; any other text is itself."""
    if text.isascii():
        return text
    return _LONE_SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)


def contains_email(text: str) -> bool:
    return bool(_EMAIL.search(_ALSO_ENCODED.sub("@", text)))
