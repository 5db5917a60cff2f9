"""`shared.http.api.resolve`, the one path of every API request, records what the audit trail must hold: a
write's receipt before it runs (no write without its record), its outcome before the answer goes out, every
refusal, and audited reads before anything is shown; plain reads cost nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from shared.audit.record import Outcome, Phase
from shared.catalog import CATALOG
from shared.http import api
from shared.http.api import RequestAudit, resolve, rest_resolver
from tests.audit_fakes import InMemoryAuditStore

UNMERGE = CATALOG.route_for("POST", "/api/v1/leads/{lead_id}/unmerge")
GET_LEAD = CATALOG.route_for("GET", "/api/v1/leads/{lead_id}")
AUDIT = CATALOG.route_for("GET", "/api/v1/audit")
assert UNMERGE is not None
assert GET_LEAD is not None
assert AUDIT is not None
MARKETING = {"sub": "u-1", "cognito:username": "mia", "cognito:groups": "marketing"}
SALES = {"sub": "u-2", "cognito:username": "sam", "cognito:groups": "sales"}


class Calls:
    def __init__(self, store: InMemoryAuditStore) -> None:
        self.store = store
        self.ran: list[int] = []  # how many records were stored when each route ran


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Calls:
    store = InMemoryAuditStore()
    trail = RequestAudit("audit", store=store)
    for route in (UNMERGE, GET_LEAD, AUDIT):
        monkeypatch.setitem(api.AUDIT_TRAILS, route.key, trail)
    return Calls(store)


def app_for(calls: Calls, fail: bool = False) -> Any:
    app = rest_resolver()

    @app.post("/api/v1/leads/<lead_id>/unmerge")
    def unmerge(lead_id: str) -> dict[str, Any]:
        calls.ran.append(len(calls.store.records))
        if fail:
            raise RuntimeError("the lead store is down")
        return {"lead_id": lead_id, "separated_from": "L-2"}

    @app.get("/api/v1/leads/<lead_id>")
    def get_lead(lead_id: str) -> dict[str, Any]:
        calls.ran.append(len(calls.store.records))
        return {"lead_id": lead_id, "email": "ana@example.com"}

    @app.get("/api/v1/audit")
    def search() -> dict[str, Any]:
        calls.ran.append(len(calls.store.records))
        return {"items": [], "next_cursor": None}

    return app


def request(method: str, resource: str, path: str, claims: dict[str, str] | None, body: object = None) -> dict:
    raw = json.dumps(body).encode() if body is not None else b""
    parameters = {"lead_id": path.split("/")[4]} if "{lead_id}" in resource else None
    return {
        "httpMethod": method,
        "resource": resource,
        "path": path,
        "pathParameters": parameters,
        "headers": {"Content-Type": "application/json"},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "body": base64.b64encode(raw).decode() if raw else None,
        "isBase64Encoded": bool(raw),
        "requestContext": {
            "requestId": f"req-{method}-{len(path)}",
            "stage": "test",
            "identity": {"sourceIp": "198.51.100.4", "userAgent": "pytest"},
            "authorizer": {"claims": claims} if claims else {},
        },
    }


def unmerge(claims: dict[str, str] | None = MARKETING, body: object = None) -> dict:
    body = {"other_lead_id": "L-2"} if body is None else body
    return request("POST", "/api/v1/leads/{lead_id}/unmerge", "/api/v1/leads/L-1/unmerge", claims, body)


def test_a_write_is_received_durably_before_it_runs_and_its_outcome_before_the_answer(calls: Calls) -> None:
    # When a permitted write is made
    response = resolve(app_for(calls), unmerge(), None)
    # Then the route ran only once its receipt was stored, and the answer went out with its outcome stored
    assert response["statusCode"] == 200
    assert calls.ran == [1]
    receipt, outcome = calls.store.records
    assert (receipt.phase, receipt.outcome, receipt.status) == (Phase.RECEIVED, Outcome.PENDING, None)
    assert (outcome.phase, outcome.outcome, outcome.status) == (Phase.COMPLETED, Outcome.SUCCEEDED, 200)
    # And the outcome names who, what and from where, with the response's ids as targets
    assert (outcome.actor, outcome.username, outcome.groups) == ("u-1", "mia", ("marketing",))
    assert [t.id for t in outcome.targets] == ["L-1", "L-2"]
    assert (outcome.route, outcome.request_id, outcome.source_ip) == (UNMERGE.key, receipt.request_id, "198.51.100.4")
    assert outcome.request_digest is not None
    assert outcome.request_digest == receipt.request_digest


def test_a_write_whose_receipt_cannot_be_stored_is_refused_and_never_runs(calls: Calls) -> None:
    calls.store.unavailable = True
    response = resolve(app_for(calls), unmerge(), None)
    assert response["statusCode"] == 503
    assert response["headers"]["Retry-After"]
    assert "nothing was changed" in json.loads(response["body"])["message"]
    assert calls.ran == []


def test_a_write_done_whose_outcome_cannot_be_stored_still_answers(calls: Calls) -> None:
    # Given a store that takes the receipt, then fails
    store = calls.store
    original = store.append

    def receipt_only(record: Any) -> None:
        if record.phase is Phase.COMPLETED:
            store.unavailable = True
        original(record)

    store.append = receipt_only  # type: ignore[method-assign]
    # When the write is made, then its answer goes out (the write is done) and the receipt says who made it
    response = resolve(app_for(calls), unmerge(), None)
    assert response["statusCode"] == 200
    assert [r.phase for r in store.records] == [Phase.RECEIVED]


def test_a_write_refused_by_rbac_is_recorded_and_never_runs(calls: Calls) -> None:
    response = resolve(app_for(calls), unmerge(claims=SALES), None)
    assert response["statusCode"] == 403
    assert calls.ran == []
    [record] = calls.store.records
    assert (record.outcome, record.status, record.actor, record.groups) == (Outcome.REFUSED, 403, "u-2", ("sales",))
    assert [t.id for t in record.targets] == ["L-1"]


def test_a_request_without_a_token_is_recorded_as_anonymous(calls: Calls) -> None:
    response = resolve(app_for(calls), unmerge(claims=None), None)
    assert response["statusCode"] == 401
    [record] = calls.store.records
    assert (record.actor, record.outcome) == ("anonymous", Outcome.REFUSED)


def test_a_body_refused_by_its_checks_is_recorded_by_digest(calls: Calls) -> None:
    event = unmerge()
    event["headers"]["Content-Type"] = "text/plain"
    response = resolve(app_for(calls), event, None)
    assert response["statusCode"] == 415
    [record] = calls.store.records
    assert (record.outcome, record.status) == (Outcome.REJECTED, 415)
    assert record.request_digest


def test_a_refusal_goes_out_even_when_it_cannot_be_recorded(calls: Calls) -> None:
    calls.store.unavailable = True
    assert resolve(app_for(calls), unmerge(claims=SALES), None)["statusCode"] == 403


def test_a_write_that_fails_is_recorded_as_failed_and_the_error_propagates(calls: Calls) -> None:
    with pytest.raises(RuntimeError):
        resolve(app_for(calls, fail=True), unmerge(), None)
    _receipt, outcome = calls.store.records
    assert (outcome.outcome, outcome.status) == (Outcome.FAILED, 502)


def test_a_plain_read_is_not_recorded(calls: Calls) -> None:
    event = request("GET", "/api/v1/leads/{lead_id}", "/api/v1/leads/L-1", MARKETING)
    assert resolve(app_for(calls), event, None)["statusCode"] == 200
    assert calls.store.records == []
    assert calls.store.appends == 0


def test_a_read_refused_by_rbac_is_recorded(calls: Calls) -> None:
    event = request("GET", "/api/v1/audit", "/api/v1/audit", SALES)
    assert resolve(app_for(calls), event, None)["statusCode"] == 403
    [record] = calls.store.records
    assert (record.route, record.outcome) == ("GET /api/v1/audit", Outcome.REFUSED)


def test_an_audited_read_is_shown_only_once_recorded(calls: Calls) -> None:
    admin = MARKETING | {"cognito:groups": "admin"}
    event = request("GET", "/api/v1/audit", "/api/v1/audit", admin)
    assert resolve(app_for(calls), event, None)["statusCode"] == 200
    [record] = calls.store.records
    assert (record.phase, record.outcome) == (Phase.COMPLETED, Outcome.SUCCEEDED)
    calls.store.unavailable = True
    withheld = resolve(app_for(calls), event, None)
    assert withheld["statusCode"] == 503
    assert "items" not in withheld["body"]
