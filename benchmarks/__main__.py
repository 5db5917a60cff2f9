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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.catalog import CATALOG  # noqa: E402

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
    for n in range(50):  # warm-up: imports, caches, pydantic schemas
        work(n)
    start = time.process_time()
    for n in range(requests):
        work(n)
    return (time.process_time() - start) / requests * 1_000_000


def warm_path_rows() -> list[tuple[str, str, str, str]]:
    from shared.webhooks.ingest import WebhookIngest
    from shared.webhooks.registry import VENDORS
    from tests.fakes import FixedClock, InMemoryLedger, RecordingPublisher, StaticSecrets
    from tests.webhook_samples import hubspot_event, hubspot_events, hubspot_request, stripe_event, stripe_request

    clock = FixedClock()
    epoch = int(clock.now().timestamp())
    secrets = StaticSecrets({"stripe": ["whsec_bench"], "hubspot": ["hubspot-bench"]})
    ingest = WebhookIngest(VENDORS, secrets, InMemoryLedger(), RecordingPublisher(), clock)
    stripe_body = stripe_event("evt_template")
    hubspot_body = hubspot_events(hubspot_event(1))

    def stripe_delivery(n: int) -> object:
        body = stripe_body.replace(b"evt_template", f"evt_{n:08d}".encode())
        return ingest.receive(stripe_request(body, "whsec_bench", timestamp=epoch))

    def hubspot_delivery(n: int) -> object:
        body = hubspot_body.replace(b'"eventId": 1', f'"eventId": {n + 10}'.encode())
        return ingest.receive(hubspot_request(body, "hubspot-bench", timestamp_ms=epoch * 1000))

    def bare(body: bytes) -> Callable[[int], object]:
        def work(_: int) -> object:
            hmac.new(b"whsec_bench", body, hashlib.sha256).digest()
            return json.loads(body)

        return work

    # The vendor SDK signs each request: take its cost out so the figure is the hub's own work.
    stripe_signing = cpu_microseconds(lambda n: stripe_request(stripe_body, "whsec_bench", timestamp=epoch))
    hubspot_signing = cpu_microseconds(lambda n: hubspot_request(hubspot_body, "hubspot-bench", timestamp_ms=epoch))
    rows = []
    for vendor, work, body, signing in (
        ("stripe", stripe_delivery, stripe_body, stripe_signing),
        ("hubspot", hubspot_delivery, hubspot_body, hubspot_signing),
    ):
        baseline = cpu_microseconds(bare(body))
        hub = cpu_microseconds(work) - signing
        rows.append(("warm path", f"{vendor}: HMAC + json.loads (baseline)", f"{baseline:.1f} µs", "1.00"))
        rows.append(
            ("warm path", f"{vendor}: verify+dedupe+normalize+publish", f"{hub:.1f} µs", f"{hub / baseline:.1f}")
        )
    return rows


def aws_call_rows() -> list[tuple[str, str, str, str]]:
    import boto3
    from moto import mock_aws

    os.environ.update(function_environment())
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from local_runtime.provision import provision
    from shared.settings import WebhookReceiverSettings, load_settings
    from shared.webhooks.vendors.stripe import sign
    from shared.wiring import webhook_ingest
    from tests.webhook_samples import stripe_event

    calls: list[str] = []
    with mock_aws():
        provisioned = provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))
        secret = json.loads((ROOT / "config" / "local.secrets.json").read_text())["stripe"][0]
        ingest = webhook_ingest(load_settings(WebhookReceiverSettings))
        for client in (ingest._ledger._client, ingest._publisher._client):  # type: ignore[attr-defined]
            client.meta.events.register("before-call.*.*", lambda model, **_: calls.append(model.name))
        from shared.webhooks.model import InboundWebhook

        def deliver(event_id: str) -> int:
            body = stripe_event(event_id)
            request = InboundWebhook(
                "stripe",
                "POST",
                "https://hub/webhooks/stripe",
                {"stripe-signature": sign(secret, body, int(time.time()))},
                body,
                "r",
            )
            return ingest.receive(request).status_code

        deliver("evt_warmup")  # the secret is fetched once per 5 minutes, not per delivery
        calls.clear()
        assert deliver("evt_counted") == 202
        accepted = list(calls)
        calls.clear()
        assert deliver("evt_counted") == 200
        duplicate = list(calls)
        assert provisioned.bus_name
    return [
        ("aws calls", "accepted delivery (goal <= 2)", str(len(accepted)), " + ".join(accepted)),
        ("aws calls", "duplicate delivery", str(len(duplicate)), " + ".join(duplicate)),
    ]


def main() -> int:
    rows = cold_start_rows() + warm_path_rows() + aws_call_rows()
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
