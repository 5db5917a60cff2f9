"""Invoked by a handoff's one-time schedule (EventBridge Scheduler): an SLA deadline passed (breach, reassign
or escalate) or a reminder is due; a timer that is not one of the handoff's current ones (of an earlier
assignment, of a priority raised since, of a handoff accepted since) does nothing. Every five minutes the
queue sweep gives handoffs waiting in a fallback queue to reps eligible now, after announcing what a failure
after a commit left unannounced (events unpublished, timers unset)."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared import handoff_metrics
from shared.function_environment import environment_of
from shared.handoffs.service import ANNOUNCED_LATE, NOT_ANNOUNCED_YET, Outcome
from shared.handoffs.timer_inputs import early_of, timer_from
from shared.observability import logger, metrics, traced
from shared.permanent_failures import dead_letter_permanent_failures
from shared.wiring import handoff_service

environment = environment_of(__name__)
service = handoff_service(environment)


@logger.inject_lambda_context
@traced
@metrics.log_metrics
@dead_letter_permanent_failures(environment)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == "Scheduled Event":  # the catalog's queue sweep, not a handoff's own timer
        swept = service.sweep_queues()
        for outcome in swept:
            handoff_metrics.record(outcome)
        late = [o for o in swept if o.note == ANNOUNCED_LATE]
        failed = [o for o in swept if o.note.startswith(NOT_ANNOUNCED_YET)]
        for outcome in failed:
            logger.warning("handoff not announced yet", extra={"handoff_id": _id(outcome), "note": outcome.note})
        return {
            "assigned_from_queues": [_id(o) for o in swept[len(late) + len(failed) :] if o.handoff],
            "announced_late": [_id(o) for o in late],
            "not_announced_yet": [_id(o) for o in failed],
        }
    handoff_id, kind, assignment, due_at = timer_from(event)
    outcome = service.timer_fired(handoff_id, kind, assignment, due_at, early_of(event))
    handoff_metrics.record(outcome)
    handoff = outcome.handoff
    logger.info("handoff timer", extra={"handoff_id": handoff_id, "kind": kind.value, "note": outcome.note})
    return {
        "handoff_id": handoff_id,
        "status": handoff.status.value if handoff else None,
        "rep_id": handoff.rep_id if handoff else None,
        "published": [e.event_type.value for e in outcome.events],
        "note": outcome.note,
    }


def _id(outcome: Outcome) -> str | None:
    return outcome.handoff.handoff_id if outcome.handoff else None
