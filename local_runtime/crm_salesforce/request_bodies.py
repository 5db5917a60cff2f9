"""What a call sends, read as Salesforce reads it: a body of at most 1 MB, JSON, an sObject, an sObject
Collections request, and the stand-in's own edit request; what cannot be read refuses the call."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request

from local_runtime.crm_salesforce.refusals import refusal, shown_name

MAX_BODY_BYTES = 1024 * 1024
MAX_COLLECTION = 200  # records per sObject Collections create or update


def read_body(request: Request) -> bytes:
    raw = request.stream.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise refusal("REQUEST_ENTITY_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes", 413)
    return raw


def json_body(request: Request, allow_empty: bool = False) -> Any:
    raw = read_body(request)
    if allow_empty and not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        message = str(exc)[:200] if isinstance(exc, ValueError) else "the JSON nests too deep"
        raise refusal("JSON_PARSER_ERROR", message) from None


def object_body(request: Request) -> dict[str, Any]:
    body = json_body(request)
    if not isinstance(body, dict):
        raise refusal("JSON_PARSER_ERROR", f"Cannot deserialize instance of sObject from {type(body).__name__}")
    return body


def collection_body(request: Request) -> tuple[bool, list[Any]]:
    body = object_body(request)
    records, all_or_none = body.get("records"), body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        raise refusal("JSON_PARSER_ERROR", "allOrNone must be true or false")
    if not isinstance(records, list) or not records:
        raise refusal("MISSING_ARGUMENT", "records: a list of at least one record is required")
    if len(records) > MAX_COLLECTION:
        raise refusal(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION} records into this call",
        )
    return all_or_none, records


def edit_arguments(body: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - {"sobject", "id", "email", "fields", "modified_at", "modified_by"})
    if unknown:
        raise refusal("JSON_PARSER_ERROR", f"unknown key(s): {', '.join(shown_name(k) for k in unknown[:5])}")
    for key in ("sobject", "id", "email", "modified_at", "modified_by"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise refusal("JSON_PARSER_ERROR", f"{key} must be a string")
    fields = body.get("fields") or {}
    if not isinstance(fields, dict):
        raise refusal("JSON_PARSER_ERROR", "fields must be an object of field names to values")
    if body.get("id") is None and body.get("email") is None and body.get("sobject") is None:
        raise refusal("MISSING_ARGUMENT", "name the sobject, and the record by id or email (neither: a new one)")
    return {
        "sobject": body.get("sobject"),
        "fields": fields,
        "record_id": body.get("id"),
        "email": body.get("email"),
        "modified_at": body.get("modified_at"),
        "modified_by": body.get("modified_by"),
    }
