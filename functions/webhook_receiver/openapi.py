"""The OpenAPI description of `POST /webhooks/{vendor}`, from the catalog and the reply models. The function
itself takes API Gateway's proxy event as it is (no resolver on its cold start); this resolver only documents
the route, and serves nothing."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from shared.http.api import register_routes, rest_resolver
from shared.webhooks.api_models import IntercomPong, SlackChallenge, WebhookAck, WebhookRefusal

app = rest_resolver()


def _refusal(description: str) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": WebhookRefusal}}}


def receive_webhook(vendor: str) -> Response[dict[str, Any] | str]:
    raise NotImplementedError("documentation only: functions/webhook_receiver/handler.py serves this route")


register_routes(
    app,
    "functions.webhook_receiver.handler",
    globals(),
    responses={
        "receive_webhook": {
            200: {
                "description": "A duplicate of a delivery already stored (nothing stored or published again); a "
                "handshake (Slack's url_verification, Intercom's ping); and every stored or duplicate delivery "
                "from Salesforce (its SOAP Ack) and Slack (an empty 200)",
                "content": {
                    "application/json": {"model": WebhookAck | SlackChallenge | IntercomPong},
                    "text/xml": {
                        "schema": {"type": "string", "description": "Salesforce's SOAP notificationsResponse"}
                    },
                    "text/plain": {"schema": {"type": "string", "maxLength": 0}},
                },
            },
            202: {
                "description": "Accepted: stored durably; the publisher puts its events on the bus",
                "content": {"application/json": {"model": WebhookAck}},
            },
            400: _refusal(
                "Signed, but not a payload the vendor sends (the message names the field or limit), or one we "
                "could not read; retrying will not help"
            ),
            401: _refusal("Missing, invalid or stale signature, or no secret configured"),
            404: _refusal("Unknown vendor"),
            413: _refusal("Body over the vendor's limit, or too large to store"),
        }
    },
)
