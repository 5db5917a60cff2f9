"""What a request carries, read as HubSpot reads it: the object type of its path, its JSON body, a batch's
inputs and their property values, its query string; anything malformed refused (`Refused`) as HubSpot answers."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from local_runtime.crm_hubspot.portal import MAX_BATCH, MAX_BODY, TYPE_ALIASES
from local_runtime.crm_hubspot.responses import (
    Problem,
    Refused,
    error_response,
    json_response,
    shown_value,
    validation_error,
)


def type_or_refuse(object_type: str) -> str:
    if object_type not in TYPE_ALIASES:
        raise Refused(validation_error(f"Unable to infer object type from: {object_type[:100]}"))
    return TYPE_ALIASES[object_type]


def _read_body(request: Request) -> bytes:
    if (request.content_length or 0) > MAX_BODY:
        raise Refused(error_response(413, f"The request body is larger than {MAX_BODY} bytes", "VALIDATION_ERROR"))
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise Refused(error_response(413, f"The request body is larger than {MAX_BODY} bytes", "VALIDATION_ERROR"))
    return raw


def _parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise Refused(
            validation_error(f"Invalid input JSON on line {exc.lineno}, column {exc.colno}: {exc.msg}")
        ) from None
    except (ValueError, RecursionError) as exc:
        raise Refused(validation_error(f"Invalid input JSON: {str(exc)[:200]}")) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def object_body(request: Request) -> dict[str, Any]:
    body = _parse_json(_read_body(request) or b"{}")
    if not isinstance(body, dict):
        raise Refused(validation_error("Invalid input JSON: expected an object"))
    return body


def own_body(request: Request) -> dict[str, Any] | Response:
    try:
        raw = _read_body(request)
        body = _parse_json(raw) if raw.strip() else {}
    except Refused as refused:
        return json_response(
            {"message": json.loads(refused.response.get_data())["message"]}, refused.response.status_code
        )
    if not isinstance(body, dict):
        return json_response({"message": "the body must be a JSON object"}, 400)
    return body


def batch_inputs(body: Mapping[str, Any], most: int = MAX_BATCH) -> list[dict[str, Any]]:
    inputs = body.get("inputs")
    if not isinstance(inputs, list):
        raise Refused(validation_error("inputs must be a list"))
    if len(inputs) > most:
        raise Refused(validation_error(f"Batch input is limited to {most} inputs; {len(inputs)} were sent"))
    for position, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise Refused(validation_error(f"inputs[{position}] must be an object"))
    return inputs


def input_id(item: Mapping[str, Any], position: int) -> str:
    value = item.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise Refused(validation_error(f"inputs[{position}].id is required"))
    return value


def refuse_duplicates(keys: Sequence[str]) -> None:
    seen: set[str] = set()
    repeated: set[str] = set()
    for key in keys:
        (repeated if key in seen else seen).add(key)
    duplicates = sorted(repeated)
    if duplicates:
        shown = ", ".join(duplicates[:10])
        raise Refused(validation_error(f"Duplicate IDs found in batch input: [{shown}]. IDs must be unique"))


def _trace(item: Mapping[str, Any], position: int) -> str | None:
    trace = item.get("objectWriteTraceId")
    if trace is None:
        return None
    if not isinstance(trace, str) or not trace:
        raise Refused(validation_error(f"inputs[{position}].objectWriteTraceId must be a non-empty string"))
    return trace


def traced(shaped: dict[str, Any], trace: str | None) -> dict[str, Any]:
    return {**shaped, "objectWriteTraceId": trace} if trace is not None else shaped


def input_values(item: Mapping[str, Any], position: int) -> tuple[dict[str, str], str | None]:
    """A batch input's properties and its `objectWriteTraceId`."""
    return input_properties(item.get("properties"), f"inputs[{position}].properties"), _trace(item, position)


def admitted(
    problem: Problem | None,
    values: Mapping[str, str],
    trace: str | None,
    key: str | None,
    problems: list[tuple[str | None, str | None, Problem]],
    claimed: set[str],
) -> bool:
    """Whether a batch's input goes ahead: else its problem is noted; when it does, its email is claimed."""
    if problem is not None:
        problems.append((trace, key, problem))
        return False
    if values.get("email"):
        claimed.add(values["email"].lower())
    return True


def input_properties(raw: object, where: str) -> dict[str, str]:
    values = text_properties(raw if raw is not None else {}, where)
    if isinstance(values, str):
        raise Refused(validation_error(values))
    return values


def text_properties(raw: object, where: str = "properties") -> dict[str, str] | str:
    """Property values as HubSpot keeps them, text ("" clears); a message when they are not values."""
    if not isinstance(raw, Mapping):
        return f"{where} must be an object"
    values = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not name:
            return f"{where}: a property name must be a non-empty string"
        if value is None:
            values[name] = ""
        elif isinstance(value, bool):
            values[name] = "true" if value else "false"
        elif isinstance(value, int | float):
            values[name] = json.dumps(value)
        elif isinstance(value, str):
            values[name] = value
        else:
            return f"{where}.{name[:100]}: a value must be a string, a number, a boolean or null"
    return values


def property_names(raw: object, where: str) -> list[str] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(name, str) for name in raw):
        raise Refused(validation_error(f"{where} must be a list of property names"))
    return [name for name in raw if name]


def query_properties(request: Request) -> list[str] | None:
    values = request.args.getlist("properties")
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def query_int(request: Request, name: str, default: int, least: int, most: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Refused(validation_error(f"{name} must be an integer, not {raw[:40]!r}")) from None
    if value < least or (most is not None and value > most):
        raise Refused(validation_error(f"{name} must be from {least} to {most}, not {value}"))
    return value


def body_int(body: Mapping[str, Any], name: str, default: int, least: int, most: int) -> int:
    raw = body.get(name, default)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if raw is None:
        raw = default
    if not isinstance(raw, int) or isinstance(raw, bool) or not least <= raw <= most:
        raise Refused(validation_error(f"{name} must be an integer from {least} to {most}, not {shown_value(raw)}"))
    return raw


def is_count(value: object, most: int) -> bool:
    # bool is an int in Python, and `true` is not a count
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= most
