"""JSON from strangers, parsed within bounds: every body the hub reads (webhooks, the tracking API, the API
routes) goes through here.

`json.loads` alone accepts what later code cannot hold: 10,000 nested brackets (a RecursionError in the
parser, or in whatever walks the result next), 5,000-digit integers (Python refuses to convert past 4,300
digits, and converting long ones is quadratic), `1e999` and `NaN` (numbers neither DynamoDB nor EventBridge
take), integers past 64 bits (EventBridge refuses them, so such an event could never be published). Each is
a `JsonTooComplex` whose message names the limit; callers answer it with a 400.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

# Deeper than any sender nests (Stripe's expanded objects, the deepest seen, stay under 12 levels), far below
# what the parser and pydantic recurse through safely, and below EventBridge's 1,100.
MAX_DEPTH = 64
# A 64-bit integer has at most 19 digits (20 with its sign); refusing longer digit strings before converting
# them also keeps int() off the hot path for hostile input.
MAX_INTEGER_DIGITS = 20
INT64 = range(-(2**63), 2**63)


class JsonTooComplex(ValueError):
    """Valid or not, JSON the hub will not read; the message says which limit it passed."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text: bytes must be UTF-8 (RFC 8259; every sender of the hub's JSON uses it). Raises
    `JsonTooComplex` past a bound, and `ValueError` (`UnicodeDecodeError` and `json.JSONDecodeError` among its
    kinds) when it is not JSON in UTF-8 at all."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        parsed = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except RecursionError:  # far past the bound: the C parser gives up before we can count
        raise JsonTooComplex(f"JSON nests deeper than {max_depth} levels") from None
    # Text with fewer brackets than the bound cannot nest past it: the walk below is for the rest.
    if text.count("{") + text.count("[") > max_depth and _deeper_than(parsed, max_depth):
        raise JsonTooComplex(f"JSON nests deeper than {max_depth} levels")
    return parsed


def _integer(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_INTEGER_DIGITS:
        raise JsonTooComplex(f"an integer of {digits} digits; at most {MAX_INTEGER_DIGITS} are read")
    value = int(text)
    if value not in INT64:
        raise JsonTooComplex(f"the integer {text} is outside the signed 64-bit range the event bus carries")
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JsonTooComplex(f"the number {text[:40]} is too large to be read")
    return value


def _constant(text: str) -> Any:
    raise JsonTooComplex(f"not valid JSON: {text} is not a JSON number")


def _deeper_than(value: Any, limit: int) -> bool:
    """Iterative, so a deep document cannot overflow the stack being measured."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
