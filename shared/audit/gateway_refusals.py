"""The audit record of a request API Gateway refused before any function ran, from its access log line
(`shared.catalog.access_log`): a `/api/v1` route's 401 or 403 from the Cognito authorizer (no token, a bad or expired
one, a system's token without one of the method's scopes) or from the API key check of a partner route; and, so
that every write through /api/v1 is in the trail, any other 4xx the gateway answered a write (a non-GET route) with:
its request validator's 400 (a body that is not a JSON object), a 413 (a body over its limit), a 415 (a media
type it does not take), a 429 (the stage's or the usage plan's throttle). A read's throttle is not recorded, nor
a WAF block (the web ACL's rate limit).

A function records its own refusals (`shared.http.api.resolve`), with the caller's groups; here only what the log
line holds is known: the token's `sub` and `client_id` when the authorizer read them, the API key's id, the route
and its path parameters, where from, and what refused it (`detail.refused_by`, `detail.error`). Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from shared.audit.caller import caller_of
from shared.audit.privacy import kept
from shared.audit.record import AuditRecord, Channel, Phase, outcome_of
from shared.audit.targets import targets_of
from shared.catalog import CATALOG, Catalog, Route
from shared.catalog.access_log import NO_VALUE
from shared.catalog.audit import GATEWAY_REFUSAL_STATUSES
from shared.catalog.partners import takes_api_key

REFUSED_BY = "api_gateway"
REFUSAL_STATUSES = frozenset({401, 403})  # of any route: who the caller is, or what they may do
# Of a write only (a route whose method is not GET): the write was asked for and not made. The catalog's access
# log filter passes these lines, and only these, to the function.
WRITE_REFUSAL_STATUSES = frozenset(int(status) for status in GATEWAY_REFUSAL_STATUSES) - REFUSAL_STATUSES
READ_METHOD = "GET"
# A request the WAF web ACL blocked is a 403 no function answered too, but not a refusal of who the caller is.
WAF_BLOCK = "WAF_BLOCK"
WAF_FILTERED = "WAF_FILTERED"


def refusal_record(
    line: Mapping[str, Any], logged_at: datetime, max_targets: int, catalog: Catalog = CATALOG
) -> AuditRecord | None:
    """The record of the refusal the line is about; None for any other line (a function answered, a status that
    is not a refusal of that route, a path that is no route of the catalog or a route anyone may call)."""
    status = _status(line.get("status"))
    route = catalog.route_for(_value(line, "httpMethod") or "", _value(line, "resourcePath") or "")
    if status is None or _value(line, "integrationStatus") is not None or route is None:
        return None
    refused = status in REFUSAL_STATUSES or (route.method != READ_METHOD and status in WRITE_REFUSAL_STATUSES)
    if not refused:
        return None
    if route.is_public and not takes_api_key(route):
        return None  # webhooks and tracking calls are the vendors': their own log keeps every attempt
    if _value(line, "wafResponseCode") == WAF_BLOCK or _value(line, "errorType") == WAF_FILTERED:
        return None  # the web ACL's rate limit: who the caller is was never looked at
    claims = {
        name: value for name, field in (("sub", "user"), ("client_id", "clientId")) if (value := _value(line, field))
    }
    caller = caller_of(claims, _value(line, "apiKeyId") if takes_api_key(route) else None)
    parameters, path = _path_parameters(route, _value(line, "path") or "")
    targets = targets_of(parameters, None, status)
    detail = {"refused_by": REFUSED_BY}
    if error := _value(line, "errorType"):
        detail["error"] = kept(error) or error[:100]
    return AuditRecord(
        request_id=kept(_value(line, "requestId") or "") or f"log-{int(logged_at.timestamp() * 1000)}",
        at=_requested_at(line, logged_at),
        channel=Channel.API,
        phase=Phase.COMPLETED,
        outcome=outcome_of(status),
        **caller.record_fields(),
        route=route.key,
        method=route.method,
        path=kept(path) or "",
        status=status,
        targets=tuple(targets[:max_targets]),
        targets_omitted=max(0, len(targets) - max_targets),
        source_ip=kept(_value(line, "sourceIp")),
        user_agent=kept(_value(line, "userAgent")),
        detail=detail,
    )


def _value(line: Mapping[str, Any], name: str) -> str | None:
    """A field as logged; None where API Gateway had no value (it writes `-`)."""
    value = line.get(name)
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    return None if text in ("", NO_VALUE) else text


def _status(raw: Any) -> int | None:
    try:
        return int(str(raw))
    except ValueError:
        return None


def _requested_at(line: Mapping[str, Any], logged_at: datetime) -> datetime:
    """When API Gateway received the request (`requestTimeEpoch`, ms); the log event's time otherwise."""
    epoch = _value(line, "requestTimeEpoch")
    if epoch is not None and epoch.isdigit() and len(epoch) <= 15:
        return datetime.fromtimestamp(int(epoch) / 1000, UTC)
    return logged_at.astimezone(UTC)


def _path_parameters(route: Route, path: str) -> tuple[dict[str, str], str]:
    """The route's path parameters read from the logged path, and that path as the function would see it.

    `$context.path` holds the stage (`/prod/api/v1/leads/L1`), or a custom domain's base path: the route's
    segments are the path's last ones. A path that does not fit the route (it cannot, once API Gateway matched
    it) gives no parameters and the route's template as the path."""
    template = route.path.strip("/").split("/")
    segments = path.strip("/").split("/")
    if len(segments) < len(template):
        return {}, route.path
    tail = segments[len(segments) - len(template) :]
    parameters: dict[str, str] = {}
    for pattern, segment in zip(template, tail, strict=True):
        if pattern.startswith("{") and pattern.endswith("}"):
            parameters[pattern[1:-1]] = segment
        elif pattern != segment:
            return {}, route.path
    return parameters, "/" + "/".join(tail)
