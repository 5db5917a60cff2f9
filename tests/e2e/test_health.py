"""Customer health on the running hub, as issue 13's "done when" reads: an account whose payments (Stripe),
support tickets (Zendesk), NPS answer (Typeform) and product usage (the usage API) arrive gets the score and
breakdown the model predicts, worked out here by hand from the model file's thresholds and weights (the NA
measures left out); then a detractor's answer and a failed payment turn it red and publish one churn risk.
Every route refuses the groups it should."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.handoffs.routing_config import load_routing
from tests.e2e.conftest import eventually, settle, started_hub, token
from tests.e2e.customers import Customer


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    state = tmp_path_factory.mktemp("health") / "hub.json"
    with started_hub(Path(state)) as (url, _):
        yield url


@pytest.fixture(scope="module")
def customer(hub: str) -> Customer:
    """Created in Stripe, its billing contact known to Zendesk in its organization; then it pays, reports its
    usage, opens two tickets (one solved four hours later, one high-priority still open) and answers NPS 8."""
    kestrel = Customer(hub)
    kestrel.stripe(
        "customer.created",
        {"object": "customer", "id": kestrel.customer, "email": kestrel.email, "name": "Kestrel Labs"},
    )
    eventually(lambda: kestrel.known_as(f"stripe:{kestrel.customer}"))
    kestrel.zendesk(
        "user.created",
        datetime.now(UTC),
        {
            "id": kestrel.requester,
            "email": kestrel.email,
            "name": "Kim Lee",
            "role": "end-user",
            "organization_id": kestrel.organization,
        },
    )
    eventually(lambda: kestrel.known_as(f"zendesk:{kestrel.organization}"))
    kestrel.stripe(
        "invoice.paid",
        {
            "object": "invoice",
            "id": f"in_{kestrel.customer}_1",
            "customer": kestrel.customer,
            "customer_email": kestrel.email,
            "amount_paid": 49_000,
            "currency": "usd",
            "status": "paid",
        },
    )
    assert kestrel.usage("usage-1", active=12, seats=20, features=3).status_code == 201
    now = datetime.now(UTC)
    kestrel.ticket("9001", "normal", opened=now - timedelta(hours=5), solved=now - timedelta(hours=1))
    kestrel.ticket("9002", "high", opened=now - timedelta(hours=2))
    kestrel.nps(8)
    settle(hub)
    return kestrel


def test_the_score_and_breakdown_are_what_the_model_predicts(customer: Customer) -> None:
    # When the account's health is read by its domain
    answer = customer.health()
    assert answer.status_code == 200, answer.text
    health = answer.json()
    # Then each measure is what was sent, scored by the model's thresholds (config/health-model.json):
    by_measure = {line["measure"]: line for line in health["breakdown"]}
    expected = {  # measure: (raw value, score, weight)
        "seat_utilization": ("0.6000", 80, 20),  # 12 of 20 seats: at least 0.6
        "feature_adoption": ("3", 50, 10),  # 3 features: at least 2
        "open_tickets": ("1", 70, 5),  # ticket 9002 open: at most 2
        "high_severity_tickets": ("1", 50, 5),  # and it is high: at most 1
        "hours_to_resolve": ("4.00", 100, 5),  # 9001 solved in 4 hours: at most 8
        "nps": ("8", 65, 15),  # a passive: at least 7
        "failed_payments": ("0", 100, 5),
        "days_past_due": ("0", 100, 10),
    }
    assert {
        m: (line["value"], line["score"], line["weight"]) for m, line in by_measure.items() if line["score"] is not None
    } == expected
    # And the measures without data are NA, left out: the score is the weighted mean over the rest's weights
    assert sorted(health["na"]) == [
        "active_user_trend",
        "csat",
        "days_since_sponsor_engaged",
        "days_since_touch",
        "milestones_on_time",
        "subscription_status",
    ]
    assert health["milestones"] == []  # no customer handoff: no success plan
    weighted = sum(score * weight for _, score, weight in expected.values())  # 5,675 over 75
    assert health["score"] == round(weighted / sum(weight for *_, weight in expected.values()), 2) == 75.67
    assert health["band"] == "green"
    assert round(sum(line["contribution"] for line in health["breakdown"]), 2) == health["score"]
    assert health["risks"] == []
    # And the change was published on the bus
    assert customer.success_events("customer.health_changed")


def test_a_detractor_answer_and_a_failed_payment_turn_it_red_and_publish_one_churn_risk(customer: Customer) -> None:
    # When its contact answers NPS 3 and an invoice fails
    customer.nps(3)
    customer.stripe(
        "invoice.payment_failed",
        {
            "object": "invoice",
            "id": f"in_{customer.customer}_2",
            "customer": customer.customer,
            "customer_email": customer.email,
            "amount_due": 49_000,
            "currency": "usd",
            "status": "open",
        },
    )
    eventually(lambda: customer.health().json()["band"] == "red")
    settle(customer.url)
    # Then the cap holds it at 35, said in the breakdown, and one churn risk is published, saying why
    health = customer.health().json()
    assert (health["score"], health["caps"][0]["cap"]) == (35.0, "detractor_with_failed_payment")
    cap_line = health["breakdown"][-1]
    assert (cap_line["measure"], cap_line["group"]) == ("detractor_with_failed_payment", "cap")
    assert sum(Decimal(str(line["contribution"])) for line in health["breakdown"]) == Decimal("35")
    assert "turned red" in health["risks"]
    assert [i["playbook"] for i in health["open_interventions"]] == ["churn_save"]
    (risk,) = customer.success_events("customer.churn_risk_detected")
    assert risk["detail"]["band"] == "red"
    assert "turned red" in risk["detail"]["reasons"]


def test_the_churn_playbook_fires_once_with_its_task_alert_suppression_and_enrolment(customer: Customer) -> None:
    # Given the account turned red (the test before); and when another payment fails the next moment
    customer.stripe(
        "invoice.payment_failed",
        {
            "object": "invoice",
            "id": f"in_{customer.customer}_3",
            "customer": customer.customer,
            "customer_email": customer.email,
            "amount_due": 49_000,
            "currency": "usd",
            "status": "open",
        },
    )
    settle(customer.url)
    # Then the churn playbook started once: a CSM task due in two days, with the health before
    (started,) = customer.success_events("customer.intervention_started")
    detail = started["detail"]
    assert (detail["playbook"], detail["band"], detail["score"]) == ("churn_save", "red", 35.0)
    assert detail["task_title"] == f"Save call with {customer.domain}"
    # And the CS leads were told in Slack and by email
    slack = eventually(lambda: customer.slack("#cs-alerts"))
    assert [m for m in slack if customer.domain in m["text"]]
    assert eventually(lambda: [m for m in customer.emails("cs-leads@example.com") if customer.domain in m["subject"]])
    # And marketing was asked to stop promotions to its contacts and to enrol them in the retention campaign
    (suppress,) = customer.success_events("marketing.suppression_requested")
    (enrol,) = customer.success_events("marketing.campaign_enrollment_requested")
    assert enrol["detail"]["campaign_id"] == "retention-save"
    assert suppress["detail"]["contact_ids"] == enrol["detail"]["contact_ids"] != []
    # And the intervention is listed open, with the health before
    listed = requests.get(
        f"{customer.url}/api/v1/integrations/success/interventions",
        params={"tenant_id": customer.domain},
        headers=customer.success,
        timeout=10,
    ).json()["items"]
    assert [(i["playbook"], i["status"], i["band_before"]) for i in listed] == [("churn_save", "open", "red")]
    # And asking for it again by hand while it is open is the same intervention
    again = requests.post(
        f"{customer.url}/api/v1/integrations/success/interventions",
        json={"tenant_id": customer.domain, "playbook": "churn_save", "reason": "call them"},
        headers=customer.success,
        timeout=10,
    )
    assert (again.status_code, again.json()["intervention_id"]) == (200, detail["intervention_id"])


def test_heavy_use_near_the_seat_limit_by_a_promoter_raises_an_expansion_signal(hub: str) -> None:
    # Given another customer using 19 of its 20 seats across six features, and a promoter
    osprey = Customer(hub)
    osprey.stripe(
        "customer.created", {"object": "customer", "id": osprey.customer, "email": osprey.email, "name": "Osprey"}
    )
    eventually(lambda: osprey.known_as(osprey.domain))
    answer = osprey.usage(
        "usage-1", active=19, seats=20, features=6, names=["reports", "dashboards", "alerts", "api", "sso", "exports"]
    )
    assert answer.status_code == 201
    osprey.nps(9)
    settle(hub)
    # Then one expansion signal is on the bus, suggesting what its feature use builds on
    (signal,) = osprey.success_events("customer.expansion_signal")
    assert signal["detail"]["readiness"] >= 70
    assert "analytics_pro" in signal["detail"]["suggestions"]
    # And sales read the same readiness with its evidence
    sales = {"Authorization": f"Bearer {token('sales')}"}
    view = requests.get(f"{hub}/api/v1/cs-sales/expansion/{osprey.domain}", headers=sales, timeout=10).json()
    assert view["ready"] is True
    assert round(sum(e["contribution"] for e in view["evidence"]), 2) == view["readiness"]
    # And the account is handed to sales: an AE (it has no owner yet) has it with the evidence, and is told in Slack
    subject = f"expansion:{signal['detail']['tenant_id']}"

    def handed() -> dict[str, Any] | None:
        listed = requests.get(f"{hub}/api/v1/handoffs", params={"limit": 200}, headers=sales, timeout=10).json()
        return next((item for item in listed["items"] if item["lead_id"] == subject), None)

    summary = eventually(handed)
    handoff = requests.get(f"{hub}/api/v1/handoffs/{summary['handoff_id']}", headers=sales, timeout=10).json()
    assert (handoff["kind"], handoff["status"], handoff["team"]) == ("expansion", "assigned", "ae")
    assert handoff["rule_id"] == "expansion-account-owner"
    assert handoff["details"]["evidence"] == signal["detail"]["reasons"]
    assert handoff["details"]["suggested_products"] == signal["detail"]["suggestions"]
    ae = next(rep for rep in load_routing().reps if rep.rep_id == handoff["rep_id"])
    assert ae.slack_user_id is not None
    told = eventually(lambda: [m for m in osprey.slack(ae.slack_user_id) if "Ready to expand" in m["text"]])
    assert len(told) == 1


def test_a_handoffs_success_plan_is_scored_and_a_csm_completes_its_milestones_once(hub: str) -> None:
    # Given a customer handed to success through the cs-sales API, its plan started ten days ago
    heron = Customer(hub).create()
    starts_on = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
    body = {
        "deal_id": f"deal-{heron.customer}",
        "starts_on": starts_on,
        "executive_sponsor": {"name": "Vic Ortiz", "email": f"vic@{heron.domain}", "role": "VP Operations"},
    }
    handed = requests.post(
        f"{hub}/api/v1/cs-sales/handoff/{heron.domain}", json=body, headers=heron.success, timeout=30
    )
    assert handed.status_code == 201, handed.text
    # When its success_plan.created has reached the health: the kickoff, due three days ago, is overdue
    health = eventually(lambda: (answer := heron.health().json())["milestones"] and answer)
    assert [(m["milestone_id"], m["status"]) for m in health["milestones"][:2]] == [
        ("kickoff", "overdue"),
        ("technical-setup", "open"),
    ]
    # And the CSM completes the kickoff (twice) and the technical setup
    path = f"{hub}/api/v1/cs-sales/handoff/{heron.domain}/milestones/{{}}/complete"
    kickoff = requests.post(path.format("kickoff"), headers=heron.success, timeout=30)
    again = requests.post(path.format("kickoff"), headers=heron.success, timeout=30)
    setup = requests.post(path.format("technical-setup"), headers=heron.success, timeout=30)
    # Then the kickoff was completed once, late; the setup on time: half the settled milestones on time (40)
    assert (kickoff.status_code, kickoff.json()["milestone"]["status"]) == (201, "completed_late")
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    assert (setup.status_code, setup.json()["milestone"]["status"]) == (201, "completed_on_time")
    lines = {line["measure"]: line for line in heron.health().json()["breakdown"]}
    assert (lines["milestones_on_time"]["value"], lines["milestones_on_time"]["score"]) == ("0.5000", 40)
    assert lines["days_since_sponsor_engaged"]["score"] == 100  # named by the handoff today
    # And sales may not record a milestone; an unknown one is named
    sales = {"Authorization": f"Bearer {token('sales')}"}
    assert requests.post(path.format("kickoff"), headers=sales, timeout=30).status_code == 403
    unknown = requests.post(path.format("go-live"), headers=heron.success, timeout=30)
    assert (unknown.status_code, "go-live" in unknown.text) == (404, True)


def test_a_ticket_reopened_after_it_was_solved_counts_as_open_again(hub: str) -> None:
    # Given a customer whose billing contact Zendesk knows, with an urgent ticket opened six hours ago and solved
    # five hours ago
    osprey = Customer(hub).create()
    osprey.zendesk(
        "user.created",
        datetime.now(UTC),
        {"id": osprey.requester, "email": osprey.email, "role": "end-user", "organization_id": osprey.organization},
    )
    eventually(lambda: osprey.known_as(f"zendesk:{osprey.organization}"))
    now = datetime.now(UTC)
    osprey.ticket("9101", "urgent", opened=now - timedelta(hours=6), solved=now - timedelta(hours=5))

    def lines() -> dict[str, Any]:
        return {line["measure"]: line for line in osprey.health().json()["breakdown"]}

    solved = eventually(lambda: (found := lines())["hours_to_resolve"]["value"] == "1.00" and found)
    assert (solved["open_tickets"]["value"], solved["high_severity_tickets"]["value"]) == ("0", "0")
    # When the requester answers it an hour ago and Zendesk reopens it
    osprey.reopen("9101", "urgent", at=now - timedelta(hours=1))
    # Then it is open and high severity again, and its first solving is no longer a resolution
    reopened = eventually(lambda: (found := lines())["open_tickets"]["value"] == "1" and found)
    assert reopened["high_severity_tickets"]["value"] == "1"
    assert reopened["hours_to_resolve"]["value"] is None
    assert "hours_to_resolve" in osprey.health().json()["na"]


def test_usage_reports_are_idempotent_and_bad_ones_are_refused(customer: Customer) -> None:
    again = customer.usage("usage-1", active=12, seats=20, features=3)
    assert (again.status_code, again.json()["recorded"]) == (200, False)
    assert customer.usage("usage-1", active=13, seats=20, features=3).status_code == 409
    bad = requests.post(
        f"{customer.url}/api/v1/integrations/product/usage",
        json={
            "tenant_id": customer.domain,
            "message_id": "x",
            "timestamp": datetime.now(UTC).isoformat(),
            "metrics": {"active_users": -1},
        },
        headers=customer.product,
        timeout=10,
    )
    assert bad.status_code == 422
    assert "metrics.active_users" in bad.text
    assert customer.health("nobody.example").status_code == 404


@pytest.mark.parametrize(
    ("timestamp", "metrics", "named"),
    [
        ("9999-12-31T23:59:59Z", {"active_users": 5}, "timestamp: must fall between 1970-01-01 and 2199-12-31"),
        ("0001-01-01T00:00:00Z", {"active_users": 5}, "timestamp: must fall between 1970-01-01 and 2199-12-31"),
        (1_700_000_000_000, {"active_users": 5}, "timestamp: must be an ISO 8601 date-time string"),
        ((datetime.now(UTC) + timedelta(hours=1)).isoformat(), {"active_users": 5}, "ahead of the hub's clock"),
        ((datetime.now(UTC) - timedelta(days=400)).isoformat(), {"active_users": 5}, "days old"),
        (datetime.now(UTC).isoformat(), {"active_users": True}, "metrics.active_users"),
        (datetime.now(UTC).isoformat(), {"licensed_seats": 12.5}, "metrics.licensed_seats"),
    ],
)
def test_a_usage_report_health_would_never_count_is_refused_naming_the_field(
    customer: Customer, timestamp: str | int, metrics: dict[str, Any], named: str
) -> None:
    # Given a report measured at a time health never reads (or outside the API's years, or as a number of
    # milliseconds), or with a count that is no integer
    body = {"tenant_id": customer.domain, "message_id": f"m-{uuid.uuid4().hex}", "timestamp": timestamp}
    # When it is posted
    answer = requests.post(
        f"{customer.url}/api/v1/integrations/product/usage",
        json=body | {"metrics": metrics},
        headers=customer.product,
        timeout=10,
    )
    # Then it is a 422 naming what is wrong, not "recorded" and then never counted
    assert answer.status_code == 422, answer.text
    assert named in answer.text
    assert "timestamp" in answer.text or "metrics." in answer.text


@pytest.mark.parametrize(
    ("method", "path", "allowed", "refused"),
    [
        (
            "GET",
            "/api/v1/integrations/success/health/{domain}",
            ("success", "sales", "admin"),
            ("marketing", "finance", "product"),
        ),
        (
            "POST",
            "/api/v1/integrations/product/usage",
            ("product", "admin"),
            ("success", "sales", "marketing", "finance"),
        ),
    ],
)
def test_every_route_refuses_the_groups_it_should(
    customer: Customer, method: str, path: str, allowed: tuple[str, ...], refused: tuple[str, ...]
) -> None:
    url = customer.url + path.format(domain=customer.domain)
    body = {
        "tenant_id": customer.domain,
        "message_id": f"rbac-{uuid.uuid4().hex}",
        "timestamp": datetime.now(UTC).isoformat(),
        "metrics": {},
    }
    for group in refused:
        answer = requests.request(
            method, url, json=body, headers={"Authorization": f"Bearer {token(group)}"}, timeout=10
        )
        assert answer.status_code == 403, (group, answer.text)
    for group in allowed:
        answer = requests.request(
            method, url, json=body, headers={"Authorization": f"Bearer {token(group)}"}, timeout=10
        )
        assert answer.status_code in (200, 201), (group, answer.text)
    assert requests.request(method, url, json=body, timeout=10).status_code == 401
