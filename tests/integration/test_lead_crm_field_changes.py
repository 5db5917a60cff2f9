"""The lead processor on moto takes a CRM's change of a lead's synced field from the CRM sync's
`sync.field_changed` and `sync.conflict_resolved` (its catalog rule matches them, the lead in DynamoDB changes and
is rescored), once; a sync event that names no contact field is dead-lettered at once with its reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from moto.events.models import EventPattern

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from local_runtime.provision import Provisioned
from shared.catalog import CATALOG
from shared.events.sync_events import SYNC_EVENT_SOURCE, SyncEvent, SyncEventType
from tests.integration.conftest import drain, eventbridge, handler_module

ADMIN = {"sub": "u-admin", "cognito:groups": "admin", "cognito:username": "admin", "token_use": "id"}
FAILURES = CATALOG.function("lead_processor").failure_queue.name


def on_the_bus(event: SyncEvent) -> dict[str, Any]:
    return eventbridge(SYNC_EVENT_SOURCE, event.event_type.value, json.loads(event.model_dump_json()))


def field_changed(record: str, field: str | None, value: str, event_id: str = "sync-1") -> SyncEvent:
    now = datetime.now(UTC)
    return SyncEvent(
        event_id=event_id,
        event_type=SyncEventType.FIELD_CHANGED,
        occurred_at=now,
        record=record,
        field=field,
        crm="salesforce",
        value=value,
        previous_value="Intern",
        changed_at=now,
        actor="salesforce:005000000000001AAA",
    )


@pytest.fixture
def lead(aws: Provisioned) -> str:
    body = {"email": "ana@acme.io", "source": "web form", "company": "Acme", "job_title": "Intern"}
    answer = handler_module("leads_api").handler(
        rest_proxy_event(
            method="POST",
            path="/api/v1/integrations/sales/leads",
            resource="/api/v1/integrations/sales/leads",
            headers={"Content-Type": "application/json"},
            body=json.dumps(body).encode(),
            claims=ADMIN,
        ),
        LocalLambdaContext("leads-api"),
    )
    assert answer["statusCode"] == 201, answer["body"]
    return str(json.loads(answer["body"])["lead_id"])


def test_the_lead_processors_rule_matches_contact_field_changes_only() -> None:
    [rule] = [r for r in CATALOG.function("lead_processor").rules if r.name == "leads-from-crm-field-changes"]
    pattern = EventPattern.load(json.dumps(rule.pattern))
    assert pattern.matches_event(on_the_bus(field_changed("contact:abc", "job_title", "VP")))
    assert not pattern.matches_event(on_the_bus(field_changed("account:abc", "name", "Acme")))
    conflict = field_changed("contact:abc", "email", "x@acme.io").model_copy(
        update={"event_type": SyncEventType.CONFLICT_FLAGGED}
    )
    assert not pattern.matches_event(on_the_bus(conflict))
    # a person's resolution of a contact's conflict is the lead's to take (the email waited for it)
    resolved = conflict.model_copy(update={"event_type": SyncEventType.CONFLICT_RESOLVED})
    assert pattern.matches_event(on_the_bus(resolved))
    assert not pattern.matches_event(on_the_bus(resolved.model_copy(update={"record": "account:abc"})))


def test_a_field_change_the_sync_decided_changes_the_stored_lead_once(aws: Provisioned, lead: str) -> None:
    processor = handler_module("lead_processor")
    # Given a captured lead whose title is "Intern"
    # When the CRM sync says a Salesforce user made her VP of Sales (delivered twice, as EventBridge may)
    event = on_the_bus(field_changed(f"contact:{lead}", "job_title", "VP of Sales"))
    first = processor.handler(event, LocalLambdaContext("lead-processor"))
    second = processor.handler(event, LocalLambdaContext("lead-processor"))
    # Then the stored lead has the title and was rescored once
    stored = processor.service.repository.contact(lead)
    assert stored.profile.get("job_title") == "VP of Sales"
    assert "lead.score_changed" in first["published"]
    assert second["published"] == []
    assert len(processor.service.repository.history(lead).score_changes) == 2  # captured, then this change


def test_a_sync_event_naming_no_field_is_dead_lettered_at_once(aws: Provisioned, lead: str) -> None:
    processor = handler_module("lead_processor")
    event = on_the_bus(field_changed(f"contact:{lead}", None, "VP"))
    result = processor.handler(event, LocalLambdaContext("lead-processor"))
    [record] = drain(aws.queue_urls[FAILURES])
    assert record["responsePayload"]["errorType"] == "InvalidInput"
    assert "no contact field change" in record["responsePayload"]["errorMessage"]
    assert result["reason"].startswith("InvalidInput")
