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
        self.clock = FixedClock(T0)
        self.leads_repo = InMemoryLeadRepository()
        ids = itertools.count(1)
        self.leads = LeadService(
            self.leads_repo, RecordingPublisher(), ScoringModels(load_model()), self.clock, lambda: f"acct-{next(ids)}"
        )
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

    def hand_over(self, tenant: str, starts_on: date, sponsor: str | None = SPONSOR) -> str:
        """Sales hand the won customer to success; the plan's announcement reaches the recorder. The handoff id."""
        request = CustomerHandoffRequest(
            customer_id=tenant,
            deal_id="deal-1",
            starts_on=starts_on,
            executive_sponsor=Person("Vic Ortiz", sponsor, "VP Operations") if sponsor else None,
        )
        handoff = self.handoffs.customer_handoff(request, "sales").handoff
        assert handoff is not None
        (announced,) = [e for e in self.handoff_bus.published if e.event_type is HandoffEventType.SUCCESS_PLAN_CREATED]
        bus_event = {
            "source": HANDOFF_EVENT_SOURCE,
            "detail-type": announced.event_type.value,
            "detail": announced.model_dump(mode="json"),
        }
        outcome = self.health.record_plan(plan_announced(bus_event), self.handoff_store)
        assert outcome.tenant_id == tenant, outcome.note
        return handoff.handoff_id

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
    # And each change of the score was published
    changes = [e for e in world.bus.published if e.event_type is SuccessEventType.HEALTH_CHANGED]
    assert [e.score for e in changes][-1] == points_of(on_time.health.score_hundredths)


def points_of(hundredths: int | None) -> float | None:
    return None if hundredths is None else hundredths / 100


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


def test_only_the_executive_sponsors_engagements_are_kept(world: World) -> None:
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
    # Then the colleague's is not kept; Vic's is, and the sponsor engaged 0 days ago (it was 42)
    assert "not by the executive sponsor" in colleague.note
    assert vic.tenant_id == tenant
    assert [s.kind for s in world.health.log(tenant)] == [SignalKind.SUCCESS_PLAN, SignalKind.ENGAGED]
    assert world.measure(tenant, "days_since_sponsor_engaged") == (Decimal(0), 100)


def test_an_engagement_of_an_account_without_a_plan_is_not_kept_nor_parked(world: World) -> None:
    world.account()
    known = world.both(
        world.event(EventType.ENGAGEMENT_RECORDED, {"kind": "webinar_attended"}, "hubspot", email=SPONSOR)
    )
    unknown = world.both(
        world.event(EventType.ENGAGEMENT_RECORDED, {"kind": "webinar_attended"}, "hubspot", email="x@nowhere.example")
    )
    assert "not kept" in known.note
    assert "not kept" in unknown.note
    assert world.store.logs == {}


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
