"""Attribution over in-memory adapters, the lead domain's own service filling the lead store: a person's
touches across days, a won deal credited once under every model (exactly, in the company currency), an account's
people sharing one journey, pipeline while a deal is open, the funnel counted from lead events, and the
data-driven batch moving credits to its fit."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.attribution.config import load_attribution_config
from shared.attribution.journeys import Model, Role
from shared.attribution.reports import MonthRange, deal_view
from shared.attribution.service import AttributionService
from shared.errors import InvalidInput
from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.events.lead_events import LeadEventType
from shared.finance.config import load_finance_config
from shared.finance.fx import parse_fx
from shared.finance.periods import parse_period
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.attribution_fakes import InMemoryAttributionStore
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher
from tests.finance_fakes import InMemoryFinanceStore

START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
FINANCE = load_finance_config()


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(START)
        self.lead_bus = RecordingPublisher()
        self.leads_repo = InMemoryLeadRepository(self.lead_bus)
        ids = itertools.count(1)
        self.leads = LeadService(
            self.leads_repo, ScoringModels(load_model()), self.clock, lambda: f"lead-{next(ids):03d}"
        )
        self.store = InMemoryAttributionStore()
        self.finance = InMemoryFinanceStore()
        self.bus = RecordingPublisher()
        self.service = AttributionService(
            store=self.store,
            leads=self.leads_repo,
            fx=self.finance,
            config=load_attribution_config(finance=FINANCE),
            company_currency=FINANCE.company_currency,
            publisher=self.bus,
            clock=self.clock,
            spend=self.finance,
            finance=FINANCE,
        )
        self._n = itertools.count(1)

    def event(
        self, event_type: EventType, data: dict[str, Any], vendor: str = "segment", **subject: Any
    ) -> CanonicalEvent:
        return canonical_event(
            event_type,
            Subject(**subject),
            data,
            at=self.clock.now(),
            n=next(self._n),
            series="attribution",
            vendor=vendor,
        )

    def visit(self, user: str, url: str, anonymous: bool = False) -> None:
        """A page view, as Segment reports it: by anonymous id before the person identifies."""
        who = f"segment-anonymous:a-{user}" if anonymous else f"segment:{user}"
        data = {"kind": "page_view", "url": url, "path": "/", "anonymous_id": f"a-{user}" if anonymous else None}
        self.leads.handle(self.event(EventType.ENGAGEMENT_RECORDED, data, contact_id=who))

    def identify(self, user: str, email: str) -> None:
        data = {"traits": {"email": email}, "anonymous_id": f"a-{user}"}
        self.leads.handle(self.event(EventType.CONTACT_UPSERTED, data, contact_id=f"segment:{user}", email=email))

    def won(self, deal: str, amount: str, currency: str = "USD", **data: Any) -> Any:
        body = {"amount": amount, "currency": currency, **data}
        return self.service.handle(self.event(EventType.DEAL_WON, body, vendor="standard", deal_id=f"standard:{deal}"))


@pytest.fixture
def world() -> World:
    return World()


def journey_of_three(world: World, user: str = "u1", email: str = "kim@acme.io") -> None:
    world.visit(user, "https://acme.test/?utm_campaign=social&utm_medium=paid_social", anonymous=True)
    world.clock.advance(timedelta(days=4))
    world.visit(user, "https://acme.test/pricing?utm_campaign=search&utm_medium=cpc", anonymous=True)
    world.identify(user, email)
    world.clock.advance(timedelta(days=3))
    world.visit(user, "https://acme.test/webinar?utm_campaign=mail&utm_medium=email")
    world.clock.advance(timedelta(days=3))


def test_a_won_deal_is_credited_once_under_every_model_to_the_cent(world: World) -> None:
    # Given three touches over ten days, the person identifying at the second
    journey_of_three(world)
    # When the deal is won, and the win is reported again
    first = world.won("D-1", "12000.00", email="kim@acme.io")
    again = world.won("D-1", "12000.00", email="kim@acme.io")
    # Then one conversion holds the three touches with their roles, every model summing to the amount exactly
    conversion = first.conversion
    assert conversion is not None
    assert again.conversion == conversion
    assert [t.touch.campaign_id for t in conversion.touches] == ["social", "search", "mail"]
    assert [t.roles for t in conversion.touches] == [
        {Role.FIRST},
        {Role.LEAD_CREATION},
        {Role.LAST, Role.OPPORTUNITY_CREATION},
    ]
    for model in Model:
        assert sum(t.credits[model].minor for t in conversion.touches) == 1_200_000, model
    assert [t.credits[Model.U_SHAPED].minor for t in conversion.touches] == [480_000, 480_000, 240_000]
    # And the campaign totals hold it once; the event has the same id both times
    assert world.service.campaign_totals("social", ["2026-11"]).revenue[Model.FIRST_TOUCH] == 1_200_000
    assert world.service.campaign_totals("social", ["2026-11"]).conversions == 1
    ids = {e.event_id for e in world.bus.published}
    assert len(ids) == 1


def test_a_won_deals_corrected_amount_credits_it_again_and_an_older_report_does_not_undo_it(world: World) -> None:
    # Given a deal won at 12,000.00 over kim's three touches
    journey_of_three(world)
    first = world.won("D-1", "12000.00", email="kim@acme.io")
    assert first.conversion is not None
    # When the CRM corrects its amount to 15,000.00 an hour later
    world.clock.advance(timedelta(hours=1))
    corrected = world.won("D-1", "15000.00", email="kim@acme.io")
    # Then the same conversion is credited again for the new amount, its journey and time kept, to the cent
    conversion = world.store.conversion("deal:standard:D-1")
    assert conversion is not None
    assert corrected.note == "deal:standard:D-1 credited again for 15000.00 USD"
    assert (conversion.amount.minor, conversion.company_minor) == (1_500_000, 1_500_000)
    assert conversion.converted_at == first.conversion.converted_at
    assert [t.touch.campaign_id for t in conversion.touches] == ["social", "search", "mail"]
    for model in Model:
        assert sum(t.credits[model].minor for t in conversion.touches) == 1_500_000, model
    # And the totals moved by the difference: one conversion, 15,000.00
    totals = world.service.campaign_totals("social", ["2026-11"])
    assert (totals.revenue[Model.FIRST_TOUCH], totals.conversions) == (1_500_000, 1)
    # And its conversion.attributed was published again, with an id of its own, saying the new amount
    attributed = [e for e in world.bus.published if e.event_type.value == "conversion.attributed"]
    assert [e.amount for e in attributed] == ["12000.00", "15000.00"]
    assert attributed[0].event_id != attributed[1].event_id
    # And a report of the old amount made before the correction, arriving only now, changes nothing
    now = world.clock.now()
    world.clock.moment = now - timedelta(minutes=30)
    late = world.event(
        EventType.DEAL_WON, {"amount": "12000.00", "email": "kim@acme.io"}, "standard", deal_id="standard:D-1"
    )
    world.clock.moment = now
    world.service.handle(late)
    assert world.store.conversion("deal:standard:D-1") == conversion


def test_a_deal_in_another_currency_is_credited_at_its_months_rate_and_refused_without_one(world: World) -> None:
    journey_of_three(world)
    # Given no FX table for November: the win is refused naming the table to PUT (dead-lettered, redriven later)
    with pytest.raises(InvalidInput, match="PUT /api/v1/integrations/finance/fx/2026-11"):
        world.won("D-2", "1000.00", "EUR", email="kim@acme.io")
    # When the table is put and the event comes back
    world.finance.put_fx(
        parse_fx(parse_period("2026-11"), {"base": "USD", "rates": {"EUR": "1.0850"}}, company_currency="USD")
    )
    outcome = world.won("D-2", "1000.00", "EUR", email="kim@acme.io")
    # Then the credits share 1,085.00 USD
    assert outcome.conversion is not None
    assert outcome.conversion.company_minor == 108_500
    assert sum(t.credits[Model.LINEAR].minor for t in outcome.conversion.touches) == 108_500


def test_an_open_deal_counts_as_pipeline_until_it_is_won(world: World) -> None:
    journey_of_three(world)
    deal = {"amount": "3000.00", "email": "kim@acme.io"}
    world.service.handle(world.event(EventType.DEAL_STAGE_CHANGED, deal, vendor="standard", deal_id="standard:D-3"))
    assert world.service.pipeline("social")[Model.FIRST_TOUCH] == 300_000
    assert world.store.total_pipeline()[Model.LINEAR] == 300_000
    world.won("D-3", "3000.00", email="kim@acme.io")
    assert world.service.pipeline("social")[Model.FIRST_TOUCH] == 0


def test_a_hubspot_deal_won_before_its_amount_arrived_is_credited_when_the_amount_comes(world: World) -> None:
    # Given a HubSpot deal won: the stage only, no amount
    deal = "hubspot:7001"
    won = world.service.handle(world.event(EventType.DEAL_WON, {"stage": "closedwon"}, vendor="hubspot", deal_id=deal))
    assert won.conversion is None
    # When its amount arrives as a property change, and again (HubSpot retries)
    amount = {"property": "amount", "value": "4800", "amount": "4800"}
    priced = world.service.handle(world.event(EventType.DEAL_UPDATED, amount, vendor="hubspot", deal_id=deal))
    world.service.handle(world.event(EventType.DEAL_UPDATED, amount, vendor="hubspot", deal_id=deal))
    # Then the deal is credited once, for the amount, and the month's totals hold it once
    assert priced.conversion is not None
    assert priced.conversion.amount.minor == 480_000
    assert world.store.overall(["2026-11"])["2026-11"].conversions == 1
    assert len({e.event_id for e in world.bus.published}) == 1


def test_a_deal_won_with_a_json_number_amount_is_credited_in_major_units(world: World) -> None:
    # Given a journey, and a Standard Webhooks deal.won whose amount is the JSON number 12000 (not "12000.00")
    journey_of_three(world)
    body = {"amount": 12000, "currency": "USD", "email": "kim@acme.io"}
    won = world.event(EventType.DEAL_WON, body, vendor="standard", deal_id="standard:D-9")
    # When it is handled
    outcome = world.service.handle(won)
    # Then the deal is credited 12,000.00, as the decimal string would be, not 120.00
    assert outcome.conversion is not None
    assert outcome.conversion.amount.minor == 1_200_000
    assert sum(t.credits[Model.LINEAR].minor for t in outcome.conversion.touches) == 1_200_000


def test_a_zero_trial_invoice_neither_converts_nor_blocks_the_customers_first_real_payment(world: World) -> None:
    # Given a self-serve visitor from a search ad who became a Stripe customer
    world.visit("u7", "https://acme.test/?utm_campaign=self-serve&utm_medium=cpc", anonymous=True)
    world.identify("u7", "ana@solo.dev")
    who = {"contact_id": "stripe:cus_t", "account_id": "stripe:cus_t", "email": "ana@solo.dev"}

    def paid(minor: int, invoice: str) -> Any:
        data = {"amount_minor": minor, "currency": "usd", "object": "invoice", "object_id": invoice}
        return world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, data, vendor="stripe", **who))

    # When its $0 trial invoice is paid, then its first real invoice of 490.00, then the next month's
    trial = paid(0, "in_trial")
    world.clock.advance(timedelta(days=14))
    first = paid(49_000, "in_1")
    world.clock.advance(timedelta(days=30))
    second = paid(49_000, "in_2")
    # Then the trial credits nothing and publishes nothing
    assert trial.conversion is None
    # And the 490.00 is the customer's first payment, credited to the campaign once
    assert first.conversion is not None
    assert (first.conversion.conversion_id, first.conversion.amount.minor) == ("first-payment:stripe:cus_t", 49_000)
    assert [t.touch.campaign_id for t in first.conversion.touches] == ["self-serve"]
    assert second.conversion == first.conversion
    totals = world.service.campaign_totals("self-serve", ["2026-11", "2026-12"])
    assert (totals.conversions, totals.revenue[Model.FIRST_TOUCH]) == (1, 49_000)
    assert len({e.event_id for e in world.bus.published}) == 1


def test_the_funnel_counts_each_lead_event_once_with_the_campaign_that_brought_it(world: World) -> None:
    journey_of_three(world)
    stage_changes = [e for e in world.lead_bus.published if e.event_type is LeadEventType.STAGE_CHANGED]
    assert stage_changes, "identifying makes a Lead"
    for event in stage_changes * 2:
        world.service.handle_lead_event(event)
    counts = world.store.funnel(["2026-11"])
    assert counts["Lead"].entered == 1
    assert world.store.campaign_funnel("search", ["2026-11"])["Lead"] == 1
    assert world.store.campaign_funnel("social", ["2026-11"])["Lead"] == 0


def test_the_data_driven_batch_fits_and_moves_the_credits_to_its_fit(world: World) -> None:
    # Given a converting journey and a visitor who came from the same ad and left
    journey_of_three(world)
    world.visit("u2", "https://acme.test/?utm_campaign=social&utm_medium=paid_social", anonymous=True)
    world.identify("u2", "lee@other.io")
    world.clock.advance(timedelta(days=1))
    outcome = world.won("D-4", "900.00", email="kim@acme.io")
    assert outcome.conversion is not None
    assert outcome.conversion.fit_id is None
    # When the batch runs
    refit = world.service.fit_data_driven()
    # Then the fit saw both journeys, the conversion moved to it, and its credits still sum to the amount
    assert (refit.fit.fit.journeys, refit.fit.fit.conversions, refit.recredited) == (2, 1, 1)
    stored = world.store.conversion("deal:standard:D-4")
    assert stored is not None
    assert stored.fit_id == refit.fit.fit_id
    assert sum(t.credits[Model.DATA_DRIVEN].minor for t in stored.touches) == 90_000
    # And one model_fitted announces the fit and how many conversions it re-credited (no conversion.attributed again)
    (fitted,) = [e for e in world.bus.published if e.event_type.value == "attribution.model_fitted"]
    assert (fitted.fit_id, fitted.recredited) == (refit.fit.fit_id, 1)
    assert [e.conversion_id for e in world.bus.published if e.event_type.value == "conversion.attributed"] == [
        "deal:standard:D-4"
    ]


def test_a_channel_only_non_converting_journeys_took_has_a_removal_effect_of_plain_zero(world: World) -> None:
    # Given a converting journey, and a visitor who came from a display ad only and left
    journey_of_three(world)
    world.visit("u2", "https://acme.test/?utm_campaign=banner&utm_medium=display", anonymous=True)
    world.identify("u2", "lee@other.io")
    world.clock.advance(timedelta(days=1))
    world.won("D-6", "900.00", email="kim@acme.io")
    # When the batch fits
    world.service.fit_data_driven()
    # Then the announced removal effect of display (removing it changes nothing) reads as a plain decimal
    (fitted,) = [e for e in world.bus.published if e.event_type.value == "attribution.model_fitted"]
    assert fitted.removal_effects["display"] == "0.0000000000"  # not "0E-10"
    assert all(text[0].isdigit() and "E" not in text for text in fitted.removal_effects.values())


def test_roi_and_performance_read_the_spend_ledger(world: World) -> None:
    journey_of_three(world)
    world.won("D-5", "12000.00", email="kim@acme.io")
    from shared.finance.budget_engine import compile_budget_engine
    from shared.finance.service import FinanceService

    ledger = FinanceService(world.finance, FINANCE, compile_budget_engine(FINANCE), RecordingPublisher(), world.clock)
    line = {"channel": "paid_social", "department": "marketing", "vendor": "Ads", "currency": "USD"}
    ledger.record_spend(
        [
            {**line, "spend_id": "s1", "campaign_id": "social", "amount": "3000.00", "incurred_on": "2026-11-02"},
            {**line, "spend_id": "s2", "campaign_id": "search", "amount": "1000.00", "incurred_on": "2026-11-02"},
        ]
    )
    assert world.service.campaign_spend("social", ["2026-11"]) == 300_000
    months = MonthRange.of(world.clock.now().date(), "2026-11", "2026-11")
    performance = world.service.performance(months, Model.LINEAR)
    assert [c["campaign_id"] for c in performance["top_campaigns_by_roi"]] == ["search", "social"]
    assert performance["revenue"] == "12000.00"
    assert performance["marketing_influenced_revenue"] == "12000.00"


def test_a_comparison_writes_nothing_and_a_bad_candidate_names_its_rule(world: World) -> None:
    journey_of_three(world)
    world.won("D-6", "12000.00", email="kim@acme.io")
    before = world.store.conversion("deal:standard:D-6")
    answer = world.service.compare({"from": "2026-11", "to": "2026-11", "candidate": {"lookback_days": 5}})
    social = answer["campaigns"]["social"]["linear"]
    assert (social["current"], social["candidate"], social["difference"]) == ("4000.00", "0.00", "-4000.00")
    assert world.store.conversion("deal:standard:D-6") == before
    with pytest.raises(InvalidInput, match="nope"):
        world.service.compare({"candidate": {"channel_mapping": [{"rule_id": "nope", "channel": "paid_serch"}]}})
    with pytest.raises(InvalidInput, match="cannot be compared"):
        world.service.compare({"candidate": {"version": "x"}})


def test_a_hubspot_deal_credited_to_nobody_is_credited_again_when_a_later_event_names_its_buyer(
    world: World,
) -> None:
    # Given kim's three-touch journey, and a HubSpot deal won then priced: HubSpot names no contact, so it is
    # credited to nobody (no touches; the month's revenue, no campaign's)
    journey_of_three(world)
    deal = "hubspot:7001"
    world.service.handle(world.event(EventType.DEAL_WON, {"stage": "closedwon"}, vendor="hubspot", deal_id=deal))
    amount = {"property": "amount", "value": "4800", "amount": "4800"}
    priced = world.service.handle(world.event(EventType.DEAL_UPDATED, amount, vendor="hubspot", deal_id=deal))
    assert priced.conversion is not None
    assert (priced.conversion.contact_ids, priced.conversion.touches) == ((), ())
    # When a Standard Webhooks deal.won of the same deal names kim's email, and is delivered again
    body = {"deal_id": deal, "email": "kim@acme.io"}
    named = world.service.handle(world.event(EventType.DEAL_WON, body, vendor="standard", deal_id=deal))
    again = world.service.handle(world.event(EventType.DEAL_WON, body, vendor="standard", deal_id=deal))
    # Then the same conversion is credited to kim's journey, every model summing exactly to its amount
    conversion = world.store.conversion("deal:hubspot:7001")
    assert conversion is not None
    assert named.conversion == again.conversion == conversion
    assert conversion.conversion_id == priced.conversion.conversion_id
    assert (conversion.amount, conversion.converted_at) == (priced.conversion.amount, priced.conversion.converted_at)
    assert len(conversion.contact_ids) == 1
    assert [t.touch.campaign_id for t in conversion.touches] == ["social", "search", "mail"]
    for model in Model:
        assert sum(t.credits[model].minor for t in conversion.touches) == 480_000, model
    # And the totals moved exactly: the campaigns hold it, the month still counts one conversion of 4,800.00,
    # now marketing-influenced, and nothing is left credited to no campaign
    assert world.service.campaign_totals("social", ["2026-11"]).revenue[Model.FIRST_TOUCH] == 480_000
    assert world.service.campaign_totals("mail", ["2026-11"]).revenue[Model.LAST_TOUCH] == 480_000
    linear = sum(
        world.service.campaign_totals(c, ["2026-11"]).revenue[Model.LINEAR] for c in ("social", "search", "mail")
    )
    assert linear == 480_000
    overall = world.store.overall(["2026-11"])["2026-11"]
    assert (overall.conversions, overall.revenue, overall.influenced_revenue) == (1, 480_000, 480_000)
    # And the deal view shows the journey; make reattribute finds nothing more to do
    assert [t["campaign_id"] for t in deal_view(conversion)["touches"]] == ["social", "search", "mail"]
    assert world.service.reattribute(conversion) == "unchanged"
    assert "credited again" in named.note
    assert "credited before" in again.note
