"""POST /webhooks/{vendor}: verify, de-duplicate, store and publish a vendor webhook."""

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.http.api import rest_resolver
from shared.http.errors import json_response
from shared.http.webhook_request import inbound_webhook
from shared.observability import logger, metrics, tracer
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
        200: {"description": "Duplicate of a delivery already published"},
        202: {"description": "Accepted and published"},
        400: {"description": "Malformed payload"},
        401: {"description": "Missing or invalid signature"},
        404: {"description": "Unknown vendor"},
        409: {"description": "Another request is processing this delivery"},
        413: {"description": "Body too large"},
        503: {"description": "Not published; retry"},
    },
    tags=["webhooks"],
)
def receive_webhook(vendor: str) -> Response[WebhookAck]:
    result = ingest.receive(inbound_webhook(app.current_event, vendor))
    metrics.add_metric(name=f"Webhook{result.status_code}", unit="Count", value=1)
    return json_response(result.status_code, result.body)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
