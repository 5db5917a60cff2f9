"""`make bench`: speed and cost of the hub, each figure beside a baseline measured in the same run.

- Cold start: import time of every function module (what Lambda runs on a cold start, its boto3 clients
  included) as a ratio to `import boto3` alone. Goal: <= 1.25.
- Warm webhook path: CPU microseconds per request through verify + de-duplicate + normalize + publish, with
  AWS served by in-memory fakes, beside a bare baseline (HMAC over the same body + json.loads).
- AWS calls per accepted delivery, counted with botocore event hooks under moto.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.catalog import CATALOG  # noqa: E402
from shared.webhooks.model import InboundWebhook  # noqa: E402

STAGE = "bench"
COLD_RUNS = 9
WARM_REQUESTS = 3000


def function_environment() -> dict[str, str]:
    env = dict(os.environ)
    for fn in CATALOG.functions:
        env.update(CATALOG.environment(fn, STAGE))
    env.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
        }
    )
    return env


def import_seconds(module: str, env: dict[str, str]) -> float:
    """Median wall time to import `module` in a fresh interpreter (interpreter start-up excluded)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(COLD_RUNS)
    ]
    return statistics.median(samples)


def cold_start_rows() -> list[tuple[str, str, str, str]]:
    env = function_environment()
    baseline = import_seconds("boto3", env)
    rows = [("cold start", "import boto3 (baseline)", f"{baseline * 1000:.0f} ms", "1.00")]
    for fn in CATALOG.functions:
        seconds = import_seconds(fn.module, env)
        ratio = seconds / baseline
        rows.append(
            (
                "cold start",
                f"import {fn.module}",
                f"{seconds * 1000:.0f} ms",
                f"{ratio:.2f}" + (" ✗" if ratio > 1.25 else " ✓"),
            )
        )
    return rows


def cpu_microseconds(work: Callable[[int], object], requests: int = WARM_REQUESTS) -> float:
    start = time.process_time()
    for n in range(requests):
        work(n)
    return (time.process_time() - start) / requests * 1_000_000


def _requests(vendor: str, count: int) -> list[InboundWebhook]:
    """Distinct, correctly signed deliveries, built before timing so signing is not counted."""
    from local_runtime.example import build
    from tests.fakes import FixedClock

    now = FixedClock().now()
    built = []
    for n in range(count):
        url, example = build(vendor, "https://hub.example.com", now=now, uid=f"{n:032x}")
        headers = {key.lower(): value for key, value in example.headers.items()}
        headers["content-type"] = example.content_type
        built.append(InboundWebhook(vendor, "POST", url, headers, example.body, f"r{n}"))
    return built


def warm_path_rows() -> list[tuple[str, str, str, str]]:
    from local_runtime.example import BUILDERS, local_secret
    from shared.webhooks.ingest import WebhookIngest
    from shared.webhooks.registry import TRACKING_API, VENDORS
    from shared.webhooks.vendor import Reply
    from tests.fakes import FixedClock, InMemoryLedger, RecordingPublisher, StaticSecrets

    vendors = {**VENDORS, TRACKING_API.name: TRACKING_API}
    secrets = StaticSecrets({vendor.secret_key: [local_secret(name)] for name, vendor in vendors.items()})
    rows = []
    for name in sorted(BUILDERS):
        ingest = WebhookIngest(vendors, secrets, InMemoryLedger(), RecordingPublisher(), FixedClock())
        warmup, timed = _requests(name, 50), _requests(name, WARM_REQUESTS)
        for request in warmup:
            ingest.receive(request)
        replies: list[Reply] = []

        def deliver(
            n: int, r: list[InboundWebhook] = timed, gate: WebhookIngest = ingest, out: list[Reply] = replies
        ) -> None:
            out.append(gate.receive(r[n]))

        hub = cpu_microseconds(deliver)
        assert all(200 <= reply.status_code < 300 for reply in replies), f"{name}: not every delivery was accepted"
        body = timed[0].body
        parse: Callable[[bytes], object] = ElementTree.fromstring if body.startswith(b"<") else json.loads

        def bare(_: int, body: bytes = body, parse: Callable[[bytes], object] = parse) -> object:
            hmac.new(b"secret", body, hashlib.sha256).digest()
            return parse(body)

        baseline = cpu_microseconds(bare)
        rows.append(("warm path", f"{name}: HMAC + parse (baseline)", f"{baseline:.1f} µs", "1.00"))
        rows.append(("warm path", f"{name}: verify+dedupe+normalize+publish", f"{hub:.1f} µs", f"{hub / baseline:.1f}"))
    return rows


def aws_call_rows() -> list[tuple[str, str, str, str]]:
    import boto3
    from moto import mock_aws

    os.environ.update(function_environment())
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from local_runtime.provision import provision
    from shared.settings import WebhookReceiverSettings, load_settings
    from shared.wiring import webhook_ingest

    calls: list[str] = []
    rows = []
    with mock_aws():
        provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))
        ingest = webhook_ingest(load_settings(WebhookReceiverSettings))
        for client in (ingest._ledger._client, ingest._publisher._client):  # type: ignore[attr-defined]
            client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
        warmup, counted = _fresh_requests("stripe", 2)
        ingest.receive(warmup)  # the secret is fetched once per 5 minutes, not per delivery
        for label, request in (("accepted delivery (goal <= 2)", counted), ("duplicate delivery", counted)):
            calls.clear()
            assert ingest.receive(request).status_code in (200, 202)
            rows.append(("aws calls", f"stripe: {label}", str(len(calls)), " + ".join(calls)))
        [batch] = _fresh_requests("hubspot", 1, events=10)
        calls.clear()
        assert ingest.receive(batch).status_code == 202
        rows.append(("aws calls", "hubspot: batch of 10 events", str(len(calls)), " + ".join(calls)))
    return rows


def _fresh_requests(vendor: str, count: int, events: int = 1) -> list[InboundWebhook]:
    """Deliveries signed now (the real clock), as moto-backed ingest checks timestamps against it."""
    from local_runtime.example import build

    built = []
    for n in range(count):
        url, example = build(vendor, "https://hub.example.com")
        body = example.body
        if events > 1:  # a HubSpot batch: the same event with distinct ids, re-signed
            from local_runtime.example import local_secret
            from shared.webhooks.vendors.hubspot import sign

            one = json.loads(body)[0]
            body = json.dumps([one | {"eventId": one["eventId"] + i} for i in range(events)]).encode()
            stamp = example.headers["X-HubSpot-Request-Timestamp"]
            example.headers["X-HubSpot-Signature-v3"] = sign(local_secret(vendor), "POST", url, body, stamp)
        headers = {key.lower(): value for key, value in example.headers.items()}
        built.append(InboundWebhook(vendor, "POST", url, headers, body, f"r{n}"))
    return built


def main() -> int:
    from benchmarks.mql_latency import mql_latency_rows
    from benchmarks.scoring import scoring_rows

    leads = int(os.environ.get("BENCH_LEADS", "200"))
    rows = cold_start_rows() + warm_path_rows() + aws_call_rows() + scoring_rows() + mql_latency_rows(leads)
    widths = [max(len(row[i]) for row in [*rows, ("what", "measure", "figure", "ratio / detail")]) for i in range(4)]
    header = ("what", "measure", "figure", "ratio / detail")
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print(f"\ncold start: median of {COLD_RUNS} fresh interpreters; warm path: CPU time over {WARM_REQUESTS} requests")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
