"""A budget view on the local runtime (`make run`) with 100,000 spend lines in its month, beside a plain get of
one item through the same API (`GET .../fx/{period}`, one GetItem): the view reads the month's aggregates and
daily totals, never the lines, so its cost does not grow with them.

The lines are seeded straight into the embedded DynamoDB as the finance store lays them out (each line item put
in batches; the month's aggregates, with their day figures, recorded through the store as chunks of deltas
equal to the lines' sums), because recording 100,000 lines through the API would measure moto's transactions,
not the view. The seeding is checked: the view's actual must equal the
lines' sum.

    python -m benchmarks.budget_latency [--lines 100000] [--reads 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from benchmarks.burst import start_hub, stop_hub
from benchmarks.embedded_aws import embedded_client
from local_runtime.auth import LocalUserPool
from shared.adapters.dynamodb_finance import DynamoDbFinanceStore
from shared.adapters.dynamodb_finance_items import spend_item
from shared.adapters.dynamodb_items import serialize
from shared.catalog import CATALOG, physical_name
from shared.catalog.finance import FINANCE
from shared.finance.config import load_finance_config
from shared.finance.ports import MAX_CHUNK_ITEMS, SpendChunk, StoredSpend
from shared.finance.spend import SpendKey, parse_spend_batch

PERIOD = "2026-11"
CHANNELS = ("paid_search", "paid_social", "events")
SEED_BATCH = 500


def measure(lines: int, reads: int) -> tuple[list[float], list[float], str]:
    """(plain get seconds, budget view seconds, the view's total actual)."""
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_hub(Path(scratch) / "hub.err")
        try:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {LocalUserPool.from_config().issue(['finance'])}"
            endpoint = session.get(f"{url}/healthz", timeout=10).json()["aws_endpoint"]
            put = session.put(f"{url}/api/v1/integrations/finance/fx/{PERIOD}", json={"base": "USD", "rates": {}})
            put.raise_for_status()
            budget = {
                "currency": "USD",
                "lines": [{"department": "marketing", "channel": c, "amount": "100000000.00"} for c in CHANNELS],
            }
            session.put(f"{url}/api/v1/integrations/finance/budget/{PERIOD}", json=budget).raise_for_status()
            seeded = _seed(endpoint, lines)
            plain = _timed(reads, lambda: session.get(f"{url}/api/v1/integrations/finance/fx/{PERIOD}"))
            views = _timed(reads, lambda: session.get(f"{url}/api/v1/integrations/finance/budget/{PERIOD}"))
            actual = session.get(f"{url}/api/v1/integrations/finance/budget/{PERIOD}").json()["totals"]["actual"]
            if Decimal(actual) != Decimal(seeded) / 100:
                raise AssertionError(f"the view's actual {actual} is not the seeded lines' sum {seeded / 100}")
            return plain, views, actual
        finally:
            stop_hub(process)


def _seed(endpoint: str, count: int) -> int:
    """`count` lines of the month in the store's layout, with the counters a recording would have left; returns
    the lines' sum in minor units."""
    client = embedded_client("dynamodb", endpoint)
    table = physical_name("local", FINANCE.name)
    assert FINANCE.name in {t.name for t in CATALOG.tables}
    config = load_finance_config()
    recorded_at = datetime(2026, 11, 20, tzinfo=UTC)
    deltas: dict[SpendKey, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for start in range(0, count, SEED_BATCH):
        raw = [
            {
                "spend_id": f"seed-{n}",
                "campaign_id": f"campaign-{n % 20}",
                "channel": CHANNELS[n % 3],
                "department": "marketing",
                "vendor": "Ads Inc",
                "amount": f"{10 + n % 990}.{n % 100:02d}",
                "currency": "USD",
                "incurred_on": date(2026, 11, 1 + n % 28).isoformat(),
            }
            for n in range(start, min(start + SEED_BATCH, count))
        ]
        items = []
        for line in parse_spend_batch(raw, config):
            items.append(spend_item(StoredSpend(line, line.amount.minor, Decimal(1), recorded_at)))
            deltas[line.key][line.first_day] += line.amount.minor
        for offset in range(0, len(items), 25):
            request = {table: [{"PutRequest": {"Item": serialize(i)}} for i in items[offset : offset + 25]]}
            while request:
                request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    store, keys = DynamoDbFinanceStore(client, table), list(deltas)
    for offset in range(0, len(keys), MAX_CHUNK_ITEMS):
        store.record(SpendChunk((), {(PERIOD, key): deltas[key] for key in keys[offset : offset + MAX_CHUNK_ITEMS]}))
    return sum(sum(days.values()) for days in deltas.values())


def _timed(reads: int, call: Callable[[], Any]) -> list[float]:
    call().raise_for_status()  # warm: the first call of a function pays its import
    seconds = []
    for _ in range(reads):
        began = time.perf_counter()
        call().raise_for_status()
        seconds.append(time.perf_counter() - began)
    return seconds


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def budget_latency_rows(lines: int, reads: int = 50) -> list[tuple[str, str, str, str]]:
    plain, views, _ = measure(lines, reads)
    base = statistics.median(plain)
    view = statistics.median(views)
    return [
        (
            "budget view",
            "GET fx/{period}: one GetItem through the API, local runtime (baseline)",
            f"p50 {base * 1000:.1f} ms / p95 {_p95(plain) * 1000:.1f} ms",
            "1.00",
        ),
        (
            "budget view",
            f"GET budget/{{period}} with {lines:,} lines in the month, local runtime",
            f"p50 {view * 1000:.1f} ms / p95 {_p95(views) * 1000:.1f} ms",
            f"{view / base:.2f}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=50)
    arguments = parser.parse_args()
    for row in budget_latency_rows(arguments.lines, arguments.reads):
        print(" | ".join(row))


if __name__ == "__main__":
    main()
