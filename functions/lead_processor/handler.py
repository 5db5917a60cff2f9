"""EventBridge target: canonical events about people, accounts, engagement, deals and handoffs update the
lead they concern (identity, engagement log, score, stage) and publish lead events; the handoff domain's
handoff.accepted makes its lead an SQL, and its handoff.recycled lets a later buying signal hand the lead off
again; the CRM sync's sync.field_changed brings a CRM's change to a lead's synced profile field (the sync tells a
person's change from an echo of the hub's own write), and its sync.conflict_resolved a person's choice for a
critical field (the email) the sync held in conflict. An event that can never be applied (malformed, or too
large to store) is dead-lettered at once with its reason."""

from typing import Any

from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.adapters.dynamodb_privacy_ledger import erasure_guard
from shared.errors import InvalidInput
from shared.events.canonical import CanonicalEvent
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE, HandoffEvent, HandoffEventType
from shared.events.sync_events import SYNC_EVENT_SOURCE, SyncEvent
from shared.function_environment import environment_of
from shared.leads.crm_changes import crm_field_change
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.privacy.guard import ERASED_NOTE
from shared.wiring import lead_service

environment = environment_of(__name__)
service = lead_service(environment)
guard = erasure_guard(environment)  # drops events about people erased after they happened


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if guard.drops_event(event):
        return {"lead_id": None, "published": [], "note": ERASED_NOTE}
    if event.get("source") == HANDOFF_EVENT_SOURCE:
        if event.get("detail-type") == HandoffEventType.RECYCLED.value:
            return _handoff_recycled(event, context)
        return _handoff_accepted(event, context)
    if event.get("source") == SYNC_EVENT_SOURCE:
        return _crm_field_changed(event, context)
    return _canonical(event, context)


@event_parser(model=HandoffEvent, envelope=envelopes.EventBridgeEnvelope)
def _handoff_accepted(event: HandoffEvent, context: LambdaContext) -> dict[str, Any]:
    outcome = service.handoff_accepted(event.lead_id, event.event_id)
    logger.info("handoff accepted", extra={"lead_id": outcome.contact_id, "note": outcome.note})
    return {"lead_id": outcome.contact_id, "published": [e.event_type.value for e in outcome.published]}


@event_parser(model=HandoffEvent, envelope=envelopes.EventBridgeEnvelope)
def _handoff_recycled(event: HandoffEvent, context: LambdaContext) -> dict[str, Any]:
    outcome = service.handoff_recycled(event.lead_id, event.occurred_at)
    logger.info("handoff recycled", extra={"lead_id": outcome.contact_id, "note": outcome.note})
    return {"lead_id": outcome.contact_id, "published": [e.event_type.value for e in outcome.published]}


@event_parser(model=SyncEvent, envelope=envelopes.EventBridgeEnvelope)
def _crm_field_changed(event: SyncEvent, context: LambdaContext) -> dict[str, Any]:
    change = crm_field_change(event)
    if change is None:
        # the rule matches contact records' field changes and resolutions only, which always name these
        raise InvalidInput(f"sync event {event.event_id}: no contact field change (record {event.record!r})")
    outcome = service.crm_field_changed(change)
    logger.info("CRM field change applied", extra={"lead_id": outcome.contact_id, "note": outcome.note})
    return {"lead_id": outcome.contact_id, "published": [e.event_type.value for e in outcome.published]}


@event_parser(model=CanonicalEvent, envelope=envelopes.EventBridgeEnvelope)
def _canonical(event: CanonicalEvent, context: LambdaContext) -> dict[str, Any]:
    outcome = service.handle(event)
    logger.info("lead event handled", extra={"lead_id": outcome.contact_id, "note": outcome.note})
    metrics.add_metric(name="LeadEventsCommitted", unit="Count", value=len(outcome.published))
    return {"lead_id": outcome.contact_id, "published": [e.event_type.value for e in outcome.published]}
