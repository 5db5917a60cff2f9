"""The tracking API as a browser reaches it, over moto through the local API Gateway and the real handler: analytics.js
(Analytics Next) posts to `<apiHost>/<first letter>` and `/b` with `Content-Type: text/plain` and the write key in the
body, and a browser reads an answer only with `Access-Control-Allow-Origin`; a preflight is answered without auth."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse

from local_runtime.auth import LocalUserPool
from local_runtime.gateway import LocalApiGateway
from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.catalog import CATALOG, Function
from tests.integration.conftest import STAGE, drain, handler_module
from tests.integration.test_webhook_routes import logged

WRITE_KEY = "local-write-key-dev-only"
ORIGIN = "https://www.customer.example"
POOL = LocalUserPool.from_config()


@pytest.fixture
def gateway(aws: Provisioned) -> Client:
    def invoke(fn: Function, event: dict[str, Any]) -> dict[str, Any]:
        return handler_module(fn.name).handler(event, LocalLambdaContext(fn.slug))

    return Client(LocalApiGateway(CATALOG, invoke, POOL, [], STAGE))


def analytics_next(gateway: Client, path: str, body: dict[str, Any], **headers: str) -> TestResponse:
    """A call as analytics.js's fetch dispatcher makes it: text/plain, the write key in the body."""
    headers = {"Origin": ORIGIN, "Content-Type": "text/plain"} | headers
    return gateway.post(path, data=json.dumps({"writeKey": WRITE_KEY, **body}), headers=headers)


def published(outbox: Callable[[], int], aws: Provisioned) -> list[dict[str, Any]]:
    outbox()
    return drain(aws.all_events_url)


def track(message_id: str, **fields: object) -> dict[str, Any]:
    return {"type": "track", "messageId": message_id, "userId": "u-1", "event": "Demo Requested"} | fields


@pytest.mark.parametrize("short", ["t", "i", "p", "s", "g", "a"])
def test_analytics_js_short_paths_are_answered_200_readable_by_the_browser(gateway: Client, short: str) -> None:
    message = {"messageId": f"ajs-{short}", "userId": "u-1", "event": "x", "groupId": "acme", "previousId": "p"}
    answer = analytics_next(gateway, f"/v1/{short}", message)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.json == {"success": True}
    assert answer.headers.get("Access-Control-Allow-Origin") == "*"


def test_an_analytics_js_batch_to_b_is_stored(gateway: Client, aws: Provisioned, outbox: Callable[[], int]) -> None:
    answer = analytics_next(gateway, "/v1/b", {"batch": [track("b-1"), track("b-2")], "sentAt": "2026-12-03T01:00:00Z"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.headers.get("Access-Control-Allow-Origin") == "*"
    assert sorted(m["detail"]["vendor_event_id"] for m in published(outbox, aws)) == ["b-1", "b-2"]


def test_a_refusal_is_readable_by_the_browser_too(gateway: Client) -> None:
    answer = gateway.post("/v1/track", data="{}", headers={"Origin": ORIGIN, "Content-Type": "text/plain"})
    assert answer.status_code == 401
    assert answer.headers.get("Access-Control-Allow-Origin") == "*"


def test_a_short_path_that_is_no_call_is_a_logged_404_the_browser_can_read(gateway: Client, aws: Provisioned) -> None:
    # Given a path beside the short calls that names none, When analytics.js's way of posting reaches it
    answer = analytics_next(gateway, "/v1/zz", track("z-1"))
    # Then it is a 404 in Segment's shape naming the paths there are, readable cross-site, and in the delivery log
    assert answer.status_code == 404, answer.get_data(as_text=True)
    body = answer.get_json()
    assert body["code"] == "not_found"
    assert "/v1/t" in body["message"]
    assert "/v1/track" in body["message"]
    assert answer.headers.get("Access-Control-Allow-Origin") == "*"
    [entry] = logged(handler_module("webhook_deliveries_api"), "segment_api")
    assert (entry["delivery_id"], entry["outcome"], entry["status_code"]) == (body["delivery_id"], "rejected", 404)


def test_a_path_that_is_no_call_tells_a_caller_without_the_write_key_only_401(gateway: Client) -> None:
    # Given no write key, When a browser posts to a path that names no call
    answer = gateway.post(
        "/v1/zz", data=json.dumps(track("z-2")), headers={"Origin": ORIGIN, "Content-Type": "text/plain"}
    )
    # Then the key is checked first: 401, as on every other tracking path
    assert answer.status_code == 401
    assert answer.get_json()["code"] == "unauthorized"


def test_the_calls_own_paths_ask_no_preflight_as_api_gateway_matches_them_first(gateway: Client) -> None:
    # Given the path a server SDK posts to (a literal resource beside `/v1/{call}`), When a browser asks it first
    answer = gateway.options("/v1/track", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    # Then it has no preflight (API Gateway matches the literal resource, which has none): browsers use the short paths
    assert answer.status_code == 405
    assert answer.headers.get("Access-Control-Allow-Methods") is None


@pytest.mark.parametrize("path", ["/v1/t", "/v1/b", "/v1/i", "/v1/p"])
def test_a_preflight_is_answered_without_auth_as_api_segment_io_does(gateway: Client, path: str) -> None:
    # Given a browser about to POST JSON with a Basic key from another site
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    }
    # When it asks first
    answer = gateway.options(path, headers=headers)
    # Then the gateway says it may
    assert answer.status_code in (200, 204), answer.get_data(as_text=True)
    assert answer.headers.get("Access-Control-Allow-Origin") == "*"
    assert "POST" in answer.headers.get("Access-Control-Allow-Methods", "")
    allowed = {h.strip().lower() for h in answer.headers.get("Access-Control-Allow-Headers", "").split(",")}
    assert {"content-type", "authorization"} <= allowed


def test_the_receive_time_is_the_gateways_never_the_callers(
    gateway: Client, aws: Provisioned, outbox: Callable[[], int]
) -> None:
    # Given a call from a device whose clock is a year fast, which also claims a receive time of its own
    body = track("skewed", timestamp="2027-12-03T00:59:00Z", sentAt="2027-12-03T01:00:00Z")
    before = datetime.now(UTC)
    answer = analytics_next(gateway, "/v1/track", body, **{"X-Hub-Received-At": "2027-12-03T01:00:00+00:00"})
    after = datetime.now(UTC)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    # Then its event happened a minute before the hub received it, by the hub's clock
    [message] = published(outbox, aws)
    occurred = datetime.fromisoformat(message["detail"]["occurred_at"])
    assert before - timedelta(seconds=61) <= occurred <= after - timedelta(seconds=59)
