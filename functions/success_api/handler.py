"""The customer success and product API: health, expansion and interventions; product usage, analytics, feedback
and launches; the CS <-> marketing view and campaigns."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.function_environment import environment_of
from shared.http.api import register_routes, resolve, rest_resolver
from shared.http.caller import caller_of
from shared.http.errors import Conflict, NotFound, UnprocessableEntity, json_response
from shared.observability import logger, metrics, traced
from shared.scoring.results import points_or_none
from shared.success.api_models import (
    ExpansionResponse,
    HealthResponse,
    InterventionList,
    InterventionRequest,
    InterventionView,
    MilestoneCompleted,
    PlaybookEffectiveness,
    PlaybookReport,
    UsageAccepted,
    UsageReportRequest,
)
from shared.success.campaigns import Audience, CsCampaign
from shared.success.feedback import Feedback, FeedbackKind, feedback_key
from shared.success.intervention_service import InterventionService, UnknownPlaybook
from shared.success.interventions import InterventionStatus
from shared.success.product import Launch
from shared.success.product_api_models import (
    AnalyticsResponse,
    CampaignRequest,
    CampaignView,
    FeedbackRanking,
    FeedbackRequest,
    FeedbackView,
    LaunchRequest,
    LaunchView,
    MarketingHealth,
)
from shared.success.product_service import AudienceTooLarge, KeyReused
from shared.success.service import (
    MessageIdReused,
    ReportOutOfRange,
    UnknownMilestone,
    UnknownTenant,
    UsageReport,
    body_digest,
)
from shared.wiring import success_product_service

app = rest_resolver()
product = success_product_service(environment_of(__name__))
service = product.health
TenantId = Annotated[str, Path(min_length=1, max_length=300)]


def account_health(tenant_id: TenantId) -> HealthResponse:
    try:
        view = service.health_of(tenant_id)
    except UnknownTenant as exc:
        raise NotFound(str(exc)) from None
    return HealthResponse.of(view, service.open_interventions(view.tenant_id))


def account_expansion(tenant_id: TenantId) -> ExpansionResponse:
    try:
        return ExpansionResponse.of(*service.expansion_of(tenant_id))
    except UnknownTenant as exc:
        raise NotFound(str(exc)) from None


def customer_expansion(customer_id: TenantId) -> ExpansionResponse:
    return account_expansion(customer_id)


def complete_milestone(
    customer_id: TenantId, milestone_id: Annotated[str, Path(min_length=1, max_length=64)]
) -> Response[Any]:
    try:
        done = service.complete_milestone(customer_id, milestone_id)
    except (UnknownTenant, UnknownMilestone) as exc:
        raise NotFound(str(exc)) from None
    return json_response(201 if done.recorded else 200, MilestoneCompleted.of(done).model_dump(mode="json"))


def report_usage(report: Annotated[UsageReportRequest, Body()]) -> Response[Any]:
    usage = UsageReport(
        report.tenant_id, report.message_id, report.timestamp, report.metrics.model_dump(exclude_none=True)
    )
    try:
        recorded, outcome = service.report_usage(usage)
    except UnknownTenant as exc:
        raise NotFound(str(exc)) from None
    except MessageIdReused as exc:
        raise Conflict(str(exc)) from None
    except ReportOutOfRange as exc:
        raise UnprocessableEntity(str(exc)) from None
    health = outcome.health
    body = UsageAccepted(
        tenant_id=outcome.tenant_id or report.tenant_id,
        message_id=report.message_id,
        recorded=recorded,
        score=points_or_none(health.score_hundredths) if health else None,
        band=health.band if health else None,
    )
    return json_response(201 if recorded else 200, body.model_dump(mode="json"))


def request_intervention(request: Annotated[InterventionRequest, Body()]) -> Response[Any]:
    interventions = _interventions()
    try:
        view = service.health_of(request.tenant_id)
        requested = interventions.request(view.tenant_id, request.playbook, request.reason, _who(), view.health)
    except UnknownTenant as exc:
        raise NotFound(str(exc)) from None
    except UnknownPlaybook as exc:
        raise UnprocessableEntity(str(exc)) from None
    body = InterventionView.of(requested.intervention).model_dump(mode="json")
    return json_response(201 if requested.opened else 200, body)


def list_interventions(
    tenant_id: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    status: Annotated[InterventionStatus | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> InterventionList:
    if tenant_id is None and status is None:
        raise UnprocessableEntity("tenant_id or status: name an account, or a status to list every account's")
    try:
        tenant = service.tenant(tenant_id) if tenant_id is not None else None
    except UnknownTenant as exc:
        raise NotFound(str(exc)) from None
    page = _interventions().interventions(tenant, status, cursor, limit)
    return InterventionList(items=[InterventionView.of(i) for i in page.interventions], next_cursor=page.next_cursor)


def playbook_effectiveness() -> PlaybookReport:
    return PlaybookReport(playbooks=[PlaybookEffectiveness.of(r) for r in _interventions().effectiveness()])


def _interventions() -> InterventionService:
    if service.interventions is None:
        raise RuntimeError("the success API is wired without interventions")
    return service.interventions


def _who() -> str:
    return caller_of(app.current_event.request_context.authorizer.claims).name


def add_feedback(request: Annotated[FeedbackRequest, Body()]) -> Response[Any]:
    tenant = _tenant(request.tenant_id)
    key = feedback_key(tenant, request.feature, request.kind, request.text, request.feedback_id)
    # Under the caller's id the body must match; without one the key is what it says, so the same words again
    # (spacing and case aside) are the same feedback whatever else differs.
    digest = body_digest(request.model_dump(mode="json") | {"tenant_id": tenant}) if request.feedback_id else key
    feedback = Feedback(
        feedback_key=key,
        tenant_id=tenant,
        feature=request.feature,
        kind=request.kind,
        text=request.text,
        source=request.source,
        received_at=service.now(),
        contact_email=request.contact_email,
        campaign_id=request.campaign_id,
        digest=digest,
    )
    with _key_conflicts():
        created, stored = product.add_feedback(feedback)
    return json_response(201 if created else 200, FeedbackView.of(stored).model_dump(mode="json"))


def rank_feedback(
    feature: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    kind: Annotated[FeedbackKind, Query()] = FeedbackKind.REQUEST,
) -> FeedbackRanking:
    return FeedbackRanking.of(product.ranking(feature, kind), product.company_currency)


def product_analytics(tenant_id: TenantId) -> AnalyticsResponse:
    try:
        return AnalyticsResponse.of(*product.analytics(tenant_id))
    except UnknownTenant as exc:
        raise NotFound(str(exc)) from None


def schedule_launch(request: Annotated[LaunchRequest, Body()]) -> Response[Any]:
    launch = Launch(
        launch_id=request.launch_id,
        feature=request.feature,
        launch_date=request.launch_date,
        target_bands=tuple(request.target_bands),
        target_segments=tuple(_segments(request.target_segments, "target_segments")),
        messaging=request.messaging,
        created_at=service.now(),
        digest=body_digest(request.model_dump(mode="json")),
    )
    with _key_conflicts():
        created, stored = product.schedule_launch(launch)
    return json_response(201 if created else 200, LaunchView.of(stored).model_dump(mode="json"))


def launch_adoption(launch_id: Annotated[str, Path(min_length=1, max_length=128)]) -> LaunchView:
    found = product.launch_adoption(launch_id)
    if found is None:
        raise NotFound(f"launch_id: no launch {launch_id!r}; POST /api/v1/integrations/product/launches first")
    return LaunchView.of(*found)


def marketing_health(customer_id: TenantId) -> MarketingHealth:
    try:
        return MarketingHealth.of(product.standing(customer_id))
    except UnknownTenant as exc:
        raise NotFound(str(exc)) from None


def request_campaign(request: Annotated[CampaignRequest, Body()]) -> Response[Any]:
    audience = Audience(
        bands=tuple(request.audience.bands),
        segments=tuple(_segments(request.audience.segments, "audience.segments")),
        min_nps=request.audience.min_nps,
        max_nps=request.audience.max_nps,
        advocates_only=request.audience.advocates_only,
    )
    campaign = CsCampaign(
        campaign_id=request.campaign_id,
        kind=request.kind,
        name=request.name,
        audience=audience,
        requested_by=_who(),
        created_at=service.now(),
        tenants=(),
        digest=body_digest(request.model_dump(mode="json")),
    )
    with _key_conflicts():
        created, stored = product.request_campaign(campaign)
    return json_response(201 if created else 200, CampaignView.of(stored).model_dump(mode="json"))


def _segments(named: list[str], field: str) -> list[str]:
    """The segments a request names, each one of the health model's (422 naming the field otherwise)."""
    known = service.model.segment_ids
    unknown = [name for name in named if name not in known]
    if unknown:
        segments = ", ".join(known) or "none"
        raise UnprocessableEntity(f"{field}: {', '.join(unknown)} is no segment of the health model ({segments})")
    return named


def _tenant(reference: str) -> str:
    try:
        return service.tenant(reference)
    except UnknownTenant as exc:
        raise NotFound(str(exc)) from None


@contextmanager
def _key_conflicts() -> Iterator[None]:
    try:
        yield
    except KeyReused as exc:
        raise Conflict(str(exc)) from None
    except AudienceTooLarge as exc:
        raise UnprocessableEntity(str(exc)) from None


register_routes(app, __name__, globals())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
