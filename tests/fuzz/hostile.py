"""Hostile values and bodies: what a buggy, hostile or compromised sender can put in a correctly signed body.

`json.dumps` cannot write some of them (integers past Python's 4300-digit limit, nesting deeper than its
recursion limit, bytes that are not UTF-8), so those are `Raw` fragments spliced into the encoded body.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

UID = "@@uid@@"  # replaced by a fresh id when the delivery is sent, so every attempt is a new vendor event
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Raw:
    """A JSON fragment spliced into the body as these exact bytes."""

    label: str
    data: bytes

    def __repr__(self) -> str:
        return f"<{self.label}>"


def nested_array(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_object(depth: int) -> bytes:
    return b'{"a":' * depth + b"null" + b"}" * depth


HUGE_INTEGER = Raw("5000-digit integer", b"9" * 5000)
DEEP_ARRAY = Raw("array nested 10,000 deep", nested_array(10_000))
DEEP_OBJECT = Raw("object nested 10,000 deep", nested_object(10_000))
LONE_SURROGATE = "\ud800"  # json.dumps writes it escaped, "\ud800", as a sender's JSON library would

# Values put where the vendor code reads a field: wrong types, out-of-range numbers, hostile strings.
ATOMS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    0.5,
    10**20,  # a timestamp 1e20 seconds (or milliseconds) from the epoch
    -(10**20),
    2**63,
    1e20,
    1e308,
    float("nan"),
    float("inf"),
    "",
    " ",
    "0",
    "null",
    LONE_SURROGATE,
    "x\udfffy",
    "é" * 3,
    "x" * 3000,  # longer than a DynamoDB key may be
    "1764072000",
    "not a date",
    "0001-01-01T00:00:00+14:00",  # a valid ISO-8601 moment that is before year 1 in UTC
    "9999-12-31T23:59:59-14:00",  # and one after year 9999
    "1" * 5000,  # a string holding JSON no parser should be trusted with
    "[" * 10_000 + "]" * 10_000,
    [],
    [None],
    [1, "a", {}],
    {},
    {"id": {}, "email": []},
    Raw("40-digit integer", b"9" * 40),  # as long as a number may be before it is refused
    HUGE_INTEGER,
    Raw("negative 5000-digit integer", b"-" + b"9" * 5000),
    Raw("1e400 (infinite as a double)", b"1e400"),
    Raw("array nested 30 deep", nested_array(30)),  # just within the depth the hub reads
    Raw("array nested 950 deep", nested_array(950)),  # within Python's recursion limit, past that depth
    DEEP_ARRAY,
    DEEP_OBJECT,
    Raw("string with non-UTF-8 bytes", b'"\xff\xfe\xc3("'),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
hostile_values = st.one_of(st.sampled_from(ATOMS), json_values)

# Whole bodies, whatever the vendor: each a (what, body) pair.
BODIES: tuple[tuple[str, bytes], ...] = (
    ("empty body", b""),
    ("whitespace", b" \r\n"),
    ("non-UTF-8 bytes", b"\xff\xfe\xfa{\x80"),
    ("a JSON object with a non-UTF-8 string", b'{"id": "\xff\xfe", "type": "\xc3("}'),
    ("UTF-16 JSON", '{"id": "x", "type": "y"}'.encode("utf-16")),
    ("UTF-8 BOM before an empty object", b"\xef\xbb\xbf{}"),
    ("null", b"null"),
    ("a number", b"1"),
    ("a string", b'"x"'),
    ("an empty list", b"[]"),
    ("an empty object", b"{}"),
    ("NaN", b"NaN"),
    ("a lone surrogate", b'"\\ud800"'),
    ("a 5000-digit integer", HUGE_INTEGER.data),
    ("an object holding a 5000-digit integer", b'{"id": ' + HUGE_INTEGER.data + b"}"),
    ("an array nested 10,000 deep", DEEP_ARRAY.data),
    ("an object nested 10,000 deep", DEEP_OBJECT.data),
    ("truncated JSON", b'{"id": "evt_'),
    ("a list of 1,000 empty objects", b"[" + b",".join([b"{}"] * 1000) + b"]"),
)


def describe(value: Any) -> str:
    """A short, readable rendering of a hostile value for failure reports."""
    if isinstance(value, Raw):
        return repr(value)
    if isinstance(value, str) and len(value) > 24:
        return f"{value[:12]!r}...({len(value)} chars)"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**24:
        return f"<{len(str(abs(value)))}-digit integer>"
    text = repr(value)
    return text if len(text) <= 48 else text[:44] + "...]"


def set_path(document: Any, path: Path, value: Any) -> Any:
    """`document` with `value` at `path`, making the containers on the way as needed (a mutation may have
    replaced one with a scalar)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(head, int):
        items = list(document) if isinstance(document, list) else []
        while len(items) <= head:
            items.append({})
        items[head] = set_path(items[head], rest, value)
        return items
    fields = dict(document) if isinstance(document, dict) else {}
    fields[head] = set_path(fields.get(head), rest, value)
    return fields


def dotted(path: Path) -> str:
    return ".".join(str(part) for part in path) or "<body>"


def encode(document: Any) -> bytes:
    """JSON bytes of `document` with every `Raw` fragment spliced in as is."""
    fragments: list[Raw] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            fragments.append(value)
            return f"@@raw{len(fragments) - 1}@@"
        if isinstance(value, dict):
            return {key: swap(item) for key, item in value.items()}
        if isinstance(value, list):
            return [swap(item) for item in value]
        return value

    text = json.dumps(swap(document)).encode()
    for position, fragment in enumerate(fragments):
        text = text.replace(f'"@@raw{position}@@"'.encode(), fragment.data)
    return text


def mutate(document: Any, changes: Sequence[tuple[Path, Any]]) -> Any:
    for path, value in changes:
        document = set_path(document, path, value)
    return document
