"""The audit record of an API request, from the REST proxy event API Gateway sends (claims, request id, source
IP, user agent, the person a privacy route names) and, once the route has answered, its status and response (what
it was about). Pure."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.audit.caller import caller_of
from shared.audit.privacy import body_digest, kept
from shared.audit.record import AuditRecord, Channel, Outcome, Phase, Target, outcome_of
from shared.audit.targets import targets_of
from shared.catalog import CATALOG


def request_record(
    event: Mapping[str, Any],
    route_key: str,
    at: datetime,
    max_targets: int,
    status: int | None = None,
    response_body: str | None = None,
) -> AuditRecord:
    """A write's receipt when `status` is None (before the route runs), else the request's outcome."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    caller = caller_of((context.get("authorizer") or {}).get("claims"), identity.get("apiKeyId"))
    targets = targets_of(event.get("pathParameters"), response_body, status, subject_of(event, route_key))
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    return AuditRecord(
        # API Gateway always sends one; a hand-made event without it still gets a record of its own
        request_id=str(context.get("requestId") or uuid.uuid4()),
        at=at,
        channel=Channel.API,
        phase=Phase.RECEIVED if status is None else Phase.COMPLETED,
        outcome=Outcome.PENDING if status is None else outcome_of(status),
        **caller.record_fields(),
        route=route_key,
        method=str(event.get("httpMethod") or "").upper(),
        path=kept(str(event.get("path") or "")) or "",
        status=status,
        targets=tuple(targets[:max_targets]),
        targets_omitted=max(0, len(targets) - max_targets),
        request_digest=body_digest(raw_body(event)),
        source_ip=kept(identity.get("sourceIp")),
        user_agent=kept(identity.get("userAgent") or headers.get("user-agent")),
    )


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The body as the caller sent it (API Gateway base64-encodes a binary one)."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(str(body), validate=True)
        except (binascii.Error, ValueError):
            pass  # not valid base64: digest what arrived
    return str(body).encode("utf-8", "surrogatepass")


def subject_of(event: Mapping[str, Any], route_key: str) -> Target | None:
    """The person the request names, by the field its catalog route declares (`Route.audit_subject`): a query
    parameter of a GET, a top-level field of a JSON body otherwise. `targets_of` keeps it as an email's digest."""
    method, _, path = route_key.partition(" ")
    route = CATALOG.route_for(method, path)
    name = route.audit_subject if route is not None else None
    if name is None:
        return None
    if method == "GET":
        value = (event.get("queryStringParameters") or {}).get(name)
    else:
        try:
            document = json.loads(raw_body(event))
        except (ValueError, RecursionError):  # not JSON, or nested past parsing (refused by the body checks)
            return None
        value = document.get(name) if isinstance(document, dict) else None
    return Target(name, value) if isinstance(value, str) and value.strip() else None
