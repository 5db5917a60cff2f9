"""Attribution in process, on one core: how many journeys a second are credited under every model at once, and
how long the data-driven (Markov) fit of as many takes; each beside a baseline measured in the same run.

- credit: N journeys (default 100,000, BENCH_JOURNEYS) of 8 to 16 touches (12 on average; seeded: 10 channels,
  30 campaigns, touches over the 60 days before the conversion, the lead and the opportunity created in
  between) through `credited_touches(journey, half_life, None)`: the 7 heuristic models, data-driven (linear
  without a fit), deal units and roles, exact. Baseline: a bare linear split of the same journeys (amount // n,
  the remainder to the first touches, plain ints). CPU time (`time.process_time`), journeys generated outside
  the timed part, in chunks of 5,000. When crediting all N takes more than ~60 s of CPU, it stops after the
  chunk that passes 60 s: the rate is over those K journeys, and the row says so.
- Markov fit: `fit_markov(path_counts(...))` over the same N journeys (the generator's paths, about 30 %
  converting; the removal effect of every channel solved exactly). Baseline: counting the channel -> channel
  transitions of the same paths alone (a plain Counter). Median of 3 rounds.
- compare: `POST /api/v1/attribution/compare`'s use case (`AttributionService.compare`, a 90-day candidate
  lookback beside the settings in force) over C recorded conversions (default 200, BENCH_COMPARE_CONVERSIONS;
  seeded): accounts of 4 people, the first with 150 engagements from March to November, the others 25 each
  (campaign visits, direct visits, forms), each account converting twice, on the in-memory lead store (no I/O:
  the row also says how many engagement logs the request read, each a DynamoDB query in AWS). Baseline:
  crediting the same conversions once under the settings in force (`conversion_of`, what recording them does,
  writing nothing). CPU time, median of 3 rounds.

    python -m benchmarks.attribution [--journeys 100000] [--conversions 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.attribution.config import load_attribution_config  # noqa: E402
from shared.attribution.crediting import credited_touches, half_life_of  # noqa: E402
from shared.attribution.deals import ConversionFacts, ConversionKind, People  # noqa: E402
from shared.attribution.journeys import Journey, Touch  # noqa: E402
from shared.attribution.markov import fit_markov, path_counts  # noqa: E402
from shared.attribution.service import AttributionService  # noqa: E402
from shared.finance.config import load_finance_config  # noqa: E402
from shared.finance.money import Money  # noqa: E402
from shared.leads.model import Account, Contact, EngagementRecord  # noqa: E402
from shared.leads.ports import ChangeSet  # noqa: E402
from tests.attribution_fakes import InMemoryAttributionStore  # noqa: E402
from tests.fakes import FixedClock, InMemoryLeadRepository, RecordingPublisher  # noqa: E402
from tests.finance_fakes import InMemoryFinanceStore  # noqa: E402

SEED = 12
CHANNELS = tuple(f"channel-{n}" for n in range(10))
CAMPAIGNS = tuple(f"campaign-{n}" for n in range(30))
SPAN_SECONDS = 60 * 86_400
CONVERTED_AT = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CHUNK = 5_000  # journeys generated at a time: 100,000 journeys of Touch objects at once would be ~0.5 GB
BUDGET_SECONDS = 60.0  # crediting every journey is measured on fewer when it would take longer than this
CONVERSION_SHARE = 0.3
ROUNDS = 3


def journeys(start: int, count: int) -> list[Journey]:
    """Journeys `start` .. `start + count - 1`: each seeded by its number, so any slice is the same journeys."""
    out = []
    for number in range(start, start + count):
        rng = random.Random(SEED * 1_000_003 + number)  # noqa: S311 -- reproducible synthetic data
        n = rng.randint(8, 16)
        offsets = sorted(rng.randrange(SPAN_SECONDS) for _ in range(n))  # seconds before the conversion, oldest...
        offsets.reverse()  # ... first
        touches = tuple(
            Touch(
                touch_id=f"j{number}-t{k:02d}",
                occurred_at=CONVERTED_AT - timedelta(seconds=offset),
                channel=rng.choice(CHANNELS),
                campaign_id=rng.choice(CAMPAIGNS),
            )
            for k, offset in enumerate(offsets)
        )
        first, last = touches[0].occurred_at, touches[-1].occurred_at
        lead = first + (last - first) * rng.random()
        opportunity = lead + (last - lead) * rng.random()
        out.append(
            Journey(
                conversion_id=f"deal:standard:D-{number}",
                converted_at=CONVERTED_AT,
                amount_minor=rng.randrange(100_00, 100_000_00),
                currency="USD",
                touches=touches,
                lead_created_at=lead,
                opportunity_created_at=opportunity,
            )
        )
    return out


def linear_split(journey: Journey) -> list[int]:
    """The baseline: equal shares of plain ints, the remainder one unit each to the first touches."""
    n = len(journey.touches)
    share, left = divmod(journey.amount_minor, n)
    return [share + 1 if index < left else share for index in range(n)]


def _credit_rows(count: int) -> list[tuple[str, str, str, str]]:
    half_life = half_life_of(load_attribution_config())
    linear_seconds = models_seconds = 0.0
    done = 0
    while done < count:
        batch = journeys(done, min(CHUNK, count - done))
        started = time.process_time()
        for journey in batch:
            linear_split(journey)
        linear_seconds += time.process_time() - started
        started = time.process_time()
        for journey in batch:
            credited_touches(journey, half_life, None)
        models_seconds += time.process_time() - started
        done += len(batch)
        if done < count and models_seconds >= BUDGET_SECONDS:
            break  # the budget is spent before all N: the rate over the journeys credited so far
    baseline, ours = done / linear_seconds, done / models_seconds
    measured = "" if done == count else f" (measured on {done:,} journeys)"
    return [
        (
            "attribution",
            f"bare linear split in plain ints, {count:,} journeys of ~12 touches (baseline){measured}",
            f"{baseline:,.0f} journeys/s",
            "1.00",
        ),
        (
            "attribution",
            "credited_touches: 7 heuristic models + data-driven (linear, no fit), exact, one core" + measured,
            f"{ours:,.0f} journeys/s",
            f"{ours / baseline:.4f} ({baseline / ours:,.0f}x the baseline's time)",
        ),
    ]


def _paths(count: int) -> Iterator[tuple[tuple[str, ...], bool]]:
    converts = random.Random(SEED)  # noqa: S311 -- reproducible synthetic data
    for start in range(0, count, CHUNK):
        for journey in journeys(start, min(CHUNK, count - start)):
            yield tuple(touch.channel for touch in journey.touches), converts.random() < CONVERSION_SHARE


def _markov_rows(count: int) -> list[tuple[str, str, str, str]]:
    paths = list(_paths(count))
    counted, fitted = [], []
    fit = None
    for _ in range(ROUNDS):
        started = time.process_time()
        pairs: Counter[tuple[str, str]] = Counter()
        for channels, _converted in paths:
            pairs.update(pairwise(channels))
        counted.append(time.process_time() - started)
        started = time.process_time()
        fit = fit_markov(path_counts(paths))
        fitted.append(time.process_time() - started)
    if fit is None or fit.journeys != count:
        raise AssertionError(f"the fit counted {fit and fit.journeys} journeys, not {count:,}")
    share = fit.conversions / fit.journeys
    baseline, ours = statistics.median(counted), statistics.median(fitted)
    return [
        (
            "attribution",
            f"count the transitions of {count:,} paths, a plain Counter (baseline)",
            f"{baseline * 1000:.0f} ms",
            "1.00",
        ),
        (
            "attribution",
            f"Markov fit_markov(path_counts(...)), {count:,} journeys, {share:.0%} converting, "
            f"{len(fit.channels)} channels' removal effects",
            f"{ours * 1000:.0f} ms",
            f"{ours / baseline:.2f}",
        ),
    ]


COMPARE_PEOPLE = 4  # per account
COMPARE_HEAVY, COMPARE_LIGHT = 150, 25  # engagements of an account's first person, of each other
COMPARE_BODY = {"from": "2026-05", "to": "2026-11", "candidate": {"lookback_days": 90}}
_UTM = (("brand", "cpc"), ("retarget", "paid_social"), ("newsletter", "email"), ("launch", "webinar"))


def _compare_world(conversions: int) -> tuple[AttributionService, list[ConversionFacts], InMemoryLeadRepository]:
    """The seeded lead store and its recorded conversions (each account converting twice, May to November)."""
    rng = random.Random(SEED)  # noqa: S311 -- reproducible synthetic data
    first = datetime(2026, 3, 1, tzinfo=UTC)
    span = int((datetime(2026, 11, 28, tzinfo=UTC) - first).total_seconds())
    repo = InMemoryLeadRepository()
    facts: list[ConversionFacts] = []
    for a in range((conversions + 1) // 2):
        account = f"acct-{a}"
        change = ChangeSet(accounts={account: Account(account, first, first, domain=f"a{a}.example")})
        for p in range(COMPARE_PEOPLE):
            contact = f"lead-{a}-{p}"
            change.contacts[contact] = Contact(contact, first, first, account_id=account, account_linked_at=first)
            change.created.add(contact)
            for e in range(COMPARE_HEAVY if p == 0 else COMPARE_LIGHT):
                at = first + timedelta(seconds=rng.randrange(span))
                roll = rng.random()
                url = "https://acme.test/p"
                if roll < 0.7:
                    campaign, medium = _UTM[rng.randrange(len(_UTM))]
                    url += f"?utm_campaign={campaign}&utm_medium={medium}"
                kind = "form_submit" if roll > 0.9 else "page_view"
                change.engagements.append(EngagementRecord(f"e-{contact}-{e}", contact, at, kind, "segment", url=url))
        repo.commit(change)
        for d in range(2 if 2 * a + 1 < conversions else conversions - 2 * a):
            converted = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(span - 61 * 86_400))
            amount = Money(rng.randrange(1_000_00, 90_000_00), "USD")
            deal = f"standard:D-{a}-{d}"
            people = People(account_ref=account)
            facts.append(ConversionFacts(f"deal:{deal}", ConversionKind.DEAL, converted, amount, people, deal))
    finance = load_finance_config()
    store, ledger = InMemoryAttributionStore(), InMemoryFinanceStore()
    service = AttributionService(
        store=store,
        leads=repo,
        fx=ledger,
        config=load_attribution_config(finance=finance),
        company_currency="USD",
        publisher=RecordingPublisher(),
        clock=FixedClock(datetime(2026, 12, 2, 10, 0, tzinfo=UTC)),
        spend=ledger,
        finance=finance,
    )
    for fact in facts:
        service.credit(fact)
    return service, facts, repo


def _compare_rows(conversions: int) -> list[tuple[str, str, str, str]]:
    service, facts, repo = _compare_world(conversions)
    logs_read = 0
    reading = repo.engagements

    def counted(contact_ids: Sequence[str]) -> list[EngagementRecord]:
        nonlocal logs_read
        logs_read += len(contact_ids)
        return reading(contact_ids)

    repo.engagements = counted  # type: ignore[method-assign]
    credited, compared = [], []
    answer: dict = {}
    for _ in range(ROUNDS):
        started = time.process_time()
        for fact in facts:
            service.conversion_of(fact)
        credited.append(time.process_time() - started)
        logs_read = 0
        started = time.process_time()
        answer = service.compare(COMPARE_BODY)
        compared.append(time.process_time() - started)
    if answer.get("conversions") != conversions:
        raise AssertionError(f"the comparison counted {answer.get('conversions')} conversions, not {conversions:,}")
    people = ((conversions + 1) // 2) * COMPARE_PEOPLE
    touches = answer["touches"]
    baseline, ours = statistics.median(credited), statistics.median(compared)
    return [
        (
            "attribution",
            f"credit {conversions:,} conversions once under the settings in force, {people:,} people's logs "
            "of 25-150 engagements (baseline)",
            f"{baseline:.2f} s",
            "1.00",
        ),
        (
            "attribution",
            f"compare settings (90-day lookback) over the same {conversions:,} conversions, both sides: "
            f"{touches['current']:,} / {touches['candidate']:,} touches, {logs_read:,} engagement logs read "
            f"for {people:,} people",
            f"{ours:.2f} s",
            f"{ours / baseline:.2f}",
        ),
    ]


def attribution_rows(count: int | None = None, conversions: int | None = None) -> list[tuple[str, str, str, str]]:
    if count is None:
        count = int(os.environ.get("BENCH_JOURNEYS", "100000"))
    if conversions is None:
        conversions = int(os.environ.get("BENCH_COMPARE_CONVERSIONS", "200"))
    return _credit_rows(count) + _markov_rows(count) + _compare_rows(conversions)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--journeys", type=int, default=int(os.environ.get("BENCH_JOURNEYS", "100000")))
    parser.add_argument("--conversions", type=int, default=int(os.environ.get("BENCH_COMPARE_CONVERSIONS", "200")))
    arguments = parser.parse_args()
    for row in attribution_rows(arguments.journeys, arguments.conversions):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
