"""Time from a webhook to `lead.mql_reached` on the local runtime, over 100 leads (p50/p95).

Each lead is brought to the edge of MQL through the Segment-compatible tracking API (identify with ICP
traits, six email clicks, five sessions, two pieces of content), then the webhook that crosses the line
(a third piece of content) is sent and timed until the hub has published `lead.mql_reached` for that lead.
The whole path runs: gateway, bus, the lead processor (identity, log, rescore, lifecycle), and the bus again.
Baseline in the same run: the round trip of the webhook call alone (its HTTP answer). Leads are measured in
rounds of 20 on a fresh embedded AWS each (moto copies whole tables on every transaction, a cost that grows
with the data and that DynamoDB does not have).

    python -m benchmarks.mql_latency [--leads 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ports import free_port  # noqa: E402
from benchmarks.segment_messages import segment_message  # noqa: E402

if TYPE_CHECKING:
    from local_runtime.hub import LocalHub

WRITE_KEY = "local-write-key-dev-only"
SEED_SECONDS = 300  # the whole seeding must be processed within this


def _seed(user: str, email: str, now: datetime) -> list[dict[str, Any]]:
    day = timedelta(days=1)
    traits = {"email": email, "industry": "Software", "employees": 500, "title": "VP of Sales", "country": "US"}
    batch = [segment_message("identify", user, now - 7 * day, traits=traits)]
    batch += [segment_message("track", user, now - n * day, event="Email Link Clicked") for n in range(1, 7)]
    batch += [
        segment_message("page", user, now - n * day, name="Blog", properties={"path": "/blog"}) for n in range(1, 6)
    ]
    batch += [
        segment_message("track", user, now - day / 2, event="Content Downloaded", properties={"title": title})
        for title in ("RevOps guide", "Pipeline report")
    ]
    return batch


def _post(session: requests.Session, hub: str, body: dict[str, Any]) -> requests.Response:
    response = session.post(f"{hub}/v1/batch", json=body, auth=(WRITE_KEY, ""), timeout=30)
    response.raise_for_status()
    return response


def measure(leads: int, per_round: int = 20) -> tuple[list[float], list[float]]:
    """Rounds of `per_round` leads, each on a fresh hub: moto copies a whole table for every transaction, so
    a hub that has taken thousands of events gets slower in a way DynamoDB does not."""
    latencies: list[float] = []
    round_trips: list[float] = []
    while len(latencies) < leads:
        # A round per process: the functions' clients are bound to the embedded AWS they were imported with.
        count = min(per_round, leads - len(latencies))
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.mql_latency", "--round", str(count)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            # the cause first: the bench's table keeps the first 160 characters of a failed section's message
            lines = [line for line in done.stderr.splitlines() if line.strip() and "WARNING" not in line]
            cause = lines[-1] if lines else f"exit code {done.returncode}"
            raise RuntimeError(f"a measuring round failed: {cause}\n{done.stderr[-3000:]}")
        measured = json.loads(done.stdout.strip().splitlines()[-1])
        latencies += measured["latencies"]
        round_trips += measured["round_trips"]
    return latencies, round_trips


def _round(leads: int) -> tuple[list[float], list[float]]:
    from local_runtime.hub import LocalHub

    hub_process = LocalHub(port=free_port(), aws_port=free_port())
    hub_process.start()
    hub = hub_process.url
    session = requests.Session()
    now = datetime.now(UTC)
    run = uuid.uuid4().hex[:6]
    users = [(f"bench-{run}-{n}", f"lead{n}.{run}@acme.io") for n in range(leads)]
    try:
        for user, email in users:
            _post(session, hub, {"batch": _seed(user, email, now)})
        _wait_until_quiet(session, hub, hub_process)
        latencies: list[float] = []
        round_trips: list[float] = []
        for user, _ in users:
            since = len(_events(session, hub, None))
            crossing = segment_message(
                "track", user, now, event="Content Downloaded", properties={"title": "Attribution 101"}
            )
            started = time.perf_counter()
            _post(session, hub, {"batch": [crossing]})
            round_trips.append(time.perf_counter() - started)
            while True:
                reached = _events(session, hub, "lead.mql_reached", since)
                if reached:
                    latencies.append(time.perf_counter() - started)
                    break
                if time.perf_counter() - started > 30:
                    raise RuntimeError(f"{user} did not reach MQL within 30 s")
                time.sleep(0.005)
        return latencies, round_trips
    finally:
        hub_process.stop()


def _wait_until_quiet(session: requests.Session, hub: str, hub_process: LocalHub) -> None:
    """Until every seeded message has been processed: nothing waits in the hub's queues (nor is being handled
    or delayed there, as the CRM sync delays a batch to fill a call), the CRMs have no webhook left to send,
    and the bus has taken no new event for a second. A quiet bus alone was not enough: the CRM sync's writes
    and the webhooks they bring back kept the lead processor busy for minutes after the bus had paused."""
    busy = _busy_check(hub_process)
    deadline, seen, quiet_since = time.monotonic() + SEED_SECONDS, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(_events(session, hub, None))
        if count != seen or busy():
            seen, quiet_since = count, time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            return
        time.sleep(0.2)
    raise RuntimeError("the hub was still busy with the seeded events")


def _busy_check(hub_process: LocalHub) -> Callable[[], bool]:
    """Whether the hub still has work: a message in one of its queues (waiting, being handled or delayed) or a
    CRM webhook not sent yet."""
    import boto3

    from local_runtime.lambda_events import LOCAL_REGION

    provisioned = hub_process.provisioned
    assert provisioned is not None, "the hub is started"
    queues = [tap.tap_url for tap in provisioned.taps] + list(provisioned.work_queue_urls.values())
    sqs = boto3.client("sqs", endpoint_url=hub_process.aws_endpoint, region_name=LOCAL_REGION)
    names = [f"ApproximateNumberOfMessages{state}" for state in ("", "NotVisible", "Delayed")]

    def busy() -> bool:
        for url in queues:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
            if any(int(attributes.get(name, "0")) for name in names):
                return True
        return not (hub_process.hubspot.wait_until_delivered(0) and hub_process.salesforce.wait_until_delivered(0))

    return busy


def _events(session: requests.Session, hub: str, detail_type: str | None, since: int = 0) -> list[dict[str, Any]]:
    params: dict[str, Any] = {"since": since}
    if detail_type:
        params["detail-type"] = detail_type
    return list(session.get(f"{hub}/_local/events", params=params, timeout=30).json())


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def mql_latency_rows(leads: int = 100) -> list[tuple[str, str, str, str]]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("HUB_LOG_LEVEL", "ERROR")
    latencies, round_trips = measure(leads)
    p50, p95 = statistics.median(latencies), _percentile(latencies, 0.95)
    base50, base95 = statistics.median(round_trips), _percentile(round_trips, 0.95)
    return [
        (
            "webhook→MQL",
            f"webhook round trip alone (baseline), {leads} leads",
            f"p50 {base50 * 1000:.0f} ms",
            f"p95 {base95 * 1000:.0f} ms",
        ),
        (
            "webhook→MQL",
            "webhook to lead.mql_reached on the bus",
            f"p50 {p50 * 1000:.0f} ms",
            f"p95 {p95 * 1000:.0f} ms; {p50 / base50:.1f}x baseline; seeds allow 5 min",
        ),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100)
    parser.add_argument("--round", type=int, help=argparse.SUPPRESS)  # one round, as JSON (used internally)
    args = parser.parse_args()
    if args.round:
        import logging

        logging.disable(logging.WARNING)
        latencies, round_trips = _round(args.round)
        print(json.dumps({"latencies": latencies, "round_trips": round_trips}))
        return 0
    for row in mql_latency_rows(args.leads):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
