"""A burst of distinct Stripe deliveries against the local hub, started as `make run` starts it.

N (default 10,000) distinct, correctly signed Stripe `invoice.paid` deliveries are sent at concurrency 20 from a
thread pool (one `requests` session per thread); each is signed just before it is sent, as Stripe does, so a
long burst never trips the 5-minute timestamp window. A follower reads `/_local/events?since=` while the burst
runs, as a consumer of the bus would, so the check does not depend on how many events the hub keeps.

Checked: no 5xx (nor any answer but 202), no event lost (every `event_id` answered appears on the bus) and
none duplicated (none appears twice), and the hub's resident memory (VmRSS of its process) at start, at its
peak and after the burst has settled: the goal is after <= 2x start. Baseline in the same run: a bare moto
`PutItem` loop (one client, the same number of items, each the size of a stored delivery) against a moto
server in this process, with the same patches the hub installs.

    python -m benchmarks.burst [--deliveries 10000] [--concurrency 20]   # BURST_DELIVERIES, BURST_CONCURRENCY
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.ports import free_port  # noqa: E402
from benchmarks.rows import mark  # noqa: E402

DEFAULT_DELIVERIES = 10_000
DEFAULT_CONCURRENCY = 20
MEMORY_GOAL_RATIO = 2.0
WARMUP_DELIVERIES = 50  # every code path imported and every client created before memory is taken as "start"
BUS_DRAIN_SECONDS = 120  # after the last answer, every accepted event must be on the bus within this
SETTLE_SECONDS = 3.0  # the bus quiet this long before memory is read "after"
EVENT_TYPE = "payment.succeeded"  # what Stripe's invoice.paid becomes


def rss_kib(pid: int) -> int:
    """Resident memory of a process, as the kernel reports it (VmRSS, KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def start_hub(errors: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m local_runtime` (what `make run` runs) on free ports, its stderr going to `errors`; it writes
    no state file, so a developer's running hub stays the one the examples find."""
    port = free_port()
    env = os.environ | {
        "HUB_PORT": str(port),
        "HUB_AWS_PORT": "0",
        "HUB_STATE_FILE": "",
        "HUB_LOG_LEVEL": os.environ.get("HUB_LOG_LEVEL", "ERROR"),
        "PYTHONUNBUFFERED": "1",
    }
    # stderr to a file, not a pipe: nobody reads a pipe during the burst, and a full one would block the hub.
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_runtime"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the hub exited at start:\n{errors.read_text()[-3000:]}")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except (requests.ConnectionError, requests.Timeout):  # bound before it serves
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError("the hub did not answer /healthz within 90 s")


def stop_hub(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass(frozen=True)
class Answer:
    status: int  # 0: the connection itself failed
    seconds: float
    event_ids: list[str]  # as answered (202 only)
    expected_event_id: str  # the canonical id of the event this delivery carries

    @property
    def misanswered(self) -> bool:
        """Accepted, but answered with the ids of another delivery's events."""
        return self.status == 202 and self.event_ids != [self.expected_event_id]


class StripeSender:
    """Signs and posts distinct Stripe deliveries; one HTTP session per sending thread."""

    def __init__(self, url: str) -> None:
        from local_runtime.example import BUILDERS, local_secret

        self._build = BUILDERS["stripe"]
        self._secret = local_secret("stripe")
        self._url = f"{url}/webhooks/stripe"
        self._sessions = threading.local()
        self._run = uuid.uuid4().hex[:8]

    def send(self, n: int) -> Answer:
        from shared.events.canonical import CanonicalEvent

        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = requests.Session()
        uid = f"{self._run}{n:024x}"
        expected = CanonicalEvent.id_for("stripe", f"evt_{uid}")
        example = self._build(self._url, self._secret, datetime.now(UTC), uid)
        headers = {"Content-Type": example.content_type, **example.headers}
        started = time.perf_counter()
        try:
            response = session.post(self._url, data=example.body, headers=headers, timeout=120)
        except requests.RequestException:
            return Answer(0, time.perf_counter() - started, [], expected)
        seconds = time.perf_counter() - started
        event_ids = (response.json().get("event_ids") or []) if response.status_code == 202 else []
        return Answer(response.status_code, seconds, list(event_ids), expected)


class BusFollower:
    """Follows `/_local/events?since=` for one detail-type and counts every event id it sees."""

    def __init__(self, url: str, detail_type: str) -> None:
        self._url = url
        self._detail_type = detail_type
        self._since: int | None = None
        self.seen: collections.Counter[str] = collections.Counter()
        self.missed_by_falling_behind = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._session = requests.Session()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        self.poll()  # whatever arrived since the last poll of the thread

    def poll(self) -> int:
        """Reads what is new; returns how many events that was."""
        params: dict[str, Any] = {"detail-type": self._detail_type}
        if self._since is not None:
            params["since"] = self._since
        response = self._session.get(f"{self._url}/_local/events", params=params, timeout=60)
        response.raise_for_status()
        oldest_kept = int(response.headers.get("X-Events-Oldest-Seq", "0"))
        if self._since is not None and oldest_kept > self._since + 1:
            # The hub dropped events this follower had not read yet: it cannot vouch for those.
            self.missed_by_falling_behind += oldest_kept - self._since - 1
        events = response.json()
        for event in events:
            self.seen[event["detail"]["event_id"]] += 1
            self._since = max(self._since if self._since is not None else -1, int(event["seq"]))
        if not events and self._since is None:
            self._since = int(response.headers.get("X-Events-Last-Seq", "-1"))
        return len(events)

    def _follow(self) -> None:
        while not self._stop.is_set():
            if self.poll() == 0:
                self._stop.wait(0.2)


class RssSampler:
    def __init__(self, pid: int, every_seconds: float = 0.25) -> None:
        self._pid = pid
        self._every = every_seconds
        self.peak_kib = rss_kib(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self._every):
            self.peak_kib = max(self.peak_kib, rss_kib(self._pid))


@dataclass
class BurstResult:
    deliveries: int
    concurrency: int
    seconds: float
    statuses: collections.Counter[int]
    latencies: list[float]
    accepted: list[str]  # the event id of each delivery answered 202
    misanswered: int  # answered 202 with another delivery's event ids
    on_bus: collections.Counter[str]
    missed_by_falling_behind: int
    rss_at_start_kib: int
    rss_before_kib: int
    rss_peak_kib: int
    rss_after_kib: int
    hub_errors: str

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)

    @property
    def lost(self) -> int:
        """Deliveries answered 202 whose event never reached the bus."""
        return sum(1 for event_id in self.accepted if self.on_bus[event_id] == 0)

    @property
    def duplicated(self) -> int:
        """Events of accepted deliveries that reached the bus more than once."""
        return sum(1 for event_id in self.accepted if self.on_bus[event_id] > 1)

    @property
    def memory_ratio(self) -> float:
        return self.rss_after_kib / self.rss_before_kib


def run_burst(deliveries: int, concurrency: int) -> BurstResult:
    with tempfile.TemporaryDirectory(prefix="burst-") as scratch:
        errors = Path(scratch) / "hub.stderr"
        process, url = start_hub(errors)
        try:
            return _burst(process, url, deliveries, concurrency, errors)
        finally:
            stop_hub(process)


def _burst(process: subprocess.Popen[bytes], url: str, deliveries: int, concurrency: int, errors: Path) -> BurstResult:
    rss_at_start = rss_kib(process.pid)
    sender = StripeSender(url)
    with ThreadPoolExecutor(concurrency) as pool:
        warmup = list(pool.map(sender.send, range(deliveries, deliveries + WARMUP_DELIVERIES)))
    if any(answer.status != 202 for answer in warmup):
        raise RuntimeError(f"the warm-up was not accepted: {collections.Counter(a.status for a in warmup)}")
    follower = BusFollower(url, EVENT_TYPE)
    follower.poll()  # positions the follower after the warm-up's events
    _wait_until_quiet(follower)
    rss_before = rss_kib(process.pid)
    follower.seen.clear()
    follower.start()
    with RssSampler(process.pid) as sampler:
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(sender.send, range(deliveries)))
        seconds = time.perf_counter() - started
        accepted = [answer.expected_event_id for answer in answers if answer.status == 202]
        deadline = time.monotonic() + BUS_DRAIN_SECONDS
        while time.monotonic() < deadline and any(follower.seen[event_id] == 0 for event_id in set(accepted)):
            time.sleep(0.2)
        follower.stop()
        _wait_until_quiet(follower)
        rss_peak = sampler.peak_kib
    rss_after = rss_kib(process.pid)
    return BurstResult(
        deliveries=deliveries,
        concurrency=concurrency,
        seconds=seconds,
        statuses=collections.Counter(answer.status for answer in answers),
        latencies=[answer.seconds for answer in answers],
        accepted=accepted,
        misanswered=sum(answer.misanswered for answer in answers),
        on_bus=follower.seen,
        missed_by_falling_behind=follower.missed_by_falling_behind,
        rss_at_start_kib=rss_at_start,
        rss_before_kib=rss_before,
        rss_peak_kib=max(rss_peak, rss_after),
        rss_after_kib=rss_after,
        hub_errors=errors.read_text(),
    )


def _wait_until_quiet(follower: BusFollower) -> None:
    """Until the bus has taken no new event for SETTLE_SECONDS."""
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < SETTLE_SECONDS:
        if follower.poll():
            quiet_since = time.monotonic()
        time.sleep(0.2)


def put_item_baseline(items: int, body_bytes: int) -> float:
    """PutItem calls per second: one boto3 client in a loop against a moto server in this process."""
    from moto.server import ThreadedMotoServer

    from benchmarks.embedded_aws import embedded_client
    from local_runtime.moto_patches import install

    install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        client = embedded_client("dynamodb", f"http://{host}:{port}")
        table = f"burst-baseline-{uuid.uuid4().hex[:8]}"
        client.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )
        body = os.urandom(body_bytes)
        started = time.perf_counter()
        for n in range(items):
            client.put_item(TableName=table, Item={"pk": {"S": f"item#{n}"}, "body": {"B": body}})
        return items / (time.perf_counter() - started)
    finally:
        server.stop()


def _percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def burst_rows(
    deliveries: int = DEFAULT_DELIVERIES, concurrency: int = DEFAULT_CONCURRENCY
) -> list[tuple[str, str, str, str]]:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    result = run_burst(deliveries, concurrency)
    baseline = put_item_baseline(deliveries, body_bytes=_stored_body_bytes())
    rate = deliveries / result.seconds
    p50, p95 = statistics.median(result.latencies), _percentile(result.latencies, 0.95)
    others = ", ".join(
        f"{count} x {status or 'no answer'}" for status, count in sorted(result.statuses.items()) if status != 202
    )
    exact = result.lost == 0 and result.duplicated == 0 and not result.misanswered
    mib = 1024
    memory_ok = result.memory_ratio <= MEMORY_GOAL_RATIO
    label = f"{deliveries:,} Stripe deliveries, concurrency {concurrency}"
    if result.hub_errors.strip():
        print(f"the hub's stderr during the burst (its end):\n{result.hub_errors[-2000:]}", file=sys.stderr)
    return [
        ("burst", f"moto PutItem loop, {deliveries:,} items (baseline)", f"{baseline:.0f} /s", "1.00"),
        ("burst", f"{label}: throughput", f"{rate:.0f} /s", f"{rate / baseline:.2f}; {result.seconds:.0f} s"),
        ("burst", f"{label}: latency", f"p50 {p50 * 1000:.0f} ms", f"p95 {p95 * 1000:.0f} ms"),
        (
            "burst",
            f"{label}: answers",
            f"{result.statuses[202]:,} x 202",
            f"5xx {result.server_errors}" + (f"; {others}" if others else "") + mark(not others),
        ),
        (
            "burst",
            f"{label}: on the bus",
            f"lost {result.lost}",
            f"duplicated {result.duplicated}; answered with another's ids {result.misanswered}"
            + (f"; unverifiable {result.missed_by_falling_behind}" if result.missed_by_falling_behind else "")
            + mark(exact and not result.missed_by_falling_behind),
        ),
        (
            "burst",
            "hub memory (VmRSS): start / peak / after",
            " / ".join(f"{kib / mib:.0f}" for kib in (result.rss_before_kib, result.rss_peak_kib, result.rss_after_kib))
            + " MB",
            f"after/start {result.memory_ratio:.2f} (goal <= {MEMORY_GOAL_RATIO:.0f})" + mark(memory_ok),
        ),
    ]


def _stored_body_bytes() -> int:
    from local_runtime.example import BUILDERS

    return len(BUILDERS["stripe"]("", "secret", datetime.now(UTC), "0" * 32).body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=int(os.environ.get("BURST_DELIVERIES", DEFAULT_DELIVERIES)))
    parser.add_argument(
        "--concurrency", type=int, default=int(os.environ.get("BURST_CONCURRENCY", DEFAULT_CONCURRENCY))
    )
    args = parser.parse_args()
    rows = burst_rows(args.deliveries, args.concurrency)
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
