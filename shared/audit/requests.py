"""The audit record of an API request, from the REST proxy event API Gateway sends (claims, request id, source
IP, user agent) and, once the route has answered, its status and response (what it was about). Pure."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from shared.audit.caller import caller_of
from shared.audit.privacy import body_digest, kept
from shared.audit.record import AuditRecord, Channel, Outcome, Phase, outcome_of
from shared.audit.targets import targets_of


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
    targets = targets_of(event.get("pathParameters"), response_body, status)
    headers = {str(name).lower(): value for name, value in (event.get("headers") or {}).items()}
    return AuditRecord(
        # API Gateway always sends one; a hand-made event without it still gets a record of its own
        request_id=str(context.get("requestId") or uuid.uuid4()),
        at=at,
        channel=Channel.API,
        phase=Phase.RECEIVED if status is None else Phase.COMPLETED,
        outcome=Outcome.PENDING if status is None else outcome_of(status),
        actor=caller.actor,
        route=route_key,
        method=str(event.get("httpMethod") or "").upper(),
        path=kept(str(event.get("path") or "")) or "",
        status=status,
        username=caller.username,
        groups=caller.groups,
        client_id=caller.client_id,
        scopes=caller.scopes,
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
