"""`make reattribute` converges exactly: a history recorded incrementally under settings A, then reattributed under
settings B, stores exactly what a fresh store fed the same history incrementally under B stores (B's channel
mapping moves channels, so the run first fits the data-driven model again on them; the fresh store records with
that fit the latest, as recording after the scheduled fit would): every
conversion's credits under every model, the campaign, channel and overall totals, the open deals' pipeline (per
deal, per campaign, in all), the funnel's entries and the campaign each counts for, and every answer the
attribution APIs build from them (deal views, campaign and channel views, ROI, performance). The re-credited
deals' `conversion.attributed` say what the fresh store's say, with ids of their own (the CRM summary).

Run on the in-memory fake and on the DynamoDB adapter (moto); the lead store is the in-memory fake (the lead
domain's own service fills it), as the attribution store is what is under test.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.provision import table_definition
from ops.reattribute import reattribute
from shared.adapters.dynamodb_attribution import DynamoDbAttributionStore
from shared.attribution.config import AttributionConfig, load_attribution_config, parse_attribution_config
from shared.attribution.journeys import Model
from shared.attribution.markov import fit_markov, path_counts
from shared.attribution.ports import AttributionStore, StoredConversion, StoredFit, Totals
from shared.attribution.reports import MonthRange, campaign_view, channels_view, deal_view
from shared.attribution.service import AttributionService
from shared.catalog import physical_name
from shared.catalog.attribution import ATTRIBUTION
from shared.events.attribution_events import AttributionEvent, AttributionEventType
from shared.events.canonical import EventType, Subject
from shared.events.lead_events import LeadEvent
from shared.finance.config import load_finance_config
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.attribution_fakes import InMemoryAttributionStore, InMemoryCustomerRevenueStore
from tests.canonical_events import canonical_event
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher
from tests.finance_fakes import InMemoryFinanceStore
from tests.integration.conftest import STAGE

FINANCE = load_finance_config()
START = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
MONTHS = ("2026-10", "2026-11")
RECORDED = datetime(2000, 1, 1, tzinfo=UTC)  # what `recorded_at` is compared as: the moment of the write differs
FIT = StoredFit(
    "2026-10#fit",
    "2026-10",
    START,
    fit_markov(
        path_counts(
            [
                (["paid_social", "paid_search", "email"], True),
                (["paid_search", "content"], True),
                (["organic_social", "paid_search"], True),
                (["display", "direct"], False),
                (["paid_social"], False),
                (["email", "direct"], False),
            ]
        )
    ),
)


def settings_a() -> AttributionConfig:
    return load_attribution_config(finance=FINANCE).model_copy(update={"version": "A"})


def settings_b() -> AttributionConfig:
    """Every setting the file holds changed: a 10-day lookback, a 2-day half-life, one-hour visits, and the
    channel mapping (LinkedIn traffic is paid social, email links are content, an email opened on its own is no
    traffic source of its own any more)."""
    document = load_attribution_config(finance=FINANCE).model_dump(mode="json")
    rules = [rule for rule in document["channel_mapping"] if rule["rule_id"] != "email-engagement"]
    for rule in rules:
        if rule["rule_id"] == "email":
            rule["channel"] = "content"
    linkedin = {"rule_id": "linkedin-ads", "channel": "paid_social", "when": {"sources": ["linkedin"]}}
    document.update(
        version="B",
        lookback_days=10,
        half_life_days="2",
        session_timeout_minutes=60,
        channel_mapping=[linkedin, *rules],
    )
    return parse_attribution_config(document, FINANCE)


class Hub:
    """The lead domain and attribution over one attribution store, fed as the bus feeds them: every lead event
    the lead service publishes goes to attribution as it happens."""

    def __init__(self, store: AttributionStore, config: AttributionConfig) -> None:
        self.store = store
        self.clock = FixedClock(START)
        self.lead_bus = RecordingPublisher()
        self.leads_repo = InMemoryLeadRepository(self.lead_bus)
        ids = itertools.count(1)
        self.leads = LeadService(
            self.leads_repo, ScoringModels(load_model()), self.clock, lambda: f"lead-{next(ids):03d}"
        )
        self.finance = InMemoryFinanceStore()
        self.revenue = InMemoryCustomerRevenueStore()
        self.bus = RecordingPublisher()
        self.service = self.attribution(config)
        self._n = itertools.count(1)
        self._forwarded = 0

    def attribution(self, config: AttributionConfig) -> AttributionService:
        return AttributionService(
            store=self.store,
            leads=self.leads_repo,
            fx=self.finance,
            config=config,
            company_currency=FINANCE.company_currency,
            publisher=self.bus,
            clock=self.clock,
            spend=self.finance,
            finance=FINANCE,
            revenue=self.revenue,
        )

    def _event(self, event_type: EventType, data: dict[str, Any], vendor: str = "segment", **subject: Any) -> Any:
        return canonical_event(
            event_type, Subject(**subject), data, at=self.clock.now(), n=next(self._n), series="converge", vendor=vendor
        )

    def _lead(self, event_type: EventType, data: dict[str, Any], **subject: Any) -> None:
        self.leads.handle(self._event(event_type, data, **subject))
        for event in self.lead_bus.published[self._forwarded :]:
            if isinstance(event, LeadEvent):
                self.service.handle_lead_event(event)
        self._forwarded = len(self.lead_bus.published)

    def visit(self, user: str, url: str, anonymous: bool = False) -> None:
        who = f"segment-anonymous:a-{user}" if anonymous else f"segment:{user}"
        data = {"kind": "page_view", "url": url, "path": "/", "anonymous_id": f"a-{user}" if anonymous else None}
        self._lead(EventType.ENGAGEMENT_RECORDED, data, contact_id=who)

    def opened_email(self, user: str) -> None:
        self._lead(EventType.ENGAGEMENT_RECORDED, {"kind": "email_open"}, contact_id=f"segment:{user}")

    def identify(self, user: str, email: str) -> None:
        data = {"traits": {"email": email}, "anonymous_id": f"a-{user}"}
        self._lead(EventType.CONTACT_UPSERTED, data, contact_id=f"segment:{user}", email=email)

    def deal(self, event_type: EventType, deal: str, amount: str, email: str) -> None:
        body = {"amount": amount, "currency": "USD", "email": email}
        self.service.handle(self._event(event_type, body, vendor="standard", deal_id=f"standard:{deal}"))

    def paid(self, customer: str, minor: int, email: str) -> None:
        data = {"amount_minor": minor, "currency": "usd", "object": "invoice", "object_id": f"in_{customer}"}
        who = {"contact_id": f"stripe:{customer}", "account_id": f"stripe:{customer}", "email": email}
        self.service.handle(self._event(EventType.PAYMENT_SUCCEEDED, data, vendor="stripe", **who))

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))


def record_history(hub: Hub) -> None:
    """Four people over a month, touching seven campaigns on six channels; three deals won (one first open), a
    first payment, two deals still open (one priced again), funnel entries in October and November."""
    hub.store.save_fit(FIT)
    hub.visit("u1", "https://acme.test/?utm_campaign=social&utm_medium=paid_social", anonymous=True)
    hub.later(days=1)
    hub.visit("u2", "https://acme.test/?utm_campaign=li&utm_source=linkedin&utm_medium=social", anonymous=True)
    hub.later(days=1)
    hub.identify("u2", "lee@beta.io")
    hub.visit("u3", "https://acme.test/?utm_campaign=display-q4&utm_medium=banner", anonymous=True)
    hub.later(days=2)
    hub.visit("u1", "https://acme.test/pricing?utm_campaign=search&utm_medium=cpc", anonymous=True)
    hub.identify("u1", "kim@acme.io")
    hub.later(minutes=40)  # a visit of its own under 30-minute visits, the same visit under one-hour visits
    hub.visit("u1", "https://acme.test/docs")
    hub.later(days=3)
    hub.visit("u1", "https://acme.test/webinar?utm_campaign=mail&utm_medium=email")
    hub.later(minutes=10)  # an email touch of its own under A; part of the mail visit under B
    hub.opened_email("u1")
    hub.later(days=3)
    hub.deal(EventType.DEAL_WON, "D-1", "12000.00", "kim@acme.io")
    hub.later(days=2)
    hub.visit("u2", "https://acme.test/?utm_campaign=search&utm_medium=cpc")
    hub.later(days=1)
    hub.deal(EventType.DEAL_STAGE_CHANGED, "D-2", "5000.00", "lee@beta.io")
    hub.later(days=2)
    hub.identify("u3", "ana@gamma.io")  # a Lead 13 days after the display ad: (none) under a 10-day lookback
    hub.later(days=1)
    hub.deal(EventType.DEAL_STAGE_CHANGED, "D-3", "3000.00", "ana@gamma.io")
    hub.later(days=2)
    hub.visit("u5", "https://acme.test/?utm_campaign=self-serve&utm_medium=cpc", anonymous=True)
    hub.identify("u5", "sol@solo.dev")
    hub.later(days=1)
    hub.paid("cus_5", 49_000, "sol@solo.dev")
    hub.later(days=1)
    hub.deal(EventType.DEAL_WON, "D-3", "3000.00", "ana@gamma.io")
    hub.later(days=1)
    hub.deal(EventType.DEAL_STAGE_CHANGED, "D-4", "7000.00", "kim@acme.io")
    hub.later(days=1)
    hub.deal(EventType.DEAL_UPDATED, "D-2", "6000.00", "lee@beta.io")
    hub.later(hours=1)


# ------------------------------------------------------------------------------------------- what is stored


@dataclass(frozen=True)
class Stored:
    """Every figure a store holds that the settings decide or the APIs read, comparable across stores."""

    conversions: dict[str, StoredConversion]
    campaigns: dict[str, dict[str, Totals]]
    channels: dict[str, dict[str, Totals]]
    overall: dict[str, Any]
    pipelines: dict[str, Any]
    campaign_pipeline: dict[str, dict[Model, int]]
    total_pipeline: dict[Model, int]
    entries: dict[str, Any]
    funnel: dict[str, Any]
    campaign_funnel: dict[str, dict[str, int]]


def figures(totals: Totals) -> Totals | None:
    """The totals without their zeros (a campaign a reattribution moved away from keeps an item of zeros where
    a fresh store has none: the APIs read both as nothing); None when nothing is left."""
    kept = Totals(
        {m: v for m, v in totals.revenue.items() if v},
        {m: v for m, v in totals.deals.items() if v},
        totals.touches,
        totals.conversions,
    )
    return None if kept == Totals() else kept


def non_zero(by_key: dict[str, Totals]) -> dict[str, Totals]:
    return {key: kept for key, totals in by_key.items() if (kept := figures(totals)) is not None}


def stored(store: AttributionStore) -> Stored:
    conversions = {
        c.conversion_id: replace(c, recorded_at=RECORDED)
        for month in MONTHS
        for c in store.conversions(month, limit=1000).conversions
    }
    campaigns = {
        campaign for c in conversions.values() for campaign in [t.touch.campaign_id or "(none)" for t in c.touches]
    }
    campaigns |= {campaign for p in store.pipelines() for campaign in p.credits}
    entries = {e.event_id: e for e in store.stage_entries(list(MONTHS))}
    campaigns |= {e.campaign_id for e in entries.values()}
    campaigns |= {"social", "li", "display-q4", "search", "mail", "self-serve", "(none)"}
    return Stored(
        conversions=conversions,
        campaigns={month: non_zero(store.campaigns_totals(month)) for month in MONTHS},
        channels={month: non_zero(store.channel_totals(month)) for month in MONTHS},
        overall=store.overall(list(MONTHS)),
        pipelines={p.deal_id: p.credits for p in store.pipelines()},
        campaign_pipeline={c: store.campaign_pipeline(c) for c in sorted(campaigns)},
        total_pipeline=store.total_pipeline(),
        entries=entries,
        funnel=store.monthly_funnel(list(MONTHS)),
        campaign_funnel={c: store.campaign_funnel(c, list(MONTHS)) for c in sorted(campaigns)},
    )


def answers(service: AttributionService, campaigns: list[str]) -> dict[str, Any]:
    """What the attribution APIs answer, as their handlers build it."""
    months = MonthRange.of(service.now().date(), MONTHS[0], MONTHS[-1])
    models = tuple(Model)
    return {
        "deals": {
            deal: deal_view(found)
            for deal in ("D-1", "D-3")
            if (found := service.store.conversion(f"deal:standard:{deal}")) is not None
        },
        "campaigns": {
            c: campaign_view(c, months, service.campaign_totals(c, months.months), service.pipeline(c), models, "USD")
            for c in campaigns
        },
        "channels": channels_view(months, service.channel_totals(months.months), models, "USD"),
        "roi": {c: service.roi(c, months, models) for c in campaigns},
        "performance": {model: service.performance(months, model) for model in Model},
    }


def said(event: AttributionEvent) -> dict[str, Any]:
    return event.model_dump(exclude={"event_id", "occurred_at"})


def attributed(bus: RecordingPublisher) -> list[AttributionEvent]:
    return [
        e
        for e in bus.published
        if isinstance(e, AttributionEvent) and e.event_type is AttributionEventType.CONVERSION_ATTRIBUTED
    ]


# ------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(params=["in-memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[AttributionStore, AttributionStore]]:
    if request.param == "in-memory":
        yield InMemoryAttributionStore(), InMemoryAttributionStore()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        names = []
        for suffix in ("reattributed", "fresh"):
            definition = table_definition(ATTRIBUTION, STAGE)
            definition["TableName"] = f"{physical_name(STAGE, ATTRIBUTION.name)}-{suffix}"
            client.create_table(**definition)
            names.append(definition["TableName"])
        yield DynamoDbAttributionStore(client, names[0]), DynamoDbAttributionStore(client, names[1])


def test_reattribution_under_new_settings_stores_exactly_what_recording_under_them_would(
    stores: tuple[AttributionStore, AttributionStore],
) -> None:
    # Given a history recorded incrementally under settings A
    reattributed, fresh = Hub(stores[0], settings_a()), Hub(stores[1], settings_b())
    record_history(reattributed)
    before = stored(reattributed.store)
    first = {e.conversion_id: e for e in attributed(reattributed.bus)}
    # When the settings become B and the months are reattributed
    reattributed.service = reattributed.attribution(settings_b())
    summary = reattribute(reattributed.service, MonthRange.of(START.date(), MONTHS[0], MONTHS[-1]))
    # Then B's channel mapping moved stored channels, so the data-driven model was fitted again on B's channels
    # first, and that fit is the latest
    refit = reattributed.store.latest_fit()
    assert refit is not None
    assert summary.refit == refit
    assert refit.fit_id != FIT.fit_id
    # And every conversion, its totals, the open deals' pipeline and the funnel are what a fresh store holds that
    # was fed the same history under B with that fit the latest
    fresh.store.save_fit(refit)
    record_history(fresh)
    under_b = stored(fresh.store)
    assert before.pipelines.keys() == under_b.pipelines.keys() == {"standard:D-2", "standard:D-4"}, "two are open"
    # (B changes the credits, the totals, both open deals' pipeline and the campaign of one funnel entry)
    for changed in ("conversions", "campaigns", "channels", "overall", "pipelines", "total_pipeline", "entries"):
        assert getattr(before, changed) != getattr(under_b, changed), changed
    after, expected = stored(reattributed.store), under_b
    assert after.conversions == expected.conversions
    assert (after.campaigns, after.channels, after.overall) == (expected.campaigns, expected.channels, expected.overall)
    assert after.campaign_pipeline == expected.campaign_pipeline
    assert after.total_pipeline == expected.total_pipeline
    assert after.pipelines == expected.pipelines
    assert after.entries == expected.entries
    assert (after.funnel, after.campaign_funnel) == (expected.funnel, expected.campaign_funnel)
    # And the APIs answer alike, to the cent
    fresh.clock.moment = reattributed.clock.moment
    campaigns = sorted(expected.campaign_funnel)
    assert answers(reattributed.service, campaigns) == answers(fresh.service, campaigns)
    # And each re-credited conversion whose conversion.attributed says something else now is announced again,
    # saying what the fresh store's says, with an id of its own (not the first one's: the CRM sync takes it and
    # writes the deal's attribution summary again); the first payment's one touch says the same: not again
    again = attributed(reattributed.bus)[len(first) :]
    recorded_under_b = {e.conversion_id: e for e in attributed(fresh.bus)}
    assert sorted(e.conversion_id or "" for e in again) == ["deal:standard:D-1", "deal:standard:D-3"]
    assert said(first["first-payment:stripe:cus_5"]) == said(recorded_under_b["first-payment:stripe:cus_5"])
    for event in again:
        assert event.conversion_id is not None
        assert said(event) == said(recorded_under_b[event.conversion_id])
        assert event.event_id not in (
            first[event.conversion_id].event_id,
            recorded_under_b[event.conversion_id].event_id,
        )
    # And the run says what it did; a second run finds everything converged and publishes nothing
    assert summary.converged, str(summary)
    assert str(summary).splitlines() == [
        "reattributed 3 conversions of 2026-10 to 2026-11 with settings B: 3 changed, 0 unchanged, 0 changed meanwhile",
        "recomputed the pipeline of 2 open deals: 2 changed, 0 unchanged, 0 changed meanwhile",
        # ana's Lead entry, 13 days after the display ad: (none) under a 10-day lookback
        "recounted 8 funnel entries of 2026-10 to 2026-11: 1 moved to another campaign, 7 unchanged, 0 changed "
        "meanwhile",
        f"refitted the data-driven model on the channels the settings give now: {refit.fit_id}",
    ]
    published = len(reattributed.bus.published)
    again_summary = reattribute(reattributed.service, MonthRange.of(START.date(), MONTHS[0], MONTHS[-1]))
    assert again_summary.converged
    assert [tally.counts["unchanged"] for tally in (again_summary.conversions, again_summary.pipelines)] == [3, 2]
    assert again_summary.entries.counts["unchanged"] == 8
    assert len(reattributed.bus.published) == published
    assert stored(reattributed.store) == after
