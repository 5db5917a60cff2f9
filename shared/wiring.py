"""Composition root: binds the domain's ports to their AWS adapters for the deployed (and local) functions.

Every client comes from boto3's default session, so botocore loads its endpoint data once per cold start.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import boto3

from shared.adapters.clock import SystemClock
from shared.adapters.dynamodb_ledger import DynamoDbDeliveryLedger
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.adapters.secrets import SecretsManagerSecretSource
from shared.events.canonical import WEBHOOK_EVENT_SOURCE
from shared.settings import DeliveryLogSettings, LeadSettings, WebhookReceiverSettings
from shared.webhooks.ingest import WebhookIngest
from shared.webhooks.registry import VENDORS
from shared.webhooks.vendor import Vendor

if TYPE_CHECKING:
    from shared.leads.service import LeadService


def webhook_ingest(settings: WebhookReceiverSettings, vendors: Mapping[str, Vendor] = VENDORS) -> WebhookIngest:
    clock = SystemClock()
    return WebhookIngest(
        vendors=vendors,
        secrets=SecretsManagerSecretSource(settings.secret_webhook_signing_secrets, boto3.client("secretsmanager")),
        ledger=DynamoDbDeliveryLedger(boto3.client("dynamodb"), settings.table_webhook_deliveries, clock.now),
        publisher=EventBridgePublisher(boto3.client("events"), settings.event_bus_name, WEBHOOK_EVENT_SOURCE),
        clock=clock,
    )


def delivery_ledger(settings: DeliveryLogSettings) -> DynamoDbDeliveryLedger:
    return DynamoDbDeliveryLedger(boto3.client("dynamodb"), settings.table_webhook_deliveries, SystemClock().now)


def lead_service(settings: LeadSettings) -> LeadService:
    # Imported here so the webhook functions do not load the lead and scoring domains on a cold start.
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.adapters.dynamodb_scoring_models import DynamoDbScoringModelStore
    from shared.events.lead_events import LEAD_EVENT_SOURCE
    from shared.leads.scoring_models import ScoringModels
    from shared.leads.service import LeadService
    from shared.scoring.model import load_model

    dynamodb = boto3.client("dynamodb")
    return LeadService(
        repository=DynamoDbLeadRepository(dynamodb, settings.table_leads),
        publisher=EventBridgePublisher(boto3.client("events"), settings.event_bus_name, LEAD_EVENT_SOURCE),
        models=ScoringModels(load_model(), DynamoDbScoringModelStore(dynamodb, settings.table_leads)),
        clock=SystemClock(),
    )
