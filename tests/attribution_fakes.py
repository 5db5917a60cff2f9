"""The attribution store contract in memory (`shared.attribution.ports.AttributionStore`), as the DynamoDB adapter
keeps it: a deal moves one version at a time; a conversion is recorded once with the totals it adds (its
campaigns', channels' and month's overall), all or nothing; the data-driven batch replaces a conversion's
data-driven credits and moves the totals by the difference, on condition that the conversion is still the one
read (the adapter's digest: every field), and a reattribution replaces a whole conversion on the same
condition, moving its campaigns', channels' and month's overall totals by the difference (a campaign no longer
credited keeps its totals at 0); a
fit saved after a later-fitted one is kept, not made the latest; a deal's pipeline contribution moves one
version at a time with its campaigns' and the total pipeline (every campaign but `NO_CAMPAIGN`) by the
difference; a stage entry is counted once per event id, in its month (in UTC) and its campaign's, and moves
to another campaign on condition it still counts for the one read. Safe to share between threads.

What the adapter does and the port leaves open, this does too; the checks before a write are the adapter's own
(`dynamodb_attribution_checks`: a naive datetime, a touch missing a model, a credit of another touch, more
campaigns and channels than one transaction holds, a pipeline or stage entry that cannot be laid out:
ValueError; an item over DynamoDB's 400 KB: TooLarge), so both refuse exactly the same writes; so are what a
conversion adds to its campaigns' and channels' totals, the months a read asks for and the listing cursor (the
contract tests check the totals against a recomputation of their own). Datetimes come
back in UTC and a conversion counts in its month in UTC; periods are months (a quarter is InvalidInput);
conversions are listed by `converted_at`, then id; totals and pipeline carry all eight models; the funnel
reads carry every stage of `FUNNEL_STAGES` (a month of `monthly_funnel` too, once it has an entry).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from shared.adapters.dynamodb_attribution_checks import (
    check_size,
    checked_conversion,
    checked_deal,
    checked_fit,
    checked_pipeline,
    checked_stage_entry,
    data_driven_replaced,
)
from shared.adapters.dynamodb_attribution_conversions import conversion_digest, conversion_item
from shared.adapters.dynamodb_attribution_cursor import ConversionPosition, check_cursor, encode_cursor
from shared.adapters.dynamodb_attribution_deals import deal_item, pipeline_changes, pipeline_item
from shared.adapters.dynamodb_attribution_fits import fit_item
from shared.adapters.dynamodb_attribution_funnel import stage_entry_counts
from shared.adapters.dynamodb_attribution_keys import (
    CAMPAIGN,
    CHANNEL,
    LATEST,
    campaign_sk,
    conversion_sort,
    month_of,
    month_text,
    month_texts,
)
from shared.adapters.dynamodb_attribution_totals import (
    checked_replacement,
    conversion_totals,
    data_driven_deltas,
    overall_added,
)
from shared.adapters.dynamodb_customer_revenue import MAX_SUBSCRIPTIONS, revenue_item
from shared.adapters.dynamodb_items import iso, stale_version
from shared.attribution.deals import Deal
from shared.attribution.funnel_counts import FUNNEL_STAGES, StageCounts, StageEntry, summed_by_stage
from shared.attribution.journeys import Credit, Model
from shared.attribution.ports import (
    ConversionOutline,
    ConversionPage,
    DealPipeline,
    OutlinePage,
    Overall,
    StaleCredits,
    StaleDeal,
    StaleRevenue,
    StoredConversion,
    StoredFit,
    Totals,
)
from shared.attribution.revenue import CustomerRevenue
from shared.errors import InvalidInput


class InMemoryAttributionStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.deals: dict[str, Deal] = {}
        self.stored: dict[str, StoredConversion] = {}
        self.totals: dict[str, dict[str, Totals]] = {}  # month -> sort key (`CAMPAIGN#...`, `CHANNEL#...`) -> totals
        self.fits: dict[tuple[str, datetime], StoredFit] = {}
        self.latest: StoredFit | None = None
        self.overall_totals: dict[str, Overall] = {}  # month -> its conversions in all
        self.pipelines_by_deal: dict[str, DealPipeline] = {}
        self.campaigns_pipeline: dict[str, dict[Model, int]] = {}
        self.pipeline_total: dict[Model, int] = dict.fromkeys(Model, 0)
        self.counted_events: set[str] = set()
        self.entries: dict[str, StageEntry] = {}  # event id -> the entry as it counts (its campaign, moved or not)
        self.stages: dict[str, dict[str, StageCounts]] = {}  # month -> stage -> counts
        self.campaign_entries: dict[tuple[str, str, str], int] = {}  # (month, campaign, stage) -> entries

    # ----------------------------------------------------------------------------------------------- deals

    def deal(self, deal_id: str) -> Deal | None:
        with self._lock:
            return self.deals.get(deal_id)

    def save_deal(self, deal: Deal) -> Deal:
        checked = checked_deal(deal)
        stored = replace(checked, version=checked.version + 1)
        what = f"deal {deal.deal_id}"
        check_size(deal_item(stored, stored.version), what)
        with self._lock:
            held = self.deals.get(deal.deal_id)
            held_version = 0 if held is None else held.version
            if held_version != checked.version:
                if held is None:
                    raise StaleDeal(f"{what} does not exist (it was read at version {checked.version})")
                if checked.version == 0:
                    raise StaleDeal(f"{what} exists already (version {held.version})")
                raise StaleDeal(f"{what} is at version {held.version}, not {checked.version} as read")
            self.deals[deal.deal_id] = stored
            return stored

    def save_deals(self, deals: Sequence[Deal]) -> list[Deal]:
        checked = [checked_deal(deal) for deal in deals]
        if len({deal.deal_id for deal in checked}) != len(checked) or not 0 < len(checked) <= 25:
            raise ValueError(f"save_deals takes 1 to 25 distinct deals, not {[d.deal_id for d in deals]}")
        stored = [replace(deal, version=deal.version + 1) for deal in checked]
        for deal in stored:
            check_size(deal_item(deal, deal.version), f"deal {deal.deal_id}")
        with self._lock:
            refusals = []
            for deal in checked:
                held = self.deals.get(deal.deal_id)
                found = None if held is None else held.version
                if (found or 0) != deal.version:
                    refusals.append(stale_version(f"deal {deal.deal_id}", deal.version, found))
            if refusals:
                raise StaleDeal("; ".join(refusals))
            for deal in stored:
                self.deals[deal.deal_id] = deal
            return stored

    # ----------------------------------------------------------------------------------------- conversions

    def conversion(self, conversion_id: str) -> StoredConversion | None:
        with self._lock:
            return self.stored.get(conversion_id)

    def record(self, conversion: StoredConversion) -> bool:
        checked = checked_conversion(conversion)
        check_size(conversion_item(checked), f"conversion {checked.conversion_id}")
        with self._lock:
            if checked.conversion_id in self.stored:
                return False
            self.stored[checked.conversion_id] = checked
            month = month_of(checked.converted_at)
            totals = self.totals.setdefault(month, {})
            for sk, added in conversion_totals(checked).items():
                totals[sk] = totals.get(sk, Totals()).plus(added)
            self.overall_totals[month] = self.overall_totals.get(month, Overall()).plus(overall_added(checked))
            return True

    def conversions(self, period: str, limit: int = 100, cursor: str | None = None) -> ConversionPage:
        if limit < 1:
            raise InvalidInput("limit must be at least 1")
        month = month_text(period)
        after = None if cursor is None else check_cursor(cursor, month)
        with self._lock:
            matching = sorted(
                (
                    stored
                    for stored in self.stored.values()
                    if month_of(stored.converted_at) == month and (after is None or _sort(stored) > after)
                ),
                key=_sort,
            )
        page = matching[:limit]
        next_cursor = encode_cursor(ConversionPosition(_sort(page[-1]), month)) if len(matching) > limit else None
        return ConversionPage(page, next_cursor)

    def conversion_outlines(self, period: str, limit: int = 100, cursor: str | None = None) -> OutlinePage:
        page = self.conversions(period, limit, cursor)
        return OutlinePage([ConversionOutline.of(stored) for stored in page.conversions], page.next_cursor)

    def replace_data_driven(
        self, conversion: StoredConversion, credits: Sequence[Credit], deal_units: Sequence[int], fit_id: str
    ) -> StoredConversion:
        new = data_driven_replaced(conversion, credits, deal_units, fit_id)
        old = checked_conversion(conversion)
        what = f"conversion {old.conversion_id}"
        check_size(conversion_item(new), what)
        with self._lock:
            held = self.stored.get(old.conversion_id)
            if held is None:
                raise StaleCredits(f"{what} does not exist")
            if len(held.touches) != len(old.touches):
                raise StaleCredits(f"{what} has {len(held.touches)} touches, not {len(old.touches)} as read")
            if held.fit_id != old.fit_id:
                raise StaleCredits(
                    f"{what}'s data-driven credits were computed with fit {held.fit_id}, not {old.fit_id} as read"
                )
            if conversion_digest(held) != conversion_digest(old):
                raise StaleCredits(f"{what} was replaced since it was read (recorded at {iso(held.recorded_at)})")
            touches = tuple(
                replace(
                    mine,
                    credits={**mine.credits, Model.DATA_DRIVEN: theirs.credits[Model.DATA_DRIVEN]},
                    deal_units={**mine.deal_units, Model.DATA_DRIVEN: theirs.deal_units[Model.DATA_DRIVEN]},
                )
                for mine, theirs in zip(held.touches, new.touches, strict=True)
            )
            self.stored[old.conversion_id] = replace(held, touches=touches, fit_id=fit_id)
            totals = self.totals.setdefault(month_of(old.converted_at), {})
            for sk, (revenue, deals) in data_driven_deltas(old, new).items():
                totals[sk] = totals.get(sk, Totals()).plus(
                    Totals({Model.DATA_DRIVEN: revenue}, {Model.DATA_DRIVEN: deals})
                )
            return new

    def replace_conversion(self, old: StoredConversion, new: StoredConversion) -> bool:
        change = checked_replacement(old, new)
        if change.unchanged:
            return True
        check_size(conversion_item(change.new), f"conversion {change.new.conversion_id}")
        with self._lock:
            held = self.stored.get(change.old.conversion_id)
            if held is None or conversion_digest(held) != conversion_digest(change.old):
                return False
            self.stored[change.new.conversion_id] = change.new
            for one, sign in ((change.old, -1), (change.new, 1)):
                month = month_of(one.converted_at)
                totals = self.totals.setdefault(month, {})
                for sk, added in conversion_totals(one).items():
                    totals[sk] = totals.get(sk, Totals()).plus(_times(added, sign))
                overall = overall_added(one)
                if sign < 0:
                    overall = Overall(
                        -overall.revenue,
                        -overall.conversions,
                        -overall.influenced_revenue,
                        -overall.influenced_conversions,
                    )
                self.overall_totals[month] = self.overall_totals.get(month, Overall()).plus(overall)
            return True

    # ---------------------------------------------------------------------------------------------- totals

    def campaign_totals(self, campaign_id: str, periods: Sequence[str]) -> dict[str, Totals]:
        months = month_texts(periods)
        with self._lock:
            found = {month: self.totals.get(month, {}).get(campaign_sk(campaign_id)) for month in months}
        return {month: totals for month, totals in found.items() if totals is not None}

    def channel_totals(self, period: str) -> dict[str, Totals]:
        return self._totals(period, CHANNEL)

    def campaigns_totals(self, period: str) -> dict[str, Totals]:
        return self._totals(period, CAMPAIGN)

    def _totals(self, period: str, prefix: str) -> dict[str, Totals]:
        month = month_text(period)
        with self._lock:
            held = self.totals.get(month, {})
            return {sk.removeprefix(prefix): held[sk] for sk in sorted(held) if sk.startswith(prefix)}

    def overall(self, periods: Sequence[str]) -> dict[str, Overall]:
        months = month_texts(periods)
        with self._lock:
            return {month: self.overall_totals[month] for month in months if month in self.overall_totals}

    # -------------------------------------------------------------------------------------------- pipeline

    def deal_pipeline(self, deal_id: str) -> DealPipeline | None:
        with self._lock:
            return self.pipelines_by_deal.get(deal_id)

    def set_pipeline(self, deal_id: str, credits: Mapping[str, Mapping[Model, int]] | None, version: int) -> None:
        new = checked_pipeline(deal_id, credits, version)
        what = f"pipeline of deal {deal_id}"
        if new is not None:
            check_size(pipeline_item(deal_id, new, version + 1, "0" * 32), what)
        with self._lock:
            held = self.pipelines_by_deal.get(deal_id)
            found = None if held is None else held.version
            if (found or 0) != version:
                raise StaleDeal(stale_version(what, version, found))
            if held is None and new is None:
                return
            changes = pipeline_changes(deal_id, new, None if held is None else held.credits)
            if new is None:
                del self.pipelines_by_deal[deal_id]
            else:
                self.pipelines_by_deal[deal_id] = DealPipeline(deal_id, new, version + 1)
            for campaign, delta in changes.campaigns.items():
                figures = self.campaigns_pipeline.setdefault(campaign, dict.fromkeys(Model, 0))
                for model, minor in delta.items():
                    figures[model] += minor
            for model, minor in changes.total.items():
                self.pipeline_total[model] += minor

    def campaign_pipeline(self, campaign_id: str) -> dict[Model, int]:
        with self._lock:
            return dict(self.campaigns_pipeline.get(campaign_id, dict.fromkeys(Model, 0)))

    def pipelines(self) -> Iterator[DealPipeline]:
        with self._lock:
            held = list(self.pipelines_by_deal.values())
        yield from held

    def total_pipeline(self) -> dict[Model, int]:
        with self._lock:
            return dict(self.pipeline_total)

    # ---------------------------------------------------------------------------------------------- funnel

    def record_stage_entry(self, entry: StageEntry) -> bool:
        checked = checked_stage_entry(entry)
        month = month_of(checked.at)
        with self._lock:
            if checked.event_id in self.counted_events:
                return False
            self.counted_events.add(checked.event_id)
            self.entries[checked.event_id] = checked
            stages = self.stages.setdefault(month, dict.fromkeys(FUNNEL_STAGES, StageCounts()))
            stages[checked.stage] = stages[checked.stage].plus(stage_entry_counts(checked))
            where = (month, checked.campaign_id, checked.stage)
            self.campaign_entries[where] = self.campaign_entries.get(where, 0) + 1
            return True

    def stage_entries(self, periods: Sequence[str]) -> Iterator[StageEntry]:
        months = set(month_texts(periods))
        with self._lock:
            held = [entry for entry in self.entries.values() if month_of(entry.at) in months]
        yield from held

    def move_stage_entry(self, entry: StageEntry, campaign_id: str) -> bool:
        read = checked_stage_entry(entry)
        checked_stage_entry(replace(read, campaign_id=campaign_id))
        if campaign_id == read.campaign_id:
            return True
        month = month_of(read.at)
        with self._lock:
            held = self.entries.get(read.event_id)
            same = held is not None and (held.campaign_id, held.stage, month_of(held.at)) == (
                read.campaign_id,
                read.stage,
                month,
            )
            if held is None or not same:
                return False
            self.campaign_entries[(month, read.campaign_id, read.stage)] -= 1
            where = (month, campaign_id, read.stage)
            self.campaign_entries[where] = self.campaign_entries.get(where, 0) + 1
            self.entries[read.event_id] = replace(held, campaign_id=campaign_id)
            return True

    def funnel(self, periods: Sequence[str]) -> dict[str, StageCounts]:
        return summed_by_stage(self.monthly_funnel(periods).values())

    def monthly_funnel(self, periods: Sequence[str]) -> dict[str, dict[str, StageCounts]]:
        months = month_texts(periods)
        with self._lock:
            return {month: dict(self.stages[month]) for month in months if month in self.stages}

    def campaign_funnel(self, campaign_id: str, periods: Sequence[str]) -> dict[str, int]:
        months = month_texts(periods)
        with self._lock:
            return {
                stage: sum(self.campaign_entries.get((month, campaign_id, stage), 0) for month in months)
                for stage in FUNNEL_STAGES
            }

    # ------------------------------------------------------------------------------------------------ fits

    def latest_fit(self) -> StoredFit | None:
        with self._lock:
            return self.latest

    def save_fit(self, fit: StoredFit) -> None:
        checked = checked_fit(fit)
        check_size(fit_item(checked, LATEST), f"fit {checked.fit_id}")
        with self._lock:
            self.fits[(checked.period, checked.fitted_at)] = checked
            if self.latest is None or self.latest.fitted_at <= checked.fitted_at:
                self.latest = checked


def _times(totals: Totals, sign: int) -> Totals:
    return Totals(
        {model: sign * minor for model, minor in totals.revenue.items()},
        {model: sign * units for model, units in totals.deals.items()},
        sign * totals.touches,
        sign * totals.conversions,
    )


def _sort(stored: StoredConversion) -> str:
    return conversion_sort(stored.converted_at, stored.conversion_id)


class InMemoryCustomerRevenueStore:
    """`CustomerRevenueStore` in memory: the DynamoDB adapter's contract (versions, the subscription limit, items
    it could store), run by tests/integration/test_customer_revenue_store_contract.py on both."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.stored: dict[str, CustomerRevenue] = {}

    def revenues(self, customer_keys: Sequence[str]) -> dict[str, CustomerRevenue]:
        with self._lock:
            return {k: self.stored[k] for k in dict.fromkeys(customer_keys) if k in self.stored}

    def save_revenue(self, revenue: CustomerRevenue) -> CustomerRevenue:
        if len(revenue.subscriptions) > MAX_SUBSCRIPTIONS:
            raise InvalidInput(
                f"customer {revenue.customer_key}: at most {MAX_SUBSCRIPTIONS} subscriptions are kept, "
                f"not {len(revenue.subscriptions)}"
            )
        stored = replace(revenue, version=revenue.version + 1)
        revenue_item(stored)  # what DynamoDB could not hold (a naive time) fails here as it does there
        with self._lock:
            held = self.stored.get(revenue.customer_key)
            held_version = held.version if held else 0
            if held_version != revenue.version:
                found = held.version if held else "none"
                raise StaleRevenue(
                    f"customer {revenue.customer_key} is at version {found}, not {revenue.version} as read"
                )
            self.stored[revenue.customer_key] = stored
            return stored
