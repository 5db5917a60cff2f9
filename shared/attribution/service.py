"""The attribution use cases: fold deal events into deals, and credit each conversion (a won deal with an
amount, a new customer's first payment) to the touches of its journey under every model, once.

A conversion is written once (the store's conditional write on its id): a duplicate `deal.won`, Salesforce's
repeated won messages and Stripe's several objects for one payment credit nothing more. The amount is credited
in the company currency: converted with the finance FX table of its month (or quarter); without a rate the
conversion is refused (an InvalidInput: the event goes to the dead-letter queue with the table to PUT, and
`make redrive` credits it once the rate is there). `conversion.attributed` is published after the write; if the
bus fails, the retry finds the conversion stored and publishes it again with the same id (consumers de-duplicate
on it). A conversion credited again (a reattribution, a buyer named later) is written marked `unannounced` and its
new event, with an id of its own, published after: whoever reads it marked next publishes it and clears the mark
(an outbox), so the bus never says what the store does not hold and a lost publish is not lost.

After a settings change (`make reattribute`, `ops/reattribute.py`) everything the settings decide is recomputed
as recording it now would store it: a conversion (`reattribute`: published again, with an id of its own, when
what its event says changes), an open deal's pipeline (`repipeline`), a funnel entry's campaign (`recount`).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from shared.attribution.comparison import (
    MAX_CONVERSIONS,
    candidate_config,
    check_touches,
    comparison_view,
    sides,
    window_outlines,
)
from shared.attribution.config import AttributionConfig
from shared.attribution.crediting import credited_touches, half_life_of
from shared.attribution.customers import NewCustomers, campaign_units
from shared.attribution.data_driven import (
    Progress,
    Refit,
    fit_window,
    months_between,
    stored_channels,
    window_conversions,
    window_fit,
)
from shared.attribution.deals import (
    ConversionFacts,
    ConversionKind,
    Deal,
    DealReport,
    DealStatus,
    deal_conversion,
    deal_report,
    first_payment,
)
from shared.attribution.funnel import recounted_campaign, stage_entry
from shared.attribution.funnel_counts import StageEntry
from shared.attribution.journey_builder import LeadLog, build_journey
from shared.attribution.journeys import Model, Role
from shared.attribution.pipeline import campaign_credits
from shared.attribution.ports import (
    NO_CAMPAIGN,
    AttributionStore,
    CustomerRevenueStore,
    DealPipeline,
    StaleDeal,
    StaleRevenue,
    StoredConversion,
    StoredFit,
    Totals,
)
from shared.attribution.reattribution import (
    CHANGED,
    STALE,
    UNCHANGED,
    credited_conversion,
    rebuilt,
    unchanged,
    widened_people,
)
from shared.attribution.reports import CampaignResult, MonthRange, performance_view, roi_view, total_of
from shared.attribution.revenue import (
    CustomerRevenue,
    LifetimeValue,
    SubscriptionChange,
    lifetime_value,
    subscription_change,
)
from shared.attribution.superseding import around, customer_names, superseded
from shared.errors import InvalidInput
from shared.events.attribution_events import AttributionEvent, AttributionEventType
from shared.events.canonical import CanonicalEvent
from shared.events.lead_events import LeadEvent
from shared.finance.config import FinanceConfig
from shared.finance.fx import FxTable, MissingRate, plain
from shared.finance.money import Money, format_amount
from shared.finance.periods import parse_period, quarter_of
from shared.finance.spend import SpendKey
from shared.leads.identity import vendor_identity
from shared.leads.model import EngagementRecord, Identity
from shared.webhooks.ports import EventPublisher

MAX_ATTEMPTS = 8
# Identities that name a person or a company, not a billing customer: never a key of customer revenue.
_NOT_CUSTOMER_KINDS = frozenset({"email", "phone", "domain"})


class Clock(Protocol):
    def now(self) -> datetime: ...


class FxSource(Protocol):
    def fx(self, period: str) -> FxTable | None: ...


class SpendSource(Protocol):
    """The finance ledger's monthly aggregates, keyed by (department, channel, campaign), in company minor units."""

    def aggregates(self, period: str) -> dict[SpendKey, int]: ...


class BusRefused(RuntimeError):
    """The bus refused attribution events (EventBridge's failed entries): nothing more was done; try again."""


@dataclass(frozen=True)
class CampaignCustomers:
    new: dict[Model, int]  # attributed new customers per model, in deal units (millionths)
    ltv: LifetimeValue


@dataclass(frozen=True)
class Outcome:
    conversion: StoredConversion | None = None
    deal: Deal | None = None
    events: list[AttributionEvent] = field(default_factory=list)
    note: str = ""


class AttributionService:
    def __init__(
        self,
        store: AttributionStore,
        leads: LeadLog,
        fx: FxSource,
        config: AttributionConfig,
        company_currency: str,
        publisher: EventPublisher | None,
        clock: Clock,
        spend: SpendSource | None = None,
        finance: FinanceConfig | None = None,
        revenue: CustomerRevenueStore | None = None,
    ) -> None:
        self.store = store
        self.leads = leads
        self.config = config
        self.company_currency = company_currency
        self._fx = fx
        self._publisher = publisher
        self._clock = clock
        self.spend = spend
        self._finance = finance
        self.revenue = revenue
        self._half_life = half_life_of(config)

    def handle(self, event: CanonicalEvent) -> Outcome:
        """A canonical event from the bus: deal events update their deal (and credit it once won with an
        amount, or count it as pipeline while open); a payment may be a new customer's first. Anything else is
        ignored."""
        report = deal_report(event, self.company_currency)
        if report is not None:
            deal, aliases = self._fold(report)
            for alias in aliases:
                self._update_pipeline(alias)  # a HubSpot deal folded into its Salesforce deal counts for none
            pipeline_note = self._update_pipeline(deal)
            facts = deal_conversion(deal, event.event_id)
            if facts is None:
                superseded = self._supersede_aliases(deal)
                if pipeline_note:
                    return Outcome(deal=deal, events=superseded, note=pipeline_note)
                known = deal.amount is not None
                note = f"deal {deal.deal_id} is {deal.status} (amount known: {known})"
                return Outcome(deal=deal, events=superseded, note=note)
            outcome = self.credit(facts)
            events = [*outcome.events, *self._supersede_aliases(deal)]
            return Outcome(outcome.conversion, deal, events, outcome.note)
        payment = first_payment(event)
        if payment is not None:
            return self.credit(payment)
        change = subscription_change(event)
        if change is not None:
            return self._record_revenue(change)
        return Outcome(note=f"{event.event_type} is not a deal, a payment or a subscription change")

    def _record_revenue(self, change: SubscriptionChange) -> Outcome:
        """Fold a subscription change into its customer's revenue (LTV); a redelivery or an older change than
        the subscription's held state changes nothing."""
        if self.revenue is None:
            raise RuntimeError("this function keeps no customer revenue")
        for _ in range(MAX_ATTEMPTS):
            held = self.revenue.revenues([change.customer_key]).get(change.customer_key)
            current = held or CustomerRevenue(change.customer_key)
            folded = current.folded(change)
            if folded == current:
                return Outcome(note=f"{change.subscription_id} of {change.customer_key}: holds this or a later change")
            try:
                self.revenue.save_revenue(folded)
            except StaleRevenue:
                continue
            return Outcome(note=f"{change.subscription_id} of {change.customer_key}: {change.status}")
        raise RuntimeError(f"the revenue of {change.customer_key} kept changing under {MAX_ATTEMPTS} attempts")

    def handle_lead_event(self, event: LeadEvent) -> Outcome:
        """A lead event: a first score or an entry into a funnel stage is counted once, for its month and the
        campaign that brought it."""
        entry = stage_entry(event, self.leads, self.config)
        if entry is None:
            return Outcome(note=f"{event.event_type} of {event.lead_id} is not a funnel entry")
        counted = self.store.record_stage_entry(entry)
        state = "counted" if counted else "counted before"
        return Outcome(note=f"{entry.stage} entry of {entry.lead_id} ({entry.campaign_id}) {state}")

    def _update_pipeline(self, deal: Deal) -> str:
        """An open deal with an amount counts as its journey's pipeline; any other deal counts for none."""
        credits, note = self._pipeline_of(deal)
        for _ in range(MAX_ATTEMPTS):
            stored = self.store.deal_pipeline(deal.deal_id)
            if stored is None and credits is None:
                return note
            try:
                self.store.set_pipeline(deal.deal_id, credits, stored.version if stored else 0)
                return note
            except StaleDeal:
                continue
        raise RuntimeError(f"the pipeline of deal {deal.deal_id} kept changing under {MAX_ATTEMPTS} attempts")

    def _pipeline_of(self, deal: Deal) -> tuple[dict[str, dict[Model, int]] | None, str]:
        """The deal's contribution to pipeline (campaign -> model -> company minor units) with the settings in
        force, the lead store as it stands and the latest fit; None for a deal that counts for none. A deal
        whose amount has no FX rate yet is left out of pipeline (and says so) rather than refused.

        A deal credited as won (its conversion stored) and reopened since is no pipeline: a conversion is never
        withdrawn, so the deal counts once, as the revenue of its win, whatever its stage now (won again: the
        same conversion, its amount corrected; lost: it stays the revenue it was)."""
        if (
            deal.alias_of is not None
            or deal.status is not DealStatus.OPEN
            or deal.amount is None
            or deal.amount.minor < 0
        ):
            return None, ""
        credited = [deal.conversion_id, *(f"deal:{alias}" for alias in deal.aliases)]
        if deal.won_at is not None and any(self.store.conversion(one) is not None for one in credited):
            return None, f"deal {deal.deal_id} reopened: counted as the revenue of its win, not as pipeline"
        facts = ConversionFacts(
            conversion_id=deal.conversion_id,
            kind=ConversionKind.DEAL,
            converted_at=deal.as_of,
            amount=deal.amount,
            people=deal.people,
            deal_id=deal.deal_id,
            opportunity_created_at=deal.first_seen_at,
        )
        try:
            company, _ = self._in_company_currency(deal.amount, deal.as_of)
        except MissingRate as exc:
            return None, f"deal {deal.deal_id} left out of pipeline: {exc}"
        journey, _ = build_journey(self.leads, self.config, facts, company.minor, self.company_currency)
        latest = self.store.latest_fit()
        credits = campaign_credits(credited_touches(journey, self._half_life, latest.fit if latest else None))
        return credits, f"deal {deal.deal_id} open: pipeline over {len(credits)} campaign(s)"

    def repipeline(self, contribution: DealPipeline) -> str:
        """An open deal's contribution to pipeline (as `store.pipelines` read it) recomputed as the deal's latest
        event would set it now (`_pipeline_of`: the settings in force, the lead store as it stands, the latest
        fit), and replaced when it differs, its campaigns' and the total pipeline moved by the difference in the
        same write (`make reattribute`). "changed", "unchanged" (nothing written) or "stale": the contribution
        moved since it was read (the deal changed: its own event set it again). Publishes nothing."""
        deal = self.store.deal(contribution.deal_id)
        credits = None if deal is None else self._pipeline_of(deal)[0]
        if credits == contribution.credits:
            return UNCHANGED
        try:
            self.store.set_pipeline(contribution.deal_id, credits, contribution.version)
        except StaleDeal:
            return STALE
        return CHANGED

    def recount(self, entry: StageEntry) -> str:
        """A counted funnel entry (as `store.stage_entries` read it) given the campaign counting it now would
        give it (`funnel.recounted_campaign`: the settings in force, the lead store as it stands), moved to it
        when it differs (`make reattribute`); an entry whose lead was erased is left as counted. "changed",
        "unchanged" (nothing written) or "stale": it was moved since it was read."""
        campaign = recounted_campaign(entry, self.leads, self.config)
        if campaign is None or campaign == entry.campaign_id:
            return UNCHANGED
        return CHANGED if self.store.move_stage_entry(entry, campaign) else STALE

    def fit_data_driven(self, progress: Progress = lambda _: None) -> Refit:
        """The scheduled batch: fit the Markov model on the window's journeys, re-credit its conversions, and
        publish `attribution.model_fitted`."""
        refit = fit_window(
            self.store, self._people(), self.config, self._clock.now(), self.config.data_driven_window_days, progress
        )
        self._publish([self._fitted_event(refit.fit, refit.recredited)])
        return refit

    def refit_on_current_channels(self, progress: Progress = lambda _: None) -> StoredFit | None:
        """A reattribution's first pass (`make reattribute`): the latest data-driven fit was made on the channels
        the window's conversions have stored, which a channel mapping change moves; crediting with it would
        leave the data-driven credits on the old channels (linear for a journey whose channels the fit does not
        know) until the scheduled fit and a second reattribution. So when the settings in force give some of the
        window's conversions other channels than stored, the model is fitted again with those channels (the
        journeys that did not convert are read with the settings in force already), saved as the latest and
        announced (`attribution.model_fitted`), and the reattribution that follows credits the conversions and
        the open deals with it. None, nothing saved: no fit yet (data-driven is linear, nothing to refit), no
        channel moved, or the fit comes out as the latest (a run after a converged one: no new fit id that
        would re-credit everything again). The window's conversions are not re-credited here: the
        reattribution rebuilds its months' with the fit, any others follow at the next scheduled fit."""
        latest = self.store.latest_fit()
        if latest is None:
            return None
        now, window_days = self._clock.now(), self.config.data_driven_window_days
        moved: dict[str, list[str]] = {}
        for conversion in window_conversions(self.store, months_between(now - timedelta(days=window_days), now)):
            if conversion.people_erased:  # its journey cannot be rebuilt: its stored channels stand
                continue
            again = rebuilt(conversion, self.leads, self.config, self._half_life, latest, now)
            if (channels := stored_channels(again)) != stored_channels(conversion):
                moved[conversion.conversion_id] = channels
        if not moved:
            return None
        _, fit = window_fit(
            self.store,
            self._people(),
            self.config,
            now,
            window_days,
            progress,
            lambda conversion: moved.get(conversion.conversion_id, stored_channels(conversion)),
        )
        if fit.fit == latest.fit:
            return None
        self.store.save_fit(fit)
        if self._publisher is not None:
            self._publish([self._fitted_event(fit)])
        return fit

    def _fitted_event(self, fit: StoredFit, recredited: int | None = None) -> AttributionEvent:
        return AttributionEvent(
            event_id=AttributionEvent.id_for("fit", fit.fit_id),
            event_type=AttributionEventType.MODEL_FITTED,
            occurred_at=fit.fitted_at,
            period=fit.period,
            company_currency=self.company_currency,
            journeys=fit.fit.journeys,
            conversions=fit.fit.conversions,
            removal_effects={
                channel: plain((Decimal(effect.numerator) / effect.denominator).quantize(Decimal("1e-10")))
                for channel, effect in fit.fit.removal_effects.items()
            },
            fit_id=fit.fit_id,
            recredited=recredited,
        )

    def _people(self) -> Iterator[tuple[str, list[EngagementRecord]]]:
        """Every surviving contact with its log; contacts read a hundred at a time (one batch get each)."""
        ids = self.leads.contact_ids()
        while chunk := list(itertools.islice(ids, 100)):
            found = self.leads.contacts(chunk)
            for contact_id in chunk:
                contact = found.get(contact_id)
                if contact is not None and contact.merged_into is None:
                    yield contact_id, self.leads.engagements([contact_id, *contact.members])

    def compare(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """The months' conversions under the candidate settings beside the current ones (writes nothing)."""
        if self._finance is None:
            raise RuntimeError("comparing settings needs the finance file (its channels)")
        start, end = _text_field(body, "from"), _text_field(body, "to")
        months = MonthRange.of(self._clock.now().date(), start, end)
        candidate = candidate_config(self.config, body, self._finance)
        conversions = list(itertools.islice(window_outlines(self.store, list(months.months)), MAX_CONVERSIONS + 1))
        if len(conversions) > MAX_CONVERSIONS:
            raise InvalidInput(
                f"from {months.start} to {months.end} holds more than {MAX_CONVERSIONS} conversions: compare fewer "
                "months per call"
            )
        check_touches(conversions, months.start, months.end)
        latest = self.store.latest_fit()
        fit = latest.fit if latest else None
        now, then = sides(conversions, self.leads, [self.config, candidate], fit)
        return comparison_view(now, then, self.company_currency, (months.start, months.end), len(conversions))

    # --- reads ---------------------------------------------------------------------------------------------

    def deal_credit(self, deal_id: str) -> StoredConversion | None:
        """The conversion that credits the deal: its own, or, for a HubSpot deal counted as its Salesforce deal
        (`deals.py`), the Salesforce deal's; None when the deal has not been credited."""
        conversion = self.store.conversion(f"deal:{deal_id}")
        if conversion is not None and conversion.superseded_by is None:
            return conversion
        if conversion is not None and conversion.superseded_by is not None:
            return self.store.conversion(conversion.superseded_by) or conversion
        deal = self.store.deal(deal_id)
        if deal is None or deal.alias_of is None:
            return None
        return self.store.conversion(f"deal:{deal.alias_of}")

    def campaign_totals(self, campaign_id: str, periods: Sequence[str]) -> Totals:
        return total_of(self.store.campaign_totals(campaign_id, periods).values())

    def channel_totals(self, periods: Sequence[str]) -> dict[str, Totals]:
        """Each channel the months' conversions credit; a channel a reattribution moved every credit away from
        (its totals kept at 0) is none, as it would be had the conversions been recorded so."""
        by_channel: dict[str, Totals] = {}
        for period in periods:
            for channel, totals in self.store.channel_totals(period).items():
                by_channel[channel] = by_channel.get(channel, Totals()).plus(totals)
        return {channel: totals for channel, totals in by_channel.items() if _credits_any(totals)}

    def campaign_ltv(self, campaign_id: str, periods: Sequence[str]) -> LifetimeValue:
        return self.campaign_customers(campaign_id, periods).ltv

    def campaign_customers(self, campaign_id: str, periods: Sequence[str]) -> CampaignCustomers:
        """The campaign's attributed new customers in the months (what CAC divides by, `customers.py`: each
        customer's first conversion of the months, shared like its deal units) and what its customers are worth
        (`shared.attribution.revenue`), from one read of the months' conversions in time order: those whose
        journey touched the campaign are kept, and their billing customers found through the identities of
        their accounts and contacts (one batch read each; a customer converting twice counts once)."""
        if self.revenue is None:
            raise RuntimeError("this function reads no customer revenue")
        keys: set[str] = set()
        contact_ids: set[str] = set()
        account_ids: set[str] = set()
        first = NewCustomers()
        new: dict[Model, int] = dict.fromkeys(Model, 0)
        for conversion in window_conversions(self.store, list(periods)):
            is_first = first.is_first(conversion)  # every conversion: a customer's first may touch another campaign
            units = campaign_units(conversion, campaign_id)
            if not units:
                continue
            if is_first:
                for model, share in units.items():
                    new[model] += share
            if conversion.kind is ConversionKind.FIRST_PAYMENT:
                customer = vendor_identity(conversion.conversion_id.removeprefix("first-payment:"))
                if customer is not None:
                    keys.add(customer.key)
            contact_ids.update(conversion.contact_ids)
            if conversion.account_id:
                account_ids.add(conversion.account_id)
        named: set[str] = set()
        for contact in self.leads.contacts(sorted(contact_ids)).values():
            named |= contact.identities
        for account_id in sorted(account_ids):
            if (account := self.leads.account(account_id)) is not None:
                named |= account.identities
        keys |= {key for key in named if _names_a_customer(key)}
        found = self.revenue.revenues(sorted(keys))
        return CampaignCustomers(new, lifetime_value(found.values(), self.company_currency, self._clock.now()))

    def roi(self, campaign_id: str, months: MonthRange, models: Sequence[Model]) -> dict[str, Any]:
        """The campaign's ROI answer (`reports.roi_view`) over the months."""
        periods = list(months.months)
        customers = self.campaign_customers(campaign_id, periods)
        return roi_view(
            campaign_id,
            months,
            self.campaign_spend(campaign_id, periods),
            self.campaign_totals(campaign_id, periods),
            self.pipeline(campaign_id),
            models,
            self.company_currency,
            self.funnel(campaign_id, periods),
            customers.ltv,
            customers=customers.new,
        )

    def campaign_spend(self, campaign_id: str, periods: Sequence[str]) -> int:
        """The campaign's spend in the months (company minor units), from the ledger's monthly aggregates."""
        return self._spend_by_campaign(periods).get(campaign_id, 0)

    def performance(self, months: MonthRange, model: Model) -> dict[str, Any]:
        periods = list(months.months)
        by_campaign: dict[str, Totals] = {}
        for period in periods:
            for campaign, totals in self.store.campaigns_totals(period).items():
                by_campaign[campaign] = by_campaign.get(campaign, Totals()).plus(totals)
        by_campaign = {campaign: totals for campaign, totals in by_campaign.items() if _credits_any(totals)}
        spend = self._spend_by_campaign(periods)
        campaigns = [
            CampaignResult(campaign, by_campaign.get(campaign, Totals()).revenue.get(model, 0), spend.get(campaign, 0))
            for campaign in sorted(set(by_campaign) | set(spend))
            if campaign != NO_CAMPAIGN
        ]
        return performance_view(
            months,
            model,
            self.store.funnel(periods),
            self.store.monthly_funnel(periods),
            self.store.overall(periods),
            self.store.total_pipeline(),
            campaigns,
            self.company_currency,
        )

    def _spend_by_campaign(self, periods: Sequence[str]) -> dict[str, int]:
        if self.spend is None:
            raise RuntimeError("this function has no access to the spend ledger")
        spend: dict[str, int] = defaultdict(int)
        for period in periods:
            for (_, _, campaign), amount in self.spend.aggregates(period).items():
                if campaign:
                    spend[campaign] += amount
        return dict(spend)

    def pipeline(self, campaign_id: str) -> dict[Model, int]:
        return self.store.campaign_pipeline(campaign_id)

    def funnel(self, campaign_id: str, periods: Sequence[str]) -> dict[str, int]:
        """The leads, MQLs and SQLs the campaign brought (what cost per lead / MQL / SQL divide by)."""
        counts = self.store.campaign_funnel(campaign_id, periods)
        return {stage: counts.get(stage, 0) for stage in ("Lead", "MQL", "SQL")}

    def _fold(self, report: DealReport) -> tuple[Deal, list[Deal]]:
        """The deal the report is about with the report folded in, and the HubSpot deal that is it (an alias,
        whose reports are the Salesforce deal's: `deals.py`), if any. A HubSpot deal's report naming its
        Salesforce Opportunity for the first time folds the HubSpot deal into the Salesforce one (created from it
        when not seen yet) and marks it an alias, both in one write on condition of the versions read; a later
        report naming another Opportunity moves nothing (the first link stands)."""
        for _ in range(MAX_ATTEMPTS):
            stored = self.store.deal(report.deal_id)
            if stored is not None and stored.alias_of is not None:
                return self._fold_one(replace(report, deal_id=stored.alias_of, salesforce_deal_id=None)), [stored]
            link = report.salesforce_deal_id
            if link is None or link == report.deal_id:
                return self._fold_one(report), []
            target = self.store.deal(link)
            if target is not None and target.alias_of is not None:
                return self._fold_one(report), []  # a Salesforce deal is never an alias: a link the hub cannot follow
            hub = Deal.first(report) if stored is None else stored.folded(report)
            if target is None:
                canonical = replace(hub, deal_id=link, version=0, aliases=(hub.deal_id,))
            else:
                canonical = target.absorbed(replace(hub, aliases=()))
            try:
                saved, alias = self.store.save_deals([canonical, replace(hub, alias_of=link)])
            except StaleDeal:
                continue
            return saved, [alias]
        raise RuntimeError(f"deal {report.deal_id} kept changing under {MAX_ATTEMPTS} attempts to update it")

    def _fold_one(self, report: DealReport) -> Deal:
        for _ in range(MAX_ATTEMPTS):
            stored = self.store.deal(report.deal_id)
            deal = Deal.first(report) if stored is None else stored.folded(report)
            if stored is not None and replace(deal, events=stored.events) == stored:
                return stored  # a report it holds already (a redelivery, a replay): nothing to count or write
            try:
                return self.store.save_deal(deal)
            except StaleDeal:
                continue
        raise RuntimeError(f"deal {report.deal_id} kept changing under {MAX_ATTEMPTS} attempts to update it")

    def _supersede_aliases(self, deal: Deal) -> list[AttributionEvent]:
        """A Salesforce deal credited that HubSpot deals were folded into: their conversions (credited before
        the link was known) are superseded by its own, their totals moved down by what they held."""
        if not deal.aliases or self.store.conversion(deal.conversion_id) is None:
            return []
        events: list[AttributionEvent] = []
        for alias in deal.aliases:
            held = self.store.conversion(f"deal:{alias}")
            if held is not None:
                events += self._supersede(held, deal.conversion_id)
        return events

    def _supersede(self, stored: StoredConversion, by: str) -> list[AttributionEvent]:
        """The conversion emptied and marked counted by `by` (`superseding.superseded`), its totals moved by the
        difference in one write as a reattribution moves them, marked `unannounced` in that write, then its
        `conversion.attributed` published with an id of its own (what it says now: nothing). Done already:
        nothing (but publishing what a bus refusal left marked)."""
        for _ in range(MAX_ATTEMPTS):
            if stored.superseded_by is not None:
                return [self._announce(stored)[0]] if stored.unannounced else []
            emptied = replace(superseded(stored, by, self._clock.now()), unannounced=True)
            if self.store.replace_conversion(stored, emptied):
                return [self._announce(emptied)[0]]
            again = self.store.conversion(stored.conversion_id)  # replaced or re-credited meanwhile: read again
            if again is None:
                raise RuntimeError(f"{stored.conversion_id} vanished while it was superseded")
            stored = again
        raise RuntimeError(f"{stored.conversion_id} kept changing under {MAX_ATTEMPTS} attempts to supersede it")

    def _same_customer(self, conversion: StoredConversion, kind: ConversionKind) -> list[StoredConversion]:
        """The stored conversions of `kind` of the conversion's customer (`superseding.customer_names`) within
        the lookback window either side of it, but those superseded: the months' outlines read, each match read
        whole."""
        names = customer_names(conversion)
        if not names:
            return []
        lookback = timedelta(days=self.config.lookback_days)
        start, end = around(conversion.converted_at, lookback, self._clock.now())
        found = []
        for outline in window_outlines(self.store, months_between(start, end)):
            if outline.kind is not kind or outline.conversion_id == conversion.conversion_id:
                continue
            if not start <= outline.converted_at <= conversion.converted_at + lookback:
                continue
            if names & customer_names(outline):
                held = self.store.conversion(outline.conversion_id)
                if held is not None and held.superseded_by is None:
                    found.append(held)
        return found

    def credit(self, facts: ConversionFacts) -> Outcome:
        stored = self.store.conversion(facts.conversion_id)
        if stored is not None and stored.superseded_by is not None:
            events = [self._announce(stored)[0]] if stored.unannounced else []
            return Outcome(stored, events=events, note=f"{facts.conversion_id} is counted by {stored.superseded_by}")
        if stored is not None:
            stored, widened = self._with_people_named(stored, facts)
            stored, corrected = self._with_amount_corrected(stored, facts)
            if stored.unannounced:
                # credited again (now, or before a bus refusal this is the retry of): its own event, as stored
                event, cleared = self._announce(stored)
                events = [event]
                stored = cleared or self.store.conversion(facts.conversion_id) or stored
            else:
                events = [self.event_of(stored)]  # again, same id: a retry after the bus failed must still publish
                self._publish(events)
            if corrected:
                amount = f"{format_amount(stored.amount)} {stored.amount.currency}"
                return Outcome(stored, events=events, note=f"{facts.conversion_id} credited again for {amount}")
            if widened:
                people = ", ".join(stored.contact_ids)
                return Outcome(stored, events=events, note=f"{facts.conversion_id} credited again to {people}")
            return Outcome(stored, events=events, note=f"{facts.conversion_id} was credited before")
        conversion = self.conversion_of(facts)
        earlier: list[AttributionEvent] = []
        if conversion.kind is ConversionKind.DEAL:
            # a won deal counts its customer's first payment: one credited before it is superseded, before the
            # deal is recorded (a failure between is retried with the event, the deal not recorded yet)
            for payment in self._same_customer(conversion, ConversionKind.FIRST_PAYMENT):
                earlier += self._supersede(payment, conversion.conversion_id)
        elif deals := self._same_customer(conversion, ConversionKind.DEAL):
            by = deals[0].conversion_id
            taken = superseded(conversion, by, conversion.recorded_at)
            if not self.store.record(taken):
                return self.credit(facts)  # a concurrent writer recorded it: as stored
            return Outcome(taken, note=f"{facts.conversion_id} not credited: the customer's won deal {by} counts it")
        if not self.store.record(conversion):
            conversion = self.store.conversion(facts.conversion_id) or conversion  # a concurrent writer won
        events = [self.event_of(conversion)]
        self._publish(events)
        return Outcome(conversion, events=[*earlier, *events], note=f"{facts.conversion_id} credited")

    def _with_people_named(self, stored: StoredConversion, facts: ConversionFacts) -> tuple[StoredConversion, bool]:
        """A credited deal a later event names people for that it lacks (a HubSpot deal credited before anyone
        named its buyer: `reattribution.widened_people`) is credited again to them: rebuilt with its journey and
        replaced, its totals moved by the difference, as a reattribution does (same conversion id), marked
        `unannounced` in the same write (its `conversion.attributed` says something else now, and the CRM
        summary took the first: `credit` publishes it with an id of its own after the write). True when it was;
        the stored conversion as it stands either way."""
        for _ in range(MAX_ATTEMPTS):
            if stored.kind is not ConversionKind.DEAL or stored.people_erased:
                return stored, False
            people = widened_people(self.leads, stored, facts.people)
            if people is None:
                return stored, False
            latest = self.store.latest_fit()
            new = rebuilt(stored, self.leads, self.config, self._half_life, latest, self._clock.now(), people)
            new = replace(new, unannounced=True)
            if self.store.replace_conversion(stored, new):
                return new, True
            again = self.store.conversion(stored.conversion_id)  # replaced or re-credited meanwhile: read again
            if again is None:
                raise RuntimeError(f"{stored.conversion_id} vanished while it was credited again")
            stored = again
        raise RuntimeError(f"{stored.conversion_id} kept changing under {MAX_ATTEMPTS} attempts to credit it again")

    def _with_amount_corrected(self, stored: StoredConversion, facts: ConversionFacts) -> tuple[StoredConversion, bool]:
        """A credited deal whose amount a later event corrects (the deal's latest amount, `Deal.folded`: a
        redelivered older event does not undo it) is credited again for it, as `_with_people_named` credits it
        again to its buyer: its journey rebuilt (its time and people kept), converted at the rate of its month,
        replaced with its totals moved by the difference and marked `unannounced` in the same write (`credit`
        publishes its `conversion.attributed` after the write). True when it was."""
        for _ in range(MAX_ATTEMPTS):
            if stored.kind is not ConversionKind.DEAL or stored.people_erased or facts.amount == stored.amount:
                return stored, False
            company, rate = self._in_company_currency(facts.amount, stored.converted_at)
            corrected = replace(stored, amount=facts.amount, company_minor=company.minor, rate=rate)
            latest = self.store.latest_fit()
            new = rebuilt(corrected, self.leads, self.config, self._half_life, latest, self._clock.now())
            if self.store.replace_conversion(stored, replace(new, unannounced=True)):
                return replace(new, unannounced=True), True
            again = self.store.conversion(stored.conversion_id)  # replaced or re-credited meanwhile: read again
            if again is None:
                raise RuntimeError(f"{stored.conversion_id} vanished while its amount was corrected")
            stored = again
        raise RuntimeError(f"{stored.conversion_id} kept changing under {MAX_ATTEMPTS} attempts to correct it")

    def conversion_of(self, facts: ConversionFacts) -> StoredConversion:
        """The conversion with its journey and credits, as it would be stored now (writes nothing)."""
        company, rate = self._in_company_currency(facts.amount, facts.converted_at)
        journey, people = build_journey(self.leads, self.config, facts, company.minor, self.company_currency)
        latest = self.store.latest_fit()
        in_company = Money(company.minor, self.company_currency)
        return credited_conversion(
            facts, journey, people, in_company, rate, self.config, self._half_life, latest, self._clock.now()
        )

    def reattribute(self, conversion: StoredConversion) -> str:
        """Rebuilds a stored conversion with the settings in force and the latest fit, exactly as recording it
        now would (`reattribution.rebuilt`: its identity, amounts and people kept), and replaces it when
        anything but `recorded_at` differs, its month's totals moved by the difference in the same write.
        "changed" (replaced), "unchanged" (nothing written) or "stale": the stored conversion is not `conversion`
        any more (replaced or re-credited since it was read; read it again).

        When the replacement changes what its `conversion.attributed` says (its touches, first and last
        campaigns, credits), that is published again (`recredited_event`), so the CRM sync writes the deal's
        attribution summary again: after the replacement is written, marked `unannounced` in the same write (an
        outbox), so the bus never says what the store does not hold (a refused or stale replacement publishes
        nothing). BusRefused when the bus refuses it: the replacement stands, marked, and the next run (or the
        deal's next event) publishes it before anything else; a conversion read marked is announced first.
        Without a publisher, nothing is published (and a mark stays for a run that has one).

        A conversion credited to someone since erased is left as it is: their touches are gone from the lead
        store, so a rebuilt journey would lose them and move the campaign totals the erasure kept."""
        if conversion.people_erased:
            return UNCHANGED
        if conversion.unannounced and self._publisher is not None:
            _, cleared = self._announce(conversion)  # a re-credit whose publish failed after its write
            if cleared is None:
                return STALE
            conversion = cleared
        if conversion.superseded_by is not None:
            return UNCHANGED  # another conversion counts its money: nothing to credit
        latest = self.store.latest_fit()
        new = rebuilt(conversion, self.leads, self.config, self._half_life, latest, self._clock.now())
        if unchanged(conversion, new):
            return UNCHANGED
        said_otherwise = _said(self.recredited_event(new)) != _said(self.event_of(conversion))
        announce = self._publisher is not None and said_otherwise
        pending = replace(new, unannounced=announce or conversion.unannounced)
        if not self.store.replace_conversion(conversion, pending):
            return STALE
        if announce:
            self._announce(pending)  # a refusal leaves it marked: announced by the next run
        return CHANGED

    def _announce(self, conversion: StoredConversion) -> tuple[AttributionEvent, StoredConversion | None]:
        """Publishes the `conversion.attributed` of a stored conversion marked `unannounced` (`recredited_event`:
        an id derived from what is stored, so publishing it twice is a duplicate consumers drop), then clears the
        mark on condition it is still what was read. The event, and the conversion as stored cleared (None when
        it changed meanwhile: whoever changed it keeps or sets the mark). BusRefused leaves it marked."""
        event = self.recredited_event(conversion)
        self._publish([event])
        cleared = replace(conversion, unannounced=False)
        return event, cleared if self.store.replace_conversion(conversion, cleared) else None

    def recredited_event(self, conversion: StoredConversion) -> AttributionEvent:
        """`conversion.attributed` of a conversion re-credited by a reattribution: the same fields as when it
        was recorded, with an id of its own, derived from the conversion's id, its settings version and the
        moment it was re-credited (its `recorded_at`), so a consumer that took the first (the CRM summary)
        takes this one too, and the same stored conversion announced again has the same id."""
        event = self.event_of(conversion)
        moment = conversion.recorded_at.isoformat()
        event_id = AttributionEvent.id_for("conversion", conversion.conversion_id, conversion.settings_version, moment)
        return event.model_copy(update={"event_id": event_id})

    def _in_company_currency(self, amount: Money, at: datetime) -> tuple[Money, Decimal]:
        if amount.currency == self.company_currency:
            return amount, Decimal(1)
        month = parse_period(at.strftime("%Y-%m"))
        table = self._fx.fx(str(month)) or self._fx.fx(str(quarter_of(month)))
        if table is None:
            raise MissingRate(amount.currency, month, self.company_currency)
        converted = table.to_base(amount)
        return converted.amount, converted.rate

    def event_of(self, conversion: StoredConversion) -> AttributionEvent:
        company = self.company_currency
        per_model: dict[str, dict[str, int]] = {model.value: defaultdict(int) for model in Model}
        first = last = None
        for credited in conversion.touches:
            campaign = credited.touch.campaign_id or NO_CAMPAIGN
            for model, credit in credited.credits.items():
                if credit.minor:
                    per_model[model.value][campaign] += credit.minor
            if Role.FIRST in credited.roles:
                first = campaign
            if Role.LAST in credited.roles:
                last = campaign
        return AttributionEvent(
            event_id=AttributionEvent.id_for("conversion", conversion.conversion_id),
            event_type=AttributionEventType.CONVERSION_ATTRIBUTED,
            occurred_at=conversion.recorded_at,
            period=conversion.period,
            company_currency=company,
            conversion_id=conversion.conversion_id,
            deal_id=conversion.deal_id,
            converted_at=conversion.converted_at,
            amount=format_amount(conversion.amount),
            currency=conversion.amount.currency,
            company_amount=format_amount(Money(conversion.company_minor, company)),
            touches=len(conversion.touches),
            first_touch_campaign=first,
            last_touch_campaign=last,
            superseded_by=conversion.superseded_by,
            credits={
                model: {
                    campaign: format_amount(Money(minor, company))
                    for campaign, minor in sorted(credits.items(), key=lambda item: (-item[1], item[0]))
                }
                for model, credits in per_model.items()
            },
        )

    def now(self) -> datetime:
        return self._clock.now()

    def _publish(self, events: list[AttributionEvent]) -> None:
        if self._publisher is None:
            raise RuntimeError("this function reads attribution and publishes nothing: it cannot credit")
        failed = self._publisher.publish(events).failed
        if failed:
            raise BusRefused(f"the bus refused {len(failed)} attribution event(s): {next(iter(failed.values()))}")


def _credits_any(totals: Totals) -> bool:
    """Whether the totals hold anything (a campaign or channel a reattribution moved away from holds zeros)."""
    figures = (totals.touches, totals.conversions, *totals.revenue.values(), *totals.deals.values())
    return any(figures)


def _said(event: AttributionEvent) -> dict[str, Any]:
    """What an event says, but for its id and when it was recorded."""
    return event.model_dump(exclude={"event_id", "occurred_at"})


def _text_field(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidInput(f"{name}: a month (2026-11) or a day (2026-11-14) as text, not {value!r}")


def _names_a_customer(identity_key: str) -> bool:
    kind = Identity.parse(identity_key).kind
    return kind not in _NOT_CUSTOMER_KINDS and not kind.endswith("-anonymous")
