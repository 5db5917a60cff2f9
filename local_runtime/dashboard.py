"""The local `/dashboard` page: the business figures from the local data, charted, refreshed live.

`GET /dashboard` is the page, `GET /dashboard/data` its figures as JSON (`local_runtime/dashboard_figures.py`:
the hub's own API, read with a locally issued admin token), which the page polls every few seconds.
Chart.js is served from the `chartkick` package's bundled copy (MIT, its license beside it in the package), as
`/docs` serves Swagger UI from Powertools' bundled assets: nothing is fetched from the internet.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from botocore.exceptions import BotoCoreError, ClientError
from werkzeug.wrappers import Request, Response

from local_runtime import dashboard_figures
from local_runtime.auth import LocalUserPool

if TYPE_CHECKING:
    from local_runtime.gateway import LocalRoute
    from local_runtime.hub import LocalHub

STATIC = Path(__file__).resolve().parent / "static"
CHART_JS = resources.files("chartkick") / "django" / "static" / "chartkick" / "Chart.bundle.js"
CHART_JS_LICENSE = resources.files("chartkick") / "licenses" / "LICENSE-chart.js.txt"
DASHBOARD_USER = "local-dashboard"
log = logging.getLogger("local_runtime.dashboard")


def routes(hub: LocalHub) -> list[LocalRoute]:
    """The hub's local routes this module serves."""
    pool = LocalUserPool.from_config()
    api = dashboard_figures.HubApi(lambda: hub.url, lambda: pool.issue(["admin"], username=DASHBOARD_USER))

    def scored() -> Iterator[str]:
        """The accounts the success store holds a health snapshot of (no API route lists them)."""
        import boto3

        from shared.adapters.dynamodb_success import DynamoDbHealthStore
        from shared.catalog import physical_name
        from shared.catalog.success import SUCCESS

        if hub.provisioned is None:  # not serving yet
            return iter(())
        client = boto3.client("dynamodb", endpoint_url=hub.aws_endpoint)
        table = physical_name(hub.provisioned.stage, SUCCESS.name)
        return dashboard_figures.scored_tenants(DynamoDbHealthStore(client, table))

    def page(_: Request) -> Response:
        return _static("dashboard.html", "text/html; charset=utf-8")

    def script(_: Request) -> Response:
        return _static("dashboard.js", "text/javascript; charset=utf-8")

    def chart_js(_: Request) -> Response:
        return _cached(CHART_JS.read_text(encoding="utf-8"), "text/javascript; charset=utf-8")

    def chart_js_license(_: Request) -> Response:
        return _cached(CHART_JS_LICENSE.read_text(encoding="utf-8"), "text/plain; charset=utf-8")

    def data(_: Request) -> Response:
        try:
            body, status = dashboard_figures.figures(api, scored), 200
        except requests.RequestException as exc:  # a route of the hub failed: the page says so and polls again
            log.warning("dashboard figures unavailable: %s", exc)
            body, status = {"message": f"the hub's API did not answer the dashboard: {exc}"}, 502
        except (BotoCoreError, ClientError) as exc:  # the success store's listing failed: the same
            log.warning("dashboard figures unavailable: %s", exc)
            body, status = {"message": f"the success store did not answer the dashboard: {exc}"}, 502
        text = json.dumps(body, separators=(",", ":"))
        return Response(text, status=status, content_type="application/json", headers=_NO_STORE)

    return [
        ("GET", "/dashboard", page),
        ("GET", "/dashboard/data", data),
        ("GET", "/dashboard/dashboard.js", script),
        ("GET", "/dashboard/chart.js", chart_js),
        ("GET", "/dashboard/chart.js.LICENSE.txt", chart_js_license),
    ]


_NO_STORE = {"Cache-Control": "no-store"}


def _static(name: str, content_type: str) -> Response:
    # read per request: an edited page shows on reload, as `make run` users expect
    return Response((STATIC / name).read_text(encoding="utf-8"), content_type=content_type, headers=_NO_STORE)


def _cached(text: str, content_type: str) -> Response:
    return Response(text, content_type=content_type, headers={"Cache-Control": "max-age=3600"})
