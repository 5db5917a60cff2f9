"""Turns an API Gateway REST proxy event into the exact request the vendor sent."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from shared.webhooks.model import InboundWebhook


def raw_body(event: APIGatewayProxyEvent) -> bytes:
    """The body byte for byte. The API declares every media type binary, so API Gateway base64-encodes it
    and nothing is re-encoded on the way."""
    body = event.body or ""
    return base64.b64decode(body) if event.is_base64_encoded else body.encode("utf-8")


def called_url(event: APIGatewayProxyEvent) -> str:
    """The URL the vendor called, which HubSpot v3 signs: scheme, host, path with stage, query."""
    headers = {key.lower(): value for key, value in (event.headers or {}).items()}
    scheme = headers.get("x-forwarded-proto", "https")
    host = headers.get("host") or event.request_context.domain_name or ""
    path = event.request_context.path or event.path
    query = event.multi_value_query_string_parameters or {}
    return f"{scheme}://{host}{path}" + (f"?{urlencode(query, doseq=True)}" if query else "")


def inbound_webhook(event: APIGatewayProxyEvent, vendor: str) -> InboundWebhook:
    return InboundWebhook(
        vendor=vendor,
        method=event.http_method,
        url=called_url(event),
        headers={key.lower(): value for key, value in (event.headers or {}).items()},
        body=raw_body(event),
        request_id=event.request_context.request_id or "",
        source_ip=event.request_context.identity.source_ip,
    )
