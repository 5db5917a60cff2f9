"""The OpenAPI description of the Segment-compatible tracking routes, from the catalog and the reply models.
The function itself takes API Gateway's proxy event as it is; this resolver only documents the routes."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from shared.catalog import TRACKING_CALLS
from shared.catalog.webhooks import TRACKING_SHORT_PATHS
from shared.http.api import register_routes, rest_resolver
from shared.webhooks.api_models import TrackingAck, TrackingRefusal

app = rest_resolver()


def _refusal(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": TrackingRefusal}}}


def _documentation_only() -> Response[dict[str, Any] | str]:
    raise NotImplementedError("documentation only: functions/tracking_api/handler.py serves these routes")


RESPONSES: dict[int, Any] = {
    200: {"description": "Accepted (or already accepted)", "content": {"application/json": {"model": TrackingAck}}},
    400: _refusal("Not a Segment message, or a message over 32 KB; `message` names the field or limit"),
    401: _refusal("Missing or unknown write key"),
    413: _refusal("Batch over 500 KB or 2,500 messages, or too large to store"),
}
SHORT_PATH_RESPONSES = RESPONSES | {
    404: _refusal(f"No short call at that path; the calls are {', '.join(sorted(TRACKING_SHORT_PATHS))}")
}
OPERATIONS = {f"track_{call}": _documentation_only for call in (*TRACKING_CALLS, "short")}
RESPONSES_BY_OPERATION = dict.fromkeys(OPERATIONS, RESPONSES) | {"track_short": SHORT_PATH_RESPONSES}

register_routes(app, "functions.tracking_api.handler", OPERATIONS, responses=RESPONSES_BY_OPERATION)
