"""Reattribution over in-memory adapters: after a settings change a stored conversion is rebuilt exactly as
recording it now would store it, replaced with its totals moved by the difference, and left alone once it
converges; a conversion read before someone else replaced it is stale. An open deal's pipeline is computed
again as its latest event would set it now, and a funnel entry moved to the campaign counting it now gives it.
A re-credited deal whose `conversion.attributed` says something else now is announced again, with an id of its
own, and the CRM sync writes its attribution summary again. The exact convergence of everything at once, on
both stores: tests/integration/test_attribution_reattribution_convergence.py."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from shared.attribution.config import parse_attribution_config
from shared.attribution.deals import deal_conversion
from shared.attribution.funnel_counts import FUNNEL_STAGES, VISITOR
from shared.attribution.journeys import Model
from shared.attribution.markov import fit_markov, path_counts
from shared.attribution.ports import NO_CAMPAIGN, Overall, StoredConversion, StoredFit
from shared.attribution.service import AttributionService, BusRefused
from shared.crm.inbound import CrmReport
from shared.events.attribution_events import AttributionEvent
from shared.events.canonical import EventType
from tests.fakes import RecordingPublisher
from tests.unit.test_attribution_service import FINANCE, START, World, journey_of_three
from tests.unit.test_crm_sync import Hub as CrmHub

CONVERSION = "deal:standard:D-1"
NOV = "2026-11"


@pytest.fixture
def world() -> World:
    return World()


def service_with(
    world: World, version: str, publisher: RecordingPublisher | None = None, **overrides: Any
) -> AttributionService:
    """The world's attribution over the same stores with the file in force changed, publishing to `publisher`
    (`make reattribute` publishes to the stage's bus)."""
    document = world.service.config.model_dump(mode="json", by_alias=True)
    document.update(overrides, version=version)
    return AttributionService(
        store=world.store,
        leads=world.leads_repo,
        fx=world.finance,
        config=parse_attribution_config(document, FINANCE),
        company_currency=FINANCE.company_currency,
        publisher=publisher,
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


def test_a_conversion_without_touches_is_left_alone_by_every_new_fit(world: World) -> None:
    # Given a fit, then a won deal of someone the hub never saw touch anything (nothing to credit)
    world.clock.advance(timedelta(days=1))
    journey_of_three(world)
    world.won("D-9", "500.00", email="kim@acme.io")
    world.service.fit_data_driven()
    world.won("D-1", "700.00", email="nobody@elsewhere.test")
    first = stored(world)
    assert first.touches == ()
    # When the nightly fits the model again, and a reattribution runs with the same file
    world.clock.advance(timedelta(days=1))
    world.service.fit_data_driven()
    # Then there is nothing a fit credits in it, so nothing to change: it names no fit, then or now
    assert world.service.reattribute(stored(world)) == "unchanged"
    assert stored(world).fit_id is None


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


# ------------------------------------------------------------------------------------------ open deals' pipeline


def open_deal(world: World, deal: str, amount: str, email: str = "kim@acme.io") -> None:
    body = {"amount": amount, "email": email}
    world.service.handle(world.event(EventType.DEAL_STAGE_CHANGED, body, vendor="standard", deal_id=f"standard:{deal}"))


def test_an_open_deals_pipeline_is_computed_again_as_its_latest_event_would_set_it_now(world: World) -> None:
    # Given kim's deal open for 3,000.00 after touches 10, 6 and 3 days before (social, search, mail)
    journey_of_three(world)
    open_deal(world, "D-3", "3000.00")
    assert world.service.pipeline("social")[Model.FIRST_TOUCH] == 300_000
    read = world.store.deal_pipeline("standard:D-3")
    assert read is not None
    # When the lookback becomes 5 days and the open deals' pipeline is computed again
    short = service_with(world, "short", lookback_days=5)
    contributions = list(world.store.pipelines())
    assert [c.deal_id for c in contributions] == ["standard:D-3"]
    assert short.repipeline(contributions[0]) == "changed"
    # Then the mail touch alone holds the deal's pipeline, under every model; social and search hold none
    for model in Model:
        assert world.service.pipeline("mail")[model] == 300_000, model
        assert world.service.pipeline("social")[model] == world.service.pipeline("search")[model] == 0, model
    assert world.store.total_pipeline() == dict.fromkeys(Model, 300_000)
    # And it is what the deal's next event stores under the new file; again: unchanged; what was read: stale
    after = world.store.deal_pipeline("standard:D-3")
    assert after is not None
    assert short.repipeline(after) == "unchanged"
    assert short.repipeline(read) == "stale"
    short.handle(world.event(EventType.DEAL_UPDATED, {"note": "x"}, vendor="standard", deal_id="standard:D-3"))
    assert world.store.deal_pipeline("standard:D-3") == replace(after, version=after.version + 1)
    # When the deal is won meanwhile, a contribution read before is stale and the pipeline stays none
    world.won("D-3", "3000.00", email="kim@acme.io")
    assert short.repipeline(after) == "stale"
    assert world.store.deal_pipeline("standard:D-3") is None
    assert world.store.total_pipeline() == dict.fromkeys(Model, 0)


# --------------------------------------------------------------------------------------------------- funnel


def lead_entries(world: World) -> None:
    """The lead events so far, counted by attribution as the bus delivers them."""
    for event in world.lead_bus.published:
        world.service.handle_lead_event(event)


def test_a_funnel_entry_moves_to_the_campaign_counting_it_now_gives_it(world: World) -> None:
    # Given ana, who came from the social ad and became a Lead six days later (counted for social)
    world.visit("u9", "https://acme.test/?utm_campaign=social&utm_medium=paid_social", anonymous=True)
    world.clock.advance(timedelta(days=6))
    world.identify("u9", "ana@beta.io")
    lead_entries(world)
    assert world.store.campaign_funnel("social", [NOV])["Lead"] == 1
    funnel = world.store.funnel([NOV])
    entries = {e.stage: e for e in world.store.stage_entries([NOV])}
    assert entries["Lead"].campaign_id == "social"
    # When the lookback becomes 5 days and the month's entries are counted again
    short = service_with(world, "short", lookback_days=5)
    assert [short.recount(entry) for entry in entries.values()] == ["unchanged", "changed"]
    # Then her Lead entry counts for no campaign (the ad is past the lookback), as counting it now would;
    # the month's stage counts (and her visit, counted at the ad) do not move
    assert world.store.campaign_funnel("social", [NOV]) == {**dict.fromkeys(FUNNEL_STAGES, 0), VISITOR: 1}
    assert world.store.campaign_funnel(NO_CAMPAIGN, [NOV])["Lead"] == 1
    assert world.store.funnel([NOV]) == funnel
    moved = {e.stage: e for e in world.store.stage_entries([NOV])}["Lead"]
    assert moved == replace(entries["Lead"], campaign_id=NO_CAMPAIGN)
    # And again: unchanged; the entry as read before it moved: stale, nothing moved
    assert short.recount(moved) == "unchanged"
    assert short.recount(entries["Lead"]) == "stale"
    assert world.store.campaign_funnel(NO_CAMPAIGN, [NOV])["Lead"] == 1


def test_a_funnel_entry_of_an_erased_lead_stays_as_counted(world: World) -> None:
    # Given a Lead entry counted for social, whose lead was then erased (gone from the lead store)
    world.visit("u9", "https://acme.test/?utm_campaign=social&utm_medium=paid_social", anonymous=True)
    world.clock.advance(timedelta(days=6))
    world.identify("u9", "ana@beta.io")
    lead_entries(world)
    entry = {e.stage: e for e in world.store.stage_entries([NOV])}["Lead"]
    world.leads_repo.contacts_by_id.pop(entry.lead_id)
    world.leads_repo.logs.pop(entry.lead_id, None)
    # When the month's entries are counted again under a 5-day lookback
    short = service_with(world, "short", lookback_days=5)
    # Then it still counts for social: the erasure left the counts as they were
    assert short.recount(entry) == "unchanged"
    assert world.store.campaign_funnel("social", [NOV])["Lead"] == 1


# ------------------------------------------------------------------------------------- the CRM summary again


def test_a_recredited_deals_attribution_summary_reaches_the_crm_again(world: World) -> None:
    # Given a HubSpot deal won after kim's three touches, its conversion.attributed taken by the CRM sync
    journey_of_three(world)
    crm = CrmHub()
    crm.crms["hubspot"].records["7001"] = {"dealname": "Kestrel", "amount": "12000"}
    crm.crms["hubspot"].kinds["7001"] = "deal"
    crm.service.crm_changed(CrmReport("hubspot", "deal", "7001", {"amount": "12000"}, START, None, None, "d", False))
    body = {"amount": "12000.00", "currency": "USD", "email": "kim@acme.io"}
    world.service.handle(world.event(EventType.DEAL_WON, body, vendor="standard", deal_id="hubspot:7001"))
    (recorded,) = world.bus.published
    deliver(crm, recorded)
    assert summary_in_hubspot(crm) == "3 touches; first: social; last: mail; 12000.00 USD"
    # When the lookback becomes 5 days and the conversion is reattributed, the bus refusing the first try
    world.clock.advance(timedelta(days=1))
    bus = RecordingPublisher()
    short = service_with(world, "short", bus, lookback_days=5)
    conversion = world.store.conversion("deal:hubspot:7001")
    assert conversion is not None
    bus.refuse_next = 1
    with pytest.raises(BusRefused):
        short.reattribute(conversion)
    # (the replacement stands, marked as not yet announced; the bus said nothing the store does not hold)
    marked = world.store.conversion("deal:hubspot:7001")
    assert marked is not None
    assert (marked.settings_version, marked.unannounced, bus.published) == ("short", True, [])
    assert short.reattribute(marked) == "unchanged"  # the next run announces it, and finds nothing else to do
    # Then its conversion.attributed is published again, saying the new journey, with an id of its own that
    # the stored conversion gives again
    (again,) = bus.published
    stored_now = world.store.conversion("deal:hubspot:7001")
    assert stored_now is not None
    assert not stored_now.unannounced
    assert again.event_id != recorded.event_id
    assert again == short.recredited_event(stored_now)
    assert (again.touches, again.first_touch_campaign, again.last_touch_campaign) == (1, "mail", "mail")
    assert again.credits == {model.value: {"mail": "12000.00"} for model in Model}
    # And the CRM sync writes the deal's summary again; the first event delivered late changes nothing back
    deliver(crm, again)
    assert summary_in_hubspot(crm) == "1 touches; first: mail; last: mail; 12000.00 USD"
    deliver(crm, recorded)
    deliver(crm, again)
    assert summary_in_hubspot(crm) == "1 touches; first: mail; last: mail; 12000.00 USD"
    # And a conversion whose event would say the same (the settings version alone changed) is not announced
    renamed = service_with(world, "renamed", bus, lookback_days=5)
    assert renamed.reattribute(stored_now) == "changed"
    assert len(bus.published) == 1


def deliver(crm: CrmHub, event: AttributionEvent) -> None:
    crm.service.on_bus_event("revops.attribution", event.model_dump(mode="json"))
    crm.drain()


def summary_in_hubspot(crm: CrmHub) -> str | None:
    return crm.crms["hubspot"].records["7001"].get("revops_attribution_summary")
