"""The receiver's pydantic-free envelope readers: lenient the way vendors are, strict on types, naming the
field, and reading every value exactly as the normalizers' pydantic field types do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import Field

from shared.webhooks import envelope
from shared.webhooks.normalizers.base import EpochMillis, EpochSeconds, Id, IsoTime, List, Obj, Payload, Str, read
from shared.webhooks.payload import MalformedPayload


@pytest.mark.parametrize(
    ("where", "key", "path"),
    [("", "id", "id"), ("data", "object", "data.object"), ("", 0, "[0]"), ("[0]", "occurredAt", "[0].occurredAt")],
)
def test_a_path_names_the_field_the_way_the_messages_do(where: str, key: str | int, path: str) -> None:
    assert envelope.at(where, key) == path


@pytest.mark.parametrize(
    ("read_field", "value", "expected"),
    [
        (envelope.text, "x", "x"),
        (envelope.text, None, None),
        (envelope.identifier, 42, "42"),
        (envelope.identifier, "", None),
        (envelope.identifier, "evt_1", "evt_1"),
        (envelope.mapping, [], {}),
        (envelope.mapping, None, {}),
        (envelope.mapping, {"a": 1}, {"a": 1}),
        (envelope.sequence, None, []),
        (envelope.epoch_seconds, 1_764_072_000.5, datetime(2025, 11, 25, 12, 0, 0, 500000, tzinfo=UTC)),
        (envelope.epoch_millis, 1_764_072_000_000, datetime(2025, 11, 25, 12, 0, tzinfo=UTC)),
        (envelope.iso_time, "2026-11-25T11:59:00", datetime(2026, 11, 25, 11, 59, tzinfo=UTC)),  # no offset: UTC
        (envelope.iso_time, "1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
        (envelope.iso_time, "", None),
    ],
)
def test_what_vendors_send_is_read_leniently(read_field: Callable[..., Any], value: object, expected: object) -> None:
    assert read_field({"f": value}, "f", "w") == expected


@pytest.mark.parametrize("read_field", [envelope.text, envelope.identifier, envelope.iso_time, envelope.epoch_seconds])
def test_a_missing_field_is_none(read_field: Callable[..., Any]) -> None:
    assert read_field({}, "f") is None


@pytest.mark.parametrize(
    ("read_field", "value", "named"),
    [
        (envelope.text, 7, "w.f: expected a string"),
        (envelope.identifier, True, "w.f: expected an id (a string or an integer)"),
        (envelope.identifier, 1.5, "w.f: expected an id"),
        (envelope.identifier, {"id": 1}, "w.f: expected an id"),
        (envelope.mapping, "x", "w.f: expected an object"),
        (envelope.mapping, [1], "w.f: expected an object"),
        (envelope.sequence, {}, "w.f: expected a list"),
        (envelope.epoch_seconds, True, "w.f: expected a Unix time in seconds"),
        (envelope.epoch_seconds, "1764072000", "w.f: expected a Unix time in seconds"),
        (envelope.epoch_seconds, 1e20, "w.f: 1e+20 is not a Unix time in seconds between 1970 and 2200"),
        (envelope.epoch_seconds, 1_764_072_000_000, "w.f: 1764072000000 is not a Unix time in seconds between"),
        (envelope.epoch_seconds, -1, "w.f: -1 is not a Unix time in seconds between 1970 and 2200"),
        (envelope.epoch_millis, "yesterday", "w.f: expected a Unix time in milliseconds"),
        (envelope.iso_time, 1_764_072_000, "w.f: expected an ISO-8601 time"),
        (envelope.iso_time, "next tuesday", "w.f: 'next tuesday' is not an ISO-8601 time"),
        (envelope.iso_time, "2200-01-01T00:00:00Z", "w.f: 2200-01-01T00:00:00Z is not a time between 1970 and 2200"),
        (envelope.iso_time, "1969-12-31T23:59:59Z", "w.f: 1969-12-31T23:59:59Z is not a time between 1970 and 2200"),
    ],
)
def test_a_value_of_the_wrong_type_or_out_of_range_is_malformed_and_named(
    read_field: Callable[..., Any], value: object, named: str
) -> None:
    with pytest.raises(MalformedPayload) as refused:
        read_field({"f": value}, "f", "w")
    assert str(refused.value).startswith(named)


# One reading on both sides of the outbox --------------------------------------------------------------------


class _Fields(Payload):
    text: Str = None
    id: Id = None
    obj: Obj = Field(default_factory=dict)
    array: List = Field(default_factory=list)
    seconds: EpochSeconds = None
    millis: EpochMillis = None
    iso: IsoTime = None


READERS: dict[str, Callable[..., Any]] = {
    "text": envelope.text,
    "id": envelope.identifier,
    "obj": envelope.mapping,
    "array": envelope.sequence,
    "seconds": envelope.epoch_seconds,
    "millis": envelope.epoch_millis,
    "iso": envelope.iso_time,
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2300, 1, 1)).map(datetime.isoformat)
    | st.integers(min_value=-(10**13), max_value=10**13),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)


@given(value=json_values, field=st.sampled_from(sorted(READERS)))
@settings(max_examples=400, deadline=None)
def test_the_receiver_reads_a_field_as_the_normalizers_do(value: Any, field: str) -> None:
    # Given any JSON value in a field, read by the receiver's reader and by the normalizers' field type
    try:
        expected: Any = getattr(read(_Fields, {field: value}, "w"), field)
    except MalformedPayload as exc:
        expected = exc
    # When the receiver reads it
    try:
        found: Any = READERS[field]({field: value}, field, "w")
    except MalformedPayload as exc:
        found = exc
    # Then both read the same value, or refuse it with the same message
    if isinstance(expected, MalformedPayload):
        assert isinstance(found, MalformedPayload)
        assert str(found) == str(expected)
    else:
        assert found == expected
