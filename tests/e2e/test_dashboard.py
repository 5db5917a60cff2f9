"""The local dashboard in a real browser: Debian's headless Chromium, driven by Playwright over the DevTools
protocol, opens `/dashboard` on the running hub after leads at several stages, an MQL, an accepted handoff and
spend against a budget; the page loads without a console error, draws the funnel and the budget, and shows
the figures the API reports, refreshing by itself when the data changes."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from segment.analytics.client import Client

from local_runtime.dashboard_figures import MAX_DELIVERIES
from tests.e2e.conftest import eventually, send_stripe_event, settle, token

WRITE_KEY = "local-write-key-dev-only"
STAGES = ("Visitor", "Lead", "MQL", "SQL", "Opportunity", "Customer", "Advocate")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium as root in a container: no sandbox; no GPU; and nothing of its own to the network (this machine has
# none, and a refused connection per background service would only slow it down).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian package `chromium`: apt-get install chromium)"
)


def api(hub: str, path: str, group: str = "admin", **params: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token(group)}"}
    return requests.get(f"{hub}{path}", headers=headers, params=params, timeout=30)


def post(hub: str, path: str, body: Any, group: str = "admin", method: str = "POST") -> requests.Response:
    headers = {"Authorization": f"Bearer {token(group)}"}
    return requests.request(method, f"{hub}{path}", headers=headers, json=body, timeout=30)


def every(hub: str, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged API route."""
    items, cursor = [], None
    while True:
        page = api(hub, path, limit=200, **params, **({"cursor": cursor} if cursor else {})).json()
        items += page["items"]
        if not (cursor := page.get("next_cursor")):
            return items


def capture(hub: str, run: str, name: str, **fields: Any) -> tuple[str, str]:
    email = f"{name}.{run}@dashboard-{run}.example"
    body = {"email": email, "source": "web form", "company": f"Company {run}", "job_title": "VP of Sales", **fields}
    response = post(hub, "/api/v1/integrations/sales/leads", body, group="marketing")
    assert response.status_code == 201, response.text
    return str(response.json()["lead_id"]), email


def events(hub: str, detail_type: str) -> list[dict[str, Any]]:
    return list(requests.get(f"{hub}/_local/events", params={"detail-type": detail_type}, timeout=10).json())


@pytest.fixture(scope="module")
def business(hub: str) -> dict[str, Any]:
    """The business happening on the hub: what the page must then show."""
    run = uuid.uuid4().hex[:8]
    segment = Client(WRITE_KEY, host=hub, sync_mode=True, max_retries=0)
    now = datetime.now(UTC)
    # Leads at several stages: two captured (Lead) ...
    capture(hub, run, "lee")
    capture(hub, run, "lou")
    # ... one who engages until the model's MQL criteria hold (five sessions, six email clicks, three downloads)
    mql_id, mql_email = capture(hub, run, "mia", industry="Software", employee_count=500, country="US")
    user = f"mia-{run}"
    for day in (5, 4, 3, 2, 1):
        segment.page(anonymous_id=f"anon-{run}", name=f"/blog/{day}", properties={"path": f"/blog/{day}"},
                     timestamp=now - timedelta(days=day))  # fmt: skip
    segment.identify(user, {"email": mql_email}, anonymous_id=f"anon-{run}")
    for day in (6, 5, 4, 3, 2, 1):
        segment.track(user, "Email Link Clicked", timestamp=now - timedelta(days=day))
    for title in ("RevOps guide", "Pipeline report", "Attribution 101"):
        segment.track(user, "Content Downloaded", {"title": title}, timestamp=now - timedelta(hours=12))
    eventually(lambda: any(e["detail"]["lead_id"] == mql_id for e in events(hub, "lead.mql_reached")), 60)
    # ... and one who requests a demo, is handed off and accepted: an SQL
    sql_id, sql_email = capture(
        hub, run, "sam", industry="Software", employee_count=450, annual_revenue="60000000", country="US"
    )
    segment.identify(f"sam-{run}", {"email": sql_email})
    segment.track(f"sam-{run}", "Demo Requested")
    handoff = eventually(lambda: [h for h in every(hub, "/api/v1/handoffs") if h["lead_id"] == sql_id], 60)[0]
    accepted = post(hub, f"/api/v1/handoffs/{handoff['handoff_id']}/accept", None)
    assert accepted.status_code == 200, accepted.text
    eventually(lambda: api(hub, f"/api/v1/leads/{sql_id}").json()["stage"] == "SQL", 60)
    # Spend against the month's budget (the hub clock's month)
    month = requests.get(f"{hub}/_local/clock", timeout=10).json()["now"][:7]
    # (revenue operations' tools: the README's walkthrough spends marketing's paid social budget of this month)
    budget = {
        "currency": "USD",
        "lines": [{"department": "revenue_operations", "channel": "tools_and_agencies", "amount": "5000.00"}],
    }
    assert post(hub, f"/api/v1/integrations/finance/budget/{month}", budget, "finance", "PUT").status_code == 200
    line = {
        "spend_id": f"dash-{run}",
        "campaign_id": "dashboard",
        "channel": "tools_and_agencies",
        "department": "revenue_operations",
        "vendor": "Gong",
        "amount": "1250.00",
        "currency": "USD",
        "incurred_on": f"{month}-01",
    }
    assert post(hub, "/api/v1/integrations/finance/spend", line, "finance").status_code == 201
    # A webhook from another vendor
    assert send_stripe_event(hub, "customer.created", {"id": f"cus_{run}", "object": "customer"}).status_code == 202
    settle(hub)
    return {"run": run, "month": month, "segment": segment}


def reported(hub: str, month: str) -> dict[str, str]:
    """What the API reports now, under the page's `data-figure` names."""
    figures = {f"leads.by_stage.{stage}": str(len(every(hub, "/api/v1/leads", stage=stage))) for stage in STAGES}
    figures["leads.mqls"] = str(len(events(hub, "lead.mql_reached")))
    metrics = api(hub, "/api/v1/handoffs/metrics").json()
    within = sum(row["accepted_within_sla"] for row in metrics["sla"])
    breached = sum(row["breached"] for row in metrics["sla"])
    figures |= {
        "handoffs.handoffs": str(metrics["handoffs"]),
        "handoffs.accepted_within_sla": str(within),
        "handoffs.breached": str(breached),
        "handoffs.requested_to_assigned.count": str(metrics["requested_to_assigned"]["count"]),
    }
    budget = api(hub, f"/api/v1/integrations/finance/budget/{month}").json()
    figures["budget.period"] = budget["period"]
    for department in budget["departments"]:
        for field in ("budget", "actual", "consumption_pct"):
            figures[f"budget.departments.{department['department']}.{field}"] = str(department[field])
    deliveries = every(hub, "/api/v1/webhooks/deliveries")
    if len(deliveries) < MAX_DELIVERIES:  # the page counts the newest MAX_DELIVERIES: all of them, here
        for delivery in deliveries:
            key = f"webhooks.by_vendor.{delivery['vendor']}.{delivery['outcome']}"
            figures[key] = str(int(figures.get(key, "0")) + 1)
    return figures


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


class Dashboard:
    """The page open in a tab, with every console error and uncaught exception it raised."""

    def __init__(self, browser: Any, hub: str) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 2000})
        self.errors: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
        self.page.goto(f"{hub}/dashboard")
        self.refreshed()

    def refreshed(self) -> int:
        """Waits for the page's next refresh from /dashboard/data; its count."""
        done = int(self.page.evaluate("Number(document.body.dataset.refreshes || 0)"))
        self.page.wait_for_function(f"Number(document.body.dataset.refreshes || 0) > {done}", timeout=30_000)
        return done + 1

    def shown(self) -> dict[str, str]:
        """Every figure the page shows as text, by its `data-figure` name."""
        return dict(
            self.page.evaluate(
                "Object.fromEntries([...document.querySelectorAll('[data-figure]')]"
                ".map(e => [e.dataset.figure, e.textContent.trim()]))"
            )
        )

    def chart(self, canvas_id: str) -> dict[str, Any]:
        """What Chart.js drew on the canvas: its labels, datasets' data, and the canvas's size."""
        return dict(
            self.page.evaluate(
                """id => { const c = Chart.getChart(id); const canvas = document.getElementById(id);
                    return {labels: c.data.labels, data: c.data.datasets.map(d => d.data),
                            width: canvas.width, height: canvas.height}; }""",
                canvas_id,
            )
        )


def agreeing(hub: str, dashboard: Dashboard, month: str, seconds: float = 60) -> dict[str, str]:
    """The API's figures, once a refresh of the page shows exactly them; fails naming each figure that differs
    (the API's value, the page's) if none does within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        dashboard.refreshed()
        expected, shown = reported(hub, month), dashboard.shown()
        differences = {name: (value, shown.get(name)) for name, value in expected.items() if shown.get(name) != value}
        if not differences or time.monotonic() > deadline:
            assert differences == {}, "figures (API, page) that differ"
            return expected


def test_the_dashboard_shows_what_the_api_reports_charted_and_without_a_console_error(
    hub: str, browser: Any, business: dict[str, Any]
) -> None:
    # When the dashboard is opened in Chromium
    dashboard = Dashboard(browser, hub)
    # Then (once the page has refreshed after the hub settled) every figure it shows is what the API reports
    expected = agreeing(hub, dashboard, business["month"])
    shown = dashboard.shown()
    assert int(shown["leads.by_stage.Lead"]) >= 2
    assert int(shown["leads.by_stage.MQL"]) >= 1
    assert int(shown["leads.by_stage.SQL"]) >= 1
    assert int(shown["leads.mqls"]) >= 1
    assert int(shown["handoffs.accepted_within_sla"]) >= 1
    actual = "budget.departments.revenue_operations.actual"
    assert shown[actual] == expected[actual]
    assert shown["budget.departments.revenue_operations.consumption_pct"] not in ("-", "None", "null")
    assert int(shown["webhooks.by_vendor.stripe.accepted"]) >= 1
    assert int(shown["webhooks.by_vendor.segment_api.accepted"]) >= 1
    # And the funnel chart is drawn with the leads per stage, the budget chart with budget and actual per department
    funnel = dashboard.chart("chart-funnel")
    assert funnel["labels"] == list(STAGES)
    assert funnel["data"] == [[int(expected[f"leads.by_stage.{stage}"]) for stage in STAGES]]
    assert funnel["width"] > 0
    assert funnel["height"] > 0
    budget = dashboard.chart("chart-budget")
    assert "revenue_operations" in budget["labels"]
    at = budget["labels"].index("revenue_operations")
    assert budget["data"][0][at] == float(expected["budget.departments.revenue_operations.budget"])
    assert budget["data"][1][at] == float(expected["budget.departments.revenue_operations.actual"])
    # And nothing went wrong in the page
    assert dashboard.errors == []


def test_the_dashboard_refreshes_by_itself_when_the_data_changes(
    hub: str, browser: Any, business: dict[str, Any]
) -> None:
    dashboard = Dashboard(browser, hub)
    before = agreeing(hub, dashboard, business["month"])
    # When another lead is captured while the page is open
    capture(hub, business["run"], f"new-{uuid.uuid4().hex[:4]}")
    # Then, without a reload, the page shows one more Lead
    wanted = str(int(before["leads.by_stage.Lead"]) + 1)
    eventually(lambda: dashboard.refreshed() and dashboard.shown()["leads.by_stage.Lead"] == wanted, 30, every=0)
    assert dashboard.chart("chart-funnel")["data"][0][STAGES.index("Lead")] == int(wanted)
    assert dashboard.errors == []
