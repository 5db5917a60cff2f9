"""POST /v1/batch|track|identify|page|screen|group|alias: the Segment HTTP tracking API, so analytics
SDKs pointed at the hub deliver events that become canonical events like any webhook."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.catalog import TRACKING_CALLS
from shared.http.api import resolve, rest_resolver
from shared.http.webhook_request import inbound_webhook
from shared.observability import logger, metrics, traced
from shared.settings import WebhookReceiverSettings, load_settings
from shared.webhooks.api_models import TrackingAck, TrackingRefusal
from shared.webhooks.registry import TRACKING_API
from shared.wiring import webhook_ingest

app = rest_resolver()
ingest = webhook_ingest(load_settings(WebhookReceiverSettings), vendors={TRACKING_API.name: TRACKING_API})


UNREADABLE_METRIC = "TrackingPayloadUnreadable"  # the adapter raised: a bug of ours, answered 400 and logged


def track() -> Response[dict[str, Any] | str]:
    reply = ingest.receive(inbound_webhook(app.current_event, TRACKING_API.name))
    metrics.add_metric(name=f"Tracking{reply.status_code}", unit="Count", value=1)
    if reply.incident:
        metrics.add_metric(name=UNREADABLE_METRIC, unit="Count", value=1)
    return Response(status_code=reply.status_code, content_type=reply.content_type, body=reply.body)


def _refusal(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": TrackingRefusal}}}


for _call in TRACKING_CALLS:
    app.post(
        f"/v1/{_call}",
        summary=f"Segment-compatible {_call}",
        description="Segment HTTP tracking API; authenticate with a write key as the HTTP Basic user name (or "
        "`writeKey` in the body). Segment's limits: 32 KB a message, 500 KB a batch, and here 2,500 messages.",
        responses={
            200: {
                "description": "Accepted (or already accepted)",
                "content": {"application/json": {"model": TrackingAck}},
            },
            400: _refusal("Not a Segment message, or a message over 32 KB; `message` names the field or limit"),
            401: _refusal("Missing or unknown write key"),
            409: _refusal("Another request is processing the same messages; retry later"),
            413: _refusal("Batch over 500 KB or 2,500 messages, or too large to store"),
            503: _refusal("Not published; retry"),
        },
        tags=["tracking"],
    )(track)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
