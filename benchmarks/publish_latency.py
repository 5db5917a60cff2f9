"""Time from a vendor's request to its event on the bus, on the local runtime (`make run`): the receiver stores
the delivery and answers; the webhook publisher, fed by the delivery table's stream, puts the event on the bus.
Deliveries go one after another, each timed from its request until the hub has recorded its event (the bus's
own tap, `/_local/events`). Baseline in the same run: the delivery's HTTP round trip alone.

    python -m benchmarks.publish_latency [--deliveries 200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.burst import EVENT_TYPE, StripeSender, start_hub, stop_hub

GOAL_SECONDS = 1.0
TIMEOUT_SECONDS = 30


def measure(deliveries: int) -> tuple[list[float], list[float]]:
    """(round trips, request-to-bus times), in seconds."""
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_hub(Path(scratch) / "hub.err")
        try:
            sender, session = StripeSender(url), requests.Session()
            last = int(session.get(f"{url}/_local/events", timeout=10).headers.get("X-Events-Last-Seq", "-1"))
            round_trips, to_bus = [], []
            for n in range(deliveries):
                started = time.perf_counter()
                answer = sender.send(n)
                round_trips.append(answer.seconds)
                assert answer.status == 202, f"delivery {n} was answered {answer.status}"
                last = _wait_for(session, url, answer.expected_event_id, last, started)
                to_bus.append(time.perf_counter() - started)
            return round_trips, to_bus
        finally:
            stop_hub(process)


def _wait_for(session: requests.Session, url: str, event_id: str, since: int, started: float) -> int:
    while time.perf_counter() - started < TIMEOUT_SECONDS:
        wanted: dict[str, str | int] = {"detail-type": EVENT_TYPE, "since": since}
        response = session.get(f"{url}/_local/events", params=wanted, timeout=10)
        for event in response.json():
            since = max(since, int(event["seq"]))
            if event["detail"]["event_id"] == event_id:
                return since
        time.sleep(0.01)
    raise AssertionError(f"event {event_id} did not reach the bus within {TIMEOUT_SECONDS} s")


def publish_latency_rows(deliveries: int = 200) -> list[tuple[str, str, str, str]]:
    round_trips, to_bus = measure(deliveries)
    trip_p50, trip_p95 = _p(round_trips, 0.5), _p(round_trips, 0.95)
    bus_p50, bus_p95 = _p(to_bus, 0.5), _p(to_bus, 0.95)
    mark = "✓" if bus_p95 < GOAL_SECONDS else "✗"
    return [
        (
            "to the bus",
            f"webhook round trip alone, {deliveries} (baseline)",
            f"p50 {trip_p50 * 1000:.0f} ms",
            f"p95 {trip_p95 * 1000:.0f} ms",
        ),
        (
            "to the bus",
            "vendor request -> event on the bus (local runtime)",
            f"p50 {bus_p50 * 1000:.0f} ms",
            f"p95 {bus_p95 * 1000:.0f} ms {mark} (goal < {GOAL_SECONDS * 1000:.0f} ms); "
            f"{bus_p95 / trip_p95:.1f}x the round trip",
        ),
    ]


def _p(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=200)
    args = parser.parse_args()
    for row in publish_latency_rows(args.deliveries):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
