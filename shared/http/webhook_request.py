"""An API Gateway REST proxy event as the exact request the vendor sent, and a reply as the proxy response.

Plain dictionaries, no framework: the webhook and tracking routes take raw bytes (the API declares every
media type binary) and answer in each vendor's own dialect, so a resolver with request validation would only
cost their cold start.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from shared.catalog import Route, ThrottleDomain
from shared.catalog.webhooks import TRACKING_SHORT_ROUTE
from shared.webhooks.model import InboundWebhook
from shared.webhooks.vendor import Reply

# Browsers call the tracking API from any site (analytics.js on a customer's pages), and read an answer only with
# this header, which api.segment.io sends too. A call a browser must ask about first (JSON, an Authorization
# header) gets its preflight (OPTIONS) answered by the gateway, without auth (`infra/api.py`,
# `local_runtime/gateway.py`), with `CORS_PREFLIGHT_HEADERS`.
CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}
CORS_PREFLIGHT_HEADERS = {
    **CORS_HEADERS,
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Authorization",
    "Access-Control-Max-Age": "86400",
}


def answers_browsers(route: Route) -> bool:
    """Whether browsers call this route from other sites, and ask it a CORS preflight: analytics.js posts to the
    tracking API's short paths only (server SDKs, which ask none, to the calls' own)."""
    return route.domain is ThrottleDomain.TRACKING and route.path == TRACKING_SHORT_ROUTE


def raw_body(event: Mapping[str, Any]) -> bytes:
    """The body byte for byte: API Gateway base64-encodes it (every media type is binary), nothing else."""
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else str(body).encode("utf-8", "surrogatepass")


def called_url(event: Mapping[str, Any], headers: Mapping[str, str]) -> str:
    """The URL the vendor called, which HubSpot v3 signs: scheme, host, path with stage, query."""
    context = event.get("requestContext") or {}
    scheme = headers.get("x-forwarded-proto", "https")
    host = headers.get("host") or context.get("domainName") or ""
    path = context.get("path") or event.get("path") or ""
    query = event.get("multiValueQueryStringParameters") or {}
    return f"{scheme}://{host}{path}" + (f"?{urlencode(query, doseq=True)}" if query else "")


def inbound_webhook(event: Mapping[str, Any], vendor: str) -> InboundWebhook:
    headers = {str(key).lower(): str(value) for key, value in (event.get("headers") or {}).items()}
    context = event.get("requestContext") or {}
    return InboundWebhook(
        vendor=vendor,
        method=str(event.get("httpMethod") or "POST"),
        url=called_url(event, headers),
        headers=headers,
        body=raw_body(event),
        request_id=str(context.get("requestId") or ""),
        source_ip=(context.get("identity") or {}).get("sourceIp"),
    )


def received_at(event: Mapping[str, Any]) -> datetime:
    """When API Gateway received the request (`requestContext.requestTimeEpoch`, in ms); now, without it."""
    epoch = (event.get("requestContext") or {}).get("requestTimeEpoch")
    try:
        return datetime.fromtimestamp(int(str(epoch)) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def path_parameter(event: Mapping[str, Any], name: str) -> str:
    return str((event.get("pathParameters") or {}).get(name) or "")


def proxy_response(reply: Reply, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
    return {
        "statusCode": reply.status_code,
        "headers": {"Content-Type": reply.content_type, **(headers or {})},
        "body": body,
        "isBase64Encoded": False,
    }
