"""`POST /api/v1/attribution/compare` on a busy lead store: tens of conversions over several accounts whose
contacts have long engagement logs (one of ~150), as the adversarial tester's. The answer is the one crediting
each conversion on its own gives (`reference_side` below: the per-conversion journey, as `reattribution`
rebuilds it), and each person's log and history are read once per request, whatever the number of
conversions and models (the compare route once timed out on reading them per conversion and per side)."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.attribution import comparison
from shared.attribution.comparison import Side, candidate_config, comparison_view
from shared.attribution.config import AttributionConfig
from shared.attribution.crediting import credited_touches, half_life_of
from shared.attribution.deals import ConversionFacts, People
from shared.attribution.journey_builder import LeadLog, journey_of, stored_people
from shared.attribution.journeys import Model
from shared.attribution.markov import MarkovFit, fit_markov, path_counts
from shared.attribution.ports import NO_CAMPAIGN, StoredConversion, StoredFit
from shared.attribution.reports import MonthRange
from shared.errors import InvalidInput
from shared.events.canonical import EventType
from shared.leads.model import Account, Contact, EngagementRecord, Identity
from shared.leads.ports import History
from tests.unit.test_attribution_service import FINANCE, World

CAMPAIGNS = [
    ("brand", "cpc"),
    ("retarget", "paid_social"),
    ("newsletter", "email"),
    ("launch", "webinar"),
    ("guest-post", "referral"),
]
FIRST_DAY = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TESTER_BODY = {"from": "2026-05", "to": "2026-12", "candidate": {"lookback_days": 90}}


def busy_accounts(
    world: World,
    accounts: int = 3,
    contacts: int = 4,
    heavy: int = 150,
    light: int = 20,
    deals: int = 12,
    seed: int = 7,
) -> None:
    """`accounts` companies of `contacts` people each (one work domain each, so one account each); the first
    person of the first company has `heavy` engagements, every other `light`, from March to November 2026
    (campaign visits, direct visits, forms and demo requests); `deals` won deals between May and November, each
    named by one person's email (so crediting their whole account). Played in time order on the world's clock."""
    rng = random.Random(seed)  # noqa: S311 -- reproducible synthetic data
    span = int((datetime(2026, 11, 28, tzinfo=UTC) - FIRST_DAY).total_seconds())
    timeline: list[tuple[datetime, int, Any]] = []
    people = [(f"c{a}p{p}", f"p{p}@company{a}.example") for a in range(accounts) for p in range(contacts)]
    for n, (user, email) in enumerate(people):
        timeline.append((FIRST_DAY + timedelta(seconds=n), 0, ("identify", user, email)))
        for _ in range(heavy if n == 0 else light):
            at = FIRST_DAY + timedelta(seconds=rng.randrange(60, span))
            timeline.append((at, 1, ("engage", user, rng.random())))
    deal_span = int((datetime(2026, 11, 28, tzinfo=UTC) - datetime(2026, 5, 1, tzinfo=UTC)).total_seconds())
    for d in range(deals):
        at = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(deal_span))
        _, email = people[rng.randrange(len(people))] if d % 3 else people[0]
        timeline.append((at, 2, ("won", f"D-{d}", email, f"{rng.randrange(1_000, 90_000)}.{rng.randrange(100):02d}")))
    timeline.sort(key=lambda item: (item[0], item[1]))
    for at, _, (what, *args) in timeline:
        world.clock.moment = at
        if what == "identify":
            world.identify(args[0], args[1])
        elif what == "engage":
            _engage(world, args[0], args[1], rng)
        else:
            world.won(args[0], args[2], email=args[1])


def _engage(world: World, user: str, roll: float, rng: random.Random) -> None:
    who = f"segment:{user}"
    if roll < 0.7:
        campaign, medium = CAMPAIGNS[rng.randrange(len(CAMPAIGNS))]
        url = f"https://acme.test/p{rng.randrange(9)}?utm_campaign={campaign}&utm_medium={medium}"
        data: dict[str, Any] = {"kind": "page_view", "url": url, "path": "/"}
    elif roll < 0.85:
        data = {"kind": "page_view", "url": f"https://acme.test/p{rng.randrange(9)}", "path": "/"}
    else:
        data = {"kind": "form_submit" if roll < 0.95 else "demo_request", "url": "https://acme.test/demo"}
    world.leads.handle(world.event(EventType.ENGAGEMENT_RECORDED, data, contact_id=who))


def reference_side(
    conversions: Iterable[StoredConversion], leads: LeadLog, config: AttributionConfig, fit: MarkovFit | None
) -> Side:
    """The comparison's side as crediting each conversion on its own gives it: its people and journey read
    from the lead store for it alone (`stored_people`, `journey_of`, as `reattribution.rebuilt` reads them)."""
    channels: dict[str, dict[Model, int]] = defaultdict(lambda: dict.fromkeys(Model, 0))
    campaigns: dict[str, dict[Model, int]] = defaultdict(lambda: dict.fromkeys(Model, 0))
    touches = 0
    for conversion in conversions:
        facts = ConversionFacts(
            conversion_id=conversion.conversion_id,
            kind=conversion.kind,
            converted_at=conversion.converted_at,
            amount=conversion.amount,
            people=People(),
            deal_id=conversion.deal_id,
            opportunity_created_at=conversion.opportunity_created_at,
        )
        people = stored_people(leads, conversion.contact_ids, conversion.account_id)
        journey = journey_of(leads, config, facts, people, conversion.company_minor, conversion.company_currency)
        for credited in credited_touches(journey, half_life_of(config), fit):
            touches += 1
            for model, credit in credited.credits.items():
                channels[credited.touch.channel][model] += credit.minor
                campaigns[credited.touch.campaign_id or NO_CAMPAIGN][model] += credit.minor
    return Side(dict(channels), dict(campaigns), touches)


def reference_answer(world: World, body: dict[str, Any]) -> dict[str, Any]:
    """What the compare route answers, computed conversion by conversion."""
    service = world.service
    months = MonthRange.of(world.clock.now().date(), body.get("from"), body.get("to"))
    candidate = candidate_config(service.config, body, FINANCE)
    conversions = [c for month in months.months for c in _month(world, month)]
    latest = world.store.latest_fit()
    fit = latest.fit if latest else None
    now = reference_side(conversions, world.leads_repo, service.config, fit)
    then = reference_side(conversions, world.leads_repo, candidate, fit)
    return comparison_view(now, then, service.company_currency, (months.start, months.end), len(conversions))


def _month(world: World, month: str) -> Iterator[StoredConversion]:
    cursor = None
    while True:
        page = world.store.conversions(month, 100, cursor)
        yield from page.conversions
        if (cursor := page.next_cursor) is None:
            return


class CountingLeads:
    """The lead store, counting what attribution reads of it, per contact."""

    def __init__(self, inner: LeadLog) -> None:
        self.inner = inner
        self.engagement_reads: Counter[str] = Counter()
        self.history_reads: Counter[str] = Counter()
        self.contact_reads: Counter[str] = Counter()

    def owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        return self.inner.owners(identities)

    def contacts(self, contact_ids: Sequence[str]) -> dict[str, Contact]:
        self.contact_reads.update(contact_ids)
        return self.inner.contacts(contact_ids)

    def engagements(self, contact_ids: Sequence[str]) -> list[EngagementRecord]:
        self.engagement_reads.update(contact_ids)
        return self.inner.engagements(contact_ids)

    def history(self, contact_id: str) -> History:
        self.history_reads[contact_id] += 1
        return self.inner.history(contact_id)

    def account(self, account_id: str) -> Account | None:
        return self.inner.account(account_id)

    def account_owners(self, identities: Sequence[Identity]) -> dict[str, str]:
        return self.inner.account_owners(identities)

    def account_contacts(self, account_id: str) -> list[str]:
        return self.inner.account_contacts(account_id)

    def contact_ids(self) -> Iterator[str]:
        return self.inner.contact_ids()


@pytest.fixture(scope="module")
def busy() -> World:
    world = World()
    busy_accounts(world)
    world.clock.moment = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    return world


def with_a_fit(world: World) -> None:
    """A data-driven fit over the stored conversions' paths and some that did not convert, saved as the latest."""
    months = MonthRange.of(world.clock.now().date(), "2026-05", "2026-11").months
    conversions = [c for month in months for c in _month(world, month)]
    paths = [([t.touch.channel for t in c.touches], True) for c in conversions]
    paths += [(["paid_search", "email"], False), (["referral"], False), (["events", "paid_social"], False)]
    fit = fit_markov(path_counts(paths))
    world.store.save_fit(StoredFit("2026-11#fit", "2026-11", world.clock.now(), fit))


def test_the_tester_request_answers_as_crediting_each_conversion_on_its_own(busy: World) -> None:
    # Given tens of conversions over accounts whose people have long logs (one of 150 engagements)
    expected = reference_answer(busy, TESTER_BODY)
    assert expected["conversions"] == 12
    assert expected["touches"]["current"] > 500
    assert expected["touches"]["current"] != expected["touches"]["candidate"]
    # When the settings are compared
    answer = busy.service.compare(TESTER_BODY)
    # Then the answer is exactly the one of crediting each conversion on its own, under both settings
    assert answer == expected


@pytest.mark.parametrize(
    "candidate",
    [
        {"lookback_days": 30},
        {"half_life_days": "2.5"},
        {"session_timeout_minutes": 5},
        {"company_domains": ["acme.test", "example.org"]},
        {"channel_mapping": [{"rule_id": "all-email", "channel": "email", "when": {"kinds": ["page_view"]}}]},
    ],
)
def test_every_setting_a_candidate_overrides_answers_as_crediting_each_conversion_does(
    busy: World, candidate: dict[str, Any]
) -> None:
    body = {"from": "2026-05", "to": "2026-11", "candidate": candidate}
    assert busy.service.compare(body) == reference_answer(busy, body)


def test_with_a_data_driven_fit_the_answer_is_still_each_conversions_own() -> None:
    world = World()
    busy_accounts(world, accounts=2, contacts=3, heavy=60, light=12, deals=8, seed=11)
    world.clock.moment = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    with_a_fit(world)
    body = {"from": "2026-05", "to": "2026-12", "candidate": {"lookback_days": 45, "half_life_days": 3}}
    answer = world.service.compare(body)
    assert answer == reference_answer(world, body)
    assert answer["campaigns"]["brand"][Model.DATA_DRIVEN.value]["current"] != "0.00"


def test_each_persons_log_and_history_are_read_once_per_comparison(busy: World) -> None:
    # Given the lead store counting its reads
    counting = CountingLeads(busy.leads_repo)
    leads, busy.service.leads = busy.service.leads, counting
    try:
        # When the tester's comparison runs over its tens of conversions, each crediting a whole account
        answer = busy.service.compare(TESTER_BODY)
    finally:
        busy.service.leads = leads
    # Then every person's engagement log and history was read once, not once per conversion and side
    assert answer["conversions"] == 12
    assert len(counting.engagement_reads) == 12  # the three accounts' four people
    assert set(counting.engagement_reads.values()) == {1}
    assert set(counting.history_reads) == set(counting.engagement_reads)
    assert set(counting.history_reads.values()) == {1}
    assert set(counting.contact_reads.values()) == {1}


def test_a_comparison_of_more_stored_touches_than_it_credits_in_time_is_refused_naming_the_limit(
    busy: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the tester's months, holding several hundred stored touches, and a limit below them
    monkeypatch.setattr(comparison, "MAX_TOUCHES", 500)
    # When they are compared, then the request is refused, naming the months, the touches and the limit
    with pytest.raises(InvalidInput, match=r"from 2026-05 to 2026-12 holds [\d,]+ credited touches, more than the 500"):
        busy.service.compare(TESTER_BODY)
    # And under the limit it answers
    monkeypatch.setattr(comparison, "MAX_TOUCHES", 50_000)
    assert busy.service.compare(TESTER_BODY)["conversions"] == 12
