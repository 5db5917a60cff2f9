"""The health use cases on in-memory stores: signals from canonical events reach their account (by its vendor
id, or by a contact's email), health is recomputed and a change published once, a detractor who stopped
paying turns red and is a churn risk once, usage reports are idempotent per message id, and unknown accounts
are refused or retried."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.success_events import SuccessEventType
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from shared.success.accounts import LeadStoreAccounts
from shared.success.api_models import HealthResponse
from shared.success.campaigns import Audience, CampaignKind, CsCampaign
from shared.success.intervention_service import InterventionService, UnknownPlaybook
from shared.success.interventions import InterventionStatus, Outcome
from shared.success.model import load_health_model
from shared.success.ports import StoredHealth
from shared.success.product import Launch
from shared.success.product_service import KeyReused, ProductService
from shared.success.service import (
    ACCOUNT_CATCH_UP,
    AccountNotCaughtUp,
    HealthService,
    MessageIdReused,
    UnknownTenant,
    UsageReport,
)
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher
from tests.success_fakes import InMemoryHealthStore

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CUSTOMER = "stripe:cus_K1"


class World:
    def __init__(self, company_currency: str | None = None) -> None:
        self.clock = FixedClock(START)
        self.leads_repo = InMemoryLeadRepository()
        ids = itertools.count(1)
        self.leads = LeadService(
            self.leads_repo,
            ScoringModels(load_model()),
            self.clock,
            lambda: f"acct-{next(ids):03d}",
        )
        self.store = InMemoryHealthStore()
        self.bus = RecordingPublisher()
        accounts, model = LeadStoreAccounts(self.leads_repo), load_health_model()
        self.interventions = InterventionService(self.store, accounts, model, self.bus)
        self.pauses: list[float] = []  # the recorder's waits in place for the lead processor, not slept
        self.service = HealthService(
            self.store, accounts, model, self.bus, self.clock, self.interventions, company_currency, self.pauses.append
        )
        self.product = ProductService(self.store, self.service, "USD")
        self._n = itertools.count(1)

    def event(
        self, event_type: EventType, data: dict[str, Any], vendor: str = "stripe", **subject: Any
    ) -> CanonicalEvent:
        return canonical_event(
            event_type, Subject(**subject), data, at=self.clock.now(), n=next(self._n), series="health", vendor=vendor
        )

    def customer(self) -> str:
        """Kestrel Labs as Stripe creates it: a customer with a billing email at its domain."""
        self.leads.handle(
            self.event(
                EventType.ACCOUNT_UPSERTED,
                {"name": "Kestrel Labs", "domain": "kestrel-labs.io"},
                account_id=CUSTOMER,
                contact_id=CUSTOMER,
                email="kim@kestrel-labs.io",
            )
        )
        tenant = self.service.accounts.resolve(CUSTOMER)
        assert tenant is not None
        return tenant

    def usage(self, message_id: str, active: int, seats: int, features: int = 6) -> tuple[bool, Any]:
        metrics = {"active_users": active, "licensed_seats": seats, "features": {f"f{i}": 2 for i in range(features)}}
        return self.service.report_usage(UsageReport("kestrel-labs.io", message_id, self.clock.now(), metrics))

    def published(self, kind: SuccessEventType) -> list[Any]:
        return [e for e in self.bus.published if e.event_type is kind]


@pytest.fixture
def world() -> World:
    return World()


def test_a_payment_and_a_usage_report_give_the_account_a_score_and_publish_the_change(world: World) -> None:
    # Given a Stripe customer the lead processor knows
    tenant = world.customer()
    # When a payment succeeds, then usage near the seat limit is reported by the company's domain
    paid = world.service.handle(
        world.event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, account_id=CUSTOMER)
    )
    recorded, outcome = world.usage("u-1", 17, 20)
    # Then both reach the same account; its health is computed from both, and the change published once
    assert paid.tenant_id == tenant
    assert recorded
    assert outcome.tenant_id == tenant
    assert outcome.health is not None
    assert (outcome.health.score_hundredths, outcome.health.band) == (10_000, "green")
    changes = world.published(SuccessEventType.HEALTH_CHANGED)
    assert [(e.score, e.band, e.previous_band) for e in changes] == [(100.0, "green", None)]  # usage kept it at 100
    view = world.service.health_of(tenant)
    assert view.health == outcome.health
    assert sum(line.contribution_hundredths for line in view.health.lines) == 10_000


def test_a_detractor_with_a_failed_payment_turns_red_and_is_a_churn_risk_once(world: World) -> None:
    # Given a healthy, paying customer using its seats
    world.customer()
    world.service.handle(
        world.event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, account_id=CUSTOMER)
    )
    world.usage("u-1", 17, 20)
    # When its billing contact answers the NPS survey with a 3 (by email, through Typeform) and a payment fails
    world.clock.advance(timedelta(days=1))
    survey = {"answers": {"nps": 3}, "form_id": "nps"}
    world.service.handle(
        world.event(EventType.SURVEY_RESPONDED, survey, vendor="typeform", email="Kim@Kestrel-Labs.io")
    )
    world.clock.advance(timedelta(days=1))
    failed = world.service.handle(
        world.event(EventType.PAYMENT_FAILED, {"amount_minor": 4900, "currency": "usd"}, account_id=CUSTOMER)
    )
    # And another payment fails the next day
    world.clock.advance(timedelta(days=1))
    world.service.handle(
        world.event(EventType.PAYMENT_FAILED, {"amount_minor": 4900, "currency": "usd"}, account_id=CUSTOMER)
    )
    # Then it turned red by the cap, and the churn risk was published once, saying why
    assert failed.health is not None
    assert failed.health.band == "red"
    assert failed.health.adjustments[0].cap == "detractor_with_failed_payment"
    (risk,) = world.published(SuccessEventType.CHURN_RISK_DETECTED)
    assert risk.band == "red"
    assert "turned red" in risk.reasons
    assert risk.previous_band in {"green", "yellow"}


def test_a_usage_report_is_kept_once_per_message_id(world: World) -> None:
    world.customer()
    first, _ = world.usage("u-1", 10, 20)
    again, _ = world.usage("u-1", 10, 20)
    assert (first, again) == (True, False)
    with pytest.raises(MessageIdReused, match="message_id"):
        world.usage("u-1", 11, 20)
    tenant = world.service.tenant("kestrel-labs.io")
    assert len(world.store.signals(tenant, START - timedelta(days=1))) == 1


def test_an_unknown_account_is_refused_by_the_api(world: World) -> None:
    with pytest.raises(UnknownTenant, match="tenant_id"):
        world.service.health_of("nobody.example")


def test_a_signal_before_its_account_is_known_is_parked_and_adopted_by_the_next(world: World) -> None:
    # Given a payment of a Stripe customer the hub has not linked to an account yet
    paid = {"amount_minor": 4900, "currency": "usd"}
    parked = world.service.handle(world.event(EventType.PAYMENT_FAILED, paid, account_id=CUSTOMER))
    # Then it is kept aside, not failed (no retry holding the rule's other events back), and nothing published
    assert parked.tenant_id is None
    assert "parked" in parked.note
    assert world.bus.published == []
    # When the customer is created and pays again
    tenant = world.customer()
    world.clock.advance(timedelta(hours=1))
    adopted = world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, paid, account_id=CUSTOMER))
    # Then the parked failure is in the account's log beside the new payment, and left the parked log
    assert "1 parked before adopted" in adopted.note
    kinds = [s.kind.value for s in world.store.signals(tenant, START - timedelta(days=1))]
    assert kinds == ["payment_failed", "payment_succeeded"]
    assert world.store.signals("unlinked:" + CUSTOMER, START - timedelta(days=1)) == []


def account_upserted(world: World) -> CanonicalEvent:
    """Kestrel Labs' `account.upserted` as the bus delivers it to both the lead processor and the recorder."""
    return world.event(
        EventType.ACCOUNT_UPSERTED,
        {"name": "Kestrel Labs", "domain": "kestrel-labs.io"},
        account_id=CUSTOMER,
        contact_id=CUSTOMER,
        email="kim@kestrel-labs.io",
    )


def test_a_signal_parked_before_its_account_was_linked_is_adopted_by_the_accounts_upsert(world: World) -> None:
    # Given a Stripe customer's payment that reached the recorder before the lead processor linked the customer
    paid = {"amount_minor": 4900, "currency": "usd"}
    payment = world.event(EventType.PAYMENT_SUCCEEDED, paid, account_id=CUSTOMER)
    world.clock.advance(timedelta(days=120))  # a customer long enough to be scored, past onboarding
    assert world.service.handle(payment).tenant_id is None
    upserted = account_upserted(world)
    # When the lead processor links the account, and the recorder is handed the same account.upserted
    world.leads.handle(upserted)
    outcome = world.service.adopt_parked(upserted)
    # Then the payment is in the account's log and its health scored and told, with no second signal needed
    tenant = world.service.accounts.resolve(CUSTOMER)
    assert outcome.tenant_id == tenant is not None
    assert "1 parked adopted" in outcome.note
    assert [s.signal_id for s in world.store.signals(tenant, START - timedelta(days=1))] == [payment.event_id]
    assert outcome.health is not None
    assert outcome.health.score_hundredths == 10000
    (changed,) = world.published(SuccessEventType.HEALTH_CHANGED)
    assert changed.cause == upserted.event_id
    # And handed the same event again (the bus delivers at least once), it adopts nothing and tells nothing
    assert world.service.adopt_parked(upserted).note == "no signal was parked for it"
    assert len(world.published(SuccessEventType.HEALTH_CHANGED)) == 1


def test_an_accounts_upsert_the_lead_store_does_not_show_yet_is_waited_for_then_retried(world: World) -> None:
    # Given a payment parked for a customer, and its account.upserted the lead processor has not handled yet
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900}, account_id=CUSTOMER))
    upserted = account_upserted(world)
    # When the recorder is handed it at once, Then it waits a moment in place, then asks for a retry: the lead
    # processor is behind, nothing is wrong with the event, and the payment waits to be adopted
    with pytest.raises(AccountNotCaughtUp, match=CUSTOMER):
        world.service.adopt_parked(upserted)
    assert world.pauses == [0.1, 0.2, 0.4, 0.8]
    # And past the catch-up time it is let go (the parked signals wait for the next one about them)
    world.clock.advance(ACCOUNT_CATCH_UP)
    assert "no account is known" in world.service.adopt_parked(upserted).note


def test_an_accounts_upsert_with_nothing_parked_for_it_is_not_retried(world: World) -> None:
    # Given an account.upserted the lead processor has not handled yet, and no signal parked for the account
    upserted = account_upserted(world)
    # When the recorder is handed it, Then it waits a moment, and lets it go: there is nothing to adopt (a signal
    # parked later reads the directory again), and a retry would only end in the failure queue under a backlog
    assert "no account is known" in world.service.adopt_parked(upserted).note
    assert world.pauses == [0.1, 0.2, 0.4, 0.8]


def test_an_accounts_upsert_without_an_account_id_is_neither_waited_for_nor_retried(world: World) -> None:
    # Given an account.upserted naming only an email (the lead processor links no account for it)
    upserted = world.event(EventType.ACCOUNT_UPSERTED, {"name": "Someone"}, email="pat@nowhere-known.io")
    # When the recorder is handed it, Then it lets it go at once
    assert "no account is known for pat@nowhere-known.io" in world.service.adopt_parked(upserted).note
    assert world.pauses == []


class LinkedMeanwhile(LeadStoreAccounts):
    """The lead processor links the account between the recorder's read of the directory and its parking."""

    def __init__(self, world: World) -> None:
        super().__init__(world.leads_repo)
        self.world, self.reads = world, 0

    def account_of(self, subject: Subject) -> str | None:
        self.reads += 1
        found = super().account_of(subject)
        if self.reads == 1:  # the recorder's first read, done: the account is linked before the payment is parked
            upserted = account_upserted(self.world)
            self.world.leads.handle(upserted)
            assert self.world.service.adopt_parked(upserted).note == "no signal was parked for it"  # not yet
        return found


def test_a_signal_parked_while_its_account_is_linked_is_not_left_parked(world: World) -> None:
    # Given a directory the lead processor links the account in while the recorder parks a payment
    world.service.accounts = LinkedMeanwhile(world)
    payment = world.event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, account_id=CUSTOMER)
    # When the recorder handles the payment
    outcome = world.service.handle(payment)
    # Then it read the directory again after parking and took the payment into the account's log
    tenant = world.service.accounts.resolve(CUSTOMER)
    assert outcome.tenant_id == tenant is not None
    assert [s.signal_id for s in world.store.signals(tenant, START - timedelta(days=1))] == [payment.event_id]
    assert world.store.signals("unlinked:" + CUSTOMER, START - timedelta(days=1)) == []


def test_the_nightly_recomputation_publishes_what_time_alone_changed(world: World) -> None:
    # Given a new customer whose CSM met it today (too little to score it while it is onboarding), and nothing
    # else for 100 days
    tenant = world.customer()
    world.service.handle(
        world.event(
            EventType.ENGAGEMENT_RECORDED, {"kind": "meeting_booked"}, vendor="calendly", email="kim@kestrel-labs.io"
        )
    )
    before = world.service.health_of(tenant).health.score_hundredths
    world.clock.advance(timedelta(days=100))
    # When the night comes
    count = world.service.recompute_all(cause="nightly:2027-02-10")
    # Then, its onboarding over, its health is what the silence left (the touch 100 days old: 10), and the change
    # was published with the night as its cause
    after = world.service.health_of(tenant).health
    assert count == 1
    assert before is None
    assert after.score_hundredths == 1_000
    assert world.published(SuccessEventType.HEALTH_CHANGED)[-1].cause == "nightly:2027-02-10"


def test_a_usage_report_through_the_bus_names_its_account_as_the_api_does(world: World) -> None:
    # Given a customer, and a Standard Webhooks usage report naming it by domain
    tenant = world.customer()
    data = {"tenant_id": "kestrel-labs.io", "metrics": {"active_users": 9, "licensed_seats": 10}}
    # When it arrives from the bus
    outcome = world.service.handle(world.event(EventType.PRODUCT_USAGE_REPORTED, data, vendor="standard"))
    # Then it is the customer's, with its seat use read
    assert outcome.tenant_id == tenant
    assert outcome.health is not None
    assert next(line for line in outcome.health.lines if line.measure == "seat_utilization").value is not None


def turn_red(world: World) -> None:
    """The healthy paying customer, then a detractor's answer and a failed payment."""
    world.customer()
    paid = {"amount_minor": 4900, "currency": "usd"}
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, paid, account_id=CUSTOMER))
    world.usage("u-1", 17, 20)
    world.clock.advance(timedelta(days=1))
    survey = {"answers": {"nps": 3}}
    world.service.handle(
        world.event(EventType.SURVEY_RESPONDED, survey, vendor="typeform", email="kim@kestrel-labs.io")
    )
    world.service.handle(world.event(EventType.PAYMENT_FAILED, paid, account_id=CUSTOMER))


def test_the_health_answer_shows_the_cap_as_a_line_summing_to_the_score_and_the_open_playbooks(world: World) -> None:
    # Given an account turned red, held at 35 by the model's cap, with its churn playbook open
    turn_red(world)
    tenant = world.service.tenant(CUSTOMER)
    # When its health is asked for
    answer = HealthResponse.of(world.service.health_of(tenant), world.service.open_interventions(tenant))
    # Then the breakdown ends with the cap's line and sums to the score exactly
    assert (answer.breakdown[-1].measure, answer.breakdown[-1].group) == ("detractor_with_failed_payment", "cap")
    assert answer.breakdown[-1].contribution < 0
    assert sum(Decimal(str(line.contribution)) for line in answer.breakdown) == Decimal(str(answer.score)) == 35
    # And the churn playbook it runs is listed
    assert [(i.playbook, i.status) for i in answer.open_interventions] == [("churn_save", "open")]


def test_the_churn_playbook_opens_once_with_its_task_and_marketing_requests(world: World) -> None:
    # Given an account turned red
    turn_red(world)
    # When another payment fails, and a CSM asks for the same playbook by hand
    world.clock.advance(timedelta(hours=1))
    world.service.handle(
        world.event(EventType.PAYMENT_FAILED, {"amount_minor": 1, "currency": "usd"}, account_id=CUSTOMER)
    )
    tenant = world.service.tenant(CUSTOMER)
    view = world.service.health_of(tenant)
    again = world.interventions.request(tenant, "churn_save", "call them", "ana", view.health)
    # Then one intervention is open, started once, with the task, the suppression and the retention enrolment
    (started,) = world.published(SuccessEventType.INTERVENTION_STARTED)
    assert (started.playbook, started.band, started.task_title) == (
        "churn_save",
        "red",
        "Save call with kestrel-labs.io",
    )
    (suppress,) = world.published(SuccessEventType.SUPPRESSION_REQUESTED)
    (enrol,) = world.published(SuccessEventType.ENROLLMENT_REQUESTED)
    assert enrol.campaign_id == "retention-save"
    assert suppress.contact_ids == enrol.contact_ids == world.leads_repo.account_contacts(tenant) != []
    assert (again.opened, again.intervention.intervention_id) == (False, started.intervention_id)
    page = world.interventions.interventions(tenant, None, None, 10)
    assert [(i.playbook, i.status) for i in page.interventions] == [("churn_save", InterventionStatus.OPEN)]


def test_an_account_flagged_by_a_fall_while_green_gets_the_churn_playbook_when_it_turns_red(world: World) -> None:
    # Given a healthy, paying account with a month of usage and a promoter's answer
    tenant = world.customer()
    payment = {"amount_minor": 4900, "currency": "usd"}
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, payment, account_id=CUSTOMER))
    world.usage("u-1", 17, 20)
    nps = "kim@kestrel-labs.io"
    world.service.handle(world.event(EventType.SURVEY_RESPONDED, {"answers": {"nps": 9}}, vendor="typeform", email=nps))
    for day, message in ((20, "u-2"), (15, "u-3")):
        world.clock.advance(timedelta(days=day))
        world.usage(message, 17, 20)
    # And a detractor's answer that makes it fall enough to be a churn risk, still green (no playbook for green)
    world.service.handle(world.event(EventType.SURVEY_RESPONDED, {"answers": {"nps": 3}}, vendor="typeform", email=nps))
    (risk,) = world.published(SuccessEventType.CHURN_RISK_DETECTED)
    assert risk.band == "green"
    assert world.published(SuccessEventType.INTERVENTION_STARTED) == []
    # When a payment fails and the account, still at risk, turns red
    world.clock.advance(timedelta(days=1))
    outcome = world.service.handle(world.event(EventType.PAYMENT_FAILED, payment, account_id=CUSTOMER))
    assert outcome.health is not None
    assert outcome.health.band == "red"
    # Then red's churn playbook opens, once, with its marketing requests (the risk is not told twice)
    world.clock.advance(timedelta(hours=1))
    world.service.handle(world.event(EventType.PAYMENT_FAILED, payment, account_id=CUSTOMER))
    (started,) = world.published(SuccessEventType.INTERVENTION_STARTED)
    assert (started.playbook, started.band) == ("churn_save", "red")
    assert len(world.published(SuccessEventType.SUPPRESSION_REQUESTED)) == 1
    assert len(world.published(SuccessEventType.ENROLLMENT_REQUESTED)) == 1
    assert len(world.published(SuccessEventType.CHURN_RISK_DETECTED)) == 1
    page = world.interventions.interventions(tenant, None, None, 10)
    assert [(i.playbook, i.status) for i in page.interventions] == [("churn_save", InterventionStatus.OPEN)]


def test_a_renewal_at_risk_is_told_once_when_the_nightly_finds_it_coming_closer(world: World) -> None:
    # Given a yellow account whose subscription renews in 100 days (beyond the model's 60-day window)
    tenant = world.customer()
    paid = {"amount_minor": 4900, "currency": "usd"}
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, paid, account_id=CUSTOMER))
    renews = int((START + timedelta(days=100)).timestamp())
    subscription = {"subscription_id": "sub_1", "status": "active", "current_period_end": renews, "items": []}
    world.service.handle(world.event(EventType.SUBSCRIPTION_CHANGED, subscription, account_id=CUSTOMER))
    nps = {"answers": {"nps": 5}}
    world.service.handle(world.event(EventType.SURVEY_RESPONDED, nps, vendor="typeform", email="kim@kestrel-labs.io"))
    assert world.service.health_of(tenant).health.band == "yellow"
    assert world.published(SuccessEventType.RENEWAL_AT_RISK) == []
    # When the nightly runs for 50 days
    for day in range(1, 51):
        world.clock.advance(timedelta(days=1))
        world.service.recompute_all(cause=f"nightly:{day}")
    # Then the renewal at risk was told once, when it came within the window, with its date
    (told,) = world.published(SuccessEventType.RENEWAL_AT_RISK)
    assert told.renews_at == datetime.fromtimestamp(renews, UTC)
    assert told.occurred_at == START + timedelta(days=40)
    assert told.reasons == ["renews in 60 days while yellow"]


def test_an_intervention_is_evaluated_after_30_days_and_counts_for_its_playbook(world: World) -> None:
    # Given a churn intervention, and the account paying again and answering NPS 9 within the month
    turn_red(world)
    world.clock.advance(timedelta(days=5))
    world.service.handle(
        world.event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 9800, "currency": "usd"}, account_id=CUSTOMER)
    )
    world.service.handle(
        world.event(EventType.SURVEY_RESPONDED, {"answers": {"nps": 9}}, vendor="typeform", email="kim@kestrel-labs.io")
    )
    # When the nights before and after its 30 days come
    world.clock.advance(timedelta(days=24))
    before = world.service.evaluate_interventions()  # 29 days after it opened
    world.clock.advance(timedelta(days=1, minutes=1))
    world.usage("u-2", 17, 20)  # usage reported again, or the seat measure would be NA by now
    evaluated = world.service.evaluate_interventions()
    # Then it was not evaluated early; now it is closed, improved, and the playbook's effectiveness says so
    assert before == []
    (done,) = evaluated
    assert (done.status, done.outcome, done.band_before) == (InterventionStatus.CLOSED, Outcome.IMPROVED, "red")
    assert done.score_after is not None
    assert done.score_before is not None
    (closed_event,) = world.published(SuccessEventType.INTERVENTION_CLOSED)
    assert closed_event.outcome == "improved"
    report = {r.playbook: r for r in world.interventions.effectiveness()}
    assert (report["churn_save"].closed, report["churn_save"].improved) == (1, 1)
    assert report["churn_save"].mean_change_hundredths == done.score_after - done.score_before


def test_an_unknown_playbook_is_refused_naming_the_known_ones(world: World) -> None:
    tenant = world.customer()
    with pytest.raises(UnknownPlaybook, match="churn_save, executive_check_in"):
        world.interventions.request(tenant, "nope", "x", "ana", world.service.health_of(tenant).health)


def test_a_promotion_skips_an_account_at_risk_and_a_retention_campaign_reaches_it(world: World) -> None:
    # Given an account turned red, its churn playbook open (it suppresses marketing)
    turn_red(world)
    tenant = world.service.tenant(CUSTOMER)
    standing = world.product.standing(CUSTOMER)
    assert (standing.band, standing.nps, standing.suppressed, standing.advocacy_eligible) == ("red", 3, True, False)

    def campaign(campaign_id: str, kind: CampaignKind) -> CsCampaign:
        audience = Audience(bands=("red",))
        return CsCampaign(campaign_id, kind, "x", audience, "ana", world.clock.now(), (), campaign_id)

    # When an upsell and a retention campaign aim at red accounts
    _, upsell = world.product.request_campaign(campaign("up-1", CampaignKind.UPSELL))
    created, retention = world.product.request_campaign(campaign("keep-1", CampaignKind.RETENTION))
    again, same = world.product.request_campaign(campaign("keep-1", CampaignKind.RETENTION))
    # Then only the retention campaign reaches it, with its contacts, once
    assert (upsell.tenants, retention.tenants) == ((), (tenant,))
    assert (created, again, same.tenants) == (True, False, (tenant,))
    requested = [e for e in world.bus.published if e.event_type is SuccessEventType.CAMPAIGN_REQUESTED]
    assert [(e.campaign_id, e.tenant_ids) for e in requested] == [("up-1", []), ("keep-1", [tenant])]
    assert requested[1].contact_ids == world.leads_repo.account_contacts(tenant)
    with pytest.raises(KeyReused, match="campaign_id"):
        world.product.request_campaign(replace(campaign("keep-1", CampaignKind.RETENTION), digest="other"))


def test_a_launch_targets_the_accounts_of_its_bands_and_is_told_once(world: World) -> None:
    tenant = world.customer()
    world.usage("u-1", 17, 20)  # green
    launch = Launch("l-1", "sso", world.clock.now().date(), ("green",), "SSO", world.clock.now(), "d")
    created, stored = world.product.schedule_launch(launch)
    again, _ = world.product.schedule_launch(launch)
    assert (created, again, stored.target_tenants) == (True, False, (tenant,))
    (scheduled,) = [e for e in world.bus.published if e.event_type is SuccessEventType.LAUNCH_SCHEDULED]
    assert (scheduled.launch_id, scheduled.tenant_ids) == ("l-1", [tenant])


def segment_track(world: World, name: str, kind: str = "track", user_id: str | None = "u-kim") -> CanonicalEvent:
    """A Segment `track` as the normalizer gives it: the person (`userId`, else anonymous) with their email."""
    data: dict[str, Any] = {"kind": kind, "name": name, "user_id": user_id, "anonymous_id": "anon-1", "properties": {}}
    contact = f"segment:{user_id}" if user_id else "segment-anonymous:anon-1"
    return world.event(
        EventType.ENGAGEMENT_RECORDED, data, vendor="segment", contact_id=contact, email="kim@kestrel-labs.io"
    )


def test_a_segment_track_of_a_customer_is_a_feature_used_and_a_marketing_track_is_not(world: World) -> None:
    # Given Kestrel Labs, 17 of its 20 seats active and 6 features used by its latest usage report
    tenant = world.customer()
    world.usage("u-1", 17, 20, features=6)
    # When one of its signed-in users uses another feature (a Segment track), and opens a marketing email
    used = world.service.handle(segment_track(world, "Report Created"))
    opened = world.service.handle(segment_track(world, "Email Opened", kind="email_open"))
    anonymous = world.service.handle(segment_track(world, "Dashboard Viewed", user_id=None))
    # Then the track is the account's product usage: a seventh feature adopted, the seats' use untouched
    assert used.tenant_id == tenant
    assert used.health is not None
    lines = {line.measure: line.value for line in used.health.lines}
    assert lines["feature_adoption"] == Decimal(7)
    assert lines["seat_utilization"] == Decimal("0.85")
    _, analytics, _, _ = world.product.analytics(tenant)
    assert [(f.feature, f.events) for f in analytics.features if f.feature == "Report Created"] == [
        ("Report Created", 1)
    ]
    # and neither the email opened nor an anonymous visitor's track is usage
    assert opened.tenant_id is None
    assert "says nothing health reads" in opened.note
    assert anonymous.tenant_id is None
    assert "says nothing health reads" in anonymous.note
    assert len(world.service.log(tenant)) == 2  # the usage report and the track


def test_one_accounts_failing_recomputation_does_not_stop_the_nightly(world: World) -> None:
    # Given a paying customer, and another account whose log holds an item no signal can be read from
    tenant = world.customer()
    world.service.handle(
        world.event(EventType.PAYMENT_SUCCEEDED, {"amount_minor": 4900, "currency": "usd"}, account_id=CUSTOMER)
    )
    world.store.save_health(StoredHealth("acct-broken", START, "2026.2", 5_000, "yellow", False, 0))
    world.store.logs["acct-broken"] = {"SIGNAL#x": {"signal_id": "x", "kind": "bogus", "at": "x", "values": "{}"}}
    world.clock.advance(timedelta(days=100))
    failures: list[tuple[str, str]] = []
    # When the night comes
    count = world.service.recompute_all(
        cause="nightly:1", failed=lambda tenant_id, error: failures.append((tenant_id, type(error).__name__))
    )
    # Then the customer is recomputed (its change published), the broken account told as failed
    assert count == 1
    assert failures == [("acct-broken", "ValueError")]
    assert [e.tenant_id for e in world.published(SuccessEventType.HEALTH_CHANGED) if e.cause == "nightly:1"] == [tenant]
    # And without anyone to tell, the failure is raised once every other account is recomputed
    recomputed: list[str] = []
    with pytest.raises(ValueError, match="'bogus' is not a valid SignalKind"):
        world.service.recompute_all(cause="nightly:2", progress=recomputed.append)
    assert recomputed == [tenant]
