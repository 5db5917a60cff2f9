"""Irreversible anonymization of free-form data (raw webhook bodies, details, field values): what names the
person is removed, what names others is left as it was.

- In a list (a batch of events, stakeholders), an element that holds one of the person's identifiers anywhere
  inside is about them: it is replaced whole by `{"erased": true}`, its other fields (a name, a title) with it.
- Anywhere else, a text that holds the person's email or name, or a value equal to one of their ids, becomes
  `"[erased]"`.
A body that is not JSON cannot be taken apart safely: `redact_body` answers None, and the caller drops it whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from shared.privacy.model import Needles

ERASED_TEXT = "[erased]"
ERASED_ELEMENT: Mapping[str, Any] = {"erased": True}


def mentions(value: Any, needles: Needles, strong_only: bool = False) -> bool:
    """Whether `value` (JSON-like) names the person anywhere inside."""
    if isinstance(value, Mapping):
        return any(mentions(v, needles, strong_only) for v in value.values())
    if isinstance(value, list | tuple):
        return any(mentions(v, needles, strong_only) for v in value)
    if isinstance(value, bool) or value is None:
        return False
    text = str(value)
    return needles.strong(text) if strong_only else needles.found_in(text)


def redact(value: Any, needles: Needles) -> tuple[Any, bool]:
    """`value` without the person, and whether anything changed."""
    if isinstance(value, Mapping):
        changed = False
        result = {}
        for name, inner in value.items():
            result[name], inner_changed = redact(inner, needles)
            changed |= inner_changed
        return result, changed
    if isinstance(value, list | tuple):
        items, changed = [], False
        for inner in value:
            if isinstance(inner, Mapping | list | tuple) and mentions(inner, needles, strong_only=True):
                items.append(dict(ERASED_ELEMENT))
                changed = True
            else:
                redacted, inner_changed = redact(inner, needles)
                items.append(redacted)
                changed |= inner_changed
        return items, changed
    if isinstance(value, bool) or value is None:
        return value, False
    if isinstance(value, str | int | float) and needles.found_in(str(value)):
        return ERASED_TEXT, True
    return value, False


def redact_body(body: bytes, needles: Needles) -> bytes | None:
    """A raw JSON body without the person (the same bytes when it never named them); None when the body is not
    JSON and must be dropped whole."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    redacted, changed = redact(document, needles)
    return json.dumps(redacted, separators=(",", ":")).encode() if changed else body
