"""POST /webhooks/{vendor}: verify, de-duplicate, store and publish a vendor webhook."""

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.http.api import resolve, rest_resolver
from shared.http.webhook_request import inbound_webhook
from shared.observability import logger, metrics, traced
from shared.settings import WebhookReceiverSettings, load_settings
from shared.webhooks.api_models import IntercomPong, SlackChallenge, WebhookAck, WebhookRefusal
from shared.webhooks.vendor import Reply
from shared.wiring import webhook_ingest

app = rest_resolver()
ingest = webhook_ingest(load_settings(WebhookReceiverSettings))

UNREADABLE_METRIC = "WebhookPayloadUnreadable"  # an adapter raised: a bug of ours, answered 400 and logged


def _refusal(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": WebhookRefusal}}}


@app.post(
    "/webhooks/<vendor>",
    summary="Receive a vendor webhook",
    description="Signed by the vendor's scheme; 202 accepted, 200 duplicate (or a handshake), 4xx refused for "
    "good, 503 retry. Every attempt is in the delivery log.",
    responses={
        200: {
            "description": "A duplicate of a delivery already published (nothing published again); a handshake "
            "(Slack's url_verification, Intercom's ping); and every stored or duplicate delivery from Salesforce "
            "(its SOAP Ack) and Slack (an empty 200)",
            "content": {
                "application/json": {"model": WebhookAck | SlackChallenge | IntercomPong},
                "text/xml": {"schema": {"type": "string", "description": "Salesforce's SOAP notificationsResponse"}},
                "text/plain": {"schema": {"type": "string", "maxLength": 0}},
            },
        },
        202: {
            "description": "Accepted: stored and published",
            "content": {"application/json": {"model": WebhookAck}},
        },
        400: _refusal(
            "Signed, but not a payload the vendor sends (the message names the field or limit), one we could not "
            "read, or one the event bus refuses for good; retrying will not help"
        ),
        401: _refusal("Missing, invalid or stale signature, or no secret configured"),
        404: _refusal("Unknown vendor"),
        409: _refusal("Another request is processing this delivery; retry later"),
        413: _refusal("Body over the vendor's limit, or too large to store"),
        503: _refusal("Stored but not published; retry"),
    },
    tags=["webhooks"],
)
def receive_webhook(vendor: str) -> Response[dict[str, Any] | str]:
    reply = ingest.receive(inbound_webhook(app.current_event, vendor))
    count(reply, "Webhook")
    return Response(status_code=reply.status_code, content_type=reply.content_type, body=reply.body)


def count(reply: Reply, prefix: str) -> None:
    metrics.add_metric(name=f"{prefix}{reply.status_code}", unit="Count", value=1)
    if reply.incident:
        metrics.add_metric(name=UNREADABLE_METRIC, unit="Count", value=1)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
