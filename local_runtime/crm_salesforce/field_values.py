"""Field values: a JSON value as a field of its type holds it, and date-times as the REST API, the call log and
the stand-in's clock write them."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, date, datetime
from typing import Any

from local_runtime.crm_salesforce.refusals import refusal, shown


def coerce_value(name: str, kind: str, value: Any) -> Any:
    """A JSON value as a field of `kind` holds it ("" is null, as Salesforce has it); what Salesforce's JSON
    parser would not take refuses the call."""
    if value is None or value == "":
        return None
    if isinstance(value, dict | list):
        token = "START_OBJECT" if isinstance(value, dict) else "START_ARRAY"
        raise refusal("JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from {token} value for {name}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind in ("int", "double"):
        number = _number(value)
        if number is not None and kind == "double":
            return number
        if number is not None and number.is_integer():
            return int(number)
    elif kind in ("date", "datetime"):
        if isinstance(value, str):
            with suppress(ValueError):
                return date.fromisoformat(value[:10]).isoformat() if kind == "date" else millis(parse_time(value))
    elif isinstance(value, bool):
        return "true" if value else "false"
    elif isinstance(value, int | float | str):
        return str(value)
    raise refusal("JSON_PARSER_ERROR", f"Cannot deserialize instance of {kind} from value {shown(value)} for {name}")


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _number(value: Any) -> float | None:
    """A finite number from a JSON number or a numeric string; None for anything else."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value.strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if abs(number) < 1e18 else None  # NaN fails the comparison too


def json_value(value: Any) -> Any:
    return sf_time(value) if isinstance(value, datetime) else value


def millis(moment: datetime) -> datetime:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=moment.microsecond // 1000 * 1000)


def sf_time(moment: datetime) -> str:
    """As Salesforce's REST API writes a date-time: 2026-01-01T12:00:00.000+0000."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def iso(moment: datetime) -> str:
    return millis(moment).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def edit_time(modified_at: datetime | str | None) -> datetime | None:
    if modified_at is None or isinstance(modified_at, datetime):
        return modified_at
    try:
        return parse_time(modified_at)
    except ValueError:
        raise refusal("JSON_PARSER_ERROR", f"modified_at is not an ISO-8601 time: {modified_at[:40]}") from None
