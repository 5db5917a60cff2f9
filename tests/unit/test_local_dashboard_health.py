"""The local dashboard's health panel lists the accounts the success store holds a health snapshot of (not the
accounts named by the bus events the hub still keeps: those roll over), each as the health API answers it."""

from __future__ import annotations

import json
from typing import Any

import requests

from local_runtime import dashboard_figures
from shared.success.ports import TenantPage


class Answer(requests.Response):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__()
        self.status_code = status
        self._content = json.dumps(body).encode()


class RolledOverHub(dashboard_figures.HubApi):
    """A hub whose event buffer no longer holds the accounts' `customer.health_changed` events."""

    def __init__(self, bands: dict[str, str]) -> None:
        super().__init__(lambda: "http://hub.test", lambda: "token")
        self.bands = bands

    def get(self, path: str, **query: Any) -> requests.Response:
        if path == "/_local/events":
            return Answer(200, [])
        tenant = path.rsplit("/", 1)[-1]
        if path.startswith("/api/v1/integrations/success/health/") and tenant in self.bands:
            return Answer(200, {"tenant_id": tenant, "band": self.bands[tenant], "score": 80})
        return Answer(404, {"message": "not found"})


class Snapshots:
    """The success store's accounts with a health snapshot, two a page."""

    def __init__(self, tenants: list[str]) -> None:
        self.tenants_held = tenants

    def tenants(self, cursor: str | None = None, limit: int = 100) -> TenantPage:
        start = int(cursor or 0)
        more = start + 2 < len(self.tenants_held)
        return TenantPage(self.tenants_held[start : start + 2], str(start + 2) if more else None)


def test_the_health_panel_lists_the_stores_scored_accounts_after_the_events_rolled_over() -> None:
    # Given three scored accounts whose health events the hub no longer keeps (one gone from the API since)
    api = RolledOverHub({"osprey-works.io": "green", "kite.io": "red"})
    store = Snapshots(["kite.io", "osprey-works.io", "wren.io"])
    # When the dashboard reads its health figures
    found = dashboard_figures.health(api, dashboard_figures.scored_tenants(store))
    # Then they are the API's answers for the store's accounts, by band
    assert found["bands"] == {"green": 1, "yellow": 0, "red": 1}
    assert [(a["tenant_id"], a["band"]) for a in found["accounts"]] == [
        ("kite.io", "red"),
        ("osprey-works.io", "green"),
    ]
