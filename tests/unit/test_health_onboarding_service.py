"""Onboarding and sponsor signals through the health service, with the handoff domain's own service on in-memory
stores: a sales -> CS handoff's `success_plan.created` keeps its plan in the customer's log, a CSM completes its
milestones (once), the health answer lists them, only the executive sponsor's engagements are kept, and a
Segment call naming its account by `context.groupId` is that account's."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from moto.events.models import EventPattern

from shared.catalog.success import SUCCESS_DOMAIN
from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE, HandoffEventType
from shared.events.success_events import SuccessEventType
from shared.handoffs.customer_handoffs import CustomerHandoffRequest, Person
from shared.handoffs.model import LeadFacts
from shared.handoffs.routing import compile_routing
from shared.handoffs.routing_config import load_routing
from shared.handoffs.service import HandoffService
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from shared.success.accounts import LeadStoreAccounts
from shared.success.api_models import HealthResponse
from shared.success.model import load_health_model
from shared.success.onboarding import plan_announced
from shared.success.service import HealthService, UnknownMilestone, UnknownTenant
from shared.success.signals import SignalKind
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher
from tests.handoff_fakes import InMemoryHandoffRepository, RecordingTimers
from tests.success_fakes import InMemoryHealthStore

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)  # a Tuesday afternoon: the CSMs are working
CUSTOMER = "stripe:cus_K1"
SPONSOR = "vic.ortiz@kestrel-labs.io"


@dataclass
class NoLeads:
    known: dict[str, LeadFacts] = field(default_factory=dict)

    def facts(self, lead_id: str) -> LeadFacts | None:
        return None

    def account_facts(self, account_id: str) -> LeadFacts | None:
        return None


class World:
    def __init__(self) -> None:
        self.pending: dict[str, Any] = {}  # the latest success_plan.created, as the bus delivers it
        self.clock = FixedClock(T0)
        self.leads_repo = InMemoryLeadRepository()
        ids = itertools.count(1)
        self.leads = LeadService(self.leads_repo, ScoringModels(load_model()), self.clock, lambda: f"acct-{next(ids)}")
        self.handoff_bus = RecordingPublisher()
        self.handoff_store = InMemoryHandoffRepository()
        router = compile_routing(load_routing())
        self.handoffs = HandoffService(
            self.handoff_store, lambda: router, NoLeads(), self.handoff_bus, RecordingTimers(), self.clock
        )
        self.store = InMemoryHealthStore()
        self.bus = RecordingPublisher()
        self.health = HealthService(
            self.store, LeadStoreAccounts(self.leads_repo), load_health_model(), self.bus, self.clock
        )
        self._n = itertools.count(1)

    def event(self, event_type: EventType, data: dict[str, Any], vendor: str, **subject: Any) -> CanonicalEvent:
        return canonical_event(
            event_type, Subject(**subject), data, at=self.clock.now(), n=next(self._n), series="onb", vendor=vendor
        )

    def account(self, account_id: str = CUSTOMER, domain: str = "kestrel-labs.io") -> str:
        """An account the lead processor knows (created in Stripe, or by a Segment `group` call)."""
        data = {"name": domain, "domain": domain}
        self.leads.handle(self.event(EventType.ACCOUNT_UPSERTED, data, account_id.split(":")[0], account_id=account_id))
        tenant = self.health.accounts.resolve(account_id)
        assert tenant is not None
        return tenant

    def hand_over(self, tenant: str, starts_on: date, sponsor: str | None = SPONSOR, announce: bool = True) -> str:
        """Sales hand the won customer to success; the plan's announcement reaches the recorder (later, by
        `announce_plan`, when not `announce`). The handoff id."""
        request = CustomerHandoffRequest(
            customer_id=tenant,
            deal_id="deal-1",
            starts_on=starts_on,
            executive_sponsor=Person("Vic Ortiz", sponsor, "VP Operations") if sponsor else None,
        )
        handoff = self.handoffs.customer_handoff(request, "sales").handoff
        assert handoff is not None
        (announced,) = [e for e in self.handoff_bus.published if e.event_type is HandoffEventType.SUCCESS_PLAN_CREATED]
        self.pending = {
            "source": HANDOFF_EVENT_SOURCE,
            "detail-type": announced.event_type.value,
            "detail": announced.model_dump(mode="json"),
        }
        if announce:
            self.announce_plan()
        return handoff.handoff_id

    def announce_plan(self) -> None:
        outcome = self.health.record_plan(plan_announced(self.pending), self.handoff_store)
        assert outcome.tenant_id is not None, outcome.note

    def both(self, event: CanonicalEvent) -> Any:
        """An event from the bus, as the lead processor and the health recorder both take it (the first links its
        person to their account)."""
        self.leads.handle(event)
        return self.health.handle(event)

    def measure(self, tenant: str, measure: str) -> tuple[Any, int | None]:
        found = next(m for m in self.health.health_of(tenant).health.lines if m.measure == measure)
        return found.value, found.score


@pytest.fixture
def world() -> World:
    return World()


def test_a_handoffs_plan_is_read_by_the_health_and_a_csm_completes_its_milestones_once(world: World) -> None:
    # Given a customer handed to success with a plan started ten days ago (kickoff due 3 days ago, setup in 11)
    tenant = world.account()
    handoff_id = world.hand_over(tenant, (T0 - timedelta(days=10)).date())
    # Then its log holds the plan, the kickoff is overdue (0 of 1 on time: 10) and the sponsor was just named (100)
    assert [s.kind for s in world.health.log(tenant)] == [SignalKind.SUCCESS_PLAN]
    assert world.measure(tenant, "milestones_on_time") == (Decimal(0), 10)
    assert world.measure(tenant, "days_since_sponsor_engaged") == (Decimal(0), 100)
    answer = HealthResponse.of(world.health.health_of(tenant))
    assert [(m.milestone_id, m.status, m.due_on) for m in answer.milestones[:2]] == [
        ("kickoff", "overdue", date(2026, 3, 7)),
        ("technical-setup", "open", date(2026, 3, 21)),
    ]
    # When the CSM completes the kickoff (late), then again the next day, and the setup on time
    late = world.health.complete_milestone("kestrel-labs.io", "kickoff")
    world.clock.advance(timedelta(days=1))
    again = world.health.complete_milestone(CUSTOMER, "kickoff")
    on_time = world.health.complete_milestone(tenant, "technical-setup")
    # Then the kickoff was recorded once, late (the first completion stands), the setup on time
    assert (late.recorded, late.handoff_id, late.milestone.status.value) == (True, handoff_id, "completed_late")
    assert (again.recorded, again.milestone.completed_at) == (False, T0)
    assert (on_time.recorded, on_time.milestone.status.value) == (True, "completed_on_time")
    # And the measure is 1 of 2 settled on time (0.5: 40), what the last completion's health says
    assert world.measure(tenant, "milestones_on_time") == (Decimal("0.5000"), 40)
    assert on_time.health is not None
    assert on_time.health == world.health.health_of(tenant).health
    completions = [s for s in world.health.log(tenant) if s.kind is SignalKind.MILESTONE_COMPLETED]
    assert [s.values["milestone_id"] for s in completions] == ["kickoff", "technical-setup"]
    # And the plan alone (the sponsor, the milestones: 15 of the model's 120) is too little to score a customer
    # still onboarding: no score, no band, nothing published
    assert (on_time.health.score_hundredths, on_time.health.band, on_time.health.onboarding) == (None, None, True)
    assert [e for e in world.bus.published if e.event_type is SuccessEventType.HEALTH_CHANGED] == []


def test_completing_an_unknown_milestone_or_one_of_an_account_without_a_plan_is_refused(world: World) -> None:
    tenant = world.account()
    with pytest.raises(UnknownMilestone, match=r"customer_id: 'kestrel-labs\.io' has no success plan"):
        world.health.complete_milestone("kestrel-labs.io", "kickoff")
    world.hand_over(tenant, T0.date())
    with pytest.raises(UnknownMilestone, match=r"no milestone 'go-live' \(it has kickoff, technical-setup"):
        world.health.complete_milestone(tenant, "go-live")
    with pytest.raises(UnknownTenant):
        world.health.complete_milestone("nobody.example", "kickoff")
    assert [s.kind for s in world.health.log(tenant)] == [SignalKind.SUCCESS_PLAN]


def test_only_the_executive_sponsors_engagements_count(world: World) -> None:
    # Given a customer whose handoff names Vic as its sponsor, 40 days on
    tenant = world.account()
    world.hand_over(tenant, T0.date())
    world.clock.advance(timedelta(days=40))
    # When a colleague and then Vic (by email, any case) attend a webinar
    colleague = world.both(
        world.event(EventType.ENGAGEMENT_RECORDED, {"kind": "webinar_attended"}, "hubspot", email="kim@kestrel-labs.io")
    )
    assert world.measure(tenant, "days_since_sponsor_engaged") == (Decimal(40), 70)
    world.clock.advance(timedelta(days=2))
    vic = world.both(
        world.event(EventType.ENGAGEMENT_RECORDED, {"kind": "webinar_attended"}, "hubspot", email=SPONSOR.upper())
    )
    # Then the colleague's changed nothing (parked aside, out of the account's log, until a plan names her);
    # Vic's is in the log, and the sponsor engaged 0 days ago (it was 42)
    assert colleague.tenant_id == vic.tenant_id == tenant
    assert "not by the executive sponsor" in colleague.note
    assert [s.kind for s in world.health.log(tenant)] == [SignalKind.SUCCESS_PLAN, SignalKind.ENGAGED]
    assert world.measure(tenant, "days_since_sponsor_engaged") == (Decimal(0), 100)


def test_a_sponsors_engagement_recorded_before_the_plan_counts_once_the_plan_names_them(world: World) -> None:
    # Given a customer handed to success today, the plan's announcement delayed (the bus retries it)
    tenant = world.account()
    world.hand_over(tenant, T0.date(), announce=False)
    # When Vic, the sponsor the handoff names, attends a webinar two days later, before the plan reaches health
    world.clock.advance(timedelta(days=2))
    world.both(world.event(EventType.ENGAGEMENT_RECORDED, {"kind": "webinar_attended"}, "hubspot", email=SPONSOR))
    world.clock.advance(timedelta(days=1))
    world.announce_plan()
    # Then 31 days after the handoff the sponsor last engaged 29 days ago (100), not at the handoff (31 days: 70)
    world.clock.advance(timedelta(days=28))
    assert world.measure(tenant, "days_since_sponsor_engaged") == (Decimal(29), 100)


def test_a_non_sponsors_engagements_are_parked_until_a_plan_names_them_and_only_the_latest(world: World) -> None:
    # Given a prospect whose colleague Kim attends two webinars, months before any handoff
    tenant = world.account()
    for _ in range(2):
        world.both(
            world.event(
                EventType.ENGAGEMENT_RECORDED, {"kind": "webinar_attended"}, "hubspot", email="kim@kestrel-labs.io"
            )
        )
        world.clock.advance(timedelta(days=30))
    # Then neither is in the account's log: only Kim's latest is kept, aside, under the account and her email
    assert world.health.log(tenant) == []
    parked = world.store.signals("unlinked:engaged:kim@kestrel-labs.io", T0 - timedelta(days=1))
    assert [s.at for s in parked] == [T0 + timedelta(days=30)]
    # When a handoff names Kim the executive sponsor
    world.hand_over(tenant, (T0 + timedelta(days=60)).date(), sponsor="kim@kestrel-labs.io")
    # Then her parked engagement joins the log, after the plan's signal was kept, and the parking is empty
    assert [s.kind for s in world.health.log(tenant)] == [SignalKind.ENGAGED, SignalKind.SUCCESS_PLAN]
    assert world.store.signals("unlinked:engaged:kim@kestrel-labs.io", T0 - timedelta(days=1)) == []


def test_a_new_plan_does_not_restart_the_onboarding_of_an_account_already_scored(world: World) -> None:
    # Given a customer paying for 200 days (scored)
    tenant = world.account()
    world.both(
        world.event(
            EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, "stripe", account_id=CUSTOMER
        )
    )
    world.clock.advance(timedelta(days=200))
    world.both(
        world.event(
            EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, "stripe", account_id=CUSTOMER
        )
    )
    scored = world.health.health_of(tenant).health
    assert scored.score_hundredths is not None
    # When a handoff (a renewal's, a new CSM's) records a new success plan
    world.hand_over(tenant, world.clock.now().date())
    # Then the account is still scored: onboarding started at its first payment, 200 days ago
    after = world.health.health_of(tenant).health
    assert (after.onboarding, after.score_hundredths is not None, after.band is not None) == (False, True, True)


def test_an_engagement_of_an_unknown_account_is_parked_as_any_signal(world: World) -> None:
    # Given an engagement of someone whose account the hub does not know yet (the lead processor has not seen them)
    unknown = world.health.handle(
        world.event(EventType.ENGAGEMENT_RECORDED, {"kind": "webinar_attended"}, "hubspot", email="x@nowhere.example")
    )
    # Then it is parked under the person, for their account to adopt once it is known
    assert unknown.tenant_id is None
    assert "parked" in unknown.note
    assert list(world.store.logs) == ["unlinked:x@nowhere.example"]


def test_a_success_plan_over_a_year_old_is_still_read_and_its_milestones_completed(world: World) -> None:
    # Given a customer handed over with its first four milestones completed on time, the nightly running since
    tenant = world.account()
    handoff_id = world.hand_over(tenant, T0.date())
    for milestone in ("kickoff", "technical-setup", "first-value", "adoption-review"):
        world.health.complete_milestone(tenant, milestone)
    for _ in range(40):
        world.clock.advance(timedelta(days=10))
        world.health.recompute_all(cause="nightly")
    # When 400 days on (beyond the 395 days the log is read back) the CSM completes the business review, late
    late = world.health.complete_milestone(tenant, "business-review")
    # Then the plan is still the account's: the milestone is recorded, 4 of 5 were on time (0.8: 75), and the
    # sponsor was last seen at the handoff, 400 days ago (10)
    assert (late.recorded, late.handoff_id, late.milestone.status.value) == (True, handoff_id, "completed_late")
    assert world.measure(tenant, "milestones_on_time") == (Decimal("0.8000"), 75)
    assert world.measure(tenant, "days_since_sponsor_engaged") == (Decimal(400), 10)
    assert [m.milestone_id for m in world.health.health_of(tenant).milestones][-1] == "business-review"


def segment_track(world: World, name: str, group: str | None) -> CanonicalEvent:
    """A signed-in user's Segment track, as the normalizer gives it (`data.group_id` from `context.groupId`)."""
    data: dict[str, Any] = {"kind": "track", "name": name, "user_id": "u-kim", "properties": {}}
    data |= {"group_id": group} if group else {}
    return world.event(
        EventType.ENGAGEMENT_RECORDED, data, "segment", contact_id="segment:u-kim", email="kim@kestrel-labs.io"
    )


def test_a_product_track_takes_its_account_from_its_group_not_from_the_person(world: World) -> None:
    # Given Kim of Kestrel Labs (by her email's domain), who also works in the workspace of Osprey (a Segment group)
    kestrel = world.account()
    osprey = world.account("segment:grp-osprey", "osprey-works.io")
    # When she uses a feature in Osprey's workspace, and another with no group named
    in_osprey = world.both(segment_track(world, "Report Created", "grp-osprey"))
    ungrouped = world.both(segment_track(world, "Export", None))
    # Then the first is Osprey's usage, the second her own account's
    assert (in_osprey.tenant_id, ungrouped.tenant_id) == (osprey, kestrel)
    assert [s.values["features"] for s in world.health.log(osprey)] == [{"Report Created": 1}]


def test_a_track_of_a_group_the_hub_does_not_know_yet_is_parked_under_it_and_adopted_later(world: World) -> None:
    # Given Kim of Kestrel Labs, and a track in a workspace no `group` call has told the hub of yet
    kestrel = world.account()
    parked = world.both(segment_track(world, "Report Created", "grp-heron"))
    # Then it is parked under the group, not given to Kim's account
    assert parked.tenant_id is None
    assert "segment:grp-heron" in parked.note
    assert world.health.log(kestrel) == []
    # When the group becomes known and Kim uses another feature there
    heron = world.account("segment:grp-heron", "heron-labs.io")
    world.clock.advance(timedelta(minutes=5))
    adopted = world.both(segment_track(world, "Export", "grp-heron"))
    # Then both are Heron's
    assert adopted.tenant_id == heron
    assert "1 parked before adopted" in adopted.note
    assert [s.values["features"] for s in world.health.log(heron)] == [{"Report Created": 1}, {"Export": 1}]


def recorder_rules_taking(source: str, detail_type: str, detail: dict[str, Any]) -> list[str]:
    """The recorder's rules that deliver such an event (moto's matching, as the local runtime's)."""
    event: Any = {"source": source, "detail-type": detail_type, "detail": detail}
    recorder = next(f for f in SUCCESS_DOMAIN.functions if f.name == "success_recorder")
    return [r.name for r in recorder.rules if EventPattern.load(json.dumps(r.pattern)).matches_event(event)]


def test_the_recorder_takes_the_handoffs_success_plans_and_the_sponsors_engagement_kinds() -> None:
    plans = recorder_rules_taking(HANDOFF_EVENT_SOURCE, HandoffEventType.SUCCESS_PLAN_CREATED.value, {})
    assigned = recorder_rules_taking(HANDOFF_EVENT_SOURCE, HandoffEventType.ASSIGNED.value, {})
    webinar = recorder_rules_taking("revops.webhooks", "engagement.recorded", {"data": {"kind": "webinar_attended"}})
    opened = recorder_rules_taking("revops.webhooks", "engagement.recorded", {"data": {"kind": "email_open"}})
    assert (plans, assigned) == (["success-plans"], [])
    assert (webinar, opened) == (["success-touches"], [])
