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
- compare over DynamoDB (`--store dynamodb`): the same conversions and people, recorded in the attribution and
  lead tables of a moto server patched as `make run` runs it (`local_runtime.moto_patches`), compared through
  the DynamoDB adapters: wall time, and the DynamoDB calls and response bytes of the request, those of the
  months' conversion listing (the by-period index) apart. Baseline: the same request on the in-memory stores
  (wall time). Median of 3 rounds.

    python -m benchmarks.attribution [--journeys 100000] [--conversions 200] [--only compare] [--store dynamodb]
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.embedded_aws import embedded_client  # noqa: E402
from benchmarks.ports import free_port  # noqa: E402
from shared.attribution.config import load_attribution_config  # noqa: E402
from shared.attribution.crediting import credited_touches, half_life_of  # noqa: E402
from shared.attribution.deals import ConversionFacts, ConversionKind, People  # noqa: E402
from shared.attribution.journeys import Journey, Touch  # noqa: E402
from shared.attribution.markov import fit_markov, path_counts  # noqa: E402
from shared.attribution.ports import AttributionStore  # noqa: E402
from shared.attribution.service import AttributionService  # noqa: E402
from shared.finance.config import load_finance_config  # noqa: E402
from shared.finance.money import Money  # noqa: E402
from shared.leads.model import Account, Contact, EngagementRecord  # noqa: E402
from shared.leads.ports import ChangeSet, LeadRepository  # noqa: E402
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


def _compare_world(
    conversions: int, store: AttributionStore | None = None, repo: LeadRepository | None = None
) -> tuple[AttributionService, list[ConversionFacts], LeadRepository]:
    """The seeded lead store and its recorded conversions (each account converting twice, May to November), in
    memory unless the stores are given."""
    rng = random.Random(SEED)  # noqa: S311 -- reproducible synthetic data
    first = datetime(2026, 3, 1, tzinfo=UTC)
    span = int((datetime(2026, 11, 28, tzinfo=UTC) - first).total_seconds())
    repo = InMemoryLeadRepository() if repo is None else repo
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
        engagements, change.engagements = change.engagements, []
        repo.commit(change)
        for start in range(0, len(engagements), 100):  # a change the DynamoDB repository writes in one transaction
            repo.commit(ChangeSet(engagements=engagements[start : start + 100]))
        for d in range(2 if 2 * a + 1 < conversions else conversions - 2 * a):
            converted = datetime(2026, 5, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(span - 61 * 86_400))
            amount = Money(rng.randrange(1_000_00, 90_000_00), "USD")
            deal = f"standard:D-{a}-{d}"
            people = People(account_ref=account)
            facts.append(ConversionFacts(f"deal:{deal}", ConversionKind.DEAL, converted, amount, people, deal))
    finance = load_finance_config()
    store, ledger = InMemoryAttributionStore() if store is None else store, InMemoryFinanceStore()
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


class DynamoDbTally:
    """The DynamoDB calls a client makes and the bytes of their answers, the months' conversion listing (Queries
    of the by-period index) apart."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.bytes: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()  # from the request sent to its answer parsed
        client.meta.events.register("provide-client-params.dynamodb.Query", self._mark)
        client.meta.events.register("before-call.dynamodb", self._start)
        client.meta.events.register("after-call.dynamodb", self._count)

    @staticmethod
    def _mark(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["by_period"] = params.get("IndexName") == "by-period"

    @staticmethod
    def _start(context: dict[str, Any], **_: Any) -> None:
        context["started"] = time.perf_counter()

    def _count(self, model: Any, http_response: Any, context: dict[str, Any], **_: Any) -> None:
        name = f"{model.name} by-period" if context.get("by_period") else model.name
        self.calls[name] += 1
        self.bytes[name] += len(http_response.content or b"")
        self.seconds[name] += time.perf_counter() - context.get("started", time.perf_counter())

    def clear(self) -> None:
        self.calls.clear()
        self.bytes.clear()
        self.seconds.clear()


@contextlib.contextmanager
def _embedded_dynamodb() -> Iterator[Any]:
    """A DynamoDB client of a moto server patched as the local hub patches it, holding the attribution and lead
    tables as `make run` provisions them."""
    from moto.server import ThreadedMotoServer

    from local_runtime import moto_patches
    from local_runtime.provision import table_definition
    from shared.catalog import CATALOG

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto server's request log
    moto_patches.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = embedded_client("dynamodb", f"http://{host}:{port}")
        for name in ("attribution", "leads"):
            client.create_table(**table_definition(CATALOG.table(name), "bench"))
        yield client
    finally:
        server.stop()
        moto_patches.uninstall()


def _wall(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    answer = call()
    return time.perf_counter() - started, answer


def _compare_dynamodb_rows(conversions: int) -> list[tuple[str, str, str, str]]:
    from shared.adapters.dynamodb_attribution import DynamoDbAttributionStore
    from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
    from shared.catalog import physical_name

    memory, _, _ = _compare_world(conversions)
    expected = memory.compare(COMPARE_BODY)
    baseline = statistics.median(_wall(lambda: memory.compare(COMPARE_BODY))[0] for _ in range(ROUNDS))
    with _embedded_dynamodb() as client:
        store = DynamoDbAttributionStore(client, physical_name("bench", "attribution"))
        repo = DynamoDbLeadRepository(client, physical_name("bench", "leads"))
        service, _, _ = _compare_world(conversions, store, repo)
        tally = DynamoDbTally(client)
        walls, listing_walls = [], []
        for _ in range(ROUNDS):
            tally.clear()
            wall, answer = _wall(lambda: service.compare(COMPARE_BODY))
            walls.append(wall)
            listing_walls.append(sum(tally.seconds[n] for n in tally.seconds if n.endswith("by-period")))
            if answer != expected:
                raise AssertionError("the comparison over DynamoDB differs from the one in memory")
    ours = statistics.median(walls)
    listing = "by-period"
    calls = sum(tally.calls.values())
    received = sum(tally.bytes.values())
    listed = [name for name in tally.calls if name.endswith(listing)]
    return [
        (
            "attribution",
            f"compare settings over the {conversions:,} conversions on the in-memory stores, wall (baseline)",
            f"{baseline:.2f} s",
            "1.00",
        ),
        (
            "attribution",
            f"compare settings over the same conversions through the DynamoDB adapters (moto server as make run): "
            f"{calls:,} calls, {received / 1e6:.2f} MB received; the months' conversion listing "
            f"{sum(tally.calls[n] for n in listed):,} Queries, {sum(tally.bytes[n] for n in listed) / 1e6:.2f} MB, "
            f"{statistics.median(listing_walls):.2f} s of the request",
            f"{ours:.2f} s",
            f"{ours / baseline:.2f}",
        ),
    ]


ROWS = ("credit", "markov", "compare")


def attribution_rows(
    count: int | None = None,
    conversions: int | None = None,
    only: Sequence[str] = ROWS,
    store: str = "memory",
) -> list[tuple[str, str, str, str]]:
    if count is None:
        count = int(os.environ.get("BENCH_JOURNEYS", "100000"))
    if conversions is None:
        conversions = int(os.environ.get("BENCH_COMPARE_CONVERSIONS", "200"))
    rows: list[tuple[str, str, str, str]] = []
    if "credit" in only:
        rows += _credit_rows(count)
    if "markov" in only:
        rows += _markov_rows(count)
    if "compare" in only:
        rows += _compare_dynamodb_rows(conversions) if store == "dynamodb" else _compare_rows(conversions)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--journeys", type=int, default=int(os.environ.get("BENCH_JOURNEYS", "100000")))
    parser.add_argument("--conversions", type=int, default=int(os.environ.get("BENCH_COMPARE_CONVERSIONS", "200")))
    parser.add_argument("--only", choices=ROWS, action="append", help="these rows only (repeatable; default: all)")
    parser.add_argument(
        "--store",
        choices=("memory", "dynamodb"),
        default="memory",
        help="the compare row's stores: in memory (CPU time), or the DynamoDB adapters over a moto server (wall)",
    )
    arguments = parser.parse_args()
    for row in attribution_rows(arguments.journeys, arguments.conversions, arguments.only or ROWS, arguments.store):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
