"""CRM sync on the local runtime (`make run`), with the real SDKs against the hub's HubSpot and Salesforce
emulators:

- CRM API calls per 1,000 contact updates: 100 leads captured, then each captured again 10 times with another
  job title of another seniority (1,000 updates of synced contacts that each move a score; each round sent by 8
  clients at once, as an import would); counted by the
  emulators' own call counters (every API call; Salesforce's OAuth token calls apart) from the first update until
  both CRMs hold every lead's last title. Baseline in the same run: one call per update and CRM (what a sync
  without batching makes), so the ratio is the share of calls batching leaves.
- sync latency, hub change -> CRM: a lead captured, timed from the request until each emulator holds the contact
  with its score (polled every 20 ms); baseline in the same run: the capture's round trip alone.
- a 429 storm: HubSpot answers the next 40 calls with 429 (`Retry-After: 1`) while 100 leads are captured;
  timed from the first capture until HubSpot holds all 100 (drain time), and how many never arrived (lost: not
  in HubSpot 10 minutes after the last capture).

    python -m benchmarks.crm_sync [--leads 100] [--updates 10] [--samples 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from benchmarks.burst import start_hub, stop_hub
from local_runtime.auth import LocalUserPool

HUBSPOT = "/_local/crm/hubspot"
SALESFORCE = "/_local/crm/salesforce"
POLL_SECONDS = 0.02
CLIENTS = 8
TIMEOUT_SECONDS = 180
STORM_TIMEOUT_SECONDS = 600  # a lead not in HubSpot this long after the storm's last capture counts as lost
CALLS_AIM = 12


class Hub:
    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {LocalUserPool.from_config().issue(['marketing'])}"

    def capture(self, email: str, title: str) -> float:
        body = {
            "email": email,
            "source": "bench",
            "first_name": "Ana",
            "last_name": "Silva",
            "company": email.split("@")[1],
            "job_title": title,
        }
        started = time.perf_counter()
        answer = self.session.post(f"{self.url}/api/v1/integrations/sales/leads", json=body, timeout=60)
        if answer.status_code not in (200, 201):
            raise AssertionError(f"capture answered {answer.status_code}: {answer.text[:200]}")
        return time.perf_counter() - started

    def hubspot_titles(self) -> dict[str, str | None]:
        records = requests.get(f"{self.url}{HUBSPOT}/_records/contacts", timeout=30).json()["records"]
        return {r["properties"].get("email"): r["properties"].get("jobtitle") for r in records}

    def salesforce_titles(self) -> dict[str, str | None]:
        records = requests.get(f"{self.url}{SALESFORCE}/_records/Lead", timeout=30).json()["records"]
        return {r.get("Email"): r.get("Title") for r in records}

    def calls(self) -> tuple[int, int]:
        hubspot = requests.get(f"{self.url}{HUBSPOT}/_calls", timeout=30).json()["count"]
        salesforce = requests.get(f"{self.url}{SALESFORCE}/_calls", timeout=30).json()["calls"]
        return int(hubspot), sum(1 for call in salesforce if not call.get("token"))

    def wait(self, condition: Any, what: str, timeout: float = TIMEOUT_SECONDS) -> float:
        started = time.perf_counter()
        while not condition():
            if time.perf_counter() - started > timeout:
                raise AssertionError(f"not in time: {what}")
            time.sleep(POLL_SECONDS)
        return time.perf_counter()


def batching(hub: Hub, leads: int, updates: int) -> list[tuple[str, str, str, str]]:
    run = uuid.uuid4().hex[:6]
    emails = [f"lead{n}.{run}@bench-{run}.io" for n in range(leads)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda e: hub.capture(e, _title(0)), emails))
    hub.wait(lambda: all(hub.hubspot_titles().get(e) == _title(0) for e in emails), "leads in HubSpot")
    hub.wait(lambda: all(hub.salesforce_titles().get(e) == _title(0) for e in emails), "leads in Salesforce")
    before = hub.calls()
    # Each round moves every lead's title to another seniority, so each update changes its score: a lead event
    # the sync hears of (a title change that moves no score reaches the CRMs with the lead's next event). Rounds
    # one after the other, so each lead's last title is the last round's.
    total = 0
    with ThreadPoolExecutor(CLIENTS) as pool:
        for round_ in range(1, updates + 1):
            title = _title(round_)
            list(pool.map(lambda email, title=title: hub.capture(email, title), emails))
            total += len(emails)
    last = _title(updates)
    hub.wait(lambda: all(hub.hubspot_titles().get(e) == last for e in emails), "last titles in HubSpot")
    hub.wait(lambda: all(hub.salesforce_titles().get(e) == last for e in emails), "last titles in Salesforce")
    time.sleep(2)  # what trickles in after the last title: counted too (the CRMs' webhooks and their echoes)
    after = hub.calls()
    per_thousand = [(a - b) * 1000 / total for a, b in zip(after, before, strict=True)]
    return [
        ("CRM sync", f"{total} contact updates, one call per update and CRM (baseline)", "1000 calls / 1,000", "1.00"),
        (
            "CRM sync",
            f"HubSpot API calls per 1,000 contact updates ({leads} leads x {updates} updates, {CLIENTS} clients)",
            f"{per_thousand[0]:.1f}",
            _aim(per_thousand[0]),
        ),
        (
            "CRM sync",
            "Salesforce API calls per 1,000 contact updates (OAuth token calls apart)",
            f"{per_thousand[1]:.1f}",
            _aim(per_thousand[1]),
        ),
    ]


def _aim(per_thousand: float) -> str:
    """The ratio to the baseline, and whether the calls per 1,000 updates meet the issue's aim (12 at most)."""
    met = "✓" if per_thousand <= CALLS_AIM else "✗"
    return f"{per_thousand / 1000:.3f}; {per_thousand:.1f} {met} (aim <= {CALLS_AIM} calls per 1,000)"


def _title(round_: int) -> str:
    level = ("VP", "Director", "Manager")[round_ % 3]  # 20, 15 and 10 fit points: every round changes the score
    return f"{level} of Data {round_}"


def latency(hub: Hub, samples: int) -> list[tuple[str, str, str, str]]:
    run = uuid.uuid4().hex[:6]
    trips, to_hubspot, to_salesforce = [], [], []
    for n in range(samples + 1):
        email = f"latency{n}.{run}@bench-{run}.io"
        started = time.perf_counter()
        trip = hub.capture(email, "VP Sales")
        hubspot_at = hub.wait(lambda e=email: hub.hubspot_titles().get(e) == "VP Sales", "HubSpot")
        salesforce_at = hub.wait(lambda e=email: hub.salesforce_titles().get(e) == "VP Sales", "Salesforce")
        if n == 0:
            continue  # warm: the first call of each function pays its import
        trips.append(trip)
        to_hubspot.append(hubspot_at - started)
        to_salesforce.append(salesforce_at - started)
    return [
        ("CRM sync", f"lead capture round trip alone, {samples} leads (baseline)", _p50_p95(trips), "1.00"),
        (
            "CRM sync",
            "lead captured -> contact in HubSpot (local runtime)",
            _p50_p95(to_hubspot),
            _ratio(to_hubspot, trips),
        ),
        (
            "CRM sync",
            "lead captured -> Lead in Salesforce (local runtime)",
            _p50_p95(to_salesforce),
            _ratio(to_salesforce, trips),
        ),
    ]


def storm(hub: Hub, leads: int) -> list[tuple[str, str, str, str]]:
    run = uuid.uuid4().hex[:6]
    emails = [f"storm{n}.{run}@bench-{run}.io" for n in range(leads)]
    fault = {"calls": 40, "kind": "ratelimited", "retry_after": 1}
    requests.post(f"{hub.url}{HUBSPOT}/_faults", json=fault, timeout=10).raise_for_status()
    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(lambda e: hub.capture(e, "storm"), emails))
    try:
        done = hub.wait(
            lambda: all(hub.hubspot_titles().get(e) == "storm" for e in emails), "storm drained", STORM_TIMEOUT_SECONDS
        )
        lost = 0
    except AssertionError:
        done, lost = time.perf_counter(), sum(1 for e in emails if hub.hubspot_titles().get(e) != "storm")
    return [
        (
            "CRM sync",
            f"429 storm: HubSpot refuses 40 calls (Retry-After 1 s) while {leads} leads are captured",
            f"drained in {done - started:.1f} s",
            f"lost {lost} ✓" if lost == 0 else f"lost {lost} ✗ (not in HubSpot {STORM_TIMEOUT_SECONDS} s after)",
        )
    ]


def crm_sync_rows(leads: int = 100, updates: int = 10, samples: int = 20) -> list[tuple[str, str, str, str]]:
    with tempfile.TemporaryDirectory() as scratch:
        process, url = start_hub(Path(scratch) / "hub.err")
        try:
            hub = Hub(url)
            return [*latency(hub, samples), *batching(hub, leads, updates), *storm(hub, leads)]
        finally:
            stop_hub(process)


def _p(samples: list[float], q: float) -> float:
    return (
        statistics.quantiles(samples, n=100, method="inclusive")[int(q * 100) - 1] if len(samples) > 1 else samples[0]
    )


def _p50_p95(samples: list[float]) -> str:
    return f"p50 {_p(samples, 0.5) * 1000:.0f} ms / p95 {_p(samples, 0.95) * 1000:.0f} ms"


def _ratio(samples: list[float], baseline: list[float]) -> str:
    return f"p50 {_p(samples, 0.5) / _p(baseline, 0.5):.1f}x, p95 {_p(samples, 0.95) / _p(baseline, 0.95):.1f}x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=100)
    parser.add_argument("--updates", type=int, default=10)
    parser.add_argument("--samples", type=int, default=20)
    arguments = parser.parse_args()
    for row in crm_sync_rows(arguments.leads, arguments.updates, arguments.samples):
        print("  ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
