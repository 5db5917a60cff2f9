"""The webhook path, side by side with its baseline, in one process: what an accepted delivery costs in CPU,
AWS calls, cold start and dollars.

The baseline is `benchmarks/baseline_handler.py`, a minimal verify + PutEvents Stripe handler. Both it and the
receiver (`functions/webhook_receiver/handler.py`, the whole handler) run with real botocore clients whose
HTTP send is answered from canned replies: what is measured is the handlers' work and botocore's (building,
signing and parsing each call), not a network.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAGE = "bench"
STRIPE_SECRET = "whsec_bench_only"  # noqa: S105 (signs the bench's own deliveries)
ROUNDS = 7
REQUESTS = 1000
COLD_RUNS = 9

# us-east-1 list prices, on demand
API_GATEWAY_REST_PER_MILLION = 3.50
WAF_PER_MILLION_REQUESTS = 0.60
LAMBDA_PER_GB_SECOND = 0.0000133334  # arm64
LAMBDA_PER_MILLION_REQUESTS = 0.20
DYNAMODB_PER_MILLION_WRU = 0.625
DYNAMODB_STORAGE_PER_GB_MONTH = 0.25
DYNAMODB_PITR_PER_GB_MONTH = 0.20
EVENTBRIDGE_PER_MILLION = 1.00
EVENTBRIDGE_ARCHIVE_PER_GB = 0.10
CLOUDWATCH_LOGS_PER_GB = 0.50
DYNAMODB_ROUND_TRIP_MS = 8  # a PutItem seen from Lambda in the same region, for billed duration
PUBLISHER_BATCH = 100  # stream records per publisher invocation under load (the trigger's batch size)
ACCESS_LOG_BYTES = 600  # one JSON access log line per request


class _Canned:
    """A botocore `before-send` hook: every call answered with a canned reply, after botocore built and signed
    the request as it would for the network."""

    def __init__(self, secrets: dict[str, list[str]]) -> None:
        self.calls: list[str] = []
        self.last_request: dict[str, bytes] = {}  # each operation's last request body, to replay it alone
        self.secrets = secrets
        self.duplicate_next = False

    def __call__(self, request: Any, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HTTPHeaders

        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        self.calls.append(operation)
        self.last_request[operation] = request.body
        status, body = 200, self._reply(operation)
        if operation in ("PutItem", "TransactWriteItems") and self.duplicate_next:
            self.duplicate_next = False
            status, body = 400, self._refusal(operation)
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/x-amz-json-1.0"
        return AWSResponse(request.url, status, headers, _Raw(body))

    def _reply(self, operation: str) -> bytes:
        if operation == "PutEvents":
            return b'{"FailedEntryCount": 0, "Entries": [{"EventId": "canned"}]}'
        if operation == "GetSecretValue":
            document = json.dumps(self.secrets)
            return json.dumps(
                {"Name": "secrets", "ARN": "arn:aws:secretsmanager:::x", "SecretString": document}
            ).encode()
        return b"{}"

    @staticmethod
    def _refusal(operation: str) -> bytes:
        if operation == "PutItem":
            return b'{"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException", "message": "no"}'
        return b'{"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException", "message": "x"}'


class _Raw:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


def _environment() -> dict[str, str]:
    from shared.catalog import CATALOG, physical_name

    env = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "BASELINE_STRIPE_SECRET": STRIPE_SECRET,
        "BASELINE_BUS": physical_name(STAGE, CATALOG.bus_name),
    }
    for function in ("webhook_receiver", "webhook_publisher"):
        env |= CATALOG.environment(CATALOG.function(function), STAGE)
    return env


@contextmanager
def _canned_aws() -> Iterator[_Canned]:
    """Handlers imported under canned AWS (their clients take the default session's hooks when created)."""
    import boto3

    saved = dict(os.environ)
    os.environ.update(_environment())
    os.environ.pop("AWS_ENDPOINT_URL", None)
    canned = _Canned({"stripe": [STRIPE_SECRET]})
    boto3.setup_default_session(region_name="us-east-1")
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-send", canned)
    try:
        yield canned
    finally:
        os.environ.clear()
        os.environ.update(saved)
        boto3.DEFAULT_SESSION = None


def _stripe_events(count: int) -> list[dict[str, Any]]:
    """Distinct, correctly signed Stripe deliveries as API Gateway hands them over, built before timing."""
    from local_runtime.example import build
    from local_runtime.lambda_events import rest_proxy_event

    built = []
    for n in range(count):
        _, example = build("stripe", "https://hub.example.com", uid=f"{n:032x}", secret=STRIPE_SECRET)
        headers = {"Host": "hub.example.com", "Content-Type": example.content_type, **example.headers}
        built.append(
            rest_proxy_event(
                method="POST",
                path="/webhooks/stripe",
                resource="/webhooks/{vendor}",
                path_parameters={"vendor": "stripe"},
                headers=headers,
                body=example.body,
            )
        )
    return built


def _cpu_per_request(handler: Callable[[dict[str, Any], Any], Any], requests: list[dict[str, Any]]) -> float:
    start = time.process_time()
    for request in requests:
        handler(request, None)
    return (time.process_time() - start) / len(requests) * 1_000_000


def webhook_path_rows() -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    with _canned_aws() as canned:
        from benchmarks import baseline_handler
        from functions.webhook_receiver import handler as receiver

        # Same deliveries for both (a canned PutItem always stores, so ours always accepts)
        warmup, timed = _stripe_events(50), _stripe_events(REQUESTS)
        for request in warmup:
            assert baseline_handler.handler(request, None)["statusCode"] == 200
            assert receiver.handler(request, None)["statusCode"] == 202
        its_write = _its_write_alone(canned)
        ours, theirs, floor = [], [], []
        for _ in range(ROUNDS):  # interleaved, so the machine's load affects all alike
            theirs.append(_cpu_per_request(baseline_handler.handler, timed))
            ours.append(_cpu_per_request(receiver.handler, timed))
            floor.append(_cpu_per_request(its_write, timed))
        baseline_us, ours_us, floor_us = statistics.median(theirs), statistics.median(ours), statistics.median(floor)
        ratio = ours_us / baseline_us
        rows.append(("webhook cpu", "baseline: verify + PutEvents (aws-samples kind)", f"{baseline_us:.0f} µs", "1.00"))
        rows.append(
            ("webhook cpu", "receiver: verify + split + store, whole handler", f"{ours_us:.0f} µs", _goal(ratio, 1.2))
        )
        rows.append(
            (
                "webhook cpu",
                "floor: the receiver's one PutItem alone (botocore, same item)",
                f"{floor_us:.0f} µs",
                f"{floor_us / baseline_us:.2f}",
            )
        )
        rows.append(
            (
                "webhook cpu",
                "the receiver's own work (whole handler - floor)",
                f"{ours_us - floor_us:.0f} µs",
                f"{(ours_us - floor_us) / baseline_us:.2f}",
            )
        )
        rows += _aws_call_rows(receiver, canned)
        rows += _cost_rows(ours_us)
    rows += _cold_rows()
    return rows


def _its_write_alone(canned: _Canned) -> Callable[[dict[str, Any], Any], Any]:
    """The receiver's own write, made alone with a client configured as its own (`shared.wiring`): what any
    receiver that stores a delivery before answering pays botocore, whatever else it does or does not do. Its
    distance to the whole handler is the receiver's own work (parsing, hashes, log entry, compression)."""
    from shared.wiring import delivery_ledger_client

    params = json.loads(canned.last_request["PutItem"])  # the item of the last delivery stored (warm-up)
    client = delivery_ledger_client()
    return lambda _event, _context: client.put_item(**params)


def _aws_call_rows(receiver: Any, canned: _Canned) -> list[tuple[str, str, str, str]]:
    rows = []
    [accepted, duplicate] = _stripe_events(2)
    for label, request, duplicate_next in (
        ("accepted Stripe delivery", accepted, False),
        ("duplicate Stripe delivery", duplicate, True),
    ):
        canned.calls.clear()
        canned.duplicate_next = duplicate_next
        answer = receiver.handler(request, None)
        calls = " + ".join(canned.calls)
        goal = _goal(len(canned.calls), 1, "{:.0f}") if not duplicate_next else "1.00"
        rows.append(("aws calls", f"{label} ({answer['statusCode']})", str(len(canned.calls)), f"{calls}; {goal}"))
    return rows


def _cost_rows(cpu_us: float) -> list[tuple[str, str, str, str]]:
    """What a million accepted one-event deliveries cost, list price, from the measured CPU and item sizes."""
    from benchmarks.webhook_items import stripe_delivery_sizes

    item_bytes, index_bytes, detail_bytes = stripe_delivery_sizes()
    wru = math.ceil(item_bytes / 1024) + math.ceil(index_bytes / 1024)
    receiver_gb_s = 0.5 * (cpu_us / 1000 + DYNAMODB_ROUND_TRIP_MS) / 1000  # 512 MB, billed per ms
    publisher_gb_s = 0.5 * 0.150 / PUBLISHER_BATCH  # a 100-record batch in ~150 ms (normalize + 10 PutEvents)
    items = {
        "API Gateway REST": API_GATEWAY_REST_PER_MILLION,
        "WAF requests": WAF_PER_MILLION_REQUESTS,
        "Lambda receiver (512 MB) + requests": receiver_gb_s * 1e6 * LAMBDA_PER_GB_SECOND + LAMBDA_PER_MILLION_REQUESTS,
        "Lambda publisher (batches of 100)": publisher_gb_s * 1e6 * LAMBDA_PER_GB_SECOND
        + LAMBDA_PER_MILLION_REQUESTS / PUBLISHER_BATCH,
        f"DynamoDB: one put, {wru} WRU (item {item_bytes} B + index {index_bytes} B)": wru * DYNAMODB_PER_MILLION_WRU,
        "DynamoDB storage + PITR, 30 days": item_bytes
        / 1e3
        * (DYNAMODB_STORAGE_PER_GB_MONTH + DYNAMODB_PITR_PER_GB_MONTH),
        "DynamoDB stream reads by Lambda": 0.0,
        "EventBridge events + archive": EVENTBRIDGE_PER_MILLION + detail_bytes / 1e3 * EVENTBRIDGE_ARCHIVE_PER_GB,
        "CloudWatch Logs (access logs)": ACCESS_LOG_BYTES / 1e3 * CLOUDWATCH_LOGS_PER_GB,
    }
    rows = [("cost / M", name, f"${dollars:.2f}", "") for name, dollars in items.items()]
    total = sum(items.values())
    rows.append(("cost / M", "total per million deliveries", f"${total:.2f}", _goal(total, 7.50, "${:.2f}")))
    return rows


def _cold_rows() -> list[tuple[str, str, str, str]]:
    env = os.environ | _environment()
    env.pop("AWS_ENDPOINT_URL", None)
    modules = ("benchmarks.baseline_handler", "functions.webhook_receiver.handler", "functions.tracking_api.handler")
    samples: dict[str, list[float]] = {module: [] for module in modules}
    for _ in range(COLD_RUNS):  # alternating, so load drifts hit every module alike
        for module in modules:
            samples[module].append(_import_seconds(module, env))
    baseline = statistics.median(samples[modules[0]])
    rows = [("cold import", "baseline handler (boto3 + events client)", f"{baseline * 1000:.0f} ms", "1.00")]
    for module in modules[1:]:
        seconds = statistics.median(samples[module])
        rows.append(("cold import", module, f"{seconds * 1000:.0f} ms", _goal(seconds / baseline, 1.25)))
    return rows


def _import_seconds(module: str, env: dict[str, str]) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout)


def _goal(value: float, goal: float, shown: str = "{:.2f}") -> str:
    return shown.format(value) + (" ✓" if value <= goal else " ✗") + f" (goal <= {shown.format(goal)})"
