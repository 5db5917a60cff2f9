"""What the handoff API answers, built from the domain's records: a handoff with its lead, reps with their
load, metrics and simulation reports; and who the caller is, from their token's claims."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from shared.handoffs.api_models import (
    AttainmentView,
    CustomerHandoffBody,
    CustomerHandoffView,
    DecisionView,
    DurationFigures,
    EngagementView,
    FirstTouchView,
    HandoffLead,
    HandoffMetrics,
    HandoffSummary,
    HandoffView,
    HistoryView,
    PersonBody,
    RepView,
    RoutingSimulationReport,
    RoutingSimulationRequest,
    Skills,
    SkipView,
)
from shared.handoffs.customer_handoffs import CustomerHandoffRequest, Person
from shared.handoffs.lead_facts import facts_of
from shared.handoffs.metrics import Durations, speed_to_lead
from shared.handoffs.model import Handoff, HandoffKind, LeadFacts, Priority, RepLoad, Role
from shared.handoffs.routing import Router
from shared.handoffs.service import Actor
from shared.handoffs.simulation import SimulatedRouting
from shared.http.caller import caller_of
from shared.leads.api_models import LeadView
from shared.leads.model import Stage

if TYPE_CHECKING:
    from shared.handoffs.service import HandoffService
    from shared.leads.service import LeadService

ENGAGEMENT_SHOWN = 50
MANAGING_GROUPS = frozenset({"admin"})


def actor_of(claims: Mapping[str, Any], router: Router) -> Actor:
    """The caller as a rep (matched by username = rep id, or by the email their access token carries), or as
    someone who may act on any handoff (admins, and reps whose role is manager)."""
    caller = caller_of(claims)
    rep = router.rep_by_login(caller.username or "", caller.email)
    is_admin = bool(caller.groups & MANAGING_GROUPS)
    if rep is None:
        return Actor(name=caller.name, is_manager=is_admin)
    return Actor(name=caller.name, rep_id=rep.rep_id, is_manager=is_admin or rep.role is Role.MANAGER)


def handoff_view(handoff: Handoff, leads: LeadService) -> HandoffView:
    return HandoffView(
        **HandoffSummary.fields_of(handoff),
        skips=[SkipView(rep_id=s.rep_id, reason=s.reason.value) for s in handoff.skips],
        excluded_reps=list(handoff.excluded_reps),
        history=[HistoryView.of(entry) for entry in handoff.history],
        first_touch=FirstTouchView.of(handoff),
        details=handoff.details,
        lead=_lead(handoff, leads) if handoff.kind is HandoffKind.LEAD else None,
    )


def _lead(handoff: Handoff, leads: LeadService) -> HandoffLead | None:
    contact = leads.repository.contact(handoff.lead_id)
    if contact is None:
        return None
    view = LeadView.of(contact, leads.score_of(contact), leads.repository.history(contact.contact_id))
    records = leads.repository.engagements([contact.contact_id, *contact.members])
    newest = sorted(records, key=lambda r: r.occurred_at, reverse=True)[:ENGAGEMENT_SHOWN]
    engagement = [
        EngagementView(occurred_at=r.occurred_at, kind=r.kind, source_vendor=r.source_vendor, name=r.name, url=r.url)
        for r in newest
    ]
    return HandoffLead(**view.model_dump(), engagement=engagement)


def rep_views(router: Router, loads: Mapping[str, RepLoad], now: datetime) -> list[RepView]:
    views = []
    for rep in router.config.reps:
        load = loads.get(rep.rep_id, RepLoad(rep.rep_id))
        available, note = router.availability(rep, load, now)
        views.append(
            RepView(
                rep_id=rep.rep_id,
                name=rep.name,
                email=rep.email,
                slack_user_id=rep.slack_user_id,
                team=rep.team,
                role=rep.role.value,
                territories=list(rep.territories),
                skills=Skills(products=list(rep.skills.products), languages=list(rep.skills.languages)),
                capacity=router.capacity_of(rep, load),
                open_handoffs=load.open_handoffs,
                assignments=load.assignments,
                available=available,
                availability_note=note,
            )
        )
    return views


def metrics_view(handoffs: Iterable[Handoff], start: datetime, end: datetime, now: datetime) -> HandoffMetrics:
    figures = speed_to_lead(handoffs, now)
    return HandoffMetrics(
        start=start,
        end=end,
        handoffs=figures.handoffs,
        requested_to_assigned=_durations(figures.requested_to_assigned),
        requested_to_accepted=_durations(figures.requested_to_accepted),
        assigned_to_accepted=_durations(figures.assigned_to_accepted),
        requested_to_first_touch=_durations(figures.requested_to_first_touch),
        assigned_to_first_touch=_durations(figures.assigned_to_first_touch),
        sla=[
            AttainmentView(
                priority=row.priority,
                team=row.team,
                handoffs=row.handoffs,
                accepted_within_sla=row.accepted_within_sla,
                breached=row.breached,
                open_within_sla=row.open_within_sla,
                attainment=row.rate,
                touched_within_sla=row.touched_within_sla,
                first_touch_breached=row.first_touch_breached,
                awaiting_touch_within_sla=row.awaiting_touch_within_sla,
                first_touch_attainment=row.first_touch_rate,
            )
            for _, row in sorted(figures.attainment.items())
        ],
    )


def _durations(seconds: list[float]) -> DurationFigures:
    durations = Durations(tuple(seconds))
    return DurationFigures(
        count=durations.count, p50_seconds=durations.percentile(0.5), p95_seconds=durations.percentile(0.95)
    )


def simulation_leads(request: RoutingSimulationRequest, service: HandoffService, leads: LeadService) -> list[LeadFacts]:
    """The leads given, or the stored MQLs with the highest scores (as `standard` requests)."""
    if request.leads is not None:
        return [
            LeadFacts(
                lead_id=lead.lead_id,
                email=lead.email,
                kind=HandoffKind(lead.kind),
                country=lead.country.upper() if lead.country else None,
                region=lead.region.upper() if lead.region else None,
                state=lead.state.upper() if lead.state else None,
                industry=lead.industry,
                employee_count=lead.employee_count,
                annual_revenue=Decimal(lead.annual_revenue) if lead.annual_revenue else None,
                product_interest=tuple(p.lower() for p in lead.product_interest),
                language=lead.language.lower() if lead.language else None,
                score=Decimal(lead.score),
                fit_score=Decimal(lead.fit_score),
                priority=Priority(lead.priority),
                source=lead.source,
                account_id=lead.account_id,
                account_owner=lead.account_owner,
            )
            for lead in request.leads
        ]
    page = leads.repository.by_stage(Stage.MQL, None, request.limit, None)
    facts = []
    for contact in page.contacts:
        account = leads.repository.account(contact.account_id) if contact.account_id else None
        facts.append(facts_of(contact, account))
    return facts


def simulation_view(
    result: SimulatedRouting, candidate: Router, current: Router, as_of: datetime
) -> RoutingSimulationReport:
    return RoutingSimulationReport(
        candidate_version=candidate.config.version,
        current_version=current.config.version,
        as_of=as_of,
        leads_routed=len(result.decisions),
        decisions=[
            DecisionView(
                lead_id=simulated.lead.lead_id,
                gate=simulated.gate.value,
                rule_id=simulated.decision.rule_id,
                team=simulated.decision.team,
                strategy=simulated.decision.strategy,
                rep_id=simulated.decision.rep_id,
                queue=simulated.decision.queue,
                skips=[SkipView(rep_id=s.rep_id, reason=s.reason.value) for s in simulated.decision.skips],
                explanation=simulated.decision.explanation,
            )
            for simulated in result.decisions
        ],
        load_per_rep={rep_id: load.open_handoffs for rep_id, load in sorted(result.loads.items())},
        assigned_per_rep=dict(sorted(result.assigned.items())),
        unroutable=result.unroutable,
        changed_from_current=result.changed_from_current,
    )


def customer_request(customer_id: str, body: CustomerHandoffBody) -> CustomerHandoffRequest:
    def person(value: PersonBody | None) -> Person | None:
        return Person(value.name, value.email, value.role) if value else None

    return CustomerHandoffRequest(
        customer_id=customer_id,
        deal_id=body.deal_id,
        stakeholders=tuple(Person(p.name, p.email, p.role) for p in body.stakeholders),
        executive_sponsor=person(body.executive_sponsor),
        goals=tuple(body.goals),
        success_criteria=tuple(body.success_criteria),
        products=tuple(body.products),
        contract_value=Decimal(body.contract_value) if body.contract_value is not None else None,
        currency=body.currency,
        seats=body.seats,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        risks=tuple(body.risks),
        notes=body.notes,
        country=body.country.upper() if body.country else None,
        language=body.language[:2].lower() if body.language else None,
    )


def customer_handoff_view(handoff: Handoff) -> CustomerHandoffView:
    return CustomerHandoffView(
        **HandoffSummary.fields_of(handoff),
        customer_id=handoff.customer_id,
        history=[HistoryView.of(entry) for entry in handoff.history],
        handover=dict(handoff.details.get("request", {})),
        success_plan=dict(handoff.details.get("success_plan", {})),
        baseline=dict(handoff.details.get("baseline", {})),
    )
