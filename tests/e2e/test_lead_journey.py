"""A new user's lead journey on the running hub, as issue 7 replayed it: an anonymous visitor browses and
identifies, is captured with company data, submits a HubSpot form, starts a Stripe trial, sends a Segment
batch and requests a demo; an anonymous user id requests one too; then the model is changed and applied with
`make rescore`. Every delivery is signed as its vendor signs it, and goes through the real HTTP routes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from segment.analytics.client import Client

from local_runtime.example import SECRETS
from shared.scoring.model import DEFAULT_MODEL_PATH
from tests.e2e.conftest import (
    ROOT,
    bus_events,
    eventually,
    send_hubspot_property_change,
    send_stripe_event,
    started_hub,
    token,
)

WRITE_KEY = "local-write-key-dev-only"
SECRET = {vendor: values[0] for vendor, values in json.loads(SECRETS.read_text()).items()}


def api(hub: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token('marketing')}"}
    return requests.request(method, f"{hub}{path}", headers=headers, timeout=30, **kwargs)


class Journey:
    def __init__(self, hub: str) -> None:
        self.hub = hub
        run = uuid.uuid4().hex[:8]
        self.run = run
        self.email = f"sam.ortiz.{run}@northwind-{run}.io"
        self.user_id, self.anonymous_id = f"user-{run}", f"anon-{run}"
        self.stranger_id = f"stranger-{run}"
        self.hubspot_id = int(run, 16) % 10**9
        self.customer_id = f"cus_{run}"
        self.segment = Client(WRITE_KEY, host=hub, sync_mode=True, max_retries=0)

    def stripe(self, event_type: str, obj: dict[str, Any]) -> None:
        response = send_stripe_event(self.hub, event_type, obj)
        assert response.status_code == 202, response.text

    def hubspot(self, prop: str, value: str) -> None:
        response = send_hubspot_property_change(self.hub, self.hubspot_id, prop, value)
        assert response.status_code == 202, response.text

    def lead(self, lead_id: str) -> dict[str, Any]:
        response = api(self.hub, "GET", f"/api/v1/leads/{lead_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def lead_events(self, detail_type: str, reason_mentions: str = "") -> list[dict[str, Any]]:
        return [
            e["detail"]
            for e in bus_events(self.hub)
            if e["detail-type"] == detail_type and reason_mentions in (e["detail"].get("reason") or "")
        ]

    def kinds(self, lead_id: str) -> set[str]:
        return {
            line["detail"].split(" ")[0] for line in self.lead(lead_id)["breakdown"] if line["category"] == "engagement"
        }


@pytest.fixture(scope="module")
def state_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("journey-hub") / "local.json"


@pytest.fixture(scope="module")
def journey(state_file: Path) -> Iterator[Journey]:
    """A hub of its own: the journey ends by applying another scoring model, which the other modules' expected
    scores must not see."""
    with started_hub(state_file) as (url, _):
        yield Journey(url)


@pytest.fixture(scope="module")
def lead_id(journey: Journey) -> str:
    """The whole journey, once; each test below reads one outcome of it."""
    segment = journey.segment
    # an anonymous visitor browses, then identifies as Sam Ortiz
    for path in ("/blog/revops", "/integrations/hubspot"):
        segment.page(anonymous_id=journey.anonymous_id, name=path, properties={"path": path})
    traits = {"email": journey.email, "firstName": "Sam", "lastName": "Ortiz"}
    segment.identify(journey.user_id, traits, anonymous_id=journey.anonymous_id)
    # a page named "Pricing" and a tracked "Email Opened" name nothing but themselves
    segment.page(journey.user_id, name="Pricing", properties={"path": "/pricing"})
    segment.track(journey.user_id, "Email Opened")
    # the web form captures Sam with the company data the fit rules read
    captured = api(
        journey.hub,
        "POST",
        "/api/v1/integrations/sales/leads",
        json={
            "email": journey.email,
            "source": "web form",
            "company": "Northwind",
            "job_title": "VP of Revenue Operations",
            "industry": "Software",
            "employee_count": 450,
            "annual_revenue": "60000000",
            "country": "US",
        },
    )
    assert captured.status_code in (200, 201), captured.text
    lead = str(captured.json()["lead_id"])
    # HubSpot: the contact's email, then a form submission
    journey.hubspot("email", journey.email)
    journey.hubspot("num_conversion_events", "1")
    # Stripe: the customer, then a trialing subscription
    journey.stripe("customer.created", {"object": "customer", "id": journey.customer_id, "email": journey.email})
    journey.stripe(
        "customer.subscription.created",
        {"object": "subscription", "id": f"sub_{journey.run}", "customer": journey.customer_id, "status": "trialing"},
    )
    # a Segment batch of content, then a demo request; and a stranger with no email requests a demo too
    for title in ("RevOps guide", "Pipeline report"):
        segment.track(journey.user_id, "Content Downloaded", {"title": title})
    segment.flush()
    segment.track(journey.user_id, "Demo Requested")
    segment.track(journey.stranger_id, "Demo Requested", message_id=f"stranger-demo-{journey.run}")
    eventually(lambda: {"form_submit", "trial_signup", "demo_request"} <= journey.kinds(lead))
    eventually(lambda: journey.lead_events("lead.score_changed", f"stranger-demo-{journey.run}"))
    return lead


def test_the_profile_keeps_the_persons_name(journey: Journey, lead_id: str) -> None:
    profile = journey.lead(lead_id)["profile"]
    assert (profile["first_name"], profile["last_name"]) == ("Sam", "Ortiz")


def test_the_fit_score_comes_from_the_captured_company_data(journey: Journey, lead_id: str) -> None:
    view = journey.lead(lead_id)
    fit_rules = {line["rule"] for line in view["breakdown"] if line["category"] == "fit"}
    assert {"industry-core", "employees-200-999", "revenue-50m-500m", "country-core"} <= fit_rules
    assert view["mql"]["icp_fit"] is True


def test_the_trial_and_the_form_submission_are_scored(journey: Journey, lead_id: str) -> None:
    assert {"trial_signup", "form_submit"} <= journey.kinds(lead_id)


def test_the_lead_is_linked_to_its_account(journey: Journey, lead_id: str) -> None:
    assert journey.lead(lead_id)["account_id"]


def test_the_qualified_lead_is_handed_off_and_the_anonymous_user_id_is_not(journey: Journey, lead_id: str) -> None:
    # the stranger's demo request was scored (on a lead of its own, with no email)...
    [stranger] = journey.lead_events("lead.score_changed", f"stranger-demo-{journey.run}")
    assert stranger["email"] is None
    # ...and no one but Sam was handed off, once, with priority (one request: the bus delivers at least once, and
    # a lead commit redone after its events went out publishes the same event id again, which consumers drop)
    handoffs = {h["event_id"]: h for h in journey.lead_events("lead.handoff_requested")}
    assert [(h["lead_id"], h["priority"]) for h in handoffs.values()] == [(lead_id, "priority")], handoffs


def test_after_a_rescore_every_read_agrees(journey: Journey, lead_id: str, state_file: Path, tmp_path: Path) -> None:
    # Given a candidate model with a new version that weighs the industry differently
    candidate = json.loads(DEFAULT_MODEL_PATH.read_text())
    candidate["version"] = f"journey-{journey.run}"
    candidate["fit"]["rules"][0]["points"] = 25
    path = tmp_path / "candidate.json"
    path.write_text(json.dumps(candidate))
    # When it is applied with `make rescore` against this hub (found through the hub's state file)
    env = os.environ | {"HUB_STATE_FILE": str(state_file)}
    done = subprocess.run(
        [sys.executable, "-m", "ops.rescore", "--model", str(path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert f"model journey-{journey.run} is in force" in done.stdout
    # Then the lead's profile and the stage list read the same version and the same score
    view = journey.lead(lead_id)
    stage_list = api(journey.hub, "GET", "/api/v1/leads", params={"stage": view["stage"], "limit": 200}).json()
    [listed] = [item for item in stage_list["items"] if item["lead_id"] == lead_id]
    assert view["model_version"] == f"journey-{journey.run}"
    industry = next(line for line in view["breakdown"] if line["rule"] == "industry-core")
    assert industry["points"] == 25
    assert listed["fit_score"] == view["fit_score"]


def test_a_second_rescore_of_changed_rules_under_the_same_version_is_refused(
    journey: Journey, lead_id: str, state_file: Path, tmp_path: Path
) -> None:
    candidate = json.loads(DEFAULT_MODEL_PATH.read_text())
    candidate["version"] = f"journey-{journey.run}"
    candidate["fit"]["rules"][0]["points"] = 1
    path = tmp_path / "changed.json"
    path.write_text(json.dumps(candidate))
    env = os.environ | {"HUB_STATE_FILE": str(state_file)}
    done = subprocess.run(
        [sys.executable, "-m", "ops.rescore", "--model", str(path)], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "applied before with different rules" in done.stderr
    assert journey.lead(lead_id)["breakdown"][0]["points"] != 1
