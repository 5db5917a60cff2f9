"""JSON from strangers, parsed within bounds: every body the hub reads (webhooks, the tracking API, the API
routes) goes through here.

`json.loads` alone accepts what later code cannot hold: 10,000 nested brackets (a RecursionError in the
parser, or in whatever walks the result next), 5,000-digit integers (Python refuses to convert past 4,300
digits, and converting long ones is quadratic), `1e999` and `NaN` (numbers neither DynamoDB nor EventBridge
take), integers past 64 bits (EventBridge refuses them, so such an event could never be published). Each is
a `JsonTooComplex` whose message names the limit and, for a number, where it is (`lines[3].amount`); callers
answer it with a 400.

`loads(..., refuse_lone_surrogates=True)` (the API's bodies: `shared.http.json_body`) also refuses a string, key or
value, holding a lone UTF-16 surrogate (JSON's `"\\ud800"` escape): no UTF-8 encodes it, so no store, log or bus
of the hub could take the text, and the request would fail wherever it first reached one. The message names the
string's path. Webhook bodies are read without it: a vendor's signed event is carried with the surrogate
replaced (`shared.webhooks.payload`), not refused.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

# Deeper than any sender nests (Stripe's expanded objects, the deepest seen, stay under 12 levels), far below
# what the parser and pydantic recurse through safely, and below EventBridge's 1,100.
MAX_DEPTH = 64
# A 64-bit integer has at most 19 digits (20 with its sign); refusing longer digit strings before converting
# them also keeps int() off the hot path for hostile input.
MAX_INTEGER_DIGITS = 20
INT64 = range(-(2**63), 2**63)


class JsonTooComplex(ValueError):
    """Valid or not, JSON the hub will not read; the message says which limit it passed, and where when it can
    (`path`: `amount`, `lines[3].amount`; empty for the body as a whole)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.reason = message
        self.path = path


class LoneSurrogate(JsonTooComplex):
    """A string holds half of a UTF-16 surrogate pair: text no UTF-8 encodes."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH, *, refuse_lone_surrogates: bool = False) -> Any:
    """Parse JSON text: bytes must be UTF-8 (RFC 8259; every sender of the hub's JSON uses it). Raises
    `JsonTooComplex` past a bound (`LoneSurrogate` for a string no UTF-8 encodes, when asked to), and `ValueError`
    (`UnicodeDecodeError` and `json.JSONDecodeError` among its kinds) when it is not JSON in UTF-8 at all."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        parsed = json.loads(text, parse_int=_integer, parse_float=_float, parse_constant=_constant)
    except RecursionError:  # far past the bound: the C parser gives up before we can count
        raise JsonTooComplex(f"JSON nests deeper than {max_depth} levels") from None
    except JsonTooComplex as exc:  # a number past a bound: parsed again (a refusal only) to say where it is
        raise JsonTooComplex(exc.reason, _path_of_refused_number(text)) from None
    # Text with fewer brackets than the bound cannot nest past it: the walk below is for the rest.
    if text.count("{") + text.count("[") > max_depth and _deeper_than(parsed, max_depth):
        raise JsonTooComplex(f"JSON nests deeper than {max_depth} levels")
    # A scan of the text first (about 1 ms a MB): only a body it cannot clear is walked.
    if refuse_lone_surrogates and _may_hold_lone_surrogate(data, text):
        found = _first_lone_surrogate(parsed)
        if found is not None:
            path, unit = found
            raise LoneSurrogate(
                f"the text holds a lone surrogate (\\u{unit:04x}), half of a character, which no UTF-8 text "
                "can hold; send the whole character",
                path,
            )
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


# -------------------------------------------------------------------------------------- where a refusal is


class _Refused:
    """What a refused number parses to while its path is looked for."""

    __slots__ = ()


_REFUSED = _Refused()


def _marked(hook: Any) -> Any:
    def parse(text: str) -> Any:
        try:
            return hook(text)
        except JsonTooComplex:
            return _REFUSED

    return parse


def _path_of_refused_number(text: str) -> str:
    """The path of the first number `loads` refuses in `text` (which held one): "" when it is the whole body."""
    try:
        marked = json.loads(
            text, parse_int=_marked(_integer), parse_float=_marked(_float), parse_constant=_marked(_constant)
        )
    except (ValueError, RecursionError):  # not JSON past the number: say no more than the number
        return ""
    for path, value in _leaves(marked):
        if value is _REFUSED:
            return path
    return ""


def _leaves(value: Any) -> Iterator[tuple[str, Any]]:
    """(path, value) of every key (as itself: a `str`) and leaf value, in document order; iterative."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            children: list[tuple[str, Any]] = []
            for key, child in node.items():
                child_path = _member(path, key)
                children.append((child_path, key))  # a key: `str`, checked as text
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed([(f"{path}[{index}]", child) for index, child in enumerate(node)]))
        else:
            yield path, node


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,63}")


def _member(path: str, key: str) -> str:
    """`lines[3].amount`; a key that is no plain name is quoted as JSON (ASCII: a lone surrogate as its escape)."""
    if _NAME.fullmatch(key):
        return f"{path}.{key}" if path else key
    shown = json.dumps(key[:64])
    return f"{path}[{shown}]"


# ------------------------------------------------------------------------------------------ lone surrogates

_SURROGATE = re.compile("[\ud800-\udfff]")
# An escaped code unit of the surrogate range: the only way UTF-8 JSON can put a surrogate in a string
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def _may_hold_lone_surrogate(data: bytes | str, text: str) -> bool:
    """False when no string of the JSON can hold a surrogate: UTF-8 bytes hold none raw, so only an escape can
    put one there (about 1 ms a MB to look). True for an emoji escaped as a pair too: the walk of the parsed
    value (`_first_lone_surrogate`) is the answer."""
    if isinstance(data, bytes):
        return _SURROGATE_ESCAPE_BYTES.search(data) is not None
    return _SURROGATE.search(text) is not None or _SURROGATE_ESCAPE.search(text) is not None


def _first_lone_surrogate(value: Any) -> tuple[str, int] | None:
    """(path, code unit) of the first string (key or value) holding a lone surrogate."""
    for path, node in _leaves(value):
        if isinstance(node, str) and not node.isascii() and (found := _SURROGATE.search(node)) is not None:
            return path, ord(found.group())
    return None


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
