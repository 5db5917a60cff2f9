"""Reattribution over in-memory adapters: after a settings change a stored conversion is rebuilt exactly as
recording it now would store it, replaced with its totals moved by the difference, and left alone once it
converges; a conversion read before someone else replaced it is stale; nothing is published."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from shared.attribution.config import parse_attribution_config
from shared.attribution.deals import deal_conversion
from shared.attribution.journeys import Model
from shared.attribution.markov import fit_markov, path_counts
from shared.attribution.ports import NO_CAMPAIGN, Overall, StoredConversion, StoredFit
from shared.attribution.service import AttributionService
from tests.unit.test_attribution_service import FINANCE, World, journey_of_three

CONVERSION = "deal:standard:D-1"
NOV = "2026-11"


@pytest.fixture
def world() -> World:
    return World()


def service_with(world: World, version: str, **overrides: Any) -> AttributionService:
    """The world's attribution over the same stores with the file in force changed, publishing nothing (as
    `make reattribute` wires it)."""
    document = world.service.config.model_dump(mode="json", by_alias=True)
    document.update(overrides, version=version)
    return AttributionService(
        store=world.store,
        leads=world.leads_repo,
        fx=world.finance,
        config=parse_attribution_config(document, FINANCE),
        company_currency=FINANCE.company_currency,
        publisher=None,
        clock=world.clock,
        spend=world.finance,
        finance=FINANCE,
    )


def stored(world: World) -> StoredConversion:
    found = world.store.conversion(CONVERSION)
    assert found is not None
    return found


def recorded_now(service: AttributionService, world: World) -> StoredConversion:
    """What recording the deal's win would store now with `service`'s settings (writes nothing)."""
    deal = world.store.deal("standard:D-1")
    assert deal is not None
    facts = deal_conversion(deal, "recorded again")
    assert facts is not None
    return service.conversion_of(facts)


def campaign_figures(conversions: list[StoredConversion]) -> dict[str, Counter[str]]:
    """Each campaign's figures summed from the conversions, independently of the store."""
    figures: dict[str, Counter[str]] = {}
    for one in conversions:
        for touch in one.touches:
            tally = figures.setdefault(touch.touch.campaign_id or NO_CAMPAIGN, Counter())
            for model in Model:
                tally[f"revenue {model}"] += touch.credits[model].minor
                tally[f"deals {model}"] += touch.deal_units[model]
            tally["touches"] += 1
        for campaign in {touch.touch.campaign_id or NO_CAMPAIGN for touch in one.touches}:
            figures[campaign]["conversions"] += 1
    return figures


def assert_totals_follow_the_conversions(world: World, campaigns: list[str]) -> None:
    expected = campaign_figures(list(world.store.stored.values()))
    for campaign in campaigns:
        totals = world.service.campaign_totals(campaign, [NOV])
        found: Counter[str] = Counter()
        for model in Model:
            found[f"revenue {model}"] = totals.revenue.get(model, 0)
            found[f"deals {model}"] = totals.deals.get(model, 0)
        found["touches"], found["conversions"] = totals.touches, totals.conversions
        assert +found == +expected.get(campaign, Counter()), campaign  # unary +: the non-zero figures


def test_a_shorter_lookback_is_reattributed_as_recording_would_store_it_now(world: World) -> None:
    # Given a deal won after touches 10, 6 and 3 days before (social, search, mail), credited under 180 days
    journey_of_three(world)
    world.won("D-1", "12000.00", email="kim@acme.io")
    first = stored(world)
    assert [t.touch.campaign_id for t in first.touches] == ["social", "search", "mail"]
    published = len(world.bus.published)
    # When the lookback becomes 5 days and the conversion is reattributed a day later
    world.clock.advance(timedelta(days=1))
    short = service_with(world, "short", lookback_days=5)
    assert short.reattribute(first) == "changed"
    # Then it is what recording it now would store: the mail touch alone, under the new file, recorded now
    after = stored(world)
    assert replace(after, recorded_at=first.recorded_at) == replace(
        recorded_now(short, world), recorded_at=first.recorded_at
    )
    assert after.recorded_at == world.clock.now()
    assert [t.touch.campaign_id for t in after.touches] == ["mail"]
    assert after.settings_version == "short"
    assert (after.converted_at, after.amount, after.company_minor, after.contact_ids) == (
        first.converted_at,
        first.amount,
        first.company_minor,
        first.contact_ids,
    )
    # And the campaigns' totals are the stored conversions' again: social and search at 0, mail with it all
    assert_totals_follow_the_conversions(world, ["social", "search", "mail"])
    assert world.service.campaign_totals("mail", [NOV]).revenue[Model.FIRST_TOUCH] == 1_200_000
    assert world.service.campaign_totals("social", [NOV]).revenue[Model.FIRST_TOUCH] == 0
    assert world.store.overall([NOV]) == {NOV: Overall(1_200_000, 1, 1_200_000, 1)}
    # And again: unchanged, nothing written; what was read before the replacement is stale
    assert short.reattribute(after) == "unchanged"
    assert short.reattribute(stored(world)) == "unchanged"
    assert short.reattribute(first) == "stale"
    assert stored(world) == after
    # And nothing was published
    assert len(world.bus.published) == published
    # When the file goes back to 180 days, the conversion goes back to what it was but for when it was recorded
    world.clock.advance(timedelta(days=1))
    assert world.service.reattribute(after) == "changed"
    assert replace(stored(world), recorded_at=first.recorded_at) == first
    assert_totals_follow_the_conversions(world, ["social", "search", "mail"])


def test_reattribution_credits_with_the_latest_fit_as_recording_does(world: World) -> None:
    # Given a conversion credited before any fit (linear), then a fit saved that the batch did not apply
    journey_of_three(world)
    world.won("D-1", "12000.00", email="kim@acme.io")
    first = stored(world)
    assert first.fit_id is None
    fit = fit_markov(path_counts([(["paid_social", "paid_search", "email"], True), (["paid_social"], False)]))
    world.store.save_fit(StoredFit(f"{NOV}#fit", NOV, world.clock.now(), fit))
    # When it is reattributed with the same file
    assert world.service.reattribute(first) == "changed"
    # Then its data-driven credits are the fit's, as recording it now would make them, the rest unchanged
    after = stored(world)
    assert after.fit_id == f"{NOV}#fit"
    assert after == recorded_now(world.service, world)
    assert [t.credits[Model.LINEAR] for t in after.touches] == [t.credits[Model.LINEAR] for t in first.touches]
    assert [t.credits[Model.DATA_DRIVEN] for t in after.touches] != [
        t.credits[Model.DATA_DRIVEN] for t in first.touches
    ]
    assert_totals_follow_the_conversions(world, ["social", "search", "mail"])
    assert world.service.reattribute(after) == "unchanged"


def test_a_late_touch_is_taken_in(world: World) -> None:
    # Given a conversion, then a touch before it that arrived after it was credited (a delayed page view)
    journey_of_three(world)
    world.won("D-1", "12000.00", email="kim@acme.io")
    first = stored(world)
    won_at = world.clock.now()
    world.clock.moment = won_at - timedelta(days=1)
    world.visit("u1", "https://acme.test/late?utm_campaign=late&utm_medium=email")
    world.clock.moment = won_at + timedelta(hours=1)
    # When it is reattributed with the same file: four touches, the late one the last
    assert world.service.reattribute(first) == "changed"
    assert [t.touch.campaign_id for t in stored(world).touches] == ["social", "search", "mail", "late"]
    assert stored(world) == recorded_now(world.service, world)
    assert_totals_follow_the_conversions(world, ["social", "search", "mail", "late"])


def test_a_conversion_whose_people_were_erased_keeps_its_credits(world: World) -> None:
    # Given a deal credited to three touches, whose person was then erased (privacy): their touches are gone
    # from the lead store and the stored conversion is marked
    journey_of_three(world)
    world.won("D-1", "12000.00", email="kim@acme.io")
    erased = replace(stored(world), contact_ids=(), people_erased=True)
    world.store.stored[CONVERSION] = erased
    before = {c: world.service.campaign_totals(c, [NOV]) for c in ("social", "search", "mail")}
    # When the conversion is reattributed under a shorter lookback
    world.clock.advance(timedelta(days=1))
    short = service_with(world, "short", lookback_days=5)
    # Then it is left as recorded: the campaign totals the erasure kept do not move
    assert short.reattribute(erased) == "unchanged"
    assert stored(world) == erased
    assert {c: world.service.campaign_totals(c, [NOV]) for c in ("social", "search", "mail")} == before
