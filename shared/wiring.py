"""Composition root: binds each function's use case to its AWS adapters, from the environment the catalog
gives that function (`shared.function_environment`).

Each builder imports only what its function needs, inside the builder: the webhook receiver must start with
boto3 and the gateway's own small modules, without the lead and scoring domains, Powertools or pydantic.
Every client comes from boto3's default session, so botocore loads its endpoint data once per cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import boto3

from shared.adapters.clock import SystemClock
from shared.catalog import LEADS, WEBHOOK_DELIVERIES, WEBHOOK_SIGNING_SECRETS
from shared.function_environment import FunctionEnvironment

if TYPE_CHECKING:
    from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger
    from shared.leads.service import LeadService
    from shared.webhooks.ingest import WebhookIngest
    from shared.webhooks.publishing import OutboxPublisher
    from shared.webhooks.vendor import Vendor


def webhook_ingest(environment: FunctionEnvironment, vendors: Mapping[str, Vendor] | None = None) -> WebhookIngest:
    from shared.adapters.secrets import SecretsManagerSecretSource
    from shared.webhooks.ingest import WebhookIngest
    from shared.webhooks.registry import VENDORS

    return WebhookIngest(
        vendors=VENDORS if vendors is None else vendors,
        secrets=SecretsManagerSecretSource(
            environment.secret(WEBHOOK_SIGNING_SECRETS.name), boto3.client("secretsmanager")
        ),
        ledger=delivery_ledger(environment),
        clock=SystemClock(),
    )


def delivery_ledger(environment: FunctionEnvironment) -> DynamoDbDeliveryLedger:
    from botocore.config import Config

    from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger

    # The ledger builds its requests itself, always well formed; botocore's client-side check of every
    # attribute of every item was a sixth of the receiver's CPU, and DynamoDB checks them anyway.
    client = boto3.client("dynamodb", config=Config(parameter_validation=False))
    return DynamoDbDeliveryLedger(client, environment.table(WEBHOOK_DELIVERIES.name), SystemClock().now)


def outbox_publisher(environment: FunctionEnvironment) -> OutboxPublisher:
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.events.canonical import WEBHOOK_EVENT_SOURCE
    from shared.webhooks.normalizers import normalize
    from shared.webhooks.publishing import OutboxPublisher
    from shared.webhooks.registry import ALL_VENDORS

    return OutboxPublisher(
        vendors=ALL_VENDORS,
        normalize=normalize,
        ledger=delivery_ledger(environment),
        bus=EventBridgePublisher(boto3.client("events"), environment.bus_name, WEBHOOK_EVENT_SOURCE),
    )


def lead_service(environment: FunctionEnvironment) -> LeadService:
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.adapters.dynamodb_scoring_models import DynamoDbScoringModelStore
    from shared.adapters.eventbridge_publisher import EventBridgePublisher
    from shared.events.lead_events import LEAD_EVENT_SOURCE
    from shared.leads.scoring_models import ScoringModels
    from shared.leads.service import LeadService
    from shared.scoring.model import load_model

    dynamodb = boto3.client("dynamodb")
    table = environment.table(LEADS.name)
    return LeadService(
        repository=DynamoDbLeadRepository(dynamodb, table),
        publisher=EventBridgePublisher(boto3.client("events"), environment.bus_name, LEAD_EVENT_SOURCE),
        models=ScoringModels(load_model(), DynamoDbScoringModelStore(dynamodb, table)),
        clock=SystemClock(),
    )
