"""JSON from strangers, parsed within bounds: every request body the hub reads goes through here.

`json.loads` alone accepts what later code cannot hold: 10,000 nested brackets (a RecursionError in the
parser, or in whatever walks the result next), 5,000-digit integers (Python refuses to convert past 4,300
digits, and DynamoDB holds 38), `1e999` and `NaN` (not numbers DynamoDB or EventBridge take). Each is a
`JsonTooComplex` with a message that names the limit, which the callers answer with a 400.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

MAX_DEPTH = 32  # the deepest vendor payload seen is under 10 levels (HubSpot, Stripe, Segment contexts)
MAX_NUMBER_DIGITS = 40  # DynamoDB numbers hold 38 significant digits; ids sent as numbers stay far below


class JsonTooComplex(ValueError):
    """Valid or not, JSON the hub will not read; the message says which limit it passed."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text: bytes must be UTF-8 (RFC 8259), as every sender of the hub's JSON uses. Raises
    `JsonTooComplex` past a bound, `ValueError` (`UnicodeDecodeError` and `json.JSONDecodeError` among its
    kinds) when it is not JSON in UTF-8 at all."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        parsed = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except RecursionError:
        raise JsonTooComplex(f"JSON nests deeper than {max_depth} levels") from None
    _check_depth(parsed, max_depth)
    return parsed


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise JsonTooComplex(f"a number has {len(text.lstrip('-'))} digits; at most {MAX_NUMBER_DIGITS} are read")
    return int(text)


def _float(text: str) -> float:
    digits = sum(character.isdigit() for character in text)
    if digits > MAX_NUMBER_DIGITS:
        raise JsonTooComplex(f"a number has {digits} digits; at most {MAX_NUMBER_DIGITS} are read")
    value = float(text)
    if not math.isfinite(value):
        raise JsonTooComplex(f"the number {text[:20]} is too large to be read")
    return value


def _constant(text: str) -> Any:
    raise JsonTooComplex(f"{text} is not a JSON number")


def _check_depth(value: Any, max_depth: int) -> None:
    """Iterative, so checking a deep document cannot itself overflow the stack."""
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
        if depth > max_depth:
            raise JsonTooComplex(f"JSON nests deeper than {max_depth} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
