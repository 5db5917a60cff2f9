"""HubSpot's refusals as the CRM port's errors (`hubspot_crm.py`): a whole call's SDK exception or transport
failure mapped to `RateLimited` (429, with how long to wait), `CrmRefused` (401/403) or `CrmUnavailable` (5xx,
no answer, a timeout), and any other 4xx kept as `HubSpotError`, its body read, for the caller to tell which
writes it is about."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import urllib3
from hubspot.crm.associations.v4.exceptions import ApiException as AssociationsApiException
from hubspot.crm.contacts.exceptions import ApiException as ContactsApiException
from hubspot.crm.objects.exceptions import ApiException as ObjectsApiException

from shared.crm.ports import CrmRefused, CrmUnavailable, RateLimited

DEFAULT_RETRY_AFTER = 10.0  # HubSpot's ten-second window
DAILY_RETRY_AFTER = 3600.0

_API_EXCEPTIONS = (ObjectsApiException, AssociationsApiException, ContactsApiException)
_T = TypeVar("_T")


class HubSpotError(Exception):
    """A whole call refused with a 4xx other than 401, 403 and 429: HubSpot's error body, read."""

    def __init__(self, status: int, body: Mapping[str, Any], raw: str) -> None:
        self.status = status
        self.body = body
        self.category = str(body.get("category") or "")
        self.message = str(body.get("message") or raw[:300] or f"HTTP {status}")
        super().__init__(self.describe())

    def describe(self) -> str:
        return f"HubSpot {self.status} {self.category}: {self.message}"[:1000]


def call_read_api(call: Callable[[], _T]) -> _T:
    """A call that writes nothing: any refusal refuses the whole read."""
    try:
        return call_api(call)
    except HubSpotError as refused:
        raise CrmRefused(refused.describe()) from None


def call_api(call: Callable[[], _T]) -> _T:
    try:
        return call()
    except _API_EXCEPTIONS as exc:
        status = int(exc.status or 0)
        raw = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body or "")
        body = _json_object(raw)
        error = HubSpotError(status, body, raw)
        if status == 429:
            raise RateLimited(error.describe(), _retry_after(exc.headers, body)) from None
        if status in (401, 403):
            raise CrmRefused(error.describe()) from None
        if status == 0 or status >= 500 or not 400 <= status < 500:
            raise CrmUnavailable(error.describe() if status else f"HubSpot unreachable: {exc.reason}") from None
        raise error from None
    except urllib3.exceptions.HTTPError as exc:
        raise CrmUnavailable(f"HubSpot unreachable: {type(exc).__name__}: {str(exc)[:300]}") from None


def is_retryable(exc: Exception) -> bool:
    return isinstance(exc, RateLimited | CrmUnavailable)


def _retry_after(headers: Any, body: Mapping[str, Any]) -> float:
    raw = headers.get("Retry-After") if headers is not None else None
    if raw:
        try:
            return max(0.0, float(raw))
        except ValueError:
            try:
                return max(0.0, (parsedate_to_datetime(raw) - datetime.now(UTC)).total_seconds())
            except (TypeError, ValueError):
                pass
    return DAILY_RETRY_AFTER if str(body.get("policyName") or "").upper() == "DAILY" else DEFAULT_RETRY_AFTER


def _json_object(raw: str) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
