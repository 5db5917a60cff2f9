"""Spend and budgets: how fast the ledger records, what a line costs in DynamoDB write units, and what a budget
view costs whatever the volume of spend.

- record: spend lines per second through the finance service on the in-memory store (parse, validate, convert,
  chunk with their aggregate deltas, events), in batches of 500, beside a baseline measured in the same run:
  the same lines only parsed and validated (`parse_spend_batch`).
- WRU per line: from the DynamoDB items the adapter writes (measured with DynamoDB's item-size rule), a
  single line and a batch of 500 lines over 10 campaigns and 5 days.
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

from shared.adapters.dynamodb_finance_items import aggregate_sk, day_sk, spend_item  # noqa: E402
from shared.adapters.dynamodb_items import item_size  # noqa: E402
from shared.finance.budget_engine import compile_budget_engine  # noqa: E402
from shared.finance.config import load_finance_config  # noqa: E402
from shared.finance.service import FinanceService  # noqa: E402
from shared.finance.spend import parse_spend_batch  # noqa: E402
from tests.fakes import FixedClock, RecordingPublisher  # noqa: E402
from tests.finance_fakes import InMemoryFinanceStore  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
BATCH = 500
ROUNDS = 5
TRANSACTIONAL = 2  # a transactional write costs 2 WRU per KB


def _lines(count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "spend_id": f"{prefix}-{n}",
            "campaign_id": f"campaign-{n % 10}",
            "channel": ("paid_search", "paid_social", "events")[n % 3],
            "department": "marketing",
            "vendor": "Ads Inc",
            "amount": f"{100 + n % 900}.{n % 100:02d}",
            "currency": "USD",
            "incurred_on": date(2026, 11, 1 + n % 5).isoformat(),
        }
        for n in range(count)
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
    service = _service()
    single = service.record_spend(_lines(1, "one")).created
    batch = _service().record_spend(_lines(BATCH, "many")).created

    def units(entries: list[Any]) -> float:
        line_units = sum(TRANSACTIONAL * math.ceil(item_size(spend_item(e)) / 1024) for e in entries)
        index_units = len(entries)  # the by-period index copy of each line, a plain write
        keys = {(e.line.key, e.line.incurred_on) for e in entries}
        aggregates = len({key for key, _ in keys})
        days = len({day for _, day in keys})
        counters = TRANSACTIONAL * (aggregates + days)  # each ADD item is far below 1 KB
        counter = item_size({"pk": "PERIOD#2026-11", "sk": aggregate_sk(entries[0].line.key), "actual": 10**12})
        if counter >= 1024 or item_size({"pk": "PERIOD#2026-11", "sk": day_sk(date(2026, 11, 1))}) >= 1024:
            raise AssertionError("a counter item passed 1 KB: count its units from its size")
        return (line_units + index_units + counters) / len(entries)

    one, many = units(single), units(batch)
    return [
        ("spend", "DynamoDB WRU per line, a single line", f"{one:.1f} WRU", _aim(one)),
        ("spend", "DynamoDB WRU per line, a batch of 500", f"{many:.2f} WRU", _aim(many)),
    ]


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
