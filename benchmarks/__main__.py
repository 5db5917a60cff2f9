"""`make bench`: speed and cost of the hub, each figure beside a baseline measured in the same run.

- The webhook path (`webhook_path.py`): CPU per accepted delivery, whole handler, against a minimal
  verify + PutEvents handler in the same process, and its one write made alone (the floor); AWS calls per
  delivery; cold import against that handler; cost per million deliveries at list price.
- Cold start of every other function: import time (its own environment only, its boto3 clients included)
  against `import boto3` alone.
- Scoring throughput (`scoring.py`), routing decisions (`routing.py`), spend recording, write units per line
  and budget views in process (`finance.py`), a budget view of 100,000 lines on the local hub beside a plain
  get (`budget_latency.py`), attribution in process (`attribution.py`: journeys per second credited under
  every model beside a bare linear split, the Markov fit beside counting the transitions), deal.won -> credits
  stored on the local hub (`attribution_latency.py`), webhook -> MQL latency (`mql_latency.py`), vendor
  request -> event on the bus (`publish_latency.py`), speed to lead on the local hub
  (`handoff_latency.py`: lead.handoff_requested -> handoff.assigned and -> the rep's Slack message), governance
  (`governance.py`: the audit trail's cost per API write and its searches in process, a person's erasure beside
  their export and a replay of an hour beside its first processing on the local hub, with what each left behind)
  and a burst on the local hub (`burst.py`; BURST_DELIVERIES=0 skips it).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.catalog import CATALOG, Function  # noqa: E402

STAGE = "bench"
COLD_RUNS = 9
WEBHOOK_FUNCTIONS = ("webhook_receiver", "tracking_api")  # measured against the minimal handler instead


def function_environment(function: Function) -> dict[str, str]:
    """Only this function's own environment, as Lambda gives it (plus credentials and region)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TABLE_", "SECRET_", "EVENT_"))}
    env.update(CATALOG.environment(function, STAGE))
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    env.pop("AWS_ENDPOINT_URL", None)
    return env


def import_seconds(module: str, env: dict[str, str]) -> float:
    """Wall time to import `module` in a fresh interpreter (interpreter start-up excluded)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout)


def cold_start_rows() -> list[tuple[str, str, str, str]]:
    functions = [fn for fn in CATALOG.functions if fn.name not in WEBHOOK_FUNCTIONS]
    samples: dict[str, list[float]] = {"boto3": [], **{fn.name: [] for fn in functions}}
    for _ in range(COLD_RUNS):  # alternating, so load drifts hit every module alike
        samples["boto3"].append(import_seconds("boto3", function_environment(functions[0])))
        for fn in functions:
            samples[fn.name].append(import_seconds(fn.module, function_environment(fn)))
    baseline = statistics.median(samples["boto3"])
    rows = [("cold start", "import boto3 (baseline)", f"{baseline * 1000:.0f} ms", "1.00")]
    for fn in functions:
        seconds = statistics.median(samples[fn.name])
        rows.append(("cold start", f"import {fn.module}", f"{seconds * 1000:.0f} ms", f"{seconds / baseline:.2f}"))
    return rows


def main() -> int:
    from benchmarks.attribution import attribution_rows
    from benchmarks.attribution_latency import attribution_latency_rows
    from benchmarks.budget_latency import budget_latency_rows
    from benchmarks.burst import DEFAULT_CONCURRENCY, DEFAULT_DELIVERIES, burst_rows
    from benchmarks.crm_sync import crm_sync_rows
    from benchmarks.finance import finance_rows
    from benchmarks.governance import governance_rows, knobs_from_environment
    from benchmarks.handoff_latency import handoff_latency_rows
    from benchmarks.health import health_rows
    from benchmarks.health_latency import health_latency_rows
    from benchmarks.hub_at_rest import hub_at_rest_rows
    from benchmarks.mql_latency import mql_latency_rows
    from benchmarks.publish_latency import publish_latency_rows
    from benchmarks.routing import routing_rows
    from benchmarks.scoring import scoring_rows
    from benchmarks.webhook_path import webhook_path_rows

    leads = int(os.environ.get("BENCH_LEADS", "100"))  # rounds of 20 leads, each seeded on a fresh hub (~3 min)
    deliveries = int(os.environ.get("BURST_DELIVERIES", DEFAULT_DELIVERIES))
    concurrency = int(os.environ.get("BURST_CONCURRENCY", DEFAULT_CONCURRENCY))
    sections: list[tuple[str, Callable[[], list[tuple[str, str, str, str]]]]] = [
        ("webhook path", webhook_path_rows),
        ("cold start", cold_start_rows),
        ("scoring", scoring_rows),
        ("routing", routing_rows),
        ("spend", finance_rows),
        ("budget view", lambda: budget_latency_rows(int(os.environ.get("BENCH_SPEND_LINES", "100000")))),
        ("attribution", lambda: attribution_rows(int(os.environ.get("BENCH_JOURNEYS", "100000")))),
        ("deal.won → credits", lambda: attribution_latency_rows(int(os.environ.get("BENCH_DEALS", "30")))),
        ("health", lambda: health_rows(int(os.environ.get("BENCH_HEALTH_ACCOUNTS", "100000")))),
        ("signal → health", lambda: health_latency_rows(int(os.environ.get("BENCH_HEALTH_SIGNALS", "30")))),
        ("hub at rest", hub_at_rest_rows),
        ("MQL latency", lambda: mql_latency_rows(leads)),
        ("to the bus", lambda: publish_latency_rows(int(os.environ.get("BENCH_PUBLISHED", "200")))),
        ("speed to lead", lambda: handoff_latency_rows(int(os.environ.get("BENCH_HANDOFFS", "100")))),
        ("governance", lambda: governance_rows(**knobs_from_environment())),
        ("CRM sync", lambda: crm_sync_rows(int(os.environ.get("BENCH_CRM_LEADS", "100")))),
    ]
    if deliveries > 0:
        sections.append(("burst", lambda: burst_rows(deliveries, concurrency)))
    rows: list[tuple[str, str, str, str]] = []
    failed = 0
    for name, measure in sections:
        # Each section as it is measured (stderr), so a long run shows progress and one failure costs no others.
        try:
            section = measure()
        except Exception as exc:  # a section that fails is reported in the table; the others still run
            failed += 1
            section = [(name, "FAILED", type(exc).__name__, str(exc)[:160])]
        for row in section:
            print("  ".join(row), file=sys.stderr, flush=True)
        rows += section
    header = ("what", "measure", "figure", "ratio / detail")
    widths = [max(len(row[i]) for row in [*rows, header]) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"\ncold start: median of {COLD_RUNS} fresh interpreters; webhook CPU: median of interleaved rounds")
    if deliveries > 0:
        print("burst: wall time on the hub `make run` starts; memory is the hub's VmRSS (BURST_DELIVERIES=0 skips it)")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
