"""The budget notifier over moto: a threshold crossed is emailed through SES to the department's owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from moto.ses.models import ses_backends

from local_runtime.hub import verify_senders
from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.catalog import CATALOG
from shared.events.finance_events import FINANCE_EVENT_SOURCE, FinanceEventType
from shared.events.finance_taxonomy import example_event
from tests.integration.conftest import STAGE, handler_module


def test_a_crossed_threshold_reaches_the_owners_inbox(aws: Provisioned) -> None:
    # Given the notifier with the notifications secret's sender verified in SES
    import boto3

    verify_senders(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))
    notifier = handler_module("budget_notifier")
    detail = example_event(FinanceEventType.THRESHOLD_CROSSED).model_dump(mode="json")
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": FinanceEventType.THRESHOLD_CROSSED.value,
        "source": FINANCE_EVENT_SOURCE,
        "account": aws.account,
        "time": datetime.now(UTC).isoformat(),
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }
    # When it receives the event
    result = notifier.handler(event, LocalLambdaContext("revops-test-budget-notifier", 512, 30))
    # Then the department's owner got the email
    assert result["to"] == ["marketing-budget@example.com"]
    sent = ses_backends[aws.account]["us-east-1"].sent_messages
    assert any("marketing-budget@example.com" in m.destinations.get("ToAddresses", []) for m in sent)
