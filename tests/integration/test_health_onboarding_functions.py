"""Onboarding in customer health over moto, through the functions as AWS invokes them: sales hand a customer to
success through the cs-sales API (with an executive sponsor), the `success_plan.created` it publishes reaches
the success recorder (which reads the plan from the handoffs table it may read), a CSM completes a milestone
through the success API (201, then 200: once), the health answer lists the milestones and scores
`milestones_on_time`, and the sponsor's engagement is kept. Every effect is read back from the store or the API."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from local_runtime.provision import Provisioned
from shared.catalog.success import HEALTH_PATH, MILESTONE_PATH
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType, Subject
from tests.integration.conftest import eventbridge, handler_module
from tests.integration.test_handoff_functions import ADMIN, Hub

CUSTOMER_HANDOFF = "/api/v1/cs-sales/handoff/{customer_id}"
SPONSOR = "vic.ortiz@kestrel-onb.io"


def claims(group: str) -> dict[str, str]:
    return {"sub": f"u-{group}", "cognito:groups": group, "cognito:username": group, "token_use": "id"}


class Success:
    """The success functions beside the handoff hub, on the same moto account."""

    def __init__(self, aws: Provisioned) -> None:
        self.hub = Hub(aws)
        self.recorder = handler_module("success_recorder")
        self.api = handler_module("success_api")

    def call(
        self, module: Any, method: str, resource: str, who: dict[str, str] | None = ADMIN, body: Any = None, **path: str
    ) -> tuple[int, dict[str, Any]]:
        event = rest_proxy_event(
            method=method,
            path=resource.format(**path),
            resource=resource,
            path_parameters=path or None,
            headers={"Content-Type": "application/json"} if body is not None else {},
            body=b"" if body is None else json.dumps(body).encode(),
            claims=who,
        )
        answer = module.handler(event, LocalLambdaContext(module.__name__))
        return int(answer["statusCode"]), json.loads(answer["body"] or "{}")

    def canonical(self, event_type: EventType, subject: Subject, data: dict[str, Any], vendor: str) -> dict[str, Any]:
        now = datetime.now(UTC)
        event = CanonicalEvent(
            event_id=str(uuid.uuid4()),
            event_type=event_type,
            occurred_at=now,
            received_at=now,
            source_vendor=vendor,
            vendor_event_id=uuid.uuid4().hex,
            vendor_event_type="test",
            subject=subject,
            data=data,
            correlation_id="r",
            delivery_id="d",
        )
        return eventbridge(WEBHOOK_EVENT_SOURCE, event_type.value, event.model_dump(mode="json"))

    def both(self, event: dict[str, Any]) -> dict[str, Any]:
        """A webhook event as the lead processor and the success recorder both take it from the bus."""
        self.hub.invoke(self.hub.lead_processor, event)
        return self.hub.invoke(self.recorder, event)

    def customer(self) -> str:
        """Kestrel, created in Stripe with its billing contact: the hub's account id."""
        subject = Subject(account_id="stripe:cus_onb", contact_id="stripe:cus_onb", email="kim@kestrel-onb.io")
        data = {"name": "Kestrel", "domain": "kestrel-onb.io"}
        self.hub.invoke(self.hub.lead_processor, self.canonical(EventType.ACCOUNT_UPSERTED, subject, data, "stripe"))
        tenant = self.recorder.service.accounts.resolve("kestrel-onb.io")
        assert tenant is not None
        return str(tenant)


@pytest.fixture
def success(aws: Provisioned) -> Success:
    return Success(aws)


def test_a_handoffs_plan_reaches_the_health_and_a_csm_completes_a_milestone_once(success: Success) -> None:
    # Given a customer handed to success through the cs-sales API, its plan started ten days ago, Vic its sponsor
    tenant = success.customer()
    success.hub.published(None)
    starts_on = (datetime.now(UTC) - timedelta(days=10)).date()
    body = {
        "deal_id": "deal-onb-1",
        "starts_on": starts_on.isoformat(),
        "executive_sponsor": {"name": "Vic Ortiz", "email": SPONSOR, "role": "VP Operations"},
    }
    status, handoff = success.call(success.hub.api, "POST", CUSTOMER_HANDOFF, body=body, customer_id=tenant)
    assert status == 201, handoff
    # When its success_plan.created reaches the success recorder
    (announced,) = [e for e in success.hub.published() if e["detail-type"] == "success_plan.created"]
    recorded = success.hub.invoke(success.recorder, announced)
    # Then the plan is the customer's: the kickoff (due 3 days ago) is overdue, and the health says so
    assert recorded["tenant_id"] == tenant, recorded
    status, health = success.call(success.api, "GET", HEALTH_PATH, claims("success"), tenant_id="kestrel-onb.io")
    assert status == 200, health
    lines = {line["measure"]: line for line in health["breakdown"]}
    assert (lines["milestones_on_time"]["value"], lines["milestones_on_time"]["score"]) == ("0.0000", 10)
    assert lines["days_since_sponsor_engaged"]["score"] == 100
    assert [(m["milestone_id"], m["status"]) for m in health["milestones"][:2]] == [
        ("kickoff", "overdue"),
        ("technical-setup", "open"),
    ]
    # When the CSM completes the kickoff, and again, and the setup
    path = {"customer_id": "kestrel-onb.io"}
    first = success.call(success.api, "POST", MILESTONE_PATH, claims("success"), milestone_id="kickoff", **path)
    again = success.call(success.api, "POST", MILESTONE_PATH, claims("success"), milestone_id="kickoff", **path)
    setup = success.call(success.api, "POST", MILESTONE_PATH, ADMIN, milestone_id="technical-setup", **path)
    # Then the kickoff is completed once (late), the setup on time: half on time (40)
    assert (first[0], first[1]["recorded"], first[1]["milestone"]["status"]) == (201, True, "completed_late")
    assert (again[0], again[1]["recorded"]) == (200, False)
    assert again[1]["milestone"]["completed_at"] == first[1]["milestone"]["completed_at"]
    assert (setup[0], setup[1]["milestone"]["status"], setup[1]["handoff_id"]) == (
        201,
        "completed_on_time",
        handoff["handoff_id"],
    )
    _, health = success.call(success.api, "GET", HEALTH_PATH, claims("sales"), tenant_id=tenant)
    lines = {line["measure"]: line for line in health["breakdown"]}
    assert (lines["milestones_on_time"]["value"], lines["milestones_on_time"]["score"]) == ("0.5000", 40)
    # And the plan alone (15 of the model's 120) is too little to score the new customer: onboarding, no score
    assert (health["status"], health["coverage"], health["score"], health["band"]) == (
        "onboarding",
        "0.1250",
        None,
        None,
    )
    assert setup[1]["score"] is None
    # And the sponsor's webinar is kept in the log, a colleague's parked aside (until a plan names her sponsor)
    webinar = {"kind": "webinar_attended"}
    kept = success.both(success.canonical(EventType.ENGAGEMENT_RECORDED, Subject(email=SPONSOR), webinar, "hubspot"))
    other = Subject(email="kim@kestrel-onb.io")
    colleague = success.both(success.canonical(EventType.ENGAGEMENT_RECORDED, other, webinar, "hubspot"))
    assert kept["tenant_id"] == colleague["tenant_id"] == tenant, kept
    kinds = [s.kind.value for s in success.recorder.service.log(tenant)]
    assert kinds == ["success_plan", "milestone_completed", "milestone_completed", "engaged"]
    assert "parked until a plan names them" in colleague["note"]


def test_the_milestone_route_refuses_who_it_should_and_names_what_it_cannot_find(success: Success) -> None:
    tenant = success.customer()
    path = {"customer_id": tenant, "milestone_id": "kickoff"}
    for group in ("sales", "marketing", "product", "finance"):
        status, _ = success.call(success.api, "POST", MILESTONE_PATH, claims(group), **path)
        assert status == 403, group
    assert success.call(success.api, "POST", MILESTONE_PATH, None, **path)[0] == 401
    status, answer = success.call(success.api, "POST", MILESTONE_PATH, claims("success"), **path)
    assert (status, "has no success plan" in answer["message"]) == (404, True)
    status, answer = success.call(
        success.api, "POST", MILESTONE_PATH, claims("success"), customer_id="nobody.example", milestone_id="kickoff"
    )
    assert (status, "tenant_id" in answer["message"]) == (404, True)


USAGE_PATH = "/api/v1/integrations/product/usage"


@pytest.mark.parametrize("timestamp", [1_700_000_000_000, 1_700_000_000, "1700000000", True])
def test_a_usage_timestamp_that_is_not_iso_8601_text_is_a_422_naming_timestamp(
    success: Success, timestamp: Any
) -> None:
    # Given a customer the hub knows
    tenant = success.customer()
    # When the product reports its usage with the time as a JSON number (Unix milliseconds or seconds?), digits or
    # a bool
    report = {"tenant_id": tenant, "message_id": "u-1", "timestamp": timestamp, "metrics": {"active_users": 3}}
    status, answer = success.call(success.api, "POST", USAGE_PATH, claims("product"), body=report)
    # Then it is refused naming the field and the form it must take, and nothing is recorded under the message id
    assert status == 422, answer
    assert answer["errors"] == ["timestamp: must be an ISO 8601 date-time string, e.g. 2026-11-29T09:00:00Z"]
    report["timestamp"] = datetime.now(UTC).isoformat()
    status, answer = success.call(success.api, "POST", USAGE_PATH, claims("product"), body=report)
    assert (status, answer["recorded"]) == (201, True), answer


@pytest.mark.parametrize("seats", [0, -1])
def test_a_usage_report_of_no_licensed_seats_is_a_422_naming_the_field_and_its_minimum(
    success: Success, seats: int
) -> None:
    # Given a customer the hub knows, whose product reported 10 active users of 20 seats
    tenant = success.customer()
    now = datetime.now(UTC)
    earlier = {"active_users": 10, "licensed_seats": 20}
    report = {"tenant_id": tenant, "message_id": "u-seats-1", "timestamp": now.isoformat(), "metrics": earlier}
    assert success.call(success.api, "POST", USAGE_PATH, claims("product"), body=report)[0] == 201
    # When it reports 50 active users of no seats (seat utilization would be no number)
    bad = {"active_users": 50, "licensed_seats": seats}
    report = {"tenant_id": tenant, "message_id": "u-seats-2", "timestamp": now.isoformat(), "metrics": bad}
    status, answer = success.call(success.api, "POST", USAGE_PATH, claims("product"), body=report)
    # Then it is refused naming the field and its minimum: not "recorded", then left out of seat utilization
    assert status == 422, answer
    assert any("metrics.licensed_seats" in e and "greater than or equal to 1" in e for e in answer["errors"]), answer
    # And nothing was recorded under its message id: the same id with seats is a new report (201)
    report["metrics"] = {"active_users": 50, "licensed_seats": 60}
    status, answer = success.call(success.api, "POST", USAGE_PATH, claims("product"), body=report)
    assert (status, answer["recorded"]) == (201, True), answer
