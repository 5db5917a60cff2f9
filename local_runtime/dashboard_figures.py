"""The local dashboard's figures, read from the hub's own API with an admin token, as a client would.

Each figure is what an `/api/v1` route (or a `/_local` route, for what only the local hub keeps) answers, added
up, so the page and the API can never disagree; the one store read is which accounts to ask the health API about
(no route lists them). The CloudWatch dashboard's
counterparts are in `infra/business_view.py`:

- the lead funnel: leads per stage now (`GET /api/v1/leads?stage=`), and leads entering each stage and MQLs
  reached per day (the recorded `lead.stage_changed` and `lead.mql_reached` events: what the deployed metrics
  count);
- speed to lead and SLA attainment (`GET /api/v1/handoffs/metrics`, its last 30 days);
- budget consumption per department for the hub clock's month (`GET /api/v1/integrations/finance/budget/{month}`);
- health bands: each account the hub has scored (the success store's accounts with a health snapshot, as the
  nightly recomputation lists them: not the bus events the hub still keeps, which roll over) as
  `GET /api/v1/integrations/success/health/{tenant_id}` answers now;
- webhooks by vendor and outcome (`GET /api/v1/webhooks/deliveries`, the latest `MAX_DELIVERIES`);
- CRM sync conflicts, open and resolved, by field (`GET /api/v1/sync/conflicts`).

The hub keeps its latest 10,000 bus events (`/_local/events`); the per-day figures cover those.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

import requests

from shared.success.ports import TenantPage

STAGES = ("Visitor", "Lead", "MQL", "SQL", "Opportunity", "Customer", "Advocate")
BANDS = ("green", "yellow", "red")
OUTCOMES = ("accepted", "duplicate", "handshake", "rejected")
PAGE = 200
MAX_DELIVERIES = 5_000  # the delivery log's newest, counted per refresh
TIMEOUT_SECONDS = 30


class HubApi:
    """GETs on the hub at `url()` (read per use: a hub started on port 0 knows its port only once it serves) with
    a bearer token from `token()` (issued per use: tokens expire)."""

    def __init__(self, url: Callable[[], str], token: Callable[[], str]) -> None:
        self._url = url
        self._token = token

    def get(self, path: str, **query: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self._token()}"}
        return requests.get(f"{self._url()}{path}", params=query, headers=headers, timeout=TIMEOUT_SECONDS)

    def json(self, path: str, **query: Any) -> Any:
        response = self.get(path, **query)
        response.raise_for_status()
        return response.json()

    def pages(self, path: str, limit: int = PAGE, at_most: int | None = None, **query: Any) -> Iterator[dict[str, Any]]:
        """Every item of a paged route (`items`, `next_cursor`), up to `at_most`."""
        cursor, seen = None, 0
        while True:
            page = self.json(path, limit=limit, **query, **({"cursor": cursor} if cursor else {}))
            for item in page["items"]:
                if at_most is not None and seen >= at_most:
                    return
                seen += 1
                yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return


class ScoredAccounts(Protocol):
    """The success store's listing of the accounts with a health snapshot (`SuccessStore.tenants`)."""

    def tenants(self, cursor: str | None = None, limit: int = 100) -> TenantPage: ...


def scored_tenants(store: ScoredAccounts) -> Iterator[str]:
    """Every account the success store holds a health snapshot of, page by page."""
    cursor = None
    while True:
        page = store.tenants(cursor, PAGE)
        yield from page.tenant_ids
        if (cursor := page.next_cursor) is None:
            return


def figures(api: HubApi, scored: Callable[[], Iterable[str]]) -> dict[str, Any]:
    """Every figure of the page, as one JSON document; `scored` lists the accounts the hub has scored."""
    now = api.json("/_local/clock")["now"]
    return {
        "as_of": now,
        "leads": leads(api),
        "handoffs": handoffs(api),
        "budget": budget(api, now[:7]),
        "health": health(api, scored()),
        "webhooks": webhooks(api),
        "sync": sync(api),
    }


def leads(api: HubApi) -> dict[str, Any]:
    by_stage = {stage: sum(1 for _ in api.pages("/api/v1/leads", stage=stage)) for stage in STAGES}
    entered: dict[str, Counter[str]] = defaultdict(Counter)
    for event in api.json("/_local/events", **{"detail-type": "lead.stage_changed"}):
        entered[_day(event)][str(event["detail"].get("stage"))] += 1
    mqls = Counter(_day(event) for event in api.json("/_local/events", **{"detail-type": "lead.mql_reached"}))
    days = sorted(set(entered) | set(mqls))
    return {
        "by_stage": by_stage,
        "total": sum(by_stage.values()),
        "per_day": [
            {"day": day, "mqls": mqls.get(day, 0), "entered": {stage: entered[day][stage] for stage in STAGES}}
            for day in days
        ],
        "mqls": sum(mqls.values()),
    }


def handoffs(api: HubApi) -> dict[str, Any]:
    report = api.json("/api/v1/handoffs/metrics")
    within = sum(row["accepted_within_sla"] for row in report["sla"])
    breached = sum(row["breached"] for row in report["sla"])
    return {
        "from": report["start"],
        "to": report["end"],
        "handoffs": report["handoffs"],
        "requested_to_assigned": report["requested_to_assigned"],
        "requested_to_accepted": report["requested_to_accepted"],
        "accepted_within_sla": within,
        "breached": breached,
        # the API's definition, over every priority and team: accepted within the SLA / (that + breached)
        "attainment": round(within / (within + breached), 4) if within + breached else None,
        "sla": report["sla"],
    }


def budget(api: HubApi, month: str) -> dict[str, Any] | None:
    response = api.get(f"/api/v1/integrations/finance/budget/{month}")
    if response.status_code == 404:  # no budget for the month yet
        return None
    response.raise_for_status()
    view = response.json()
    fields = ("department", "budget", "actual", "remaining", "consumption_pct", "forecast")
    return {
        "period": view["period"],
        "currency": view["currency"],
        "departments": [{field: department[field] for field in fields} for department in view["departments"]],
        "totals": {field: view["totals"][field] for field in fields[1:]},
    }


def health(api: HubApi, scored: Iterable[str]) -> dict[str, Any]:
    """The scored accounts (`scored`: the success store's, see `scored_tenants`) as the health API answers them."""
    tenants = sorted(set(scored))
    accounts = []
    for tenant in tenants:
        response = api.get(f"/api/v1/integrations/success/health/{tenant}")
        if response.status_code == 404:
            continue
        response.raise_for_status()
        view = response.json()
        accounts.append({"tenant_id": tenant, "band": view.get("band"), "score": view.get("score")})
    bands = Counter(account["band"] for account in accounts)
    return {"bands": {band: bands.get(band, 0) for band in BANDS}, "accounts": accounts}


def webhooks(api: HubApi) -> dict[str, Any]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    seen = 0
    for delivery in api.pages("/api/v1/webhooks/deliveries", at_most=MAX_DELIVERIES):
        counts[delivery["vendor"]][delivery["outcome"]] += 1
        seen += 1
    return {
        "by_vendor": {vendor: {outcome: counts[vendor][outcome] for outcome in OUTCOMES} for vendor in sorted(counts)},
        "by_outcome": {outcome: sum(c[outcome] for c in counts.values()) for outcome in OUTCOMES},
        "deliveries": seen,
        "complete": seen < MAX_DELIVERIES,
    }


def sync(api: HubApi) -> dict[str, Any]:
    by_field: dict[str, Counter[str]] = defaultdict(Counter)
    for status in ("open", "resolved"):
        for conflict in api.pages("/api/v1/sync/conflicts", status=status):
            by_field[conflict["field"]][status] += 1
    return {
        "conflicts": {status: sum(c[status] for c in by_field.values()) for status in ("open", "resolved")},
        "by_field": {field: {s: by_field[field][s] for s in ("open", "resolved")} for field in sorted(by_field)},
    }


def _day(event: dict[str, Any]) -> str:
    """The UTC day the event happened (its `time`, as the bus stamps it)."""
    return str(event.get("time") or event["detail"].get("occurred_at"))[:10]
