"""The body of a JSON route, checked before the resolver reads it: JSON in UTF-8, within the bounds of
`shared.bounded_json`, no string holding a lone surrogate. Without this, a body that is not UTF-8, nests 10,000
deep or holds a 5,000-digit number would fail inside the resolver's own parsing, and one whose text no UTF-8
encodes (`"\\ud800"`) wherever it was first stored or logged: the caller would get a 5xx for their mistake. Each
refusal is a 400 naming the JSON path of what is refused (`lines[3].amount`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from shared import bounded_json
from shared.catalog import CATALOG, Catalog

JSON_MEDIA_TYPES = ("application/json",)


def body_problem(event: dict[str, Any], catalog: Catalog = CATALOG) -> tuple[int, str] | None:
    """(status, message) when the event's body is not one its JSON route can read; None when it is."""
    route = catalog.route_for(str(event.get("httpMethod", "")), str(event.get("resource", "")))
    if route is None or not route.json_body:
        return None
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in JSON_MEDIA_TYPES and not media_type.endswith("+json"):
        return 415, f"send the body as application/json (it was {media_type[:100]})"
    try:
        raw = _raw(event)
    except (binascii.Error, ValueError):
        return 400, "the body is not valid base64 as API Gateway sends it"
    if not raw:
        return None  # the route's model says what is missing
    try:
        bounded_json.loads(raw, refuse_lone_surrogates=True)
    except bounded_json.JsonTooComplex as exc:
        return 400, f"the body is refused: {exc}"
    except UnicodeDecodeError:
        return 400, "the body is not UTF-8 text"
    except ValueError as exc:
        return 400, f"the body is not JSON: {str(exc)[:200]}"
    return None


def _raw(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else str(body).encode("utf-8")
