"""The lead API: capture, profiles with explained scores, stage lists, unmerge and scoring simulation."""

from datetime import UTC, datetime
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.crm.api_models import LeadSyncView
from shared.crm.records import record_key
from shared.function_environment import environment_of
from shared.http.api import register_routes, resolve, rest_resolver
from shared.http.errors import BadRequest, NotFound, json_response
from shared.leads.api_models import (
    LeadCaptured,
    LeadCaptureRequest,
    LeadDelta,
    LeadList,
    LeadSummary,
    LeadView,
    SimulationReport,
    SimulationRequest,
    UnmergeRequest,
    UnmergeResult,
)
from shared.leads.identity import normalize_email
from shared.leads.model import Stage
from shared.leads.resolution import LeadNotFound
from shared.leads.service import CannotUnmerge
from shared.leads.simulation import LeadComparison, simulate
from shared.observability import logger, metrics, traced
from shared.scoring.model import parse_model
from shared.wiring import crm_sync_store, lead_service

app = rest_resolver()
environment = environment_of(__name__)
service = lead_service(environment)
sync = crm_sync_store(environment)
SYNC_AUDIT_SHOWN = 20  # the latest entries of a lead's sync audit trail shown with it
MAX_SCORE = 1_000_000  # far past any model's total cap; keeps the index key's arithmetic finite
LeadId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def capture_lead(lead: Annotated[LeadCaptureRequest, Body()]) -> Response[LeadCaptured]:
    outcome = service.capture(lead.capture())
    assert outcome.contact_id is not None
    body = LeadCaptured(lead_id=outcome.contact_id, created=outcome.created)
    return json_response(201 if outcome.created else 200, body.model_dump())


def find_leads(
    email: Annotated[str | None, Query(max_length=320)] = None,
    stage: Annotated[Stage | None, Query()] = None,
    min_score: Annotated[float | None, Query(ge=-MAX_SCORE, le=MAX_SCORE)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> LeadList:
    if email is not None:
        if normalize_email(email) is None:
            raise BadRequest(f"{email!r} is not a usable email address")
        contact = service.find_by_email(email)
        return LeadList(items=[LeadSummary.of(contact)] if contact else [])
    if stage is None:
        raise BadRequest("pass `email`, or `stage` (optionally with `min_score`)")
    page = service.repository.by_stage(stage, min_score, limit, cursor)
    return LeadList(items=[LeadSummary.of(contact) for contact in page.contacts], next_cursor=page.next_cursor)


def get_lead(lead_id: LeadId) -> LeadView:
    contact = service.repository.contact(lead_id)
    if contact is None:
        raise NotFound(f"no lead {lead_id}")
    consent = service.consent_of(contact)  # read once: what the view shows is what the score honoured
    view = LeadView.of(
        contact, service.score_of(contact, consent=consent), service.repository.history(lead_id), consent
    )
    key = record_key("contact", contact.contact_id)
    trail = sync.audit(key, limit=SYNC_AUDIT_SHOWN)
    synced = sync.record(key)
    if synced is None and not trail.entries:
        return view
    return view.model_copy(
        update={"crm_sync": LeadSyncView.of(synced, key, trail.entries, trail.next_cursor is not None)}
    )


def unmerge_lead(lead_id: LeadId, request: Annotated[UnmergeRequest, Body()]) -> UnmergeResult:
    try:
        outcome = service.unmerge(lead_id, request.other_lead_id)
    except LeadNotFound as exc:
        raise NotFound(str(exc)) from None
    except CannotUnmerge as exc:
        raise BadRequest(str(exc)) from None
    others = [e.other_lead_id for e in outcome.published if e.lead_id == lead_id and e.other_lead_id]
    return UnmergeResult(lead_id=lead_id, separated_from=others[0] if others else None)


def simulate_model(request: Annotated[SimulationRequest, Body()]) -> SimulationReport:
    candidate = parse_model(request.model)
    as_of = request.as_of or datetime.now(UTC)
    result = simulate(service, service.repository, candidate, as_of, request.limit)
    return SimulationReport(
        current_model=result.current_model,
        candidate_model=result.candidate_model,
        as_of=as_of,
        leads_evaluated=len(result.compared),
        would_reach_mql=[c.contact.contact_id for c in result.would_reach_mql],
        would_drop_below_mql=[c.contact.contact_id for c in result.would_drop_below_mql],
        stage_changes=result.stage_changes,
        mean_delta=result.mean_delta,
        largest_increases=[_delta(c) for c in result.largest(increases=True)],
        largest_decreases=[_delta(c) for c in result.largest(increases=False)],
        truncated=result.truncated,
    )


def _delta(comparison: LeadComparison) -> LeadDelta:
    return LeadDelta(
        lead_id=comparison.contact.contact_id,
        email=comparison.contact.email,
        stage=comparison.contact.stage,
        current=comparison.current,
        candidate=comparison.candidate,
        delta=comparison.delta,
        mql_now=comparison.mql_now,
        mql_candidate=comparison.mql_candidate,
        predicted_stage=comparison.predicted_stage,
    )


register_routes(
    app,
    __name__,
    globals(),
    responses={"capture_lead": {200: {"description": "Already known"}, 201: {"description": "Created"}}},
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
