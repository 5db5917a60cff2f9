"""Composition of the privacy domain over DynamoDB and SQS, from a function's environment: the privacy API's
service, and the erasure guard every consumer that keeps personal data asks before applying an event. Each table
that holds some of a person is a store of its own (`dynamodb_privacy_<table>.py`): what an export shows of it, and
how an erasure deletes or irreversibly anonymizes it.

Erasure times are the wall clock's (`WallClock`), never a moved local clock: tombstones are compared with when
events happened at their senders."""

from __future__ import annotations

import boto3

from shared.adapters.clock import WallClock
from shared.adapters.dynamodb_privacy_attribution import AttributionPrivacy
from shared.adapters.dynamodb_privacy_crm_sync import CrmSyncPrivacy
from shared.adapters.dynamodb_privacy_deliveries import DeliveriesPrivacy
from shared.adapters.dynamodb_privacy_handoffs import HandoffsPrivacy
from shared.adapters.dynamodb_privacy_leads import LeadsPrivacy
from shared.adapters.dynamodb_privacy_ledger import DynamoDbErasureLedger
from shared.adapters.dynamodb_privacy_success import SuccessPrivacy
from shared.adapters.sqs_change_queue import SqsCrmErasures
from shared.catalog import ATTRIBUTION, CRM_SYNC, HANDOFFS, LEADS, SUCCESS, WEBHOOK_DELIVERIES
from shared.catalog.crm import CHANGES
from shared.function_environment import FunctionEnvironment
from shared.privacy.service import PrivacyService


def privacy_service(environment: FunctionEnvironment) -> PrivacyService:
    client = boto3.client("dynamodb")
    now = WallClock().now
    table = environment.table
    return PrivacyService(
        directory=LeadsPrivacy(client, table(LEADS.name)),
        deliveries=DeliveriesPrivacy(client, table(WEBHOOK_DELIVERIES.name), now),
        others=[
            HandoffsPrivacy(client, table(HANDOFFS.name)),
            AttributionPrivacy(client, table(ATTRIBUTION.name), now),
            SuccessPrivacy(client, table(SUCCESS.name)),
        ],
        synced=CrmSyncPrivacy(client, table(CRM_SYNC.name)),
        crm=SqsCrmErasures(boto3.client("sqs"), environment.queue_url(CHANGES.name)),
        ledger=DynamoDbErasureLedger(client, table(LEADS.name)),
        clock=now,
    )
