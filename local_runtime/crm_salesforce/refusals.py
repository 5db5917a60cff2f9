"""How Salesforce refuses: a call refused as a whole, one record's errors in a collection, the results of an
allOrNone collection that failed, and how a refused value is shown in a message."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


class SalesforceRefusal(ValueError):
    """What Salesforce answers when it refuses a change: `errors` as it lists them
    ([{"statusCode" | "errorCode", "message", "fields"}]) and the HTTP status of the answer."""

    def __init__(self, errors: list[dict[str, Any]], status: int = 400) -> None:
        super().__init__("; ".join(f"{e.get('statusCode') or e.get('errorCode')}: {e['message']}" for e in errors))
        self.errors = errors
        self.status = status


def refusal(code: str, message: str, status: int = 400) -> SalesforceRefusal:
    """A call refused as a whole, in the REST API's shape: [{"message", "errorCode"}]."""
    return SalesforceRefusal([{"message": message, "errorCode": code}], status)


def record_error(code: str, message: str, fields: Sequence[str] = ()) -> dict[str, Any]:
    """One record's error, in the shape sObject Collections answer it."""
    return {"statusCode": code, "message": message, "fields": list(fields)}


def rolled_back_results(
    errors: list[list[dict[str, Any]]], existing: Sequence[Mapping[str, Any] | None] | None = None
) -> list[dict[str, Any]]:
    """Every record's result when allOrNone fails: its own errors, or that it was rolled back."""
    rolled_back = record_error(
        "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "Record rolled back because not all records were valid and the request was using AllOrNone header",
    )
    results = []
    for position, problems in enumerate(errors):
        found = existing[position] if existing is not None else None
        results.append({"id": found["Id"] if found else None, "success": False, "errors": problems or [rolled_back]})
    return results


def rest_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Record errors as a single-record call answers them: [{"message", "errorCode", "fields"}]."""
    return [{"message": e["message"], "errorCode": e["statusCode"], "fields": e["fields"]} for e in errors]


def shown(value: object) -> str:
    return json.dumps(value, default=str)[:40]


def shown_name(value: object) -> str:
    return str(value)[:80]
