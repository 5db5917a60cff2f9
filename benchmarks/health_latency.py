"""From a health signal to `customer.health_changed` on the bus, on the local runtime (`make run`), two ways:

- a usage report through the API (`POST /api/v1/integrations/product/usage`, group `product`): the success API
  keeps the report and recomputes the account's health within the request, publishing the change. Each report
  moves the account's seat utilization to another band (13, 9, 5, 3, 17 of 20 seats in turn), so every one
  changes the score. Timed from the request until the hub has recorded the event whose `cause` is
  `usage:<message_id>`; baseline in the same run: that POST's round trip alone.
- an NPS answer as a Standard Webhooks `survey.responded` (9 and 3 in turn): the receiver stores the delivery
  and answers, the webhook publisher puts the canonical event on the bus, the success recorder keeps the
  signal, recomputes and publishes. Timed from the request until the hub has recorded the event whose `cause`
  is the delivery's canonical event id; baseline in the same run: the delivery's round trip alone (as
  `publish_latency.py`).

Each way has an account of its own, made known beforehand by a Standard Webhooks `account.upserted` and made a
customer of 120 days by a `payment.succeeded` of then (a newer one is onboarding: one measure alone scores it not),
until `GET /api/v1/integrations/success/health/{domain}` answers with a score. The bus's own tap
(`/_local/events?since=`) is polled every 10 ms. Samples go one after another; one of each first, untimed, warms
the functions.

    python -m benchmarks.health_latency [--signals 30]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from benchmarks.burst import start_hub, stop_hub
from local_runtime.auth import LocalUserPool
from local_runtime.example import local_secret
from shared.webhooks.vendors import standard

EVENT_TYPE = "customer.health_changed"
SEATS = 20
# Each answer scores otherwise than the one before, the first otherwise than an account that has paid on time and
# said nothing else (100)
ACTIVE_USERS = (13, 9, 5, 3, 17)  # of 20 seats: 0.65, 0.45, 0.25, 0.15, 0.85, each in another band
NPS_ANSWERS = (3, 9)  # a detractor (0), a promoter (100)
POLL_SECONDS = 0.01
TIMEOUT_SECONDS = 30
CUSTOMER_FOR_DAYS = 120  # past the model's onboarding period (90 days)

Samples = tuple[list[float], list[float]]  # (round trips, request -> customer.health_changed), in seconds


class Hub:
    """The running hub, the tokens and the tap's position."""

    def __init__(self, url: str) -> None:
        self.url = url
        pool = LocalUserPool.from_config()
        self.success = requests.Session()
        self.success.headers["Authorization"] = f"Bearer {pool.issue(['success'])}"
        self.product = requests.Session()
        self.product.headers["Authorization"] = f"Bearer {pool.issue(['product'])}"
        self.webhooks = requests.Session()
        self.tap = requests.Session()
        self.secret = local_secret("standard")
        self.since = int(self.tap.get(f"{url}/_local/events", timeout=10).headers.get("X-Events-Last-Seq", "-1"))

    def standard(self, event_type: str, data: dict[str, Any], at: str | None = None) -> requests.Response:
        """A Standard Webhooks delivery of `{type, timestamp, data}` (what happened `at`, default now), signed with
        the hub's local secret."""
        body = json.dumps({"type": event_type, "timestamp": at or _now(), "data": data}).encode()
        msg_id, stamp = f"msg_{uuid.uuid4().hex}", int(time.time())
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": standard.sign(self.secret, msg_id, stamp, body),
            "Content-Type": "application/json",
        }
        return self.webhooks.post(f"{self.url}/webhooks/standard", data=body, headers=headers, timeout=30)

    def account(self, name: str) -> tuple[str, str]:
        """A customer account (hub tenant id, domain) that has paid since `CUSTOMER_FOR_DAYS` ago, once the
        success API scores it. A newer one would be onboarding: a usage report or an NPS answer alone covers
        too little of the model's weight to score it (`onboarding.min_coverage`), and no change would be told."""
        domain = f"{name}.example"
        self._accepted("account.upserted", {"account_id": name, "email": f"ana@{domain}", "domain": domain})
        paid_at = (datetime.now(UTC) - timedelta(days=CUSTOMER_FOR_DAYS)).isoformat()
        payment = {"account_id": name, "amount_minor": 49000, "currency": "USD"}
        self._accepted("payment.succeeded", payment, paid_at)
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            health = self.success.get(f"{self.url}/api/v1/integrations/success/health/{domain}", timeout=10)
            if health.status_code == 200 and health.json()["score"] is not None:
                return str(health.json()["tenant_id"]), domain
            if health.status_code not in (200, 404):
                raise AssertionError(f"GET health/{domain}: {health.status_code} {health.text[:200]}")
            time.sleep(0.05)
        raise AssertionError(f"the account {domain} was not scored within {TIMEOUT_SECONDS} s")

    def _accepted(self, event_type: str, data: dict[str, Any], at: str | None = None) -> None:
        answer = self.standard(event_type, data, at)
        if answer.status_code != 202:
            raise AssertionError(f"{event_type} was answered {answer.status_code}: {answer.text[:200]}")

    def wait_for_change(self, tenant_id: str, cause: str, started: float) -> None:
        """Until the tap holds the `customer.health_changed` of `tenant_id` caused by `cause`."""
        while time.perf_counter() - started < TIMEOUT_SECONDS:
            params: dict[str, str | int] = {"detail-type": EVENT_TYPE, "since": self.since}
            for event in self.tap.get(f"{self.url}/_local/events", params=params, timeout=10).json():
                self.since = max(self.since, int(event["seq"]))
                detail = event["detail"]
                if detail["cause"] == cause:
                    if detail["tenant_id"] != tenant_id:
                        raise AssertionError(f"{cause} changed the health of {detail['tenant_id']}, not {tenant_id}")
                    return
            time.sleep(POLL_SECONDS)
        raise AssertionError(f"no {EVENT_TYPE} of {tenant_id} caused by {cause} within {TIMEOUT_SECONDS} s")


def measure(signals: int) -> tuple[Samples, Samples]:
    """(usage reports, NPS answers): each (round trips, request -> customer.health_changed), in seconds."""
    run = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_hub(Path(scratch) / "hub.err")
        try:
            hub = Hub(url)
            usage_account = hub.account(f"usage-{run}")
            survey_account = hub.account(f"survey-{run}")
            usage = _timed(signals, lambda n: _usage(hub, *usage_account, f"{run}-{n:04d}", n))
            surveys = _timed(signals, lambda n: _survey(hub, *survey_account, n))
            return usage, surveys
        finally:
            stop_hub(process)


def _timed(signals: int, sample: Callable[[int], tuple[float, float]]) -> Samples:
    sample(0)  # warm: the first call of a function pays its import
    trips, changed = [], []
    for n in range(1, signals + 1):
        trip, seconds = sample(n)
        trips.append(trip)
        changed.append(seconds)
    return trips, changed


def _usage(hub: Hub, tenant_id: str, domain: str, message_id: str, n: int) -> tuple[float, float]:
    body = {
        "tenant_id": domain,
        "message_id": message_id,
        "timestamp": _now(),
        "metrics": {"active_users": ACTIVE_USERS[n % len(ACTIVE_USERS)], "licensed_seats": SEATS},
    }
    started = time.perf_counter()
    answer = hub.product.post(f"{hub.url}/api/v1/integrations/product/usage", json=body, timeout=30)
    trip = time.perf_counter() - started
    if answer.status_code != 201:
        raise AssertionError(f"usage report {message_id} was answered {answer.status_code}: {answer.text[:200]}")
    hub.wait_for_change(tenant_id, f"usage:{message_id}", started)
    return trip, time.perf_counter() - started


def _survey(hub: Hub, tenant_id: str, domain: str, n: int) -> tuple[float, float]:
    data = {"email": f"ana@{domain}", "answers": {"nps": NPS_ANSWERS[n % len(NPS_ANSWERS)]}}
    started = time.perf_counter()
    answer = hub.standard("survey.responded", data)
    trip = time.perf_counter() - started
    if answer.status_code != 202:
        raise AssertionError(f"survey.responded was answered {answer.status_code}: {answer.text[:200]}")
    (event_id,) = answer.json()["event_ids"]
    hub.wait_for_change(tenant_id, event_id, started)
    return trip, time.perf_counter() - started


def _now() -> str:
    """Now, to the microsecond: signals of the same second still keep their order."""
    return datetime.now(UTC).isoformat()


def health_latency_rows(signals: int | None = None) -> list[tuple[str, str, str, str]]:
    if signals is None:
        signals = int(os.environ.get("BENCH_HEALTH_SIGNALS", "30"))
    (usage_trips, usage_changed), (survey_trips, survey_changed) = measure(signals)
    polled = f"polled every {POLL_SECONDS * 1000:.0f} ms"
    return [
        (
            "signal → health",
            f"usage report POST round trip alone (health recomputed within it), {signals} reports (baseline)",
            _p50_p95(usage_trips),
            "1.00",
        ),
        (
            "signal → health",
            f"usage report POST -> {EVENT_TYPE} on the bus (local runtime, {polled})",
            _p50_p95(usage_changed),
            _ratios(usage_changed, usage_trips),
        ),
        (
            "signal → health",
            f"Standard Webhooks survey.responded round trip alone, {signals} NPS answers (baseline)",
            _p50_p95(survey_trips),
            "1.00",
        ),
        (
            "signal → health",
            f"survey.responded -> receiver -> publisher -> success recorder -> {EVENT_TYPE} (local runtime, {polled})",
            _p50_p95(survey_changed),
            _ratios(survey_changed, survey_trips),
        ),
    ]


def _p50_p95(samples: list[float]) -> str:
    return f"p50 {_p(samples, 0.5) * 1000:.0f} ms / p95 {_p(samples, 0.95) * 1000:.0f} ms"


def _ratios(samples: list[float], baseline: list[float]) -> str:
    return f"p50 {_p(samples, 0.5) / _p(baseline, 0.5):.1f}x, p95 {_p(samples, 0.95) / _p(baseline, 0.95):.1f}x"


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--signals", type=int, default=int(os.environ.get("BENCH_HEALTH_SIGNALS", "30")))
    arguments = parser.parse_args()
    for row in health_latency_rows(arguments.signals):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
