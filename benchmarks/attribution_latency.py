"""A won deal's credits on the local runtime (`make run`): from a canonical `deal.won` put on the bus to its
credits stored, i.e. `GET /api/v1/attribution/deals/{deal_id}` answering 200 (polled every 20 ms). Each deal's
person is captured beforehand through the lead API and given two touches through the tracking API (a search-ad
visit, an identify, an email visit); the deal is put on the bus only once the lead holds both touches, and its
credits are checked to cover both. Deals go one after another; one deal first, untimed, warms the recorder.
Baseline in the same run: the `PutEvents` call that puts the `deal.won` on the bus, alone.

    python -m benchmarks.attribution_latency [--deals 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from benchmarks.burst import start_hub, stop_hub
from benchmarks.embedded_aws import embedded_client
from local_runtime.auth import LocalUserPool
from shared.catalog import CATALOG, physical_name
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType, Subject

WRITE_KEY = "local-write-key-dev-only"  # the tracking API's local write key (config/local.secrets.json)
TOUCHES = 2
POLL_SECONDS = 0.02
TIMEOUT_SECONDS = 30


def measure(deals: int) -> tuple[list[float], list[float]]:
    """(PutEvents round trips, deal.won put -> credits stored), in seconds."""
    run = uuid.uuid4().hex[:8]
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_hub(Path(scratch) / "hub.err")
        try:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {LocalUserPool.from_config().issue(['marketing'])}"
            endpoint = session.get(f"{url}/healthz", timeout=10).json()["aws_endpoint"]
            bus = embedded_client("events", endpoint)
            # The first warms the recorder. A domain each: a person an account of their own, as a journey spans
            # every contact of its account.
            people = [f"pat@d{n}-{run}.example" for n in range(deals + 1)]
            tracking = requests.Session()
            tracking.auth = (WRITE_KEY, "")
            for n, email in enumerate(people):
                _journey(session, tracking, url, f"{run}-{n}", email)
            for email in people:
                _wait_for_touches(session, url, email)
            puts, credited = [], []
            for n, email in enumerate(people):
                deal_id = f"standard:D-{run}-{n}"
                entry = _won(deal_id, email)
                started = time.perf_counter()
                answer = bus.put_events(Entries=[entry])
                put = time.perf_counter() - started
                if answer["FailedEntryCount"]:
                    raise AssertionError(f"PutEvents refused the deal.won: {answer['Entries']}")
                credits = _wait_for_credits(session, url, deal_id, started)
                if n:
                    puts.append(put)
                    credited.append(time.perf_counter() - started)
                if len(credits["touches"]) != TOUCHES:
                    raise AssertionError(f"{deal_id} was credited to {len(credits['touches'])} touches, not {TOUCHES}")
            return puts, credited
        finally:
            stop_hub(process)


def _journey(session: requests.Session, tracking: requests.Session, url: str, person: str, email: str) -> None:
    """The lead captured through the API, then a search-ad visit, an identify and an email visit."""
    body = {"email": email, "source": "bench", "company": f"Bench {person}", "job_title": "VP", "country": "US"}
    session.post(f"{url}/api/v1/integrations/sales/leads", json=body, timeout=30).raise_for_status()
    anonymous, user = f"anon-{person}", f"user-{person}"
    calls: list[tuple[str, dict[str, Any]]] = [
        ("page", {"anonymousId": anonymous, "properties": {"url": _url("brand-search", "cpc")}}),
        ("identify", {"userId": user, "anonymousId": anonymous, "traits": {"email": email}}),
        ("page", {"userId": user, "properties": {"url": _url("webinar-mail", "email")}}),
    ]
    for n, (kind, call) in enumerate(calls):
        tracking.post(f"{url}/v1/{kind}", json={**call, "messageId": f"{person}-{n}"}, timeout=30).raise_for_status()


def _url(campaign: str, medium: str) -> str:
    return f"https://acme.test/pricing?utm_campaign={campaign}&utm_medium={medium}"


def _wait_for_touches(session: requests.Session, url: str, email: str) -> None:
    """Until the lead's log holds both visits (each a scored engagement: a pricing page, capped or not)."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = session.get(f"{url}/api/v1/leads", params={"email": email}, timeout=10)
        found.raise_for_status()
        for item in found.json()["items"]:
            lead = session.get(f"{url}/api/v1/leads/{item['lead_id']}", timeout=10).json()
            if sum(1 for line in lead["breakdown"] if line["category"] == "engagement") >= TOUCHES:
                return
        time.sleep(0.05)
    raise AssertionError(f"the lead {email} did not hold its {TOUCHES} touches within {TIMEOUT_SECONDS} s")


def _won(deal_id: str, email: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    event = CanonicalEvent(
        event_id=CanonicalEvent.id_for("standard", f"bench-{deal_id}"),
        event_type=EventType.DEAL_WON,
        occurred_at=now,
        received_at=now,
        source_vendor="standard",
        vendor_event_id=f"msg_bench_{deal_id}",
        vendor_event_type="deal.won",
        subject=Subject(deal_id=deal_id, email=email),
        data={"amount": "1000.00", "currency": "USD"},
        correlation_id=f"bench-{deal_id}",
        delivery_id=f"bench-{deal_id}",
    )
    return {
        "EventBusName": physical_name("local", CATALOG.bus_name),
        "Source": WEBHOOK_EVENT_SOURCE,
        "DetailType": event.event_type.value,
        "Detail": event.model_dump_json(),
    }


def _wait_for_credits(session: requests.Session, url: str, deal_id: str, started: float) -> dict[str, Any]:
    while time.perf_counter() - started < TIMEOUT_SECONDS:
        answer = session.get(f"{url}/api/v1/attribution/deals/{deal_id}", timeout=10)
        if answer.status_code == 200:
            credits: dict[str, Any] = answer.json()
            return credits
        if answer.status_code != 404:
            raise AssertionError(f"GET attribution/deals/{deal_id}: {answer.status_code} {answer.text[:200]}")
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"no credits for {deal_id} within {TIMEOUT_SECONDS} s")


def attribution_latency_rows(deals: int = 30) -> list[tuple[str, str, str, str]]:
    puts, credited = measure(deals)
    base = _p(puts, 0.5)
    return [
        ("deal.won → credits", f"PutEvents of the deal.won alone, {deals} deals (baseline)", *_p50_p95(puts), "1.00"),
        (
            "deal.won → credits",
            f"deal.won put -> GET attribution/deals/{{id}} 200, {TOUCHES} touches, 8 models (local runtime, "
            f"polled every {POLL_SECONDS * 1000:.0f} ms)",
            *_p50_p95(credited),
            f"p50 {_p(credited, 0.5) / base:.1f}x, p95 {_p(credited, 0.95) / _p(puts, 0.95):.1f}x",
        ),
    ]


def _p50_p95(samples: list[float]) -> tuple[str]:
    return (f"p50 {_p(samples, 0.5) * 1000:.0f} ms / p95 {_p(samples, 0.95) * 1000:.0f} ms",)


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=30)
    arguments = parser.parse_args()
    for row in attribution_latency_rows(arguments.deals):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
