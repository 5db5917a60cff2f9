"""The handoff and routing API: handoffs (list, read, accept, reject, assign from a queue, record the lead's first
touch, complete, metrics) and reps and simulation."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.function_environment import environment_of
from shared.handoff_metrics import record as record_metrics
from shared.handoffs.api_models import (
    AssignRequest,
    CustomerHandoffBody,
    CustomerHandoffView,
    HandoffList,
    HandoffMetrics,
    HandoffSummary,
    HandoffView,
    RejectRequest,
    RepList,
    RepUpdate,
    RepView,
    RoutingSimulationReport,
    RoutingSimulationRequest,
    TouchRequest,
)
from shared.handoffs.api_views import (
    actor_of,
    customer_handoff_view,
    customer_request,
    handoff_view,
    metrics_view,
    rep_views,
    simulation_leads,
    simulation_view,
)
from shared.handoffs.customer_handoffs import ConflictingHandoff
from shared.handoffs.model import HandoffStatus, Priority
from shared.handoffs.routing import compile_routing
from shared.handoffs.routing_config import parse_routing
from shared.handoffs.service import (
    HandoffNotFound,
    ImpossibleTouch,
    NotAllowed,
    Outcome,
    UnknownRep,
    Unsettled,
    WrongState,
)
from shared.handoffs.simulation import simulate_routing as run_simulation
from shared.http.api import register_routes, resolve, rest_resolver
from shared.http.errors import BadRequest, Conflict, Forbidden, NotFound, json_response
from shared.http.moments import UtcMoment
from shared.observability import logger, metrics, traced
from shared.success.accounts import LeadStoreAccounts
from shared.wiring import handoff_service, lead_service

app = rest_resolver()
environment = environment_of(__name__)
service = handoff_service(environment)
leads = lead_service(environment)
customers = LeadStoreAccounts(leads.repository)
HandoffId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
CustomerId = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
RepId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
MAX_METRICS_DAYS = 92
_RANGE_BOUND = "An ISO 8601 date-time (without an offset, UTC), 1970 to 2199"


def list_handoffs(
    status: Annotated[HandoffStatus | None, Query()] = None,
    rep_id: Annotated[str | None, Query(max_length=64)] = None,
    priority: Annotated[Priority | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> HandoffList:
    page = service.repository.handoffs(status, rep_id, priority, limit, cursor)
    return HandoffList(items=[HandoffSummary.of(h) for h in page.items], next_cursor=page.next_cursor)


def handoff_metrics(
    start: Annotated[UtcMoment | None, Query(alias="from", description=_RANGE_BOUND)] = None,
    end: Annotated[UtcMoment | None, Query(alias="to", description=_RANGE_BOUND)] = None,
) -> HandoffMetrics:
    now = service.now()
    end = _aware(end) if end else now
    start = _aware(start) if start else end - timedelta(days=30)
    if not start < end:
        raise BadRequest("`from` must be before `to`")
    if end - start > timedelta(days=MAX_METRICS_DAYS):
        days = (end - start) / timedelta(days=1)
        raise BadRequest(f"from, to: the range may span at most {MAX_METRICS_DAYS} days; it spans {days:g}")
    return metrics_view(service.repository.requested_between(start, end), start, end, now)


def get_handoff(handoff_id: HandoffId) -> HandoffView:
    handoff = service.repository.handoff(handoff_id)
    if handoff is None:
        raise NotFound(f"no handoff {handoff_id}")
    return handoff_view(handoff, leads)


def accept_handoff(handoff_id: HandoffId) -> HandoffView:
    outcome = _acting(lambda actor: service.accept(handoff_id, actor))
    assert outcome.handoff is not None
    return handoff_view(outcome.handoff, leads)


def reject_handoff(handoff_id: HandoffId, request: Annotated[RejectRequest, Body()]) -> HandoffView:
    outcome = _acting(lambda actor: service.reject(handoff_id, actor, request.reason, request.recycle))
    assert outcome.handoff is not None
    return handoff_view(outcome.handoff, leads)


def assign_handoff(handoff_id: HandoffId, request: Annotated[AssignRequest, Body()]) -> HandoffView:
    outcome = _acting(lambda actor: service.assign(handoff_id, actor, request.rep_id))
    assert outcome.handoff is not None
    return handoff_view(outcome.handoff, leads)


def complete_handoff(handoff_id: HandoffId) -> HandoffView:
    outcome = _acting(lambda actor: service.complete(handoff_id, actor))
    assert outcome.handoff is not None
    return handoff_view(outcome.handoff, leads)


def touch_handoff(handoff_id: HandoffId, request: Annotated[TouchRequest, Body()]) -> HandoffView:
    touched_at = _aware(request.touched_at) if request.touched_at else None
    outcome = _acting(lambda actor: service.touch(handoff_id, actor, request.channel, touched_at, request.note))
    assert outcome.handoff is not None
    return handoff_view(outcome.handoff, leads)


def hand_customer_to_success(customer_id: CustomerId, body: Annotated[CustomerHandoffBody, Body()]) -> Response[Any]:
    account_id = _customer(customer_id)
    actor = actor_of(app.current_event.request_context.authorizer.claims or {}, service.router)
    try:
        outcome = service.customer_handoff(customer_request(account_id, body), actor.name)
    except ConflictingHandoff as exc:
        raise Conflict(str(exc)) from None
    assert outcome.handoff is not None
    record_metrics(outcome)
    view = customer_handoff_view(outcome.handoff)
    return json_response(200 if outcome.note == "existing" else 201, view.model_dump(mode="json"))


def get_customer_handoff(customer_id: CustomerId) -> CustomerHandoffView:
    handoff = service.customer_handoff_of(_customer(customer_id))
    if handoff is None:
        raise NotFound(f"customer {customer_id} has no open success handoff")
    return customer_handoff_view(handoff)


def _customer(customer_id: str) -> str:
    """The hub's account id of the customer the path names (the account id, a vendor-qualified id or the
    domain, as the success API names it): what the handoff is stored and read under, whichever name was asked,
    so one customer has one handoff per deal and one open at a time. NotFound for a name no account has: a CSM
    assigned to it would onboard no one."""
    account_id = customers.resolve(customer_id)
    if account_id is None:
        raise NotFound(f"customer_id: no customer is known as {customer_id!r}")
    return account_id


def list_reps() -> RepList:
    return RepList(
        routing_version=service.router.config.version,
        reps=rep_views(service.router, service.repository.rep_loads(), service.now()),
    )


def update_rep(rep_id: RepId, update: Annotated[RepUpdate, Body()]) -> RepView:
    try:
        service.set_rep(rep_id, update.available, update.capacity)
    except KeyError:
        raise NotFound(f"no rep {rep_id} in routing file {service.router.config.version}") from None
    views = rep_views(service.router, service.repository.rep_loads(), service.now())
    return next(view for view in views if view.rep_id == rep_id)


def simulate_routing(request: Annotated[RoutingSimulationRequest, Body()]) -> RoutingSimulationReport:
    candidate = compile_routing(parse_routing(request.routing))
    as_of = _aware(request.as_of) if request.as_of else service.now()
    facts = simulation_leads(request, service, leads)
    result = run_simulation(candidate, service.router, facts, service.repository.rep_loads(), as_of)
    return simulation_view(result, candidate, service.router, as_of)


def _acting(act: Any) -> Any:
    actor = actor_of(app.current_event.request_context.authorizer.claims or {}, service.router)
    try:
        outcome = act(actor)
        record_metrics(outcome)
        return outcome
    except Unsettled as exc:
        # committed: the answer says what is stored; its events and timers follow with the queue sweep, which
        # announces every handoff its commit left marked unannounced
        logger.warning("handoff committed, not announced yet", extra={"handoff_id": exc.handoff.handoff_id})
        return Outcome(exc.handoff, (), note=str(exc))
    except HandoffNotFound as exc:
        raise NotFound(str(exc)) from None
    except UnknownRep as exc:
        raise BadRequest(str(exc.args[0])) from None
    except ImpossibleTouch as exc:
        raise BadRequest(str(exc)) from None
    except NotAllowed as exc:
        raise Forbidden(str(exc)) from None
    except WrongState as exc:
        raise Conflict(str(exc)) from None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


register_routes(
    app,
    __name__,
    globals(),
    responses={
        "hand_customer_to_success": {
            200: {"description": "The same handoff, requested again"},
            201: {"description": "Handed to success"},
            404: {"description": "No customer is known by that name"},
            409: {"description": "A different handoff of this customer exists"},
        }
    },
)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@traced
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return resolve(app, event, context)
