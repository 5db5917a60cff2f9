"""Spend and budgets: how fast the ledger records, what a line costs in DynamoDB write units, and what a budget
view costs whatever the volume of spend.

- record: spend lines per second through the finance service on the in-memory store (parse, validate, convert,
  chunk with their aggregate deltas, events), in batches of 500, beside a baseline measured in the same run:
  the same lines only parsed and validated (`parse_spend_batch`).
- WRU per line: from the chunks the service actually hands the store (each one TransactWriteItems) and the
  sizes of the DynamoDB items the adapter writes for them (DynamoDB's item-size rule): a single line, a batch
  of 500 lines over 10 campaigns and 5 days, and a month of daily lines (10 campaigns x 30 days) as an ad
  platform's export brings them.
- budget view: `figures()` over a month holding N lines (default 100,000, BENCH_SPEND_LINES) against the same
  with 100 lines: reads are O(budget lines + aggregate keys), not O(lines).

    python -m benchmarks.finance
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from shared.adapters.dynamodb_finance_items import aggregate_sk, day_attribute, listing_items, spend_item  # noqa: E402
from shared.adapters.dynamodb_items import item_size  # noqa: E402
from shared.finance.budget_engine import compile_budget_engine  # noqa: E402
from shared.finance.config import load_finance_config  # noqa: E402
from shared.finance.ports import SpendChunk  # noqa: E402
from shared.finance.service import FinanceService  # noqa: E402
from shared.finance.spend import parse_spend_batch  # noqa: E402
from tests.fakes import FixedClock, RecordingPublisher  # noqa: E402
from tests.finance_fakes import InMemoryFinanceStore  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BATCH = 500
ROUNDS = 5
TRANSACTIONAL = 2  # a transactional write costs 2 WRU per KB


def _lines(count: int, prefix: str, days: int = 5) -> list[dict[str, Any]]:
    return [
        {
            "spend_id": f"{prefix}-{n}",
            "campaign_id": f"campaign-{n % 10}",
            "channel": ("paid_search", "paid_social", "events")[n % 3],
            "department": "marketing",
            "vendor": "Ads Inc",
            "amount": f"{100 + n % 900}.{n % 100:02d}",
            "currency": "USD",
            "incurred_on": date(2026, 11, 1 + n % days).isoformat(),
        }
        for n in range(count)
    ]


def _daily_export() -> list[dict[str, Any]]:
    """A month of one line per campaign per day, in the order an ad platform's export lists them (by day)."""
    return [
        {
            "spend_id": f"export-{day}-{campaign}",
            "campaign_id": f"campaign-{campaign}",
            "channel": ("paid_search", "paid_social")[campaign % 2],
            "department": "marketing",
            "vendor": "Ads Inc",
            "amount": f"{100 + day * campaign}.{day:02d}",
            "currency": "USD",
            "incurred_on": date(2026, 11, day).isoformat(),
        }
        for day in range(1, 31)
        for campaign in range(10)
    ]


def _service() -> FinanceService:
    config = load_finance_config()
    return FinanceService(
        InMemoryFinanceStore(), config, compile_budget_engine(config), RecordingPublisher(), FixedClock(NOW)
    )


def _record_rows() -> list[tuple[str, str, str, str]]:
    config = load_finance_config()
    batches = [_lines(BATCH, f"b{r}") for r in range(4)]
    parsed_rate, recorded_rate = [], []
    for _ in range(ROUNDS):
        start = time.process_time()
        for batch in batches:
            parse_spend_batch(batch, config)
        parsed_rate.append(len(batches) * BATCH / (time.process_time() - start))
        service = _service()
        start = time.process_time()
        for batch in batches:
            service.record_spend(batch)
        recorded_rate.append(len(batches) * BATCH / (time.process_time() - start))
    baseline, ours = statistics.median(parsed_rate), statistics.median(recorded_rate)
    return [
        ("spend", "parse + validate only (baseline), batches of 500", f"{baseline:,.0f} lines/s", "1.00"),
        ("spend", "record through the service (in-memory store)", f"{ours:,.0f} lines/s", f"{ours / baseline:.2f}"),
    ]


def _wru_rows() -> list[tuple[str, str, str, str]]:
    def units(lines: list[dict[str, Any]]) -> float:
        service = _service()
        chunks: list[SpendChunk] = []
        record = service.store.record

        def recording(chunk: SpendChunk) -> None:
            chunks.append(chunk)
            record(chunk)

        service.store.record = recording  # type: ignore[method-assign]
        service.record_spend(lines)
        return sum(_chunk_units(chunk) for chunk in chunks) / len(lines)

    one, many, export = units(_lines(1, "one")), units(_lines(BATCH, "many")), units(_daily_export())
    return [
        ("spend", "DynamoDB WRU per line, a single line", f"{one:.1f} WRU", _aim(one)),
        ("spend", "DynamoDB WRU per line, a batch of 500", f"{many:.2f} WRU", _aim(many)),
        ("spend", "DynamoDB WRU per line, a month of daily lines (300)", f"{export:.2f} WRU", _aim(export)),
    ]


def _chunk_units(chunk: SpendChunk) -> int:
    """What one chunk's transaction costs: 2 units per KB for every item it writes, 1 per KB for each line's
    by-period index copy (and each listing item's, a service period's in its further months); an aggregate is
    priced at its largest (a value on every day of the month)."""
    kb = [math.ceil(item_size(spend_item(stored)) / 1024) for stored in chunk.lines]
    kb += [math.ceil(item_size(item) / 1024) for stored in chunk.lines for item in listing_items(stored.line)]
    lines = sum(TRANSACTIONAL * size + size for size in kb)
    first = date(2026, 12, 1)  # a month of 31 days
    aggregates = 0
    for (period, key), _ in chunk.deltas.items():
        full = {"pk": f"PERIOD#{period}", "sk": aggregate_sk(key), "actual": 10**15}
        full |= {day_attribute(first.replace(day=day)): 10**15 for day in range(1, 32)}
        aggregates += TRANSACTIONAL * math.ceil(item_size(full) / 1024)
    if chunk.reversals or chunk.corrections:
        raise AssertionError("the bench's lines reverse nothing: price the originals' updates before counting them")
    return lines + aggregates


def _aim(units: float) -> str:
    return ("✓" if units <= 3 else "✗") + " (aim <= 3; a line, its index copy, and its share of the counters)"


def _view_rows(lines: int) -> list[tuple[str, str, str, str]]:
    def seconds_for(count: int) -> float:
        service = _service()
        service.put_budget(
            "2026-11",
            {
                "currency": "USD",
                "lines": [
                    {"department": "marketing", "channel": c, "amount": "1000000.00"}
                    for c in ("paid_search", "paid_social", "events")
                ],
            },
            "bench",
        )
        for start in range(0, count, BATCH):
            service.record_spend(_lines(min(BATCH, count - start), f"v{start}"))
        timings = []
        for _ in range(ROUNDS * 4):
            began = time.perf_counter()
            service.figures("2026-11", NOW.date())
            timings.append(time.perf_counter() - began)
        return statistics.median(timings)

    small, large = seconds_for(100), seconds_for(lines)
    return [
        ("budget view", "figures of a month with 100 lines (baseline)", f"{small * 1000:.2f} ms", "1.00"),
        ("budget view", f"figures of a month with {lines:,} lines", f"{large * 1000:.2f} ms", f"{large / small:.2f}"),
    ]


def finance_rows() -> list[tuple[str, str, str, str]]:
    lines = int(os.environ.get("BENCH_SPEND_LINES", "100000"))
    return _record_rows() + _wru_rows() + _view_rows(lines)


if __name__ == "__main__":
    for row in finance_rows():
        print("  ".join(row))
