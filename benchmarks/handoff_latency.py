"""Speed to lead on the local runtime (`make run`): from a `lead.handoff_requested` put on the bus to the
`handoff.assigned` the hub publishes, and to the assignee's Slack message (the local Slack stand-in). Requests
go one after another, for leads captured beforehand through the lead API. Baseline in the same run: the
`PutEvents` call that puts the request on the bus, alone.

    python -m benchmarks.handoff_latency [--handoffs 100]
"""

from __future__ import annotations

import argparse
import json
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
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEvent, LeadEventType

GOAL_SECONDS = 1.0
TIMEOUT_SECONDS = 30


def measure(handoffs: int) -> tuple[list[float], list[float], list[float]]:
    """(PutEvents round trips, request -> handoff.assigned, request -> Slack message), in seconds."""
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_hub(Path(scratch) / "hub.err")
        try:
            session = requests.Session()
            endpoint = session.get(f"{url}/healthz", timeout=10).json()["aws_endpoint"]
            bus = embedded_client("events", endpoint)
            admin = {"Authorization": f"Bearer {LocalUserPool.from_config().issue(['admin'])}"}
            _lift_capacity(session, url, admin, handoffs)  # measured: routing speed, not a team's capacity
            leads = [_capture(session, url, admin) for _ in range(handoffs)]
            puts, assigned, messaged = [], [], []
            last = int(session.get(f"{url}/_local/events", timeout=10).headers.get("X-Events-Last-Seq", "-1"))
            for lead_id in leads:
                started = time.perf_counter()
                bus.put_events(Entries=[_request(lead_id)])
                puts.append(time.perf_counter() - started)
                last = _wait_for_assignment(session, url, lead_id, last, started)
                assigned.append(time.perf_counter() - started)
                _wait_for_message(session, url, lead_id, started)
                messaged.append(time.perf_counter() - started)
            return puts, assigned, messaged
        finally:
            stop_hub(process)


def _lift_capacity(session: requests.Session, url: str, admin: dict[str, str], handoffs: int) -> None:
    """Every rep may hold all the bench's handoffs (a run-time override, as a sales manager would set)."""
    reps = session.get(f"{url}/api/v1/routing/reps", headers=admin, timeout=30).json()["reps"]
    for rep in reps:
        body = {"capacity": max(handoffs, rep["capacity"])}
        answer = session.put(f"{url}/api/v1/routing/reps/{rep['rep_id']}", json=body, headers=admin, timeout=30)
        answer.raise_for_status()


def _capture(session: requests.Session, url: str, admin: dict[str, str]) -> str:
    run = uuid.uuid4().hex[:10]
    body = {
        "email": f"bench.{run}@example.com",
        "source": "bench",
        "first_name": "Bench",
        "company": f"Bench {run}",
        "job_title": "VP of Sales",
        "country": "US",
    }
    answer = session.post(f"{url}/api/v1/integrations/sales/leads", json=body, headers=admin, timeout=30)
    answer.raise_for_status()
    return str(answer.json()["lead_id"])


def _request(lead_id: str) -> dict[str, Any]:
    event = LeadEvent(
        event_id=LeadEvent.id_for(lead_id, LeadEventType.HANDOFF_REQUESTED, "priority"),
        event_type=LeadEventType.HANDOFF_REQUESTED,
        occurred_at=datetime.now(UTC),
        lead_id=lead_id,
        email=None,
        stage="MQL",
        score=500.0,
        fit_score=100.0,
        engagement_score=400.0,
        priority="priority",  # not held to working hours, so the figure does not depend on the time of day
        reason="benchmark",
    )
    return {
        "EventBusName": physical_name("local", CATALOG.bus_name),
        "Source": LEAD_EVENT_SOURCE,
        "DetailType": event.event_type.value,
        "Detail": event.model_dump_json(),
    }


def _wait_for_assignment(session: requests.Session, url: str, lead_id: str, since: int, started: float) -> int:
    while time.perf_counter() - started < TIMEOUT_SECONDS:
        params: dict[str, str | int] = {"detail-type": "handoff.assigned", "since": since}
        for event in session.get(f"{url}/_local/events", params=params, timeout=10).json():
            since = max(since, int(event["seq"]))
            if event["detail"]["lead_id"] == lead_id:
                return since
        time.sleep(0.005)
    raise AssertionError(f"no handoff.assigned for {lead_id} within {TIMEOUT_SECONDS} s")


def _wait_for_message(session: requests.Session, url: str, lead_id: str, started: float) -> None:
    while time.perf_counter() - started < TIMEOUT_SECONDS:
        messages = session.get(f"{url}/_local/slack/messages", timeout=10).json()["messages"]
        if any(lead_id in json.dumps(message.get("blocks", [])) for message in messages[-10:]):
            return
        time.sleep(0.005)
    raise AssertionError(f"no Slack message for {lead_id} within {TIMEOUT_SECONDS} s")


def handoff_latency_rows(handoffs: int = 100) -> list[tuple[str, str, str, str]]:
    puts, assigned, messaged = measure(handoffs)
    rows = [("speed to lead", f"PutEvents of the request alone, {handoffs} (baseline)", *_p50_p95(puts))]
    for what, samples in (("-> handoff.assigned", assigned), ("-> assignee's Slack message", messaged)):
        p50, p95 = _p(samples, 0.5), _p(samples, 0.95)
        mark = "✓" if p95 < GOAL_SECONDS else "✗"
        rows.append(
            (
                "speed to lead",
                f"lead.handoff_requested {what} (local runtime)",
                f"p50 {p50 * 1000:.0f} ms",
                f"p95 {p95 * 1000:.0f} ms {mark} (aim < {GOAL_SECONDS * 1000:.0f} ms); {p95 / _p(puts, 0.95):.1f}x",
            )
        )
    return rows


def _p50_p95(samples: list[float]) -> tuple[str, str]:
    return f"p50 {_p(samples, 0.5) * 1000:.0f} ms", f"p95 {_p(samples, 0.95) * 1000:.0f} ms"


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--handoffs", type=int, default=100)
    args = parser.parse_args()
    for row in handoff_latency_rows(args.handoffs):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
