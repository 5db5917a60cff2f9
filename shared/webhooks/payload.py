"""Reading what a vendor sent: JSON within bounds, and the fields each adapter uses through pydantic models.

Every body the gateway reads comes from a stranger until its signature checks out, and from a vendor (or its
customer's admin, or a device) after: nothing in it is trusted to have the shape the vendor documents. So:

- `load_json` parses within `shared.bounded_json`'s bounds (64 levels, integers that fit in 64 bits, no
  `NaN`/`Infinity`); past a bound the body is a `MalformedPayload` naming it.
- Adapters read the fields they use through `Payload` models: a field of the wrong type is a
  `MalformedPayload` naming it (`data.object.items: expected an object`). Models are lenient the way
  vendors are: unknown fields are ignored, a missing or null field is None (an object, `{}`; a list, `[]`),
  and an empty JSON array where an object goes is an empty object (PHP encodes `{}` as `[]`).
- Times are refused outside `EARLIEST`..`LATEST` (1970 to 2200), naming the field: every vendor here
  counts from the Unix epoch, so nothing earlier is a real event time, and anything past 2200 is a unit
  mix-up (milliseconds read as seconds land in the year 55,000) or garbage (1e20 overflows a datetime).

Models are built on first use (`defer_build`), so a cold start pays only for the vendors it meets.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

from shared import bounded_json

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class MalformedPayload(Exception):
    """The body is signed but not what the vendor sends; the message names what is wrong."""


class PayloadTooLarge(MalformedPayload):
    """The body is over a size limit of the vendor's protocol (answered 413); the message names the limit."""


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


# Models -----------------------------------------------------------------------------------------------------


class Payload(BaseModel):
    """A vendor object as an adapter reads it: unknown fields ignored, null or `[]` read as `{}`."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _empty_is_empty_object(cls, value: Any) -> Any:
        return {} if value is None or (isinstance(value, list) and not value) else value


Model = TypeVar("Model", bound=BaseModel)


def read(model: type[Model], value: object, where: str = "") -> Model:
    """`value` as `model`, or a `MalformedPayload` naming the first field that is wrong (prefixed `where`)."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        raise MalformedPayload(describe(exc, where)) from None


def describe(exc: ValidationError, where: str = "") -> str:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    path = _path(where, first["loc"])
    problem = _PROBLEMS.get(first["type"]) or str(first["msg"]).removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {problem}{more}" if path else f"{problem}{more}"


_PROBLEMS = {
    "model_type": "expected an object",
    "model_attributes_type": "expected an object",
    "dict_type": "expected an object",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "missing": "is required",
}


def _path(where: str, loc: tuple[int | str, ...]) -> str:
    path = where
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _object(value: Any) -> Any:
    if value is None or (isinstance(value, list) and not value):
        return {}
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


def _list(value: Any) -> Any:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return value


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _identifier(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError("expected an id (a string or an integer)")


def _epoch(divisor: int, unit: str) -> Any:
    def parse(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a Unix time in {unit}")
        try:
            moment = datetime.fromtimestamp(value / divisor, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{value} is not a Unix time in {unit} between {_RANGE}") from None
        return _in_range(moment, f"{value} is not a Unix time in {unit} between {_RANGE}")

    return parse


def _iso(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("expected an ISO-8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value[:40]!r} is not an ISO-8601 time") from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return _in_range(moment, f"{value[:40]} is not a time between {_RANGE}")


_RANGE = f"{EARLIEST.year} and {LATEST.year}"


def _in_range(moment: datetime, problem: str) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(problem)
    return moment


# Field types: what each adapter declares its fields as.
Obj = Annotated[dict[str, Any], BeforeValidator(_object)]
"""A JSON object; null and `[]` read as `{}`; anything else is malformed."""
List = Annotated[list[Any], BeforeValidator(_list)]
"""A JSON array; null reads as `[]`; anything else is malformed."""
Str = str | None
"""A string the adapter computes with (a name, a URL, a type); anything but a string or null is malformed
(pydantic's own check, in Rust: `expected a string`)."""
Text = Annotated[str | None, BeforeValidator(_text_or_none)]
"""Person data the adapter passes on (an email): a non-empty string, else None. Vendors' custom-field
mix-ups (an email that is a number) lose the value, never the event."""
Id = Annotated[str | None, BeforeValidator(_identifier)]
"""An id as a string; vendors send ids as strings or integers, null or "" when there is none."""
EpochSeconds = Annotated[datetime | None, BeforeValidator(_epoch(1, "seconds"))]
EpochMillis = Annotated[datetime | None, BeforeValidator(_epoch(1000, "milliseconds"))]
IsoTime = Annotated[datetime | None, BeforeValidator(_iso)]


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
