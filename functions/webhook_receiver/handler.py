"""POST /webhooks/{vendor}: verify, de-duplicate, store and publish a vendor webhook."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.http.api import resolve, rest_resolver
from shared.http.webhook_request import inbound_webhook
from shared.observability import logger, metrics, traced
from shared.settings import WebhookReceiverSettings, load_settings
from shared.webhooks.api_models import WebhookAck
from shared.wiring import webhook_ingest

app = rest_resolver()
ingest = webhook_ingest(load_settings(WebhookReceiverSettings))


@app.post(
    "/webhooks/<vendor>",
    summary="Receive a vendor webhook",
    description="Signed by the vendor's scheme; 202 accepted, 200 duplicate, 401 bad signature, 503 retry.",
    responses={
        status: {"description": description, "content": {"application/json": {"model": WebhookAck}}}
        for status, description in {
            200: "Duplicate of a delivery already published; nothing published again",
            202: "Accepted, stored and published",
            400: "Malformed payload (message says what is wrong)",
            401: "Missing, invalid or stale signature",
            404: "Unknown vendor",
            409: "Another request is processing this delivery; retry later",
            413: "Body too large",
            503: "Stored but not published; retry",
        }.items()
    },
    tags=["webhooks"],
)
def receive_webhook(vendor: str) -> Response[dict[str, Any] | str]:
    reply = ingest.receive(inbound_webhook(app.current_event, vendor))
    metrics.add_metric(name=f"Webhook{reply.status_code}", unit="Count", value=1)
    return Response(status_code=reply.status_code, content_type=reply.content_type, body=reply.body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
