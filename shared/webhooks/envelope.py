"""Tiny typed readers of a vendor event's envelope, without pydantic: what the receiver needs to split a body
into identifiable events (ids, types, the time each happened), checked for its type and named when wrong.

    text(body, "type")                          # a string, or None when missing or null
    identifier(event, "objectId", "[0]")        # a string or an integer id, as a string
    epoch_seconds(body, "created")              # epoch_millis, iso_time: a datetime in 1970..2200
    mapping(message, "context", "batch[3]")     # an object; sequence(...): a list

Each returns the field's value or raises `MalformedPayload` naming it, prefixed with `where` (the path of the
object it was read from): `[0].occurredAt: 1e+20 is not a Unix time in milliseconds between 1970 and 2200`.
They are as lenient as vendors are: a missing or null field is None (an object, `{}`; a list, `[]`), and an
empty JSON array where an object goes is an empty object (PHP encodes `{}` as `[]`).

Times are refused outside `EARLIEST`..`LATEST` (1970 to 2200): every vendor here counts from the Unix epoch,
so nothing earlier is a real event time, and anything past 2200 is a unit mix-up (milliseconds read as
seconds land in the year 55,000) or garbage (1e20 overflows a datetime).

The `as_*` converters raise `ValueError(problem)`; the normalizers' pydantic field types
(`shared.webhooks.normalizers.base`) are built on them, so a field reads the same on both sides of the
outbox.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from shared.finance.currencies import CURRENCIES, UnknownCurrency
from shared.finance.currencies import currency as iso_currency
from shared.finance.money import InvalidAmount, format_amount, parse_amount
from shared.webhooks.payload import MalformedPayload

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
_RANGE = f"{EARLIEST.year} and {LATEST.year}"

EXPECTED_STRING = "expected a string"
EXPECTED_OBJECT = "expected an object"
EXPECTED_LIST = "expected a list"
EXPECTED_ID = "expected an id (a string or an integer)"
_T = TypeVar("_T")

# Money a vendor sends in minor units: Stripe's amounts are integers of at most 12 digits (its docs: "up to
# eight digits" for most currencies, "up to twelve digits for IDR"); a currency is a three-letter ISO code.
MAX_AMOUNT_MINOR = 10**12 - 1
# An id the hub keys a record by (a person, an account): a DynamoDB key is at most 2,048 bytes; 255 characters
# are at most 1,020 bytes of UTF-8, with room for a prefix such as `segment-anonymous:`.
MAX_KEY_ID_CHARACTERS = 255
_ISO_CURRENCY = re.compile(r"[A-Za-z]{3}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
KEY_ID_LIMIT = f"an id is at most {MAX_KEY_ID_CHARACTERS} characters, none of them control characters"
# A count a usage report gives (active users, seats, API calls, a feature's events): the health recorder and the
# usage API take integers from 0 to 10^12 (`shared.success.signals`, `shared.success.api_models.EventCount`)
MAX_COUNT = 10**12
# A JSON number read as decimal money: a float carries 15 significant digits exactly (`sys.float_info.dig`)
_FLOAT_DIGITS = 15
# Without a currency an amount is in the company's, which the receiver does not know: it is held to the most
# decimals any currency has (the attribution recorder holds it to the company's)
_MOST_DECIMALS = max(CURRENCIES.values(), key=lambda unit: unit.exponent)


# Paths ------------------------------------------------------------------------------------------------------


def at(where: str, key: str | int) -> str:
    """The path of `key` inside the object at `where`: `at("batch[3]", "context")` is `batch[3].context`,
    `at("", 0)` is `[0]`."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def malformed(where: str, key: str | int, problem: str) -> MalformedPayload:
    return MalformedPayload(f"{at(where, key)}: {problem}")


# Readers ----------------------------------------------------------------------------------------------------


def text(obj: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """A string (a type, a name, a URL); None when missing or null; anything else is malformed."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    raise malformed(where, key, EXPECTED_STRING)


def identifier(obj: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """An id as a string: vendors send ids as strings or integers, null or "" when there is none."""
    value = obj.get(key)
    if isinstance(value, str):
        return value or None
    try:
        return as_id(value)
    except ValueError as exc:
        raise malformed(where, key, str(exc)) from None


def key_id(obj: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """An id the hub keys a record by: as `identifier`, at most `MAX_KEY_ID_CHARACTERS`, no control characters."""
    return _converted(obj, key, where, as_key_id)


def amount_minor(obj: Mapping[str, Any], key: str, where: str = "") -> int | None:
    """Money in minor units: a whole number from 0 to `MAX_AMOUNT_MINOR`; None when missing or null."""
    return _converted(obj, key, where, as_amount_minor)


def currency(obj: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """A three-letter ISO 4217 currency code, as sent (`usd`); None when missing or null."""
    return _converted(obj, key, where, as_currency)


def count(obj: Mapping[str, Any], key: str, where: str = "") -> int | None:
    """A count (users, seats, calls, events): an integer from 0 to `MAX_COUNT`; None when missing or null."""
    return _converted(obj, key, where, as_count)


def iso_currency_code(obj: Mapping[str, Any], key: str, where: str = "") -> str | None:
    """A currency ISO 4217 lists with a minor unit (`shared.finance.currencies`), upper case; None when missing,
    null or ""."""
    return _converted(obj, key, where, as_iso_currency)


def offset_time(obj: Mapping[str, Any], key: str, where: str = "") -> datetime | None:
    """An ISO-8601 time naming its offset (`Z` or `+02:00`), between 1970 and 2200; None when missing, null or ""."""
    return _converted(obj, key, where, as_offset_time)


def _converted(obj: Mapping[str, Any], key: str, where: str, convert: Callable[[Any], _T]) -> _T:
    """`obj[key]` through one of the `as_*` converters; its ValueError is the field's MalformedPayload."""
    try:
        return convert(obj.get(key))
    except ValueError as exc:
        raise malformed(where, key, str(exc)) from None


def mapping(obj: Mapping[str, Any], key: str, where: str = "") -> dict[str, Any]:
    """A JSON object; null, missing and `[]` read as `{}`; anything else is malformed."""
    value = obj.get(key)
    if isinstance(value, dict):
        return value
    try:
        return as_object(value)
    except ValueError as exc:
        raise malformed(where, key, str(exc)) from None


def sequence(obj: Mapping[str, Any], key: str, where: str = "") -> list[Any]:
    """A JSON array; null and missing read as `[]`; anything else is malformed."""
    try:
        return as_list(obj.get(key))
    except ValueError as exc:
        raise malformed(where, key, str(exc)) from None


def epoch_seconds(obj: Mapping[str, Any], key: str, where: str = "") -> datetime | None:
    """A Unix time in seconds (an integer or a number with a fraction), between 1970 and 2200."""
    try:
        return as_epoch_seconds(obj.get(key))
    except ValueError as exc:
        raise malformed(where, key, str(exc)) from None


def epoch_millis(obj: Mapping[str, Any], key: str, where: str = "") -> datetime | None:
    """A Unix time in milliseconds, between 1970 and 2200."""
    try:
        return as_epoch_millis(obj.get(key))
    except ValueError as exc:
        raise malformed(where, key, str(exc)) from None


def iso_time(obj: Mapping[str, Any], key: str, where: str = "") -> datetime | None:
    """An ISO-8601 time (UTC when it names no offset), between 1970 and 2200; null or "" read as None."""
    try:
        return as_iso_time(obj.get(key))
    except ValueError as exc:
        raise malformed(where, key, str(exc)) from None


# Converters: a value as its type, or a ValueError saying what is wrong --------------------------------------


def as_string(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ValueError(EXPECTED_STRING)


def as_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ValueError(EXPECTED_ID)


def as_key_id(value: Any) -> str | None:
    key = as_id(value)
    if key is not None and (len(key) > MAX_KEY_ID_CHARACTERS or _CONTROL.search(key)):
        this = f"this one has {len(key):,}" if len(key) > MAX_KEY_ID_CHARACTERS else "this one has one"
        raise ValueError(f"{KEY_ID_LIMIT} ({this})")
    return key


def as_amount_minor(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT_MINOR):
        return value
    number = isinstance(value, float) or (isinstance(value, int) and not isinstance(value, bool) and value < 10**20)
    shown = f", not {value!r}" if number else ""  # a 5,000-digit integer is not repeated back
    raise ValueError(f"an amount is a whole number of minor units from 0 to {MAX_AMOUNT_MINOR:,}{shown}")


def as_currency(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and _ISO_CURRENCY.fullmatch(value)):
        return value
    raise ValueError("a currency is a three-letter ISO 4217 code")


def as_count(value: Any) -> int | None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT):
        return value
    raise ValueError(f"a count is an integer from 0 to 10^12, not {_shown(value)}")


def as_iso_currency(value: Any) -> str | None:
    if value is None or value == "":
        return None
    try:
        return iso_currency(value).code
    except UnknownCurrency as exc:
        raise ValueError(str(exc)) from None


def as_major_amount(value: Any, currency_code: str | None) -> int | None:
    """A deal's amount as the attribution recorder reads it (`shared.attribution.deals`): decimal text in major
    units, a JSON number read as the same decimal (`12000` is 12000.00), held to `shared.finance.money`'s
    `parse_amount` (no exponents, NaN, true/false; at most 15 digits before the point and the currency's decimals
    after it) and never negative. In minor units of `currency_code` (None: the company's currency, unknown here:
    held to the most decimals any currency has); None when missing, null or ""."""
    if value is None or value == "":
        return None
    unit = iso_currency(currency_code) if currency_code else _MOST_DECIMALS
    try:
        money = parse_amount(_decimal_text(value), unit.code)
    except InvalidAmount as exc:
        problem = exc.problem
        if not currency_code and "decimal places" in problem:
            problem = f"{problem.split(';')[0]}; no currency has more than {unit.exponent}"
        raise ValueError(problem) from None
    if money.minor < 0:  # a refund or credit note is not a deal's value
        shown = format_amount(money) if currency_code else _shown(value)
        raise ValueError(f"a deal's amount is not negative, not {shown}")
    return money.minor


def _decimal_text(value: Any) -> Any:
    """An amount as `parse_amount` takes it, read as the attribution recorder reads a deal's: a string stripped
    (exponents and NaN left for `parse_amount` to refuse by name), an integer as its digits in major units, a
    float as the shortest decimal that reads back as it, refused when that needs more than 15 digits."""
    if isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except (ArithmeticError, InvalidOperation):
            return text
        return text if number.is_finite() and "e" not in text.lower() else value
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        number = Decimal(repr(value))
        if not number.is_finite():
            return value
        if len(number.as_tuple().digits) > _FLOAT_DIGITS:
            raise ValueError(
                f"the JSON number {value!r} has more digits than a JSON number carries exactly: send it as a "
                'decimal string ("1234.56")'
            )
        return format(number, "f")
    return value


def as_offset_time(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"an ISO 8601 time with its offset, not {_shown(value)}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{_shown(value)} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{_shown(value)} has no offset; say which time zone (e.g. Z)")
    return _in_range(moment, f"{_shown(value)} is not a time between {_RANGE}")


def _shown(value: Any) -> str:
    """A value as a message repeats it: short ones whole, long ones cut, containers by their type."""
    if isinstance(value, dict | list):
        return f"a {'list' if isinstance(value, list) else 'object'}"
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:40] + "..."


def as_object(value: Any) -> dict[str, Any]:
    if value is None or (isinstance(value, list) and not value):
        return {}
    if not isinstance(value, dict):
        raise ValueError(EXPECTED_OBJECT)
    return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(EXPECTED_LIST)
    return value


def as_epoch_seconds(value: Any) -> datetime | None:
    return _epoch(value, 1, "seconds")


def as_epoch_millis(value: Any) -> datetime | None:
    return _epoch(value, 1000, "milliseconds")


def as_iso_time(value: Any) -> datetime | None:
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


def _epoch(value: Any, divisor: int, unit: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a Unix time in {unit}")
    try:
        moment = datetime.fromtimestamp(value / divisor, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{value} is not a Unix time in {unit} between {_RANGE}") from None
    return _in_range(moment, f"{value} is not a Unix time in {unit} between {_RANGE}")


def _in_range(moment: datetime, problem: str) -> datetime:
    if not EARLIEST <= moment < LATEST:
        raise ValueError(problem)
    return moment
