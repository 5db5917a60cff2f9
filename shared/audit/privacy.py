"""What the audit trail may keep of what a caller sent: a digest of the body, never the body, and no email in
clear anywhere (a path parameter, a user agent, a username or an operator's argument may hold one; the
privacy erasure request's body is an email). An email is replaced by a short digest of its form as the privacy
domain keys people (`shared.privacy.subject_keys.normalized_email`: trimmed, case-folded, so `STRASSE@x.de` and
`straße@x.de` are one digest, as they are one person to an export or an erasure), enough to tell two apart and to
check a known address against, not to read one back. Records stored before that used the lower-cased form
(`legacy_email_digest`); a search by an email looks under both.

A value declared to be a person (a route's `audit_subject`) is digested whole, whatever it looks like
(`subject_digest`); free text (a path, a user agent, an ARN) is searched for emails with a deliberately wide
pattern, and any `@` it leaves digests the whole run of text around it."""

from __future__ import annotations

import hashlib
import re

from shared.privacy.subject_keys import normalized_email

# Deliberately wide, erring toward digesting more (a false positive only hides a harmless string): a local part of
# RFC 5322 atext (`/ = & ? # '` included), dots, any non-ASCII letter, and quoted strings; a domain holding a dot
# anywhere, or a bracketed literal (`[192.168.1.10]`).
_LOCAL = r"""(?:"(?:[^"\\\r\n]|\\.)*"|[^\s@"(),:;<>\[\]\\])+"""
_DOMAIN_CHAR = r"""[^\s@/?#&="'<>,;:()\[\]\\]"""
_DOMAIN = rf"(?:\[[^\]\s@]*\]|{_DOMAIN_CHAR}*\.{_DOMAIN_CHAR}*)"
_EMAIL = re.compile(rf"{_LOCAL}@{_DOMAIN}")
_LEFT_AT = re.compile(r"[^\s]*@[^\s]*")  # an `@` the pattern left: the whole run of text around it
_ALSO_ENCODED = re.compile(r"%40", re.IGNORECASE)  # an email in a URL path arrives with its @ encoded
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
MAX_TEXT = 256  # a longer value (a user agent, an id) keeps its first characters and a digest of the whole


def body_digest(body: bytes) -> str | None:
    """`sha256:<hex>` of the body as received; None when there was none."""
    return f"sha256:{hashlib.sha256(body).hexdigest()}" if body else None


def email_digest(email: str) -> str:
    """The digest of an email as the privacy domain compares them: trimmed and case-folded (`normalized_email`;
    any other text the same way)."""
    normal = normalized_email(email) or email.strip().casefold()
    # surrogatepass: the trail records a request before its body is validated, lone surrogates included
    return "email:" + hashlib.sha256(normal.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def legacy_email_digest(email: str) -> str:
    """The digest records stored before `email_digest` case-folded held (lower-cased): searched too."""
    return "email:" + hashlib.sha256(email.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:16]


def subject_digest(value: str) -> str:
    """A value declared to name a person (a route's `audit_subject`), as the trail keeps it: digested whole, never
    matched against a pattern (no pattern knows every form an email takes)."""
    return email_digest(value)


def without_emails(text: str) -> str:
    """The text with each email replaced by its digest (an encoded `@` counts too), then any run of text still
    holding an `@` replaced by its digest."""
    decoded = _ALSO_ENCODED.sub("@", text)
    if "@" not in decoded:
        return text
    digested = _digested(_EMAIL, decoded)
    return _digested(_LEFT_AT, digested) if "@" in digested else digested


def _digested(pattern: re.Pattern[str], text: str) -> str:
    """Each match of `pattern` replaced by its digest, taken back to a quote left open before it on its line (a
    quoted local part whose closing quote is escaped, `":: \\"@x.io`, which no pattern matches from its start):
    in one pass, without the backtracking an optional closing quote in `_LOCAL` would cost."""
    parts, done = [], 0
    for found in pattern.finditer(text):
        start = found.start()
        before = text[done:start]
        line_start = max(before.rfind("\n"), before.rfind("\r")) + 1
        if before.count('"', line_start) % 2:  # an odd number of quotes on its line before it: one is still open
            start = done + before.rfind('"')
        parts += [text[done:start], email_digest(text[start : found.end()])]
        done = found.end()
    return "".join([*parts, text[done:]])


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


def could_be_email(text: str) -> bool:
    """Whether `text` holds an `@` (an encoded one too): a search by it looks under its whole digest as well."""
    return "@" in _ALSO_ENCODED.sub("@", text)
