"""One contract, two attribution stores: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.attribution.ports.AttributionStore`: deals, conversions with their totals (per campaign
and channel, and in all), fits, open deals' pipeline and the funnel. Where its docstrings are silent, these
tests pin what both implementations do: datetimes come back in UTC and a conversion (or a stage entry) counts
in its month in UTC; periods are months (a quarter is InvalidInput); a month's conversions are listed by
`converted_at`, then id; totals and pipeline carry all eight models, the funnel reads every stage; a naive
datetime, a touch missing a model's credit, a credit of another touch, a touch whose campaign is
`NO_CAMPAIGN`, or more campaigns + channels than fit beside the conversion and its month's overall in one
transaction (98) are a ValueError, and a conversion over DynamoDB's 400 KB item limit is TooLarge, each before
anything is written; replacing the data-driven credits of a conversion never stored is StaleCredits; of two
fits fitted at the same instant the last saved is the latest; a deal's pipeline contribution is versioned as a
deal is (0: none; removing it makes it none again), a contribution of more campaigns than one transaction
moves (98), or a replacement whose difference spans more, is a ValueError, and removing none writes nothing;
a conversion replaced whole (a reattribution) moves every total by the difference, a campaign it no longer
credits kept at 0, and a replacement computed from anything but what is stored (any field) writes nothing; the
open deals' contributions are listed as stored and the months' counted stage entries as they count, and an
entry moves to another campaign (its month's campaign-stage counts with it) only while it counts for the one
read; a month's conversion outlines (a settings comparison's projected read) are the outlines of its listed
conversions, in the same pages, under the same cursors (either listing's cursor continues the other), and
refuse the same cursors, periods and limits.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.adapters.dynamodb_attribution import RECORD_ATTEMPTS, DynamoDbAttributionStore, RecordConflict
from shared.adapters.dynamodb_attribution_checks import checked_conversion
from shared.adapters.dynamodb_attribution_conversions import conversion_digest, conversion_item
from shared.adapters.dynamodb_items import MAX_ITEM_BYTES, item_size, serialize
from shared.allocation import allocate
from shared.attribution.credits import heuristic_credits
from shared.attribution.deals import ConversionKind, Deal, DealReport, DealStatus, People
from shared.attribution.funnel_counts import FUNNEL_STAGES, VISITOR, StageCounts, StageEntry
from shared.attribution.journeys import Credit, Journey, Model, Role, Touch
from shared.attribution.markov import MarkovFit, data_driven_credits, fit_markov, path_counts
from shared.attribution.ports import (
    DEAL_UNITS,
    NO_CAMPAIGN,
    AttributionStore,
    ConversionOutline,
    CreditedTouch,
    DealPipeline,
    Overall,
    StaleCredits,
    StaleDeal,
    StoredConversion,
    StoredFit,
    Totals,
)
from shared.attribution.roles import touch_roles
from shared.catalog import physical_name
from shared.catalog.attribution import ATTRIBUTION
from shared.errors import InvalidInput, TooLarge
from shared.finance.money import Money
from tests.attribution_fakes import InMemoryAttributionStore
from tests.integration.conftest import STAGE, only_table
from tests.integration.dynamodb_doubles import CancelledTransactions, SmallPages, Starved, counted_calls

TABLE = physical_name(STAGE, ATTRIBUTION.name)
T0 = datetime(2026, 11, 20, 15, 30, 0, 123456, tzinfo=UTC)
NOV = "2026-11"
EAST = timezone(timedelta(hours=5, minutes=30))
WEST = timezone(timedelta(hours=-8))
FIT = fit_markov(
    path_counts(
        [
            (["paid_search", "events"], True),
            (["paid_search"], True),
            (["events"], False),
            (["organic_search", "paid_search"], True),
            (["organic_search"], False),
            (["events", "organic_search"], False),
        ]
    )
)
_years = itertools.count(2000)  # a month of its own per hypothesis example, on either store

Spec = tuple[str, str | None]  # a touch: (channel, campaign_id)


@pytest.fixture
def attribution_table() -> Iterator[Any]:
    with only_table(ATTRIBUTION) as client:
        yield client


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[AttributionStore]:
    if request.param == "in-memory":
        yield InMemoryAttributionStore()
        return
    yield DynamoDbAttributionStore(request.getfixturevalue("attribution_table"), TABLE)


@pytest.fixture
def dynamo(attribution_table: Any) -> tuple[DynamoDbAttributionStore, Any]:
    return DynamoDbAttributionStore(attribution_table, TABLE), attribution_table


# ------------------------------------------------------------------------------------------------- builders


def credited(journey: Journey, fit: MarkovFit | None = None) -> tuple[CreditedTouch, ...]:
    """The journey's touches with every model's credits, as the crediting step makes them: the heuristic models,
    the data-driven one with `fit` (linear without), deal units shared by the same exact weights."""
    if not journey.touches:
        return ()
    by_model: dict[Model, list[Credit]] = dict(heuristic_credits(journey))
    by_model[Model.DATA_DRIVEN] = data_driven_credits(journey, fit)
    units = {model: allocate(DEAL_UNITS, [credit.weight for credit in credits]) for model, credits in by_model.items()}
    roles = touch_roles(journey)
    return tuple(
        CreditedTouch(
            touch,
            roles[index],
            {model: by_model[model][index] for model in Model},
            {model: units[model][index] for model in Model},
        )
        for index, touch in enumerate(journey.touches)
    )


def journey_of(conversion: StoredConversion) -> Journey:
    return Journey(
        conversion.conversion_id,
        conversion.converted_at,
        conversion.company_minor,
        conversion.company_currency,
        tuple(one.touch for one in conversion.touches),
        conversion.lead_created_at,
        conversion.opportunity_created_at,
    )


def conversion(
    conversion_id: str,
    specs: Sequence[Spec] = (("paid_search", "c1"),),
    *,
    minor: int = 90_000,
    at: datetime = T0,
    fit: MarkovFit | None = None,
    fit_id: str | None = None,
    **extra: Any,
) -> StoredConversion:
    """A conversion of `minor` USD cents at `at`, one touch an hour apart per (channel, campaign) of `specs`,
    credited under every model (data-driven with `fit`, linear without)."""
    touches = tuple(
        Touch(f"{conversion_id}/t{index}", at - timedelta(hours=len(specs) - index), channel, campaign)
        for index, (channel, campaign) in enumerate(specs)
    )
    journey = Journey(conversion_id, at, minor, "USD", touches)
    base = StoredConversion(
        conversion_id=conversion_id,
        kind=ConversionKind.DEAL,
        converted_at=at,
        amount=Money(minor, "USD"),
        company_minor=minor,
        company_currency="USD",
        rate=Decimal(1),
        contact_ids=("hubspot:501",),
        account_id=None,
        deal_id=conversion_id.removeprefix("deal:"),
        lead_created_at=None,
        opportunity_created_at=None,
        touches=credited(journey, fit),
        settings_version="v1",
        fit_id=fit_id,
        recorded_at=at + timedelta(seconds=2),
    )
    return replace(base, **extra)


def data_driven(stored: StoredConversion, fit: MarkovFit) -> tuple[list[Credit], list[int]]:
    """The conversion's data-driven credits and deal units under `fit`."""
    credits = data_driven_credits(journey_of(stored), fit)
    return credits, allocate(DEAL_UNITS, [credit.weight for credit in credits])


def in_utc(stored: StoredConversion) -> StoredConversion:
    def utc(moment: datetime | None) -> datetime | None:
        return None if moment is None else moment.astimezone(UTC)

    return replace(
        stored,
        converted_at=stored.converted_at.astimezone(UTC),
        recorded_at=stored.recorded_at.astimezone(UTC),
        lead_created_at=utc(stored.lead_created_at),
        opportunity_created_at=utc(stored.opportunity_created_at),
        touches=tuple(
            replace(one, touch=replace(one.touch, occurred_at=one.touch.occurred_at.astimezone(UTC)))
            for one in stored.touches
        ),
    )


def every_conversion(store: AttributionStore, period: str, page: int = 2) -> list[StoredConversion]:
    found: list[StoredConversion] = []
    cursor = None
    while True:
        listed = store.conversions(period, limit=page, cursor=cursor)
        assert len(listed.conversions) <= page
        found += listed.conversions
        cursor = listed.next_cursor
        if cursor is None:
            return found


def every_outline(store: AttributionStore, period: str, page: int = 2) -> list[ConversionOutline]:
    found: list[ConversionOutline] = []
    cursor = None
    while True:
        listed = store.conversion_outlines(period, limit=page, cursor=cursor)
        assert len(listed.outlines) <= page
        found += listed.outlines
        cursor = listed.next_cursor
        if cursor is None:
            return found


def outlines(store: AttributionStore, period: str = NOV) -> list[ConversionOutline]:
    """The month's outlines, checked against the outlines of its conversions as listed whole."""
    found = every_outline(store, period)
    assert found == [ConversionOutline.of(one) for one in every_conversion(store, period)]
    return found


def ids(conversions: Sequence[StoredConversion | ConversionOutline]) -> list[str]:
    return [one.conversion_id for one in conversions]


def recomputed(conversions: Sequence[StoredConversion]) -> tuple[dict[str, Totals], dict[str, Totals]]:
    """(campaigns, channels): each one's totals summed from the conversions' credits, independently of the stores."""
    figures: dict[tuple[str, str], Counter[str]] = {}
    for one in conversions:
        touched: set[tuple[str, str]] = set()
        for touch in one.touches:
            campaign = NO_CAMPAIGN if touch.touch.campaign_id is None else touch.touch.campaign_id
            for where in (("campaign", campaign), ("channel", touch.touch.channel)):
                tally = figures.setdefault(where, Counter())
                for model in Model:
                    tally[f"revenue {model}"] += touch.credits[model].minor
                    tally[f"deals {model}"] += touch.deal_units[model]
                tally["touches"] += 1
                touched.add(where)
        for where in touched:
            figures[where]["conversions"] += 1
    totals = {
        where: Totals(
            {model: tally[f"revenue {model}"] for model in Model},
            {model: tally[f"deals {model}"] for model in Model},
            tally["touches"],
            tally["conversions"],
        )
        for where, tally in figures.items()
    }
    campaigns = {name: found for (kind, name), found in totals.items() if kind == "campaign"}
    channels = {name: found for (kind, name), found in totals.items() if kind == "channel"}
    return campaigns, channels


def recomputed_overall(conversions: Sequence[StoredConversion]) -> Overall:
    """The conversions in all, and those whose journey holds a touch of a campaign, independently of the stores."""
    influenced = [one for one in conversions if any(t.touch.campaign_id is not None for t in one.touches)]
    return Overall(
        sum(one.company_minor for one in conversions),
        len(conversions),
        sum(one.company_minor for one in influenced),
        len(influenced),
    )


def snapshot(store: AttributionStore, period: str = NOV) -> tuple[dict[str, Totals], dict[str, Totals]]:
    return store.campaigns_totals(period), store.channel_totals(period)


# -------------------------------------------------------------------------------------------------- deals


def deal(deal_id: str = "hubspot:7001", **extra: Any) -> Deal:
    base = Deal(
        deal_id=deal_id,
        first_seen_at=T0 - timedelta(days=30),
        status=DealStatus.OPEN,
        status_at=T0 - timedelta(days=2),
        amount=Money(1_250_000, "EUR"),
        people=People(("hubspot:501", "hubspot:502"), ("ana@example.com",), "hubspot:acct-9"),
        won_at=None,
        events=3,
    )
    return replace(base, **extra)


def test_deals_are_versioned(store: AttributionStore) -> None:
    assert store.deal("hubspot:7001") is None
    # Given a new deal written from version 0, its times in another zone
    first = store.save_deal(deal(first_seen_at=(T0 - timedelta(days=30)).astimezone(EAST)))
    # Then it is at version 1, in UTC, and reads back whole
    assert first == deal(version=1)
    assert first.first_seen_at.tzinfo == UTC
    assert store.deal("hubspot:7001") == first
    # When it is won, from version 1
    won = store.save_deal(replace(first, status=DealStatus.WON, status_at=T0, won_at=T0.astimezone(WEST), events=4))
    assert won.version == 2
    assert store.deal("hubspot:7001") == won
    assert won.won_at == T0
    # Then writers that read another version are refused, and nothing moves
    with pytest.raises(StaleDeal, match=r"deal hubspot:7001 exists already \(version 2\)"):
        store.save_deal(deal())
    with pytest.raises(StaleDeal, match="deal hubspot:7001 is at version 2, not 1 as read"):
        store.save_deal(replace(first, events=9))
    with pytest.raises(StaleDeal, match=r"deal hubspot:9 does not exist \(it was read at version 3\)"):
        store.save_deal(deal("hubspot:9", version=3))
    assert store.deal("hubspot:7001") == won
    assert store.deal("hubspot:9") is None


def test_a_deal_without_amount_people_or_win_round_trips(store: AttributionStore) -> None:
    bare = deal("standard:D-1", amount=None, people=People(), won_at=None, events=1)
    assert store.save_deal(bare) == replace(bare, version=1)
    assert store.deal("standard:D-1") == replace(bare, version=1)


@pytest.mark.parametrize(
    "bad",
    [deal(version=-1), deal(version=True), deal(status_at=datetime(2026, 11, 1)), deal(won_at=datetime(2026, 11, 1))],
    ids=["negative version", "boolean version", "naive status_at", "naive won_at"],
)
def test_a_deal_that_cannot_be_stored_is_refused(store: AttributionStore, bad: Deal) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each reason has its own message
        store.save_deal(bad)
    assert store.deal(bad.deal_id) is None


def test_deals_saved_together_are_written_all_or_nothing(store: AttributionStore) -> None:
    # Given a HubSpot deal and the Salesforce deal it is (written together: the link and the fold)
    salesforce = deal("salesforce:006A", aliases=("hubspot:7001",), events=4)
    alias = deal(alias_of="salesforce:006A")
    saved = store.save_deals([salesforce, alias])
    assert saved == [replace(salesforce, version=1), replace(alias, version=1)]
    assert store.deal("salesforce:006A") == saved[0]
    assert store.deal("hubspot:7001") == saved[1]
    # When one of them was written since it was read, neither is written
    store.save_deal(replace(saved[0], events=5))
    with pytest.raises(StaleDeal, match="deal salesforce:006A is at version 2, not 1 as read"):
        store.save_deals([replace(saved[1], events=9), replace(saved[0], events=9)])
    assert store.deal("hubspot:7001") == saved[1]
    assert store.deal("salesforce:006A") == replace(saved[0], events=5, version=2)
    # And a new deal that exists already refuses the write of both
    with pytest.raises(StaleDeal, match=r"deal hubspot:7001 exists already \(version 1\)"):
        store.save_deals([deal("standard:D-9"), deal()])
    assert store.deal("standard:D-9") is None
    with pytest.raises(ValueError, match="distinct"):
        store.save_deals([deal(), deal()])


def test_a_superseded_conversion_counts_in_no_total(store: AttributionStore) -> None:
    # Given a credited conversion
    held = conversion("deal:hubspot:7001", (("paid_search", "c1"), ("events", None)), minor=500_000)
    assert store.record(held) is True
    # When another conversion counts its money: emptied and marked superseded
    emptied = replace(
        held,
        amount=Money(0, "USD"),
        company_minor=0,
        touches=(),
        contact_ids=(),
        account_id=None,
        superseded_by="deal:salesforce:006A",
        recorded_at=T0 + timedelta(minutes=5),
    )
    assert store.replace_conversion(held, emptied) is True
    # Then it reads back so, and its campaigns, channels and the month's overall are back to nothing
    assert store.conversion("deal:hubspot:7001") == emptied
    assert credited_only(store.campaigns_totals(NOV)) == {}
    assert credited_only(store.channel_totals(NOV)) == {}
    assert store.overall([NOV]) == {NOV: Overall(0, 0, 0, 0)}
    assert store.record(held) is False  # its id stays taken


# ---------------------------------------------------------------------------------------------- round trip

_every_field = conversion(
    "deal:salesforce:006A",
    (("paid_search", "c1"), ("events", None), ("organic_search", "camp#2026/q4#a"), ("paid_search", "c1")),
    minor=1_234_567,
    at=T0.astimezone(WEST),
    fit=FIT,
    fit_id="2026-11#2026-11-01T00:00:00.000000+00:00",
    kind=ConversionKind.DEAL,
    amount=Money(1_137_850, "EUR"),
    rate=Decimal("1.0850"),
    contact_ids=("salesforce:003A", "salesforce:003B"),
    account_id="acct-42",
    lead_created_at=(T0 - timedelta(hours=3, minutes=30)).astimezone(EAST),
    opportunity_created_at=T0 - timedelta(hours=1, minutes=30),
    settings_version="attribution.json@7",
    recorded_at=(T0 + timedelta(minutes=1)).astimezone(EAST),
)
_every_field = replace(
    _every_field,
    touches=tuple(
        replace(one, touch=replace(one.touch, content=f"ad {n}" if n % 2 else None))
        for n, one in enumerate(_every_field.touches)
    ),
    superseded_by="deal:salesforce:006B",
)


def test_the_round_trip_example_sets_every_field() -> None:
    # An optional field left None, or a role or model never held, would round-trip as a default only
    for field in fields(StoredConversion):
        assert getattr(_every_field, field.name) is not None, field.name
    assert {role for one in _every_field.touches for role in one.roles} == set(Role)
    assert any(one.touch.content for one in _every_field.touches)
    assert any(one.touch.content is None for one in _every_field.touches)
    assert any(one.touch.campaign_id is None for one in _every_field.touches)
    weights = {one.credits[Model.TIME_DECAY].weight for one in _every_field.touches}
    assert max(len(str(weight.denominator)) for weight in weights) > 20  # long exact fractions


def test_a_conversion_round_trips_every_field(store: AttributionStore) -> None:
    # Given a conversion with every field set, its times in three zones, credited exactly
    assert store.record(_every_field) is True
    # Then it reads back whole, by id and in its month's listing, every instant in UTC, every weight exact
    expected = in_utc(_every_field)
    found = store.conversion(_every_field.conversion_id)
    assert found == expected
    assert store.conversions(NOV).conversions == [expected]
    assert found is not None
    assert found.converted_at.tzinfo == UTC
    assert all(one.touch.occurred_at.tzinfo == UTC for one in found.touches)
    for stored, sent in zip(found.touches, _every_field.touches, strict=True):
        for model in Model:
            assert type(stored.credits[model].weight) is Fraction
            assert stored.credits[model] == sent.credits[model]
            assert stored.deal_units[model] == sent.deal_units[model]
        assert stored.roles == sent.roles
    assert found.rate == Decimal("1.0850")
    assert found.period == NOV
    # And its outline (a comparison's projected read) holds every field the outline has, as read whole
    [outline] = outlines(store)
    assert outline == ConversionOutline.of(expected)
    assert outline.touch_count == len(_every_field.touches) > 1
    assert outline.converted_at.tzinfo == UTC
    assert outline.opportunity_created_at == expected.opportunity_created_at is not None


def test_a_conversion_without_touches_or_optional_fields_round_trips(store: AttributionStore) -> None:
    bare = conversion(
        "first-payment:cus_1", (), kind=ConversionKind.FIRST_PAYMENT, contact_ids=(), deal_id=None, minor=0
    )
    assert store.record(bare) is True
    assert store.conversion("first-payment:cus_1") == bare
    assert store.conversions(NOV).conversions == [bare]
    assert outlines(store) == [ConversionOutline.of(bare)]
    assert store.conversion_outlines(NOV).outlines[0].touch_count == 0
    assert snapshot(store) == ({}, {})
    assert store.overall([NOV]) == {NOV: Overall(0, 1, 0, 0)}  # it counts in all, not as influenced
    assert store.conversion("unknown") is None


def test_a_conversion_counts_in_its_month_in_utc(store: AttributionStore) -> None:
    # 23:30 on November 30th in UTC-8 is December 1st in UTC
    late = conversion("deal:late", at=datetime(2026, 11, 30, 23, 30, tzinfo=WEST))
    assert late.period == "2026-12"  # the port's `period` is the month in UTC, as the store counts it
    assert store.record(late) is True
    assert store.conversions(NOV).conversions == []
    assert ids(store.conversions("2026-12").conversions) == ["deal:late"]
    assert store.channel_totals(NOV) == {}
    assert set(store.channel_totals("2026-12")) == {"paid_search"}
    assert store.conversion("deal:late") == in_utc(late)
    assert in_utc(late).period == "2026-12"


# ------------------------------------------------------------------------------------------------- record


def test_a_conversion_is_recorded_once(store: AttributionStore) -> None:
    # Given a recorded conversion
    first = conversion("deal:1", (("paid_search", "c1"), ("events", None), ("paid_search", "c1")))
    assert store.record(first) is True
    before = snapshot(store)
    # When it is recorded again, even with other touches and amount
    again = conversion("deal:1", (("events", "c9"),), minor=5)
    assert store.record(again) is False
    assert store.record(first) is False
    # Then nothing of it was written
    assert store.conversion("deal:1") == first
    assert snapshot(store) == before
    assert ids(store.conversions(NOV).conversions) == ["deal:1"]


def test_totals_add_a_conversions_credits_per_campaign_and_channel(store: AttributionStore) -> None:
    # Given 900.00 USD over three touches: paid_search c1, events without campaign, paid_search c1
    first = conversion("deal:1", (("paid_search", "c1"), ("events", None), ("paid_search", "c1")))
    assert store.record(first) is True
    # Then the month's campaigns and channels hold its credits
    campaigns, channels = snapshot(store)
    assert set(campaigns) == {"c1", NO_CAMPAIGN}
    assert set(channels) == {"paid_search", "events"}
    c1 = campaigns["c1"]
    assert (c1.touches, c1.conversions) == (2, 1)
    assert c1.revenue[Model.LINEAR] == 60_000
    assert c1.revenue[Model.FIRST_TOUCH] == c1.revenue[Model.LAST_TOUCH] == 90_000
    assert c1.deals[Model.LINEAR] == 666_667  # 333,334 + 333,333: the largest remainder goes to the first touch
    assert c1.deals[Model.FIRST_TOUCH] == DEAL_UNITS
    assert campaigns[NO_CAMPAIGN].revenue[Model.LINEAR] == 30_000
    assert campaigns[NO_CAMPAIGN].deals[Model.LAST_TOUCH] == 0
    assert channels["paid_search"] == c1
    assert channels["events"] == campaigns[NO_CAMPAIGN]
    assert set(c1.revenue) == set(c1.deals) == set(Model)
    # And a second conversion adds to them
    assert store.record(conversion("deal:2", (("events", "c1"),), minor=10_000)) is True
    campaigns, channels = snapshot(store)
    assert campaigns["c1"].touches == 3
    assert campaigns["c1"].conversions == 2
    assert campaigns["c1"].revenue[Model.LINEAR] == 70_000
    assert channels["events"].conversions == 2
    assert channels["events"].deals[Model.LINEAR] == 333_333 + DEAL_UNITS
    assert (campaigns, channels) == recomputed([first, store.conversion("deal:2")])  # type: ignore[list-item]


def test_twenty_concurrent_recorders_of_one_conversion_leave_one(store: AttributionStore) -> None:
    one = conversion("deal:race", (("paid_search", "c1"), ("events", "c2")))
    barrier = threading.Barrier(20)

    def record(_: int) -> bool:
        barrier.wait()
        return store.record(one)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(record, range(20)))
    assert results.count(True) == 1
    assert store.conversion("deal:race") == one
    assert snapshot(store) == recomputed([one])


# ------------------------------------------------------------------------------------------ record: limits


def _touching(campaigns: int, channels: int) -> StoredConversion:
    """A conversion touching `campaigns` campaigns and `channels` channels (one touch per pair, at most)."""
    count = max(campaigns, channels)
    specs = [(f"channel_{n % channels}", f"campaign-{n % campaigns}") for n in range(count)]
    return conversion("deal:wide", specs, minor=1_000_000)


def test_a_conversion_fits_one_transaction_with_its_totals(store: AttributionStore) -> None:
    # 48 campaigns + 50 channels + the conversion + the month's overall: 100 items, the most
    assert store.record(_touching(48, 50)) is True
    campaigns, channels = snapshot(store)
    assert (len(campaigns), len(channels)) == (48, 50)
    assert store.overall([NOV]) == {NOV: Overall(1_000_000, 1, 1_000_000, 1)}


def test_a_conversion_too_wide_for_one_transaction_is_refused(store: AttributionStore) -> None:
    with pytest.raises(ValueError, match=r"touches 49 campaigns and 50 channels: .* at most 98 totals"):
        store.record(_touching(49, 50))
    assert store.conversion("deal:wide") is None
    assert snapshot(store) == ({}, {})
    assert store.overall([NOV]) == {}


def test_a_conversion_too_large_for_an_item_is_refused_before_anything_is_written(store: AttributionStore) -> None:
    # Given a journey of 1,000 touches (one account's whole quarter)
    big = conversion("deal:big", [("paid_search", "c1"), ("events", None)] * 500)
    with pytest.raises(
        TooLarge,
        match=r"conversion deal:big \(1000 touches\) would be \d+ bytes, over DynamoDB's item limit of 400 KB "
        r"\(its `touches` takes \d+\)",
    ):
        store.record(big)
    assert store.conversion("deal:big") is None
    assert store.conversions(NOV).conversions == []
    assert snapshot(store) == ({}, {})
    assert store.overall([NOV]) == {}


def _bad_conversions() -> dict[str, StoredConversion]:
    good = conversion("deal:bad", (("paid_search", "c1"), ("events", None)))
    first, second = good.touches
    return {
        "a naive converted_at": replace(good, converted_at=datetime(2026, 11, 3)),
        "a naive touch": replace(
            good, touches=(replace(first, touch=replace(first.touch, occurred_at=datetime(2026, 11, 3))), second)
        ),
        "a model missing": replace(
            good, touches=(replace(first, credits={Model.LINEAR: first.credits[Model.LINEAR]}), second)
        ),
        "deal units missing": replace(good, touches=(replace(first, deal_units={}), second)),
        "a credit of another touch": replace(
            good,
            touches=(replace(first, credits={**first.credits, Model.LINEAR: second.credits[Model.LINEAR]}), second),
        ),
        "a float weight": replace(
            good,
            touches=(
                replace(
                    first,
                    credits={**first.credits, Model.LINEAR: replace(first.credits[Model.LINEAR], weight=0.5)},  # type: ignore[arg-type]
                ),
                second,
            ),
        ),
        "NO_CAMPAIGN as a campaign": replace(
            good, touches=(replace(first, touch=replace(first.touch, campaign_id=NO_CAMPAIGN)), second)
        ),
        "no channel": replace(good, touches=(replace(first, touch=replace(first.touch, channel="")), second)),
        "a rate that is no rate": replace(good, rate=Decimal("NaN")),
        "no id": replace(good, conversion_id=""),
    }


@pytest.mark.parametrize("bad", _bad_conversions().values(), ids=_bad_conversions().keys())
def test_a_conversion_that_cannot_be_laid_out_is_refused_before_anything_is_written(
    store: AttributionStore, bad: StoredConversion
) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each reason has its own message
        store.record(bad)
    assert store.conversion("deal:bad") is None
    assert snapshot(store) == ({}, {})
    assert store.overall([NOV]) == {}


# ---------------------------------------------------------------------------------------- data-driven batch


def test_replacing_data_driven_credits_moves_the_totals_by_the_difference(store: AttributionStore) -> None:
    # Given a conversion credited linearly (no fit yet) and another one beside it
    first = conversion("deal:1", (("paid_search", "c1"), ("events", None), ("organic_search", "c1")))
    other = conversion("deal:2", (("events", "c2"),), minor=5_000)
    assert store.record(first) is True
    assert store.record(other) is True
    before_campaigns, before_channels = snapshot(store)
    # When the batch replaces its data-driven credits with a fit's
    credits, units = data_driven(first, FIT)
    assert credits != [one.credits[Model.DATA_DRIVEN] for one in first.touches]
    replaced = store.replace_data_driven(first, credits, units, "fit-1")
    # Then the conversion has them, and nothing else of it changed
    assert replaced.fit_id == "fit-1"
    assert [one.credits[Model.DATA_DRIVEN] for one in replaced.touches] == credits
    assert [one.deal_units[Model.DATA_DRIVEN] for one in replaced.touches] == units
    assert store.conversion("deal:1") == replaced
    for old, new in zip(first.touches, replaced.touches, strict=True):
        assert {m: c for m, c in old.credits.items() if m is not Model.DATA_DRIVEN} == {
            m: c for m, c in new.credits.items() if m is not Model.DATA_DRIVEN
        }
        assert (old.touch, old.roles) == (new.touch, new.roles)
    assert replace(replaced, touches=first.touches, fit_id=None) == first
    # And the totals moved by the difference, the data-driven model's only
    campaigns, channels = snapshot(store)
    assert (campaigns, channels) == recomputed([replaced, other])
    assert campaigns["c2"] == before_campaigns["c2"]
    for name, totals in channels.items():
        old_totals = before_channels[name]
        assert {m: v for m, v in totals.revenue.items() if m is not Model.DATA_DRIVEN} == {
            m: v for m, v in old_totals.revenue.items() if m is not Model.DATA_DRIVEN
        }
        assert (totals.touches, totals.conversions) == (old_totals.touches, old_totals.conversions)
    assert (
        channels["paid_search"].revenue[Model.DATA_DRIVEN] != before_channels["paid_search"].revenue[Model.DATA_DRIVEN]
    )
    # When a batch that read the conversion before (no fit) replaces them again
    with pytest.raises(StaleCredits, match="conversion deal:1's data-driven credits were computed with fit fit-1"):
        store.replace_data_driven(first, *data_driven(first, FIT), "fit-2")
    # Then nothing moved; one that read it since may
    assert store.conversion("deal:1") == replaced
    assert snapshot(store) == (campaigns, channels)
    linear = [one.credits[Model.DATA_DRIVEN] for one in first.touches]
    back = store.replace_data_driven(
        replaced, linear, [one.deal_units[Model.DATA_DRIVEN] for one in first.touches], "f3"
    )
    assert back == replace(first, fit_id="f3")
    assert snapshot(store) == (before_campaigns, before_channels)
    with pytest.raises(StaleCredits, match="computed with fit f3, not fit-1 as read"):
        store.replace_data_driven(replaced, linear, [0] * 3, "f4")


def test_data_driven_credits_of_a_conversion_never_stored_are_stale(store: AttributionStore) -> None:
    ghost = conversion("deal:ghost")
    with pytest.raises(StaleCredits, match="conversion deal:ghost does not exist"):
        store.replace_data_driven(ghost, *data_driven(ghost, FIT), "fit-1")
    assert store.conversion("deal:ghost") is None
    assert snapshot(store) == ({}, {})


def test_data_driven_credits_that_do_not_fit_the_touches_are_refused(store: AttributionStore) -> None:
    first = conversion("deal:1", (("paid_search", "c1"), ("events", None)))
    store.record(first)
    credits, units = data_driven(first, FIT)
    other = data_driven(conversion("deal:9", (("paid_search", "c1"), ("events", None))), FIT)[0]
    for bad_credits, bad_units, fit_id in [
        (credits[:1], units, "fit-1"),
        (credits, units[:1], "fit-1"),
        (other, units, "fit-1"),
        (credits, units, ""),
    ]:
        with pytest.raises(ValueError):  # noqa: PT011 - each reason has its own message
            store.replace_data_driven(first, bad_credits, bad_units, fit_id)
    assert store.conversion("deal:1") == first


def test_concurrent_batches_replace_once(store: AttributionStore) -> None:
    first = conversion("deal:1", (("paid_search", "c1"), ("events", None)))
    store.record(first)
    barrier = threading.Barrier(10)

    def replace_with(n: int) -> bool:
        barrier.wait()
        try:
            store.replace_data_driven(first, *data_driven(first, FIT), f"fit-{n}")
        except StaleCredits:
            return False
        return True

    with ThreadPoolExecutor(10) as pool:
        won = [n for n, ok in enumerate(pool.map(replace_with, range(10))) if ok]
    assert len(won) == 1
    stored = store.conversion("deal:1")
    assert stored is not None
    assert stored.fit_id == f"fit-{won[0]}"
    assert snapshot(store) == recomputed([stored])


# ------------------------------------------------------------------------------------------- reattribution

NOTHING = Totals(dict.fromkeys(Model, 0), dict.fromkeys(Model, 0), 0, 0)


def credited_only(totals: dict[str, Totals]) -> dict[str, Totals]:
    """The totals but those at 0 (a campaign or channel a reattribution took every credit from keeps its item)."""
    return {name: found for name, found in totals.items() if found != NOTHING}


def test_replacing_a_conversion_moves_its_totals_by_the_difference(store: AttributionStore) -> None:
    # Given a conversion over c1, no campaign and c9, and another one beside it
    first = conversion("deal:1", (("paid_search", "c1"), ("events", None), ("organic_search", "c9")))
    other = conversion("deal:2", (("events", "c2"),), minor=5_000)
    assert store.record(first) is True
    assert store.record(other) is True
    # When it is replaced by its journey under other settings: c1 again, c3 new, c9 and organic_search gone
    new = conversion(
        "deal:1",
        (("paid_search", "c1"), ("email", "c3")),
        settings_version="v2",
        recorded_at=T0 + timedelta(days=30),
    )
    assert store.replace_conversion(store.conversion("deal:1"), new) is True  # type: ignore[arg-type]
    # Then it is stored as replaced, listed once, and every total moved by the difference
    assert store.conversion("deal:1") == new
    assert ids(every_conversion(store, NOV)) == ["deal:1", "deal:2"]
    campaigns, channels = snapshot(store)
    assert (credited_only(campaigns), credited_only(channels)) == recomputed([new, other])
    # And the campaign that disappeared keeps its totals at 0 (so do the channel and the no-campaign key)
    assert campaigns["c9"] == campaigns[NO_CAMPAIGN] == channels["organic_search"] == NOTHING
    assert store.campaign_totals("c9", [NOV]) == {NOV: NOTHING}
    assert campaigns["c2"] == recomputed([other])[0]["c2"]
    assert store.overall([NOV]) == {NOV: recomputed_overall([new, other])}
    # When it is replaced again by touches without a campaign: no longer influenced
    unmarked = conversion("deal:1", (("direct", None),), settings_version="v3")
    assert store.replace_conversion(new, unmarked) is True
    assert store.overall([NOV]) == {NOV: Overall(95_000, 2, 5_000, 1)}
    assert (credited_only(store.campaigns_totals(NOV)), credited_only(store.channel_totals(NOV))) == recomputed(
        [unmarked, other]
    )


def test_a_conversion_credited_to_nobody_is_replaced_by_its_journey_moving_the_totals(store: AttributionStore) -> None:
    # Given a HubSpot deal credited before anyone named its buyer: no people, no touches (revenue, no campaign)
    nobody = conversion("deal:hubspot:7001", (), contact_ids=())
    other = conversion("deal:2", (("events", "c2"),), minor=5_000)
    assert store.record(nobody) is True
    assert store.record(other) is True
    assert store.overall([NOV]) == {NOV: Overall(95_000, 2, 5_000, 1)}
    # When a later event names the buyer and it is credited again to their journey (the same conversion id)
    named = conversion(
        "deal:hubspot:7001",
        (("paid_social", "c1"), ("email", "c3")),
        contact_ids=("lead-001",),
        recorded_at=T0 + timedelta(days=3),
    )
    assert store.replace_conversion(nobody, named) is True
    # Then it is stored so, listed once, and the campaigns, channels and month hold exactly the two conversions
    assert store.conversion("deal:hubspot:7001") == named
    assert ids(every_conversion(store, NOV)) == ["deal:2", "deal:hubspot:7001"]
    campaigns, channels = snapshot(store)
    assert (credited_only(campaigns), credited_only(channels)) == recomputed([named, other])
    assert store.overall([NOV]) == {NOV: Overall(95_000, 2, 95_000, 2)}


def test_a_replacement_of_a_conversion_no_longer_stored_as_read_writes_nothing(store: AttributionStore) -> None:
    first = conversion("deal:1", (("paid_search", "c1"), ("events", None)))
    assert store.record(first) is True
    second = conversion("deal:1", (("email", "c2"),), recorded_at=T0 + timedelta(days=1))
    assert store.replace_conversion(first, second) is True
    before = snapshot(store), store.overall([NOV])
    # A replacement computed from what was stored before (any field differing: here only recorded_at) is stale
    for stale in (first, replace(second, recorded_at=second.recorded_at + timedelta(microseconds=1))):
        assert store.replace_conversion(stale, conversion("deal:1", (("events", "c3"),))) is False
        assert store.conversion("deal:1") == second
        assert (snapshot(store), store.overall([NOV])) == before
    # So is one of a conversion never stored
    ghost = conversion("deal:ghost")
    assert store.replace_conversion(ghost, replace(ghost, settings_version="v2")) is False
    assert store.conversion("deal:ghost") is None
    assert (snapshot(store), store.overall([NOV])) == before
    # And the data-driven batch that read it before the replacement (same fit, same touch count) is stale too
    with pytest.raises(StaleCredits, match="conversion deal:1 was replaced since it was read"):
        store.replace_data_driven(replace(second, settings_version="v0"), *data_driven(second, FIT), "fit-1")
    assert (snapshot(store), store.overall([NOV])) == before
    # A replacement by the same conversion writes nothing and is True; another conversion is a ValueError
    assert store.replace_conversion(second, second) is True
    with pytest.raises(ValueError, match="cannot be replaced by conversion deal:2"):
        store.replace_conversion(second, conversion("deal:2"))
    assert store.conversion("deal:1") == second
    assert (snapshot(store), store.overall([NOV])) == before


def test_a_conversion_read_back_replaces_and_is_recredited(store: AttributionStore) -> None:
    # Every field, times in three zones, read back in UTC (listed, as the batch reads, or got): what is read is
    # what is stored, to the digest
    assert store.record(_every_field) is True
    (listed,) = store.conversions(NOV).conversions
    credited_again = store.replace_data_driven(listed, *data_driven(listed, FIT), "fit-1")
    read = store.conversion(_every_field.conversion_id)
    assert read == credited_again
    moved = replace(credited_again, settings_version="attribution.json@8", account_id=None)
    assert store.replace_conversion(store.conversion(read.conversion_id), moved) is True  # type: ignore[arg-type]
    assert store.conversion(read.conversion_id) == moved
    assert (credited_only(store.campaigns_totals(NOV)), credited_only(store.channel_totals(NOV))) == recomputed([moved])


def _wide(prefix: str) -> StoredConversion:
    """`_touching(48, 50)` with its campaigns named after `prefix`: the same touches, times and channels."""
    specs = [(f"channel_{n % 50}", f"{prefix}-{n % 48}") for n in range(50)]
    return conversion("deal:wide", specs, minor=1_000_000)


def _elsewhere() -> StoredConversion:
    """`_touching(48, 50)` moved to 48 other campaigns and 50 other channels."""
    return conversion("deal:wide", [(f"other_{n % 50}", f"other-{n % 48}") for n in range(50)], minor=1_000_000)


def test_a_replacement_too_wide_for_one_transaction_is_refused(store: AttributionStore) -> None:
    assert store.record(_touching(48, 50)) is True
    before = snapshot(store), store.overall([NOV])
    # 48 campaigns out, 48 in, 50 channels out, 50 in: 196 totals items beside the conversion
    with pytest.raises(ValueError, match=r"moves 196 totals items .*at most 99"):
        store.replace_conversion(_touching(48, 50), _elsewhere())
    assert store.conversion("deal:wide") == _touching(48, 50)
    assert (snapshot(store), store.overall([NOV])) == before
    # 48 campaigns out, 48 in, the channels as they were: 96 items beside the conversion
    assert store.replace_conversion(_touching(48, 50), _wide("renamed")) is True
    campaigns, channels = snapshot(store)
    assert (credited_only(campaigns), credited_only(channels)) == recomputed([_wide("renamed")])
    assert len(campaigns) == 96


def test_concurrent_reattributions_replace_once(store: AttributionStore) -> None:
    first = conversion("deal:1", (("paid_search", "c1"), ("events", None)))
    store.record(first)
    barrier = threading.Barrier(10)

    def replace_with(n: int) -> bool:
        barrier.wait()
        return store.replace_conversion(
            first, conversion("deal:1", ((f"channel_{n}", f"c-{n}"),), settings_version=f"v{n}")
        )

    with ThreadPoolExecutor(10) as pool:
        won = [n for n, ok in enumerate(pool.map(replace_with, range(10))) if ok]
    assert len(won) == 1
    stored = store.conversion("deal:1")
    assert stored is not None
    assert stored.settings_version == f"v{won[0]}"
    assert (credited_only(store.campaigns_totals(NOV)), credited_only(store.channel_totals(NOV))) == recomputed(
        [stored]
    )
    assert store.overall([NOV]) == {NOV: recomputed_overall([stored])}


# ------------------------------------------------------------------------------ totals vs the conversions

_SPECS: list[Spec] = [("paid_search", "c1"), ("paid_search", None), ("events", "c#2"), ("organic_search", "c1")]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_totals_equal_a_recomputation_from_the_conversions(store: AttributionStore, data: st.DataObject) -> None:
    # Given a month of its own, random conversions recorded (some twice), some of their data-driven credits
    # replaced (some by a batch that read them before another replaced them)
    year = next(_years)
    month = f"{year}-11"
    held: dict[str, StoredConversion] = {}
    serial = itertools.count()
    for _ in range(data.draw(st.integers(1, 8), label="steps")):
        action = data.draw(
            st.sampled_from(["record", "record", "again", "replace", "stale", "reattribute", "stale reattribution"]),
            label="action",
        )
        if action == "record" or not held:
            one = conversion(
                f"{year}-{next(serial)}",
                data.draw(st.lists(st.sampled_from(_SPECS), max_size=5), label="touches"),
                minor=data.draw(st.integers(0, 10**12), label="minor"),
                at=datetime(year, 11, data.draw(st.integers(1, 30)), data.draw(st.integers(0, 23)), tzinfo=UTC),
            )
            assert store.record(one) is True
            held[one.conversion_id] = one
            continue
        chosen = held[data.draw(st.sampled_from(sorted(held)), label="which")]
        if action == "again":
            assert store.record(chosen) is False
        elif action == "replace":
            paths = data.draw(
                st.lists(
                    st.tuples(st.lists(st.sampled_from([s[0] for s in _SPECS]), min_size=1, max_size=3), st.booleans()),
                    min_size=1,
                    max_size=5,
                ),
                label="paths",
            )
            fit = fit_markov(path_counts(paths))
            fit_id = f"fit-{next(serial)}"
            held[chosen.conversion_id] = store.replace_data_driven(chosen, *data_driven(chosen, fit), fit_id)
        elif action == "stale":
            stale = replace(chosen, fit_id=f"never-{next(serial)}")
            with pytest.raises(StaleCredits):
                store.replace_data_driven(stale, *data_driven(chosen, FIT), "fit-x")
        else:
            # the journey under other settings: other touches, perhaps another amount and instant in the month
            new = conversion(
                chosen.conversion_id,
                data.draw(st.lists(st.sampled_from(_SPECS), max_size=5), label="new touches"),
                minor=data.draw(st.sampled_from([chosen.company_minor, 0, 7, 10**9]), label="new minor"),
                at=datetime(year, 11, data.draw(st.integers(1, 30)), data.draw(st.integers(0, 23)), tzinfo=UTC),
                settings_version=f"v-{next(serial)}",
            )
            if action == "reattribute":
                read = store.conversion(chosen.conversion_id)
                assert read is not None
                assert store.replace_conversion(read, new) is True
                held[chosen.conversion_id] = new
            else:
                stale = replace(chosen, settings_version=f"never-{next(serial)}")
                assert store.replace_conversion(stale, new) is False
    # Then the month's conversions are those recorded, as last replaced
    listed = every_conversion(store, month)
    assert sorted(ids(listed)) == sorted(held)
    assert {one.conversion_id: one for one in listed} == held
    # And the totals are what their credits add up to (a campaign or channel whose conversions were all
    # reattributed away is at 0), the month's overall what their amounts do
    campaigns, channels = recomputed(listed)
    assert credited_only(store.campaigns_totals(month)) == campaigns
    assert credited_only(store.channel_totals(month)) == channels
    for campaign, totals in campaigns.items():
        assert store.campaign_totals(campaign, [month]) == {month: totals}
    assert store.overall([month]) == {month: recomputed_overall(listed)}


# ---------------------------------------------------------------------------------------------- listings


def _listing_fixture(store: AttributionStore) -> list[StoredConversion]:
    """Seven November conversions (two at the same instant), one of October, one of December."""
    at = [
        ("n-b", datetime(2026, 11, 3, 9, tzinfo=UTC)),
        ("n-a", datetime(2026, 11, 3, 9, tzinfo=UTC)),
        ("n-c", datetime(2026, 11, 3, 4, 30, tzinfo=WEST)),  # 12:30 UTC
        ("m-1", datetime(2026, 11, 1, 0, 0, tzinfo=UTC)),
        ("z-9", datetime(2026, 11, 1, 5, 0, tzinfo=EAST)),  # October 31st, 23:30 UTC
        ("q-1", datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC)),
        ("a-0", datetime(2026, 11, 14, 8, tzinfo=UTC)),
        ("x#1", datetime(2026, 11, 14, 8, tzinfo=UTC)),
        ("dec", datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    made = [conversion(name, at=moment) for name, moment in at]
    for one in made:
        assert store.record(one) is True
    return made


def test_a_months_conversions_are_listed_by_time_then_id(store: AttributionStore) -> None:
    _listing_fixture(store)
    assert ids(store.conversions(NOV).conversions) == ["m-1", "n-a", "n-b", "n-c", "a-0", "x#1", "q-1"]
    assert ids(store.conversions("2026-10").conversions) == ["z-9"]
    assert ids(store.conversions("2026-12").conversions) == ["dec"]
    assert store.conversions("2026-09").conversions == []
    assert store.conversions(NOV).next_cursor is None


@pytest.mark.parametrize("page", [1, 2, 3, 6, 7])
def test_pages_of_conversions_follow_one_another_without_gaps_or_repeats(store: AttributionStore, page: int) -> None:
    _listing_fixture(store)
    assert ids(every_conversion(store, NOV, page)) == ["m-1", "n-a", "n-b", "n-c", "a-0", "x#1", "q-1"]
    assert store.conversions(NOV, limit=7).next_cursor is None
    assert store.conversions(NOV, limit=6).next_cursor is not None


@pytest.mark.parametrize("page", [1, 2, 3, 6, 7])
def test_pages_of_outlines_are_the_pages_of_conversions_outlined(store: AttributionStore, page: int) -> None:
    # Given a month's conversions, of one to three touches
    made = _listing_fixture(store)
    for n, spec in enumerate(((("paid_search", "c1"), ("events", None)), (("email", "c2"),) * 3)):
        store.record(conversion(f"t-{n}", spec, at=datetime(2026, 11, 20 + n, tzinfo=UTC)))
    # Then each page of outlines is the same page of conversions outlined, with the same cursor
    cursor = None
    while True:
        whole = store.conversions(NOV, limit=page, cursor=cursor)
        outlined = store.conversion_outlines(NOV, limit=page, cursor=cursor)
        assert outlined.outlines == [ConversionOutline.of(one) for one in whole.conversions]
        assert outlined.next_cursor == whole.next_cursor
        if (cursor := whole.next_cursor) is None:
            break
    assert ids(outlines(store)) == ["m-1", "n-a", "n-b", "n-c", "a-0", "x#1", "t-0", "t-1", "q-1"]
    assert [one.touch_count for one in outlines(store)] == [1, 1, 1, 1, 1, 1, 2, 3, 1]
    assert ids(every_outline(store, "2026-10", page)) == ["z-9"] == ids(made[4:5])
    assert store.conversion_outlines("2026-09").outlines == []
    assert store.conversion_outlines(NOV, limit=9).next_cursor is None
    # And a cursor of either listing continues the other
    first = store.conversions(NOV, limit=page).next_cursor
    assert first is not None
    assert store.conversion_outlines(NOV, limit=2, cursor=first).outlines == [
        ConversionOutline.of(one) for one in store.conversions(NOV, limit=2, cursor=first).conversions
    ]
    other = store.conversion_outlines(NOV, limit=page).next_cursor
    assert other == first
    assert ids(store.conversions(NOV, cursor=other).conversions) == ids(
        store.conversion_outlines(NOV, cursor=other).outlines
    )


def test_an_outline_follows_its_conversion_replaced(store: AttributionStore) -> None:
    # Given a conversion of three touches, its data-driven credits replaced by the batch
    one = conversion("deal:1", (("paid_search", "c1"), ("events", None), ("email", "c2")))
    assert store.record(one) is True
    refit = store.replace_data_driven(one, *data_driven(one, FIT), "f1")
    assert outlines(store) == [ConversionOutline.of(in_utc(refit))]
    # When a reattribution replaces it with a journey of one touch, for another account and people
    read = store.conversion("deal:1")
    assert read is not None
    again = conversion("deal:1", (("events", None),), contact_ids=("hubspot:9", "hubspot:10"), account_id="acct-1")
    assert store.replace_conversion(read, again) is True
    # Then its outline is the new one's
    [outline] = outlines(store)
    assert outline == ConversionOutline.of(again)
    assert (outline.touch_count, outline.contact_ids, outline.account_id) == (1, ("hubspot:9", "hubspot:10"), "acct-1")


def _b64(document: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor",
        "!!!!",
        _b64([1, 2]),
        _b64({"after": "2026-11-03T09:00:00.000000+00:00#n-a"}),
        _b64({"after": "n-a", "p": NOV}),
        _b64({"after": "2026-11-03T09:00:00.000000+00:00#", "p": NOV}),
        _b64({"after": "2026-11-03T09:00:00+00:00#n-a", "p": NOV}),
        _b64({"after": "2026-11-03T09:00:00.000000#n-a", "p": NOV}),
        _b64({"after": 5, "p": NOV}),
        _b64({"after": "2026-11-03T09:00:00.000000+00:00#n-a", "p": 5}),
    ],
)
def test_a_cursor_the_store_did_not_issue_is_invalid_input(store: AttributionStore, cursor: str) -> None:
    _listing_fixture(store)
    with pytest.raises(InvalidInput, match="cursor is not one this API returned"):
        store.conversions(NOV, cursor=cursor)
    with pytest.raises(InvalidInput, match="cursor is not one this API returned"):
        store.conversion_outlines(NOV, cursor=cursor)


def test_a_cursor_of_another_month_is_invalid_input(store: AttributionStore) -> None:
    _listing_fixture(store)
    cursor = store.conversions(NOV, limit=2).next_cursor
    assert cursor is not None
    assert ids(store.conversions(NOV, limit=2, cursor=cursor).conversions) == ["n-b", "n-c"]
    with pytest.raises(InvalidInput, match="another month"):
        store.conversions("2026-12", cursor=cursor)
    with pytest.raises(InvalidInput, match="another month"):
        store.conversion_outlines("2026-12", cursor=cursor)
    forged = _b64({"after": "2026-12-01T00:00:00.000000+00:00#dec", "p": NOV})
    with pytest.raises(InvalidInput, match="another month"):
        store.conversions(NOV, cursor=forged)
    with pytest.raises(InvalidInput, match="another month"):
        store.conversion_outlines(NOV, cursor=forged)


@pytest.mark.parametrize("period", ["2026-13", "nov", "", "2026-Q4"])
def test_periods_are_months(store: AttributionStore, period: str) -> None:
    for read in (store.conversions, store.conversion_outlines, store.channel_totals, store.campaigns_totals):
        with pytest.raises(InvalidInput):
            read(period)  # type: ignore[operator]
    with pytest.raises(InvalidInput):
        store.campaign_totals("c1", [NOV, period])
    for read_months in (store.overall, store.funnel, store.monthly_funnel):
        with pytest.raises(InvalidInput):
            read_months([NOV, period])  # type: ignore[operator]
    with pytest.raises(InvalidInput):
        store.campaign_funnel("c1", [NOV, period])
    with pytest.raises(InvalidInput, match="limit must be at least 1"):
        store.conversions(NOV, limit=0)
    with pytest.raises(InvalidInput, match="limit must be at least 1"):
        store.conversion_outlines(NOV, limit=0)


def test_a_campaigns_totals_across_months(store: AttributionStore) -> None:
    # Given c1 converting in September, October and December, and another campaign in November
    made = [
        conversion("sep", (("paid_search", "c1"),), at=datetime(2026, 9, 9, tzinfo=UTC), minor=100),
        conversion("oct", (("paid_search", "c1"), ("events", "c1")), at=datetime(2026, 10, 9, tzinfo=UTC), minor=200),
        conversion("nov", (("paid_search", "c2"),), at=datetime(2026, 11, 9, tzinfo=UTC), minor=300),
        conversion("dec", (("events", None),), at=datetime(2026, 12, 9, tzinfo=UTC), minor=400),
        conversion("dec2", (("events", "c1"),), at=datetime(2026, 12, 10, tzinfo=UTC), minor=500),
    ]
    for one in made:
        store.record(one)
    # Then its months are those asked for where it has totals, each month's its own
    asked = ["2026-12", "2026-09", "2026-11", "2026-10", "2026-08", "2026-12"]
    found = store.campaign_totals("c1", asked)
    assert list(found) == ["2026-12", "2026-09", "2026-10"]
    assert {month: totals.revenue[Model.LINEAR] for month, totals in found.items()} == {
        "2026-09": 100,
        "2026-10": 200,
        "2026-12": 500,
    }
    assert found["2026-10"].touches == 2
    assert found["2026-10"].conversions == 1
    assert store.campaign_totals(NO_CAMPAIGN, asked) == {"2026-12": recomputed([made[3]])[0][NO_CAMPAIGN]}
    assert store.campaign_totals("c1", []) == {}
    assert store.campaign_totals("unknown", asked) == {}
    # And the month's listings name each campaign and channel once
    assert set(store.campaigns_totals("2026-12")) == {NO_CAMPAIGN, "c1"}
    assert set(store.channel_totals("2026-12")) == {"events"}
    assert store.campaigns_totals("2026-10") == {"c1": found["2026-10"]}
    assert set(store.channel_totals("2026-10")) == {"paid_search", "events"}


def test_a_month_of_many_campaigns_is_listed_whole(store: AttributionStore) -> None:
    for n in range(30):
        store.record(conversion(f"deal:{n}", ((f"channel_{n % 4}", f"campaign-{n:02d}#x"),), minor=n))
    campaigns = store.campaigns_totals(NOV)
    assert sorted(campaigns) == [f"campaign-{n:02d}#x" for n in range(30)]
    assert campaigns["campaign-07#x"].revenue[Model.W_SHAPED] == 7
    assert sorted(store.channel_totals(NOV)) == [f"channel_{n}" for n in range(4)]
    assert store.channel_totals(NOV)["channel_1"].conversions == 8


# ----------------------------------------------------------------------------------------------------- fits


def stored_fit(day: int, fit: MarkovFit = FIT, zone: timezone = UTC) -> StoredFit:
    fitted_at = datetime(2026, 11, day, 2, 0, 0, 500, tzinfo=UTC)
    return StoredFit(f"2026-11#{fitted_at.isoformat()}", NOV, fitted_at.astimezone(zone), fit)


def test_the_latest_fitted_fit_wins(store: AttributionStore) -> None:
    assert store.latest_fit() is None
    first = stored_fit(1, zone=EAST)
    store.save_fit(first)
    latest = store.latest_fit()
    assert latest == replace(first, fitted_at=first.fitted_at.astimezone(UTC))
    assert latest is not None
    assert latest.fitted_at.tzinfo == UTC
    assert latest.fit.removal_effects == FIT.removal_effects
    assert latest.fit.transitions == FIT.transitions
    assert all(type(effect) is Fraction for effect in latest.fit.removal_effects.values())
    # A later fit becomes the latest
    other = fit_markov(path_counts([(["events"], True), (["paid_social", "events"], False)]))
    later = stored_fit(8, other)
    store.save_fit(later)
    assert store.latest_fit() == later
    # An earlier one saved after it (a slow batch) is kept, and not made the latest
    store.save_fit(stored_fit(5))
    store.save_fit(first)
    assert store.latest_fit() == later
    # One fitted at the same instant: the last saved
    twin = replace(later, fit=FIT)
    store.save_fit(twin)
    assert store.latest_fit() == twin


def test_a_fit_with_a_naive_time_is_refused(store: AttributionStore) -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        store.save_fit(replace(stored_fit(1), fitted_at=datetime(2026, 11, 1)))
    assert store.latest_fit() is None


# -------------------------------------------------------------------------------------------------- overall


def test_a_months_overall_counts_every_conversion_and_the_influenced_ones(store: AttributionStore) -> None:
    # Given November: a conversion with a campaign touch, one whose touches carry none, one without touches
    influenced = conversion("deal:1", (("events", None), ("paid_search", "c1")), minor=90_000)
    assert store.record(influenced) is True
    assert store.record(conversion("deal:2", (("events", None), ("organic_search", None)), minor=10_000)) is True
    bare = conversion("first-payment:cus_1", (), kind=ConversionKind.FIRST_PAYMENT, deal_id=None, minor=5_000)
    assert store.record(bare) is True
    # And December: one at 23:30 on November 30th in UTC-8 (December 1st in UTC)
    late = conversion("deal:late", (("paid_search", "c2"),), minor=7, at=datetime(2026, 11, 30, 23, 30, tzinfo=WEST))
    assert store.record(late) is True
    # Then each month holds its conversions in all, and the influenced ones apart
    nov, dec = Overall(105_000, 3, 90_000, 1), Overall(7, 1, 7, 1)
    found = store.overall(["2026-12", "2026-10", NOV, "2026-12"])
    assert found == {"2026-12": dec, NOV: nov}
    assert list(found) == ["2026-12", NOV]  # in the order asked, months without conversions absent
    assert store.overall([]) == {}
    # When a conversion is recorded again, or its data-driven credits replaced, nothing moves
    assert store.record(replace(influenced, company_minor=1)) is False
    store.replace_data_driven(influenced, *data_driven(influenced, FIT), "fit-1")
    assert store.overall([NOV, "2026-12"]) == {NOV: nov, "2026-12": dec}
    # And the overall sits beside the campaigns and channels, not among them
    assert set(store.campaigns_totals(NOV)) == {"c1", NO_CAMPAIGN}
    assert set(store.channel_totals(NOV)) == {"events", "paid_search", "organic_search"}


# ------------------------------------------------------------------------------------------------- pipeline

ZERO = dict.fromkeys(Model, 0)


def figures(minor: int) -> dict[Model, int]:
    """A campaign's credits under every model: `minor`, twice as much under the linear model (models differ)."""
    return {model: minor * 2 if model is Model.LINEAR else minor for model in Model}


def pipe(campaigns: dict[str, int]) -> dict[str, dict[Model, int]]:
    return {campaign: figures(minor) for campaign, minor in campaigns.items()}


def pipeline_of(store: AttributionStore, *campaigns: str) -> dict[str, dict[Model, int]]:
    return {campaign: store.campaign_pipeline(campaign) for campaign in campaigns}


def test_a_deals_pipeline_moves_its_campaigns_and_the_total_by_the_difference(store: AttributionStore) -> None:
    assert store.deal_pipeline("d1") is None
    assert store.campaign_pipeline("c1") == ZERO
    assert store.total_pipeline() == ZERO
    # Given a deal's contribution, set from none (version 0), part of it without campaign
    first = pipe({"c1": 600, NO_CAMPAIGN: 400})
    store.set_pipeline("d1", first, 0)
    assert store.deal_pipeline("d1") == DealPipeline("d1", first, 1)
    assert pipeline_of(store, "c1", NO_CAMPAIGN) == {"c1": figures(600), NO_CAMPAIGN: figures(400)}
    assert store.total_pipeline() == figures(600)  # marketing-influenced: not the part without campaign
    # And another deal's
    store.set_pipeline("d2", pipe({"c1": 100, "c#2": 50}), 0)
    assert pipeline_of(store, "c1", "c#2") == {"c1": figures(700), "c#2": figures(50)}
    assert store.total_pipeline() == figures(750)
    # When the first is replaced: less for c1, some for c#2, none without campaign
    store.set_pipeline("d1", pipe({"c1": 200, "c#2": 300}), 1)
    assert store.deal_pipeline("d1") == DealPipeline("d1", pipe({"c1": 200, "c#2": 300}), 2)
    assert pipeline_of(store, "c1", "c#2", NO_CAMPAIGN) == {"c1": figures(300), "c#2": figures(350), NO_CAMPAIGN: ZERO}
    assert store.total_pipeline() == figures(650)
    # When it is removed (won or lost)
    store.set_pipeline("d1", None, 2)
    assert store.deal_pipeline("d1") is None
    assert pipeline_of(store, "c1", "c#2") == {"c1": figures(100), "c#2": figures(50)}
    assert store.total_pipeline() == figures(150)
    # Then it can be set again from none, and a model left out credits nothing
    store.set_pipeline("d1", {"c3": {Model.LINEAR: 9}}, 0)
    assert store.deal_pipeline("d1") == DealPipeline("d1", {"c3": {**ZERO, Model.LINEAR: 9}}, 1)
    assert store.campaign_pipeline("c3") == {**ZERO, Model.LINEAR: 9}
    assert store.total_pipeline() == {**figures(150), Model.LINEAR: 309}
    assert store.campaign_pipeline("unknown") == ZERO


def test_a_pipeline_set_from_a_version_not_stored_is_stale(store: AttributionStore) -> None:
    store.set_pipeline("d1", pipe({"c1": 100}), 0)
    store.set_pipeline("d1", pipe({"c1": 150}), 1)
    before = (store.deal_pipeline("d1"), store.campaign_pipeline("c1"), store.total_pipeline())
    with pytest.raises(StaleDeal, match=r"pipeline of deal d1 exists already \(version 2\)"):
        store.set_pipeline("d1", pipe({"c1": 5}), 0)
    with pytest.raises(StaleDeal, match="pipeline of deal d1 is at version 2, not 1 as read"):
        store.set_pipeline("d1", None, 1)
    with pytest.raises(StaleDeal, match="pipeline of deal d1 is at version 2, not 3 as read"):
        store.set_pipeline("d1", pipe({"c1": 5}), 3)
    with pytest.raises(StaleDeal, match=r"pipeline of deal d9 does not exist \(it was read at version 1\)"):
        store.set_pipeline("d9", pipe({"c1": 5}), 1)
    with pytest.raises(StaleDeal, match=r"pipeline of deal d9 does not exist \(it was read at version 1\)"):
        store.set_pipeline("d9", None, 1)
    assert (store.deal_pipeline("d1"), store.campaign_pipeline("c1"), store.total_pipeline()) == before
    assert store.deal_pipeline("d9") is None


def test_removing_a_pipeline_never_set_writes_nothing(store: AttributionStore) -> None:
    store.set_pipeline("d1", None, 0)
    assert store.deal_pipeline("d1") is None
    store.set_pipeline("d1", pipe({"c1": 10}), 0)  # still from version 0
    assert store.deal_pipeline("d1") == DealPipeline("d1", pipe({"c1": 10}), 1)
    # An empty contribution is one (version 1), and moves nothing
    store.set_pipeline("d2", {}, 0)
    assert store.deal_pipeline("d2") == DealPipeline("d2", {}, 1)
    assert store.total_pipeline() == figures(10)


def test_twenty_concurrent_writers_of_a_new_pipeline_leave_one(store: AttributionStore) -> None:
    barrier = threading.Barrier(20)

    def set_one(n: int) -> bool:
        barrier.wait()
        try:
            store.set_pipeline("d1", pipe({f"c{n}": 100 + n, "shared": 1}), 0)
        except StaleDeal:
            return False
        return True

    with ThreadPoolExecutor(20) as pool:
        won = [n for n, ok in enumerate(pool.map(set_one, range(20))) if ok]
    assert len(won) == 1
    assert store.deal_pipeline("d1") == DealPipeline("d1", pipe({f"c{won[0]}": 100 + won[0], "shared": 1}), 1)
    assert store.campaign_pipeline("shared") == figures(1)
    assert {n: store.campaign_pipeline(f"c{n}") for n in range(20)} == {
        n: figures(100 + n) if n == won[0] else ZERO for n in range(20)
    }
    assert store.total_pipeline() == figures(101 + won[0])


def _bad_pipelines() -> dict[str, tuple[str, Any, Any]]:
    return {
        "no deal id": ("", pipe({"c1": 1}), 0),
        "a negative version": ("d1", pipe({"c1": 1}), -1),
        "a boolean version": ("d1", pipe({"c1": 1}), False),
        "an empty campaign id": ("d1", pipe({"": 1}), 0),
        "a model by name": ("d1", {"c1": {"linear": 1}}, 0),
        "a float figure": ("d1", {"c1": {Model.LINEAR: 1.5}}, 0),
        "more campaigns than one transaction moves": ("d1", pipe({f"c{n}": 1 for n in range(99)}), 0),
    }


@pytest.mark.parametrize("bad", _bad_pipelines().values(), ids=_bad_pipelines().keys())
def test_a_pipeline_that_cannot_be_laid_out_is_refused(store: AttributionStore, bad: tuple[str, Any, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each reason has its own message
        store.set_pipeline(*bad)
    assert store.deal_pipeline("d1") is None
    assert store.total_pipeline() == ZERO
    assert store.campaign_pipeline("c1") == ZERO


def test_a_pipeline_fits_one_transaction_and_a_wider_replacement_is_refused(store: AttributionStore) -> None:
    # 98 campaigns + the deal's contribution + the total: 100 items, the most
    wide = pipe({f"c{n}": 1 for n in range(98)})
    store.set_pipeline("d1", wide, 0)
    assert store.total_pipeline() == figures(98)
    # Replacing them by 98 others would move 196 campaigns: refused, nothing moves
    other = pipe({f"o{n}": 1 for n in range(98)})
    with pytest.raises(ValueError, match=r"moves the pipeline of 196 campaigns, .* remove the deal's contribution"):
        store.set_pipeline("d1", other, 1)
    assert store.deal_pipeline("d1") == DealPipeline("d1", wide, 1)
    assert store.campaign_pipeline("o0") == ZERO
    # Removed first, then set: both fit
    store.set_pipeline("d1", None, 1)
    store.set_pipeline("d1", other, 0)
    assert (store.campaign_pipeline("c0"), store.campaign_pipeline("o97")) == (ZERO, figures(1))
    assert store.total_pipeline() == figures(98)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_campaign_pipeline_equals_the_sum_of_the_stored_contributions(
    store: AttributionStore, data: st.DataObject
) -> None:
    # Given campaigns and deals of their own per example (but NO_CAMPAIGN and the total, which every example
    # shares: read before), random contributions set, replaced and removed, some by writers that read another
    # version
    run = next(_years)
    campaigns = [f"p{run}-a", f"p{run}#b", f"p{run}-c"]
    deals = [f"{run}-d{n}" for n in range(3)]
    shared_before = store.campaign_pipeline(NO_CAMPAIGN)
    total_before = store.total_pipeline()
    contributions = st.none() | st.dictionaries(
        st.sampled_from([*campaigns, NO_CAMPAIGN]),
        st.fixed_dictionaries({model: st.integers(0, 10**12) for model in Model}),
        max_size=4,
    )
    for _ in range(data.draw(st.integers(1, 10), label="steps")):
        deal_id = data.draw(st.sampled_from(deals), label="deal")
        credits = data.draw(contributions, label="credits")
        held = store.deal_pipeline(deal_id)
        version = held.version if held else 0
        if data.draw(st.booleans(), label="stale"):
            with pytest.raises(StaleDeal):
                store.set_pipeline(deal_id, credits, version + data.draw(st.integers(1, 3), label="ahead"))
            assert store.deal_pipeline(deal_id) == held
            continue
        store.set_pipeline(deal_id, credits, version)
        if credits is None:
            assert store.deal_pipeline(deal_id) is None
        else:
            assert store.deal_pipeline(deal_id) == DealPipeline(deal_id, credits, version + 1)
    # Then each campaign's pipeline is the sum of the stored contributions' credits there
    stored = [found for deal_id in deals if (found := store.deal_pipeline(deal_id)) is not None]

    def summed(campaign: str) -> dict[Model, int]:
        return {model: sum(one.credits.get(campaign, {}).get(model, 0) for one in stored) for model in Model}

    for campaign in campaigns:
        assert store.campaign_pipeline(campaign) == summed(campaign)
    assert store.campaign_pipeline(NO_CAMPAIGN) == {m: shared_before[m] + summed(NO_CAMPAIGN)[m] for m in Model}
    # And the total moved by theirs but the part without campaign
    assert store.total_pipeline() == {m: total_before[m] + sum(summed(c)[m] for c in campaigns) for m in Model}


def test_the_open_deals_contributions_are_listed_as_stored(store: AttributionStore) -> None:
    # Given three deals' contributions, one empty, one replaced, and a fourth removed (won)
    store.set_pipeline("d1", pipe({"c1": 100, NO_CAMPAIGN: 5}), 0)
    store.set_pipeline("d#2", {}, 0)
    store.set_pipeline("d3", pipe({"c1": 10}), 0)
    store.set_pipeline("d3", pipe({"c#2": 30}), 1)
    store.set_pipeline("d4", pipe({"c1": 1}), 0)
    store.set_pipeline("d4", None, 1)
    # Then the listing holds each contribution as `deal_pipeline` reads it, the removed one not at all, and
    # neither the campaigns' nor the total pipeline
    listed = sorted(store.pipelines(), key=lambda p: p.deal_id)
    assert listed == [
        DealPipeline("d#2", {}, 1),
        DealPipeline("d1", pipe({"c1": 100, NO_CAMPAIGN: 5}), 1),
        DealPipeline("d3", pipe({"c#2": 30}), 2),
    ]
    assert listed == [store.deal_pipeline(p.deal_id) for p in listed]


# --------------------------------------------------------------------------------------------------- funnel


def entry(
    event_id: str,
    stage: str = "Lead",
    *,
    campaign: str = "c1",
    seconds: int | None = None,
    at: datetime = T0,
    lead: str = "hubspot:501",
) -> StageEntry:
    return StageEntry(event_id, lead, stage, at, campaign, seconds)


NO_ENTRIES = dict.fromkeys(FUNNEL_STAGES, StageCounts())


def test_a_stage_entry_is_counted_once(store: AttributionStore) -> None:
    first = entry("e1", "MQL", seconds=3_600)
    assert store.record_stage_entry(first) is True
    # Recorded again, even as another stage or campaign (the same event): not counted
    assert store.record_stage_entry(first) is False
    assert store.record_stage_entry(replace(first, stage="SQL", campaign_id="c9", seconds_in_previous=5)) is False
    assert store.funnel([NOV]) == {**NO_ENTRIES, "MQL": StageCounts(1, 3_600, 1)}
    assert store.monthly_funnel([NOV]) == {NOV: {**NO_ENTRIES, "MQL": StageCounts(1, 3_600, 1)}}
    assert store.campaign_funnel("c1", [NOV]) == {**dict.fromkeys(FUNNEL_STAGES, 0), "MQL": 1}
    assert store.campaign_funnel("c9", [NOV]) == dict.fromkeys(FUNNEL_STAGES, 0)


def test_the_funnel_by_month_stage_and_campaign(store: AttributionStore) -> None:
    # Given November's entries, one of October, and one at 23:30 on November 30th in UTC-8 (December in UTC)
    late = entry("s1", "SQL", seconds=86_400, at=datetime(2026, 11, 30, 23, 30, tzinfo=WEST))
    assert late.period == "2026-12"  # the entry's month is UTC's, as the store counts it
    made = [
        entry("v1", VISITOR, campaign=NO_CAMPAIGN, lead="hubspot:1"),
        entry("v2", VISITOR, lead="hubspot:2"),
        entry("l1", "Lead", lead="hubspot:2"),
        entry("m1", "MQL", seconds=7_200, lead="hubspot:2"),
        entry("m2", "MQL", campaign="c#2", seconds=3_600, lead="hubspot:3"),
        entry("m3", "MQL", seconds=None, lead="hubspot:4"),
        entry("m4", "MQL", campaign="c#2", seconds=0, lead="hubspot:5"),
        late,
        entry("o1", "Opportunity", seconds=10, at=datetime(2026, 10, 2, tzinfo=EAST)),  # October 1st in UTC
    ]
    for one in made:
        assert store.record_stage_entry(one) is True
    # Then each month holds its entries per stage, with the time in the stage left of those that knew it
    nov = {
        **NO_ENTRIES,
        VISITOR: StageCounts(2, 0, 0),
        "Lead": StageCounts(1, 0, 0),
        "MQL": StageCounts(4, 10_800, 3),
    }
    dec = {**NO_ENTRIES, "SQL": StageCounts(1, 86_400, 1)}
    oct_ = {**NO_ENTRIES, "Opportunity": StageCounts(1, 10, 1)}
    monthly = store.monthly_funnel(["2026-12", "2026-09", NOV, "2026-12"])
    assert monthly == {"2026-12": dec, NOV: nov}
    assert list(monthly) == ["2026-12", NOV]  # in the order asked, months without entries absent
    assert list(monthly[NOV]) == list(FUNNEL_STAGES)
    assert store.monthly_funnel(["2026-10"]) == {"2026-10": oct_}
    # And over months, their sums
    assert store.funnel([NOV]) == nov
    assert store.funnel([NOV, "2026-12", "2026-10"]) == {**nov, "SQL": dec["SQL"], "Opportunity": oct_["Opportunity"]}
    assert store.funnel(["2026-09"]) == store.funnel([]) == NO_ENTRIES
    # And per campaign, the entries it brought
    none = dict.fromkeys(FUNNEL_STAGES, 0)
    assert store.campaign_funnel("c1", [NOV]) == {**none, VISITOR: 1, "Lead": 1, "MQL": 2}
    assert store.campaign_funnel("c1", ["2026-12", NOV, "2026-10"]) == {
        **none,
        VISITOR: 1,
        "Lead": 1,
        "MQL": 2,
        "SQL": 1,
        "Opportunity": 1,
    }
    assert store.campaign_funnel("c#2", [NOV]) == {**none, "MQL": 2}
    assert store.campaign_funnel("c", [NOV]) == none  # a campaign whose id starts another's
    assert store.campaign_funnel(NO_CAMPAIGN, [NOV]) == {**none, VISITOR: 1}
    assert store.campaign_funnel("c1", []) == none


def test_twenty_concurrent_recorders_of_one_stage_entry_count_it_once(store: AttributionStore) -> None:
    one = entry("e-race", "SQL", seconds=60)
    barrier = threading.Barrier(20)

    def record(_: int) -> bool:
        barrier.wait()
        return store.record_stage_entry(one)

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(record, range(20)))
    assert results.count(True) == 1
    assert store.funnel([NOV]) == {**NO_ENTRIES, "SQL": StageCounts(1, 60, 1)}
    assert store.campaign_funnel("c1", [NOV])["SQL"] == 1


def test_concurrent_entries_of_one_month_and_stage_all_count(store: AttributionStore) -> None:
    barrier = threading.Barrier(10)

    def record(n: int) -> bool:
        barrier.wait()
        return store.record_stage_entry(entry(f"e{n}", "MQL", seconds=n, campaign=f"c{n % 2}"))

    with ThreadPoolExecutor(10) as pool:
        assert all(pool.map(record, range(10)))
    assert store.funnel([NOV])["MQL"] == StageCounts(10, 45, 10)
    assert store.campaign_funnel("c0", [NOV])["MQL"] == store.campaign_funnel("c1", [NOV])["MQL"] == 5


def _bad_entries() -> dict[str, StageEntry]:
    good = entry("e-bad", "MQL", seconds=60)
    return {
        "no event id": replace(good, event_id=""),
        "a stage not of the funnel": replace(good, stage="Advocate"),
        "no campaign": replace(good, campaign_id=""),
        "a naive time": replace(good, at=datetime(2026, 11, 3)),
        "a negative time in the previous stage": replace(good, seconds_in_previous=-1),
        "a float time in the previous stage": replace(good, seconds_in_previous=1.5),  # type: ignore[arg-type]
    }


@pytest.mark.parametrize("bad", _bad_entries().values(), ids=_bad_entries().keys())
def test_a_stage_entry_that_cannot_be_laid_out_is_refused(store: AttributionStore, bad: StageEntry) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each reason has its own message
        store.record_stage_entry(bad)
    assert store.funnel([NOV]) == NO_ENTRIES
    assert store.monthly_funnel([NOV]) == {}
    assert store.record_stage_entry(entry("e-bad", "MQL", seconds=60)) is True  # its id was not kept


def test_the_months_counted_entries_are_listed_as_they_count(store: AttributionStore) -> None:
    # Given entries of November (one in UTC-8 late on October 31st: November in UTC), October and December
    made = [
        entry("v1", VISITOR, campaign=NO_CAMPAIGN, lead="hubspot:1"),
        entry("m1", "MQL", campaign="c#2", seconds=60, lead="hubspot:2"),
        entry("l1", "Lead", at=datetime(2026, 10, 31, 20, 0, tzinfo=WEST)),
        entry("o1", "Opportunity", at=datetime(2026, 10, 2, tzinfo=UTC)),
        entry("s1", "SQL", at=datetime(2026, 12, 1, tzinfo=UTC)),
    ]
    for one in made:
        store.record_stage_entry(one)
    # Then a month's listing holds its entries (times in UTC), several months' theirs, a month without none
    expected = {one.event_id: replace(one, at=one.at.astimezone(UTC)) for one in made}
    assert sorted(store.stage_entries([NOV]), key=lambda e: e.event_id) == [expected[k] for k in ("l1", "m1", "v1")]
    listed = {e.event_id for e in store.stage_entries(["2026-10", "2026-12", NOV])}
    assert listed == set(expected)
    assert list(store.stage_entries(["2026-09"])) == list(store.stage_entries([])) == []
    with pytest.raises(InvalidInput, match="quarter"):
        list(store.stage_entries(["2026-Q4"]))


def test_a_counted_entry_moves_to_another_campaign_once(store: AttributionStore) -> None:
    # Given two MQL entries of c1 and a Lead entry of c1 in November
    for one in (entry("m1", "MQL", seconds=60), entry("m2", "MQL"), entry("l1", "Lead")):
        store.record_stage_entry(one)
    funnel = store.funnel([NOV])
    read = next(e for e in store.stage_entries([NOV]) if e.event_id == "m1")
    # When one MQL entry moves to c#2
    assert store.move_stage_entry(read, "c#2") is True
    # Then c1 brought one MQL, c#2 one; the stage counts and the other entries do not move
    none = dict.fromkeys(FUNNEL_STAGES, 0)
    assert store.campaign_funnel("c1", [NOV]) == {**none, "MQL": 1, "Lead": 1}
    assert store.campaign_funnel("c#2", [NOV]) == {**none, "MQL": 1}
    assert store.funnel([NOV]) == funnel
    moved = {e.event_id: e for e in store.stage_entries([NOV])}
    assert moved["m1"] == replace(read, campaign_id="c#2")
    # And the entry as read before it moved moves nothing more, nor one never counted; its own campaign: True
    assert store.move_stage_entry(read, NO_CAMPAIGN) is False
    assert store.move_stage_entry(replace(read, stage="SQL", campaign_id="c#2"), NO_CAMPAIGN) is False
    assert store.move_stage_entry(entry("never"), "c#2") is False
    assert store.move_stage_entry(moved["m1"], "c#2") is True
    assert store.campaign_funnel("c#2", [NOV]) == {**none, "MQL": 1}
    assert store.campaign_funnel(NO_CAMPAIGN, [NOV]) == none
    # And back again
    assert store.move_stage_entry(moved["m1"], "c1") is True
    assert store.campaign_funnel("c1", [NOV]) == {**none, "MQL": 2, "Lead": 1}
    assert store.campaign_funnel("c#2", [NOV]) == none
    with pytest.raises(ValueError, match="campaign id"):
        store.move_stage_entry(moved["m1"], "")


# ------------------------------------------------------------------------------ DynamoDB specifics only


def _item(client: Any, pk: str, sk: str) -> dict[str, Any]:
    """The item in DynamoDB JSON; {} when there is none."""
    item: dict[str, Any] = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}}).get("Item", {})
    return item


def test_the_item_layout(dynamo: tuple[DynamoDbAttributionStore, Any]) -> None:
    repo, client = dynamo
    one = conversion("deal:hubspot:1", (("paid_search", "c1"), ("events", None)), at=T0.astimezone(WEST))
    repo.record(one)
    item = _item(client, "CONVERSION#deal:hubspot:1", "CONVERSION")
    assert {name: item[name] for name in ("converted_at", "conversion_period", "conversion_sort", "rate")} == {
        "converted_at": {"S": "2026-11-20T15:30:00.123456+00:00"},
        "conversion_period": {"S": "2026-11"},
        "conversion_sort": {"S": "2026-11-20T15:30:00.123456+00:00#deal:hubspot:1"},
        "rate": {"S": "1"},
    }
    assert "fit_id" not in item
    assert "account_id" not in item
    # the digest of every other attribute, as the conversion read back computes it (replacements' condition)
    assert len(item["digest"]["S"]) == 64
    assert item["digest"]["S"] == conversion_digest(checked_conversion(repo.conversion("deal:hubspot:1")))  # type: ignore[arg-type]
    first = item["touches"]["L"][0]["M"]
    assert first["touch_id"] == {"S": "deal:hubspot:1/t0"}
    assert first["roles"] == {"L": [{"S": "first"}, {"S": "lead_creation"}]}
    assert "campaign_id" in first
    assert "campaign_id" not in item["touches"]["L"][1]["M"]
    assert set(first["credits"]["M"]) == {model.value for model in Model} - {"data_driven"}
    assert first["credits"]["M"]["linear"] == {
        "M": {
            "minor": {"N": "45000"},
            "weight": {"S": "1/2"},
            "rule": {"S": "linear: 1 of 2 touches"},
            "deal_units": {"N": "500000"},
        }
    }
    assert item["data_driven"]["L"][1]["M"]["weight"] == {"S": "1/2"}
    totals = _item(client, "TOTALS#2026-11", "CAMPAIGN#(none)")
    assert totals["revenue_linear"] == {"N": "45000"}
    assert totals["deals_last_touch"] == {"N": "1000000"}
    assert (totals["touches"], totals["conversions"]) == ({"N": "1"}, {"N": "1"})
    assert set(totals) == {"pk", "sk", "touches", "conversions"} | {
        f"{kind}_{model.value}" for kind in ("revenue", "deals") for model in Model
    }
    assert _item(client, "TOTALS#2026-11", "CHANNEL#paid_search")["revenue_first_touch"] == {"N": "90000"}
    repo.save_deal(deal())
    assert _item(client, "DEAL#hubspot:7001", "DEAL")["version"] == {"N": "1"}
    assert "won_at" not in _item(client, "DEAL#hubspot:7001", "DEAL")
    fit = stored_fit(1)
    repo.save_fit(fit)
    own = _item(client, "FIT", "2026-11#2026-11-01T02:00:00.000500+00:00")
    assert own["fit_id"] == {"S": fit.fit_id}
    assert _item(client, "FIT", "LATEST") == {**own, "sk": {"S": "LATEST"}}
    assert _item(client, "TOTALS#2026-11", "ALL") == {
        "pk": {"S": "TOTALS#2026-11"},
        "sk": {"S": "ALL"},
        "revenue": {"N": "90000"},
        "conversions": {"N": "1"},
        "influenced_revenue": {"N": "90000"},
        "influenced_conversions": {"N": "1"},
    }


def test_the_pipeline_and_funnel_item_layout(dynamo: tuple[DynamoDbAttributionStore, Any]) -> None:
    repo, client = dynamo
    repo.set_pipeline("hubspot:7001", pipe({"c#1": 600, NO_CAMPAIGN: 400}), 0)
    item = _item(client, "PIPELINE#hubspot:7001", "PIPELINE")
    assert set(item) == {"pk", "sk", "deal_id", "credits", "version", "written"}
    assert item["version"] == {"N": "1"}
    assert len(item["written"]["S"]) == 32
    assert set(item["credits"]["M"]) == {"c#1", NO_CAMPAIGN}
    assert item["credits"]["M"]["c#1"]["M"]["linear"] == {"N": "1200"}
    assert set(item["credits"]["M"]["c#1"]["M"]) == {model.value for model in Model}
    campaign = _item(client, "PIPELINE", "CAMPAIGN#c#1")
    assert set(campaign) == {"pk", "sk"} | {f"pipeline_{model.value}" for model in Model}
    assert campaign["pipeline_first_touch"] == {"N": "600"}
    assert _item(client, "PIPELINE", f"CAMPAIGN#{NO_CAMPAIGN}")["pipeline_linear"] == {"N": "800"}
    assert _item(client, "PIPELINE", "TOTAL")["pipeline_linear"] == {"N": "1200"}
    # Removed: the contribution's item goes; the campaigns keep their (now zero) figures
    repo.set_pipeline("hubspot:7001", None, 1)
    assert _item(client, "PIPELINE#hubspot:7001", "PIPELINE") == {}
    assert _item(client, "PIPELINE", "TOTAL")["pipeline_linear"] == {"N": "0"}
    # A stage entry: its marker, its month's stage and its campaign's
    repo.record_stage_entry(entry("lead-event-1", "MQL", campaign="c#1", seconds=90, at=T0.astimezone(WEST)))
    assert _item(client, "FUNNEL_EVENT#lead-event-1", "FUNNEL_EVENT") == {
        "pk": {"S": "FUNNEL_EVENT#lead-event-1"},
        "sk": {"S": "FUNNEL_EVENT"},
        "event_id": {"S": "lead-event-1"},
        "lead_id": {"S": "hubspot:501"},
        "stage": {"S": "MQL"},
        "at": {"S": "2026-11-20T15:30:00.123456+00:00"},
        "campaign_id": {"S": "c#1"},
        "period": {"S": "2026-11"},
        "seconds_in_previous": {"N": "90"},
    }
    stage = _item(client, "FUNNEL#2026-11", "STAGE#MQL")
    assert {name: stage[name] for name in ("entered", "seconds_in_previous", "timed")} == {
        "entered": {"N": "1"},
        "seconds_in_previous": {"N": "90"},
        "timed": {"N": "1"},
    }
    assert _item(client, "FUNNEL#2026-11", "CAMPAIGN#c#1#MQL")["entered"] == {"N": "1"}
    repo.record_stage_entry(entry("lead-event-2", VISITOR))
    assert "seconds_in_previous" not in _item(client, "FUNNEL_EVENT#lead-event-2", "FUNNEL_EVENT")
    assert _item(client, "FUNNEL#2026-11", "STAGE#Visitor")["timed"] == {"N": "0"}


def test_aws_calls_per_method(dynamo: tuple[DynamoDbAttributionStore, Any]) -> None:
    repo, client = dynamo
    calls, count = counted_calls(client)
    one = conversion("deal:1", (("paid_search", "c1"), ("events", None)))
    assert count(lambda: repo.record(one)) == ["TransactWriteItems"]
    assert count(lambda: repo.record(one)) == ["TransactWriteItems"]
    assert count(lambda: repo.conversion("deal:1")) == ["GetItem"]
    assert count(lambda: repo.conversions(NOV)) == ["Query"]
    assert count(lambda: repo.conversion_outlines(NOV)) == ["Query"]
    assert count(lambda: repo.replace_data_driven(one, *data_driven(one, FIT), "f1")) == ["TransactWriteItems"]
    read = repo.conversion("deal:1")
    assert read is not None
    again = replace(read, settings_version="v2")
    assert count(lambda: repo.replace_conversion(read, again)) == ["TransactWriteItems"]
    assert count(lambda: repo.replace_conversion(read, again)) == ["TransactWriteItems"]  # stale: False
    assert count(lambda: repo.replace_conversion(again, again)) == []
    with pytest.raises(ValueError, match="at most 99"):
        count(lambda: repo.replace_conversion(_touching(48, 50), _elsewhere()))
    assert calls == []
    assert count(lambda: repo.campaign_totals("c1", [NOV, "2026-10"])) == ["BatchGetItem"]
    assert count(lambda: repo.campaign_totals("c1", [])) == []
    assert count(lambda: repo.channel_totals(NOV)) == ["Query"]
    assert count(lambda: repo.campaigns_totals(NOV)) == ["Query"]
    assert count(lambda: repo.save_deal(deal())) == ["PutItem"]
    assert count(lambda: repo.deal("hubspot:7001")) == ["GetItem"]
    assert count(lambda: repo.save_fit(stored_fit(1))) == ["PutItem", "PutItem"]
    assert count(lambda: repo.latest_fit()) == ["GetItem"]
    with pytest.raises(TooLarge):
        count(lambda: repo.record(conversion("deal:big", [("paid_search", "c1")] * 1000)))
    assert calls == []
    with pytest.raises(ValueError, match="at most 98 totals"):
        count(lambda: repo.record(_touching(49, 50)))
    assert calls == []
    assert count(lambda: repo.overall([NOV, "2026-10"])) == ["BatchGetItem"]
    assert count(lambda: repo.overall([])) == []
    # Pipeline: a read, then the transaction; none over nothing, or a stale version, the read only
    assert count(lambda: repo.set_pipeline("d1", pipe({"c1": 1}), 0)) == ["GetItem", "TransactWriteItems"]
    assert count(lambda: repo.set_pipeline("d2", None, 0)) == ["GetItem"]
    with pytest.raises(StaleDeal):
        count(lambda: repo.set_pipeline("d1", None, 0))
    assert calls == ["GetItem"]
    assert count(lambda: repo.deal_pipeline("d1")) == ["GetItem"]
    assert count(lambda: repo.campaign_pipeline("c1")) == ["GetItem"]
    assert count(lambda: repo.total_pipeline()) == ["GetItem"]
    with pytest.raises(ValueError, match="at most 98 campaigns"):
        count(lambda: repo.set_pipeline("d3", pipe({f"c{n}": 1 for n in range(99)}), 0))
    assert calls == []
    # Funnel: one transaction an entry (counted or not), one batch read whatever the months (up to 16)
    assert count(lambda: repo.record_stage_entry(entry("e1"))) == ["TransactWriteItems"]
    assert count(lambda: repo.record_stage_entry(entry("e1"))) == ["TransactWriteItems"]
    months = [f"2025-{n:02d}" for n in range(1, 13)] + [f"2026-{n:02d}" for n in range(1, 5)]
    assert count(lambda: repo.funnel(months)) == ["BatchGetItem"]
    assert count(lambda: repo.monthly_funnel([NOV])) == ["BatchGetItem"]
    assert count(lambda: repo.campaign_funnel("c1", months)) == ["BatchGetItem"]
    assert count(lambda: repo.funnel([*months, "2026-05"])) == ["BatchGetItem", "BatchGetItem"]
    assert count(lambda: repo.campaign_funnel("c1", [])) == []


def test_an_outline_listing_asks_the_index_for_the_outline_attributes_only(
    dynamo: tuple[DynamoDbAttributionStore, Any],
) -> None:
    # Given a month of conversions of fifty touches each
    repo, client = dynamo
    for n in range(3):
        repo.record(conversion(f"deal:{n}", [("paid_search", "c1"), ("events", None)] * 25, at=T0 + timedelta(n)))
    received: Counter[str] = Counter()
    requests: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: requests.append(dict(params))
    )
    client.meta.events.register(
        "after-call.dynamodb.Query",
        lambda http_response, **_: received.update({"bytes": len(http_response.content), "calls": 1}),
    )
    # When the month is listed whole, then as outlines
    whole = repo.conversions(NOV)
    read_whole = received["bytes"]
    received.clear()
    listed = repo.conversion_outlines(NOV)
    # Then the outlines' Query names the outline's attributes (and the cursor's) and nothing else
    assert listed.outlines == [ConversionOutline.of(one) for one in whole.conversions]
    assert [one.touch_count for one in listed.outlines] == [50, 50, 50]
    assert "ProjectionExpression" not in requests[0]
    projection = requests[1]["ProjectionExpression"]
    asked = {requests[1]["ExpressionAttributeNames"][name.strip()] for name in projection.split(",")}
    assert asked == {
        "conversion_id",
        "kind",
        "converted_at",
        "amount_minor",
        "amount_currency",
        "company_minor",
        "company_currency",
        "contact_ids",
        "account_id",
        "deal_id",
        "opportunity_created_at",
        "data_driven",
        "conversion_sort",
    }
    assert "touches" not in asked
    # And it receives a small part of the items: the touches' credits stay in the table
    assert received["calls"] == 1
    assert received["bytes"] * 5 < read_whole, (received["bytes"], read_whole)


def test_what_a_conversion_item_holds() -> None:
    """What the size limit means: ~1 KB a touch (eight models' figures and rule texts), so a journey of ~400
    touches is about the most a conversion item holds; a one-touch conversion is under 2 KB."""
    one = checked_conversion(conversion("deal:1"))
    assert item_size(conversion_item(one)) < 2048
    hundred = checked_conversion(conversion("deal:100", [("paid_search", "c1"), ("events", None)] * 50))
    per_touch = (item_size(conversion_item(hundred)) - item_size(conversion_item(one))) / 99
    assert 700 < per_touch < 1100
    assert 350 < MAX_ITEM_BYTES / per_touch < 600


def test_a_fit_too_large_is_refused_before_anything_is_written(dynamo: tuple[DynamoDbAttributionStore, Any]) -> None:
    repo, _ = dynamo
    # 120 channels of 50 characters, every one followed by every other: 14,400 transitions of ~110 bytes
    channels = [f"channel_{n:03d}_{'x' * 38}" for n in range(120)]
    huge = MarkovFit(
        journeys=14_400,
        conversions=7_200,
        conversion_probability=Fraction(1, 2),
        removal_effects=dict.fromkeys(channels, Fraction(1, 120)),
        transitions={(a, b): 1 for a in channels for b in channels if a != b},
    )
    with pytest.raises(TooLarge, match=r"fit big would be \d+ bytes, over DynamoDB's item limit .*`transitions`"):
        repo.save_fit(StoredFit("big", NOV, T0, huge))
    assert repo.latest_fit() is None


def test_a_transaction_conflict_is_tried_again(
    dynamo: tuple[DynamoDbAttributionStore, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = dynamo
    monkeypatch.setattr("shared.adapters.dynamodb_attribution.time.sleep", lambda _: None)
    # Conflicts fewer times than the attempts: recorded
    one = conversion("deal:1", (("paid_search", "c1"),))
    flaky = CancelledTransactions(client, "TransactionConflict", RECORD_ATTEMPTS - 1)
    assert DynamoDbAttributionStore(flaky, TABLE).record(one) is True
    assert flaky.times == 0
    # Every time: RecordConflict, nothing written
    two = conversion("deal:2", (("paid_search", "c1"),))
    always = CancelledTransactions(client, "TransactionConflict", RECORD_ATTEMPTS)
    with pytest.raises(RecordConflict, match=r"is being written by another transaction \(4 attempts\)"):
        DynamoDbAttributionStore(always, TABLE).record(two)
    repo = DynamoDbAttributionStore(client, TABLE)
    assert repo.conversion("deal:2") is None
    assert repo.channel_totals(NOV) == recomputed([one])[1]
    # The data-driven batch hears of a conflict as StaleCredits (it reads again)
    busy = CancelledTransactions(client, "TransactionConflict", 1)
    with pytest.raises(StaleCredits, match="is being written by another transaction"):
        DynamoDbAttributionStore(busy, TABLE).replace_data_driven(one, *data_driven(one, FIT), "f1")
    assert repo.conversion("deal:1") == one


@pytest.mark.parametrize("code", ["ValidationError", "ThrottlingError"])
def test_other_cancellations_propagate(dynamo: tuple[DynamoDbAttributionStore, Any], code: str) -> None:
    _, client = dynamo
    repo = DynamoDbAttributionStore(CancelledTransactions(client, code, 1), TABLE)
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        repo.record(conversion("deal:1"))


def test_reads_follow_every_page_dynamodb_returns(
    dynamo: tuple[DynamoDbAttributionStore, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, client = dynamo
    monkeypatch.setattr("shared.adapters.dynamodb_attribution.time.sleep", lambda _: None)
    _listing_fixture(repo)
    for n in range(12):
        repo.record(conversion(f"m{n}", ((f"channel_{n}", "c1"),), at=datetime(2026, n + 1, 5, tzinfo=UTC)))
    paged = SmallPages(client)
    small = DynamoDbAttributionStore(paged, TABLE)
    assert small.campaigns_totals(NOV) == repo.campaigns_totals(NOV)
    assert len(small.channel_totals(NOV)) == 2
    assert small.channel_totals(NOV) == repo.channel_totals(NOV)
    assert small.conversions(NOV, limit=5) == repo.conversions(NOV, limit=5)
    assert paged.queries > 5
    paged.queries = 0
    assert small.conversion_outlines(NOV, limit=5) == repo.conversion_outlines(NOV, limit=5)
    assert paged.queries > 2
    months = [f"2026-{n:02d}" for n in range(1, 13)]
    assert small.campaign_totals("c1", months) == repo.campaign_totals("c1", months)
    assert len(repo.campaign_totals("c1", months)) == 12
    assert paged.batches == 4
    # The funnel's and the overall's batch reads too
    for n in range(12):
        repo.record_stage_entry(entry(f"e{n}", FUNNEL_STAGES[n % 6], at=datetime(2026, n + 1, 5, tzinfo=UTC)))
    paged.batches = 0
    assert small.monthly_funnel(months) == repo.monthly_funnel(months)
    assert len(repo.monthly_funnel(months)) == 12
    assert paged.batches == 24  # 72 keys, 3 at a time
    assert small.campaign_funnel("c1", months[:2]) == repo.campaign_funnel("c1", months[:2]) != {}
    assert small.overall(months) == repo.overall(months)
    assert len(repo.overall(months)) == 12


def test_keys_left_unprocessed_too_often_are_an_error(
    dynamo: tuple[DynamoDbAttributionStore, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = dynamo
    monkeypatch.setattr("shared.adapters.dynamodb_attribution.time.sleep", lambda _: None)

    with pytest.raises(RuntimeError, match="left 2 totals keys unprocessed"):
        DynamoDbAttributionStore(Starved(client), TABLE).campaign_totals("c1", [NOV, "2026-10"])


class _Interleaved:
    """A client that, right after its next read of a deal's contribution, lets `meanwhile` write (another
    writer between the read and the transaction)."""

    def __init__(self, client: Any, meanwhile: Any) -> None:
        self._client, self._meanwhile = client, meanwhile

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_item(self, **request: Any) -> dict[str, Any]:
        response: dict[str, Any] = self._client.get_item(**request)
        if self._meanwhile is not None and request["Key"]["sk"] == {"S": "PIPELINE"}:
            meanwhile, self._meanwhile = self._meanwhile, None
            meanwhile()
        return response


def test_a_contribution_that_moved_after_the_read_is_stale(dynamo: tuple[DynamoDbAttributionStore, Any]) -> None:
    repo, client = dynamo
    repo.set_pipeline("d1", pipe({"c1": 100}), 0)
    # Replaced between the read and the write: StaleDeal, and the other writer's contribution counts
    moved = _Interleaved(client, lambda: repo.set_pipeline("d1", pipe({"c2": 7}), 1))
    with pytest.raises(StaleDeal, match="pipeline of deal d1 is at version 2, not 1 as read"):
        DynamoDbAttributionStore(moved, TABLE).set_pipeline("d1", pipe({"c1": 50}), 1)
    assert repo.deal_pipeline("d1") == DealPipeline("d1", pipe({"c2": 7}), 2)
    assert pipeline_of(repo, "c1", "c2") == {"c1": ZERO, "c2": figures(7)}
    # Removed and set again up to the version read: another contribution, so stale too (its difference would
    # be computed from the one read)

    def again() -> None:
        repo.set_pipeline("d1", None, 2)
        repo.set_pipeline("d1", pipe({"c3": 1}), 0)
        repo.set_pipeline("d1", pipe({"c3": 2}), 1)

    readded = _Interleaved(client, again)
    with pytest.raises(StaleDeal, match="pipeline of deal d1 was removed and set again since it was read at version 2"):
        DynamoDbAttributionStore(readded, TABLE).set_pipeline("d1", None, 2)
    assert repo.deal_pipeline("d1") == DealPipeline("d1", pipe({"c3": 2}), 2)
    assert pipeline_of(repo, "c1", "c2", "c3") == {"c1": ZERO, "c2": ZERO, "c3": figures(2)}
    assert repo.total_pipeline() == figures(2)


def test_transaction_conflicts_of_stage_entries_and_pipeline_are_tried_again(
    dynamo: tuple[DynamoDbAttributionStore, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, client = dynamo
    monkeypatch.setattr("shared.adapters.dynamodb_attribution.time.sleep", lambda _: None)
    repo = DynamoDbAttributionStore(client, TABLE)
    flaky = CancelledTransactions(client, "TransactionConflict", RECORD_ATTEMPTS - 1)
    assert DynamoDbAttributionStore(flaky, TABLE).record_stage_entry(entry("e1")) is True
    always = CancelledTransactions(client, "TransactionConflict", RECORD_ATTEMPTS)
    with pytest.raises(RecordConflict, match=r"is being written by another transaction \(4 attempts\)"):
        DynamoDbAttributionStore(always, TABLE).record_stage_entry(entry("e2"))
    assert repo.funnel([NOV])["Lead"] == StageCounts(1, 0, 0)
    assert repo.record_stage_entry(entry("e2")) is True  # nothing of it was written
    flaky = CancelledTransactions(client, "TransactionConflict", RECORD_ATTEMPTS - 1)
    DynamoDbAttributionStore(flaky, TABLE).set_pipeline("d1", pipe({"c1": 5}), 0)
    assert repo.deal_pipeline("d1") == DealPipeline("d1", pipe({"c1": 5}), 1)
    always = CancelledTransactions(client, "TransactionConflict", RECORD_ATTEMPTS)
    with pytest.raises(RecordConflict, match=r"pipeline TOTAL is being written by another transaction"):
        DynamoDbAttributionStore(always, TABLE).set_pipeline("d1", None, 1)
    assert repo.deal_pipeline("d1") == DealPipeline("d1", pipe({"c1": 5}), 1)
    assert repo.total_pipeline() == figures(5)


# A deal's status time and amount time: a deal first seen by an update (no status time yet) and one whose amount
# has its own time round-trip; a DynamoDB deal item written before `amount_at` was kept still reads.


def amount_update(at: datetime, amount: Money | None) -> DealReport:
    return DealReport("hubspot:7001", f"e-{at.isoformat()}", at, None, amount, People(), None)


def test_a_deal_first_seen_by_an_update_keeps_no_status_time_and_its_amounts_time(store: AttributionStore) -> None:
    # Given a deal first seen by an amount update (its time in another zone)
    first = Deal.first(amount_update(T0.astimezone(EAST), Money(480_000, "USD")))
    assert (first.status, first.status_at) == (DealStatus.OPEN, None)
    # When it is saved and read back
    saved = store.save_deal(first)
    # Then it has no status time and its amount's time, in UTC
    assert store.deal("hubspot:7001") == saved
    assert (saved.status_at, saved.amount_at) == (None, T0)
    assert saved.amount_at is not None
    assert saved.amount_at.tzinfo == UTC
    # And an earlier win folded into it sets the status and its time, the amount's time kept
    won = DealReport("hubspot:7001", "e-won", T0 - timedelta(hours=1), DealStatus.WON, None, People(), None)
    again = store.save_deal(saved.folded(won))
    assert store.deal("hubspot:7001") == again
    assert (again.status, again.status_at, again.amount_at) == (DealStatus.WON, T0 - timedelta(hours=1), T0)


def test_a_naive_amount_time_is_refused(store: AttributionStore) -> None:
    bad = Deal.first(amount_update(T0, Money(1, "USD")))
    with pytest.raises(ValueError, match="naive datetime"):
        store.save_deal(replace(bad, amount_at=datetime(2026, 11, 1)))
    assert store.deal("hubspot:7001") is None


def test_a_deal_item_written_before_amount_at_still_reads(attribution_table: Any) -> None:
    # Given a DEAL item as written before amount_at was kept: won at T0 with 12,500.00 EUR
    store = DynamoDbAttributionStore(attribution_table, TABLE)
    old = {
        "pk": "DEAL#hubspot:7001",
        "sk": "DEAL",
        "deal_id": "hubspot:7001",
        "first_seen_at": (T0 - timedelta(days=30)).isoformat(),
        "status": "won",
        "status_at": T0.isoformat(),
        "amount_minor": 1_250_000,
        "amount_currency": "EUR",
        "contact_ids": ["hubspot:501"],
        "emails": [],
        "won_at": T0.isoformat(),
        "events": 3,
        "version": 3,
    }
    attribution_table.put_item(TableName=TABLE, Item=serialize(old))
    # When it is read
    deal = store.deal("hubspot:7001")
    # Then it reads whole, with no amount time
    assert deal is not None
    assert (deal.status, deal.status_at, deal.amount, deal.amount_at) == (
        DealStatus.WON,
        T0,
        Money(1_250_000, "EUR"),
        None,
    )
    # And an amount said before its status does not replace it; one said after does, and is stored with its time
    assert deal.folded(amount_update(T0 - timedelta(hours=1), Money(1, "EUR"))).amount == Money(1_250_000, "EUR")
    saved = store.save_deal(deal.folded(amount_update(T0 + timedelta(hours=1), Money(1_300_000, "EUR"))))
    assert store.deal("hubspot:7001") == saved
    assert (saved.amount, saved.amount_at, saved.version) == (Money(1_300_000, "EUR"), T0 + timedelta(hours=1), 4)
