"""What Salesforce's error answers mean to the CRM port, for `SalesforceCrm` (`salesforce_crm.py`).

A call failed as a whole: REQUEST_LIMIT_EXCEEDED (or a 429) is `RateLimited` (after `Retry-After` when the
answer has one, else 60 s), a 5xx `CrmUnavailable`, anything else Salesforce refuses `CrmRefused`. A record an
sObject Collections call refused: its errors described, retryable when only a lock stood in the way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from simple_salesforce.exceptions import SalesforceError

from shared.crm.ports import CrmRefused, CrmUnavailable, RateLimited

DEFAULT_RETRY_AFTER = 60.0
MAX_RETRY_AFTER = 86_400.0
RETRYABLE_RECORD_ERRORS = frozenset({"UNABLE_TO_LOCK_ROW"})  # another transaction held the record: try again


def failure(what: str, exc: SalesforceError, retry_after: str | None) -> Exception:
    """The port's error for the call `what` that Salesforce failed; `retry_after`: its answer's Retry-After."""
    code, message = first_error(exc.content)
    if code == "REQUEST_LIMIT_EXCEEDED" or exc.status == 429:
        return RateLimited(f"Salesforce's request limit ({what}): {message}", retry_after_seconds(retry_after))
    if exc.status >= 500:
        return CrmUnavailable(f"Salesforce answered {exc.status} ({what}): {code}: {message}")
    return CrmRefused(f"Salesforce refused the {what}: {code}: {message}")


def retry_after_seconds(retry_after: str | None) -> float:
    try:
        seconds = float(retry_after or DEFAULT_RETRY_AFTER)
    except ValueError:  # an HTTP date, which Salesforce does not send
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER) if seconds == seconds else DEFAULT_RETRY_AFTER


def first_error(content: Any) -> tuple[str, str]:
    """Salesforce's errorCode and message from an error answer ([{"message", "errorCode"}] or OAuth's)."""
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, Mapping):
        code = first.get("errorCode") or first.get("error") or "UNKNOWN"
        message = first.get("message") or first.get("error_description") or ""
        return str(code), str(message)[:500]
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    return "UNKNOWN", text[:500]


def error_text(content: Any) -> str:
    code, message = first_error(content)
    return f"{code}: {message}"


def record_errors_text(errors: Sequence[Mapping[str, Any]]) -> str:
    """The errors Salesforce gave for a record it refused, as one text."""
    described = []
    for error in errors:
        fields = error.get("fields") or []
        where = f" ({', '.join(str(f) for f in fields)})" if isinstance(fields, list) and fields else ""
        described.append(f"{error.get('statusCode')}: {error.get('message')}{where}")
    return "; ".join(described)[:1000]
