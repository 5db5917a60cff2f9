"""The local hub under load and over time (issue 8 item 8, issue 7 item 11): a burst of concurrent deliveries
is taken exactly once each without 5xx or lasting memory growth, what it remembers of the bus is bounded, and
the state file that lets the examples find it belongs to the hub that wrote it.

The full-size figures (10,000 deliveries at concurrency 20) are `make bench`'s (`benchmarks/burst.py`).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from shared.events.canonical import CanonicalEvent
from shared.webhooks.vendors.stripe import sign
from tests.e2e.conftest import ROOT, put_on_bus, started_hub

BURST_DELIVERIES = 300
BURST_CONCURRENCY = 20
BURST_MEMORY_GROWTH_MB = 64  # ~10 KB of real data per delivery; moto alone grew by gigabytes


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class StripeDeliveries:
    """Distinct signed `invoice.paid` deliveries, one HTTP session per sending thread."""

    def __init__(self, hub: str) -> None:
        self._url = f"{hub}/webhooks/stripe"
        self._secret = json.loads((ROOT / "config" / "local.secrets.json").read_text())["stripe"][0]
        self._sessions = threading.local()
        self.run = uuid.uuid4().hex[:8]

    def event_id(self, n: int) -> str:
        """The canonical id of delivery n's event."""
        return CanonicalEvent.id_for("stripe", f"evt_{self.run}_{n}")

    def send(self, n: int) -> tuple[int, list[str]]:
        session = getattr(self._sessions, "session", None) or requests.Session()
        self._sessions.session = session
        now = int(time.time())
        body = json.dumps(
            {"id": f"evt_{self.run}_{n}", "object": "event", "type": "invoice.paid", "created": now, "data": {}}
        ).encode()
        response = session.post(
            self._url, data=body, headers={"Stripe-Signature": sign(self._secret, body, now)}, timeout=120
        )
        return response.status_code, (response.json().get("event_ids") or []) if response.ok else []


def last_seq(hub: str) -> int:
    """The seq of the newest event on the bus (-1 before the first)."""
    events = requests.get(f"{hub}/_local/events", timeout=30).json()
    return int(events[-1]["seq"]) if events else -1


def follow_until(hub: str, since: int, wanted: set[str], seconds: float = 60) -> Counter[str]:
    """How many times each event id of `wanted` reached the bus after `since`, once every one of them has."""
    seen: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        params = {"since": since, "detail-type": "payment.succeeded"}
        for event in requests.get(f"{hub}/_local/events", params=params, timeout=30).json():
            seen[event["detail"]["event_id"]] += 1
            since = max(since, int(event["seq"]))
        if wanted <= set(seen):
            return seen
        time.sleep(0.2)  # polling the bus: the hub offers nothing to wait on
    return seen


def test_a_burst_of_distinct_deliveries_is_taken_once_each_without_5xx_or_lasting_memory_growth(
    hub_process: tuple[str, subprocess.Popen[str]],
) -> None:
    hub, process = hub_process
    deliveries = StripeDeliveries(hub)
    before, since = rss_mb(process.pid), last_seq(hub)
    # When 300 distinct deliveries arrive 20 at a time
    with ThreadPoolExecutor(BURST_CONCURRENCY) as pool:
        answers = list(pool.map(deliveries.send, range(BURST_DELIVERIES)))
    # Then each is accepted, with its own event's id, and that event reaches the bus exactly once
    assert Counter(status for status, _ in answers) == {202: BURST_DELIVERIES}
    assert [ids for _, ids in answers] == [[deliveries.event_id(n)] for n in range(BURST_DELIVERIES)]
    expected = {deliveries.event_id(n) for n in range(BURST_DELIVERIES)}
    seen = follow_until(hub, since, expected)
    assert {event_id: seen[event_id] for event_id in expected} == dict.fromkeys(expected, 1)
    # And the hub holds about what it stored, not copies of it
    growth = rss_mb(process.pid) - before
    assert growth < BURST_MEMORY_GROWTH_MB, f"the hub grew by {growth:.0f} MB"


@pytest.fixture(scope="module")
def hub_keeping_five_events(hub_process: tuple[str, subprocess.Popen[str]], hub_state_file: Path) -> Iterator[str]:
    """A second hub, keeping 5 bus events, started with the e2e hub's state file (that hub is running)."""
    with started_hub(hub_state_file, HUB_EVENTS_KEPT="5") as (url, _):
        yield url


def test_the_hub_keeps_the_latest_events_and_numbers_them_for_its_whole_life(hub_keeping_five_events: str) -> None:
    hub = hub_keeping_five_events
    # Given 8 events put on a bus whose hub keeps 5: 4 of one type, then 4 of another
    put_on_bus(hub, "e2e.kept.early", count=4)
    put_on_bus(hub, "e2e.kept.late", count=4)
    deadline = time.monotonic() + 15
    while last_seq(hub) < 7:
        assert time.monotonic() < deadline, "the 8 events did not reach the bus"
        time.sleep(0.1)  # polling the bus: the hub offers nothing to wait on
    # When they are read
    everything = requests.get(f"{hub}/_local/events", timeout=10)
    after_a_dropped_one = requests.get(f"{hub}/_local/events", params={"since": 1}, timeout=10)
    late_after_4 = requests.get(f"{hub}/_local/events", params={"since": 4, "detail-type": "e2e.kept.late"}, timeout=10)
    # Then the latest 5 are there with the seqs they were given, and the headers say which were dropped
    assert [event["seq"] for event in everything.json()] == [3, 4, 5, 6, 7]
    assert (everything.headers["X-Events-Oldest-Seq"], everything.headers["X-Events-Last-Seq"]) == ("3", "7")
    assert [event["seq"] for event in after_a_dropped_one.json()] == [3, 4, 5, 6, 7]
    assert [(event["seq"], event["detail"]) for event in late_after_4.json()] == [
        (5, {"n": 1}),
        (6, {"n": 2}),
        (7, {"n": 3}),
    ]


def test_a_second_hub_leaves_the_running_hubs_state_file_alone(
    hub_keeping_five_events: str, hub_process: tuple[str, subprocess.Popen[str]], hub_state_file: Path
) -> None:
    hub, process = hub_process
    assert json.loads(hub_state_file.read_text())["pid"] == process.pid
    assert json.loads(hub_state_file.read_text())["url"] == hub != hub_keeping_five_events


def test_a_hub_records_itself_in_its_state_file_while_it_runs_and_removes_it_when_it_stops(tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "local.json"
    with started_hub(state_file) as (url, process):
        state = json.loads(state_file.read_text())
        assert (state["url"], state["pid"]) == (url, process.pid)
        assert state["aws_endpoint"] == requests.get(f"{url}/healthz", timeout=5).json()["aws_endpoint"]
    assert process.returncode == 0  # stopped by SIGTERM as by Ctrl-C: cleanly
    assert not state_file.exists()
