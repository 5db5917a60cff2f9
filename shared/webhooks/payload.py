"""Reading what a vendor sent, without pydantic: JSON within bounds, the errors that name what is wrong, and
text no bus can carry.

Every body the gateway reads comes from a stranger until its signature checks out, and from a vendor (or its
customer's admin, or a device) after: nothing in it is trusted to have the shape the vendor documents. So:

- `load_json` parses within `shared.bounded_json`'s bounds (64 levels, integers that fit in 64 bits, no
  `NaN`/`Infinity`); past a bound the body is a `MalformedPayload` naming it.
- The receiver reads the envelope of each event (ids, types, times) through `shared.webhooks.envelope`'s
  accessors; the normalizers read the rest through pydantic models (`shared.webhooks.normalizers.base`).
  Both name the field that is wrong (`data.object.items: expected an object`).

This module and everything the receiver imports stay free of pydantic: its cold start is the receiver's.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shared import bounded_json


class MalformedPayload(Exception):
    """The body is signed but not what the vendor sends; the message names what is wrong."""


class PayloadTooLarge(MalformedPayload):
    """The body is over a size limit of the vendor's protocol (answered 413); the message names the limit."""


class NoSuchCall(MalformedPayload):
    """The request is signed but posted to a path at which the vendor's protocol has no call (answered 404); the
    message names the paths it has."""


# JSON -------------------------------------------------------------------------------------------------------


def load_json(body: bytes | str) -> Any:
    """Parse a JSON body within `shared.bounded_json`'s bounds; a `MalformedPayload` says which bound or what
    syntax."""
    try:
        return bounded_json.loads(body)
    except bounded_json.JsonTooComplex as exc:
        raise MalformedPayload(f"body is refused: {exc}") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
        raise MalformedPayload(f"body is not valid JSON: {str(exc)[:200]}") from None


# Text no bus can carry --------------------------------------------------------------------------------------

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def has_lone_surrogates(value: Any) -> bool:
    """True when a string anywhere in `value` (a parsed payload, keys included) holds a lone UTF-16
    surrogate: JSON's `\\ud800` escape decodes to one, and no UTF-8 (EventBridge, DynamoDB) can encode it."""
    try:
        json.dumps(value, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def replace_lone_surrogates(value: Any) -> Any:
    """`value` with every lone surrogate replaced by U+FFFD, as a UTF-8 decoder does with bytes it cannot
    read; a surrogate alone is half of a character whose other half is lost, so nothing else is lost."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, dict):
        return {replace_lone_surrogates(key): replace_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [replace_lone_surrogates(item) for item in value]
    return value


def escape_lone_surrogates(text: str) -> str:
    """An id with each lone surrogate written as its `\\udXXX` escape: two ids that differ only in their
    surrogates stay two ids."""
    return _LONE_SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
