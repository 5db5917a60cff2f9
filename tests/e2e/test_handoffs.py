"""Handoffs on the running hub, as a RevOps team would watch them: an ICP lead requests a demo and is assigned
to the rep the routing file picks within a second; Slack and SES carry the news; the signed Slack Accept click
makes the handoff accepted and the lead an SQL, and the rep's first touch of the lead is recorded, published and
counted in the metrics; an unaccepted handoff breaches its SLA when the hub's clock
moves and goes to the next rep with the manager told; a German lead goes to EMEA; simulate writes nothing.

A hub of its own: these tests move its clock."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from segment.analytics import Client
from slack_sdk.signature import SignatureVerifier

from tests.e2e.conftest import eventually, send_standard_webhook, settle, started_hub, token

ROOT = Path(__file__).resolve().parents[2]
WRITE_KEY = "local-write-key-dev-only"
SLACK_SECRET = json.loads((ROOT / "config/local.secrets.json").read_text())["slack"][0]
AMER_SDRS = {"sdr-maya-chen", "sdr-jordan-reyes", "sdr-sam-okafor"}
EMEA_SDRS = {"sdr-lena-vogel", "sdr-tobias-brandt", "sdr-oliver-hughes"}


class Hub:
    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = {"Authorization": f"Bearer {token('admin')}"}
        self.segment = Client(WRITE_KEY, host=url, sync_mode=True, max_retries=0)

    def get(self, path: str, **params: Any) -> Any:
        response = requests.get(f"{self.url}{path}", headers=self.admin, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, headers=headers or self.admin, timeout=30)

    def demo_request(self, country: str, **profile: Any) -> str:
        """An ICP lead captured from a form, who then identifies and requests a demo; returns the lead id."""
        run = uuid.uuid4().hex[:8]
        email = f"buyer.{run}@company-{run}.example"
        captured = self.post(
            "/api/v1/integrations/sales/leads",
            {
                "email": email,
                "source": "web form",
                "first_name": "Alex",
                "last_name": f"Buyer {run}",
                "company": f"Company {run}",
                "job_title": "VP of Sales",
                "industry": "Software",
                "employee_count": 450,
                "annual_revenue": "60000000",
                "country": country,
                **profile,
            },
        )
        assert captured.status_code == 201, captured.text
        self.segment.identify(f"user-{run}", {"email": email})
        self.segment.track(f"user-{run}", "Demo Requested")
        self.segment.flush()
        return str(captured.json()["lead_id"])

    def handoff_of(self, lead_id: str) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            items = [h for h in self.get("/api/v1/handoffs", limit=200)["items"] if h["lead_id"] == lead_id]
            return items[0] if items and items[0]["status"] == "assigned" else None

        summary = eventually(found)
        return dict(self.get(f"/api/v1/handoffs/{summary['handoff_id']}"))

    def events(self, detail_type: str, handoff_id: str) -> list[dict[str, Any]]:
        events = requests.get(f"{self.url}/_local/events", params={"detail-type": detail_type}, timeout=10).json()
        return [e for e in events if e["detail"].get("handoff_id") == handoff_id]

    def slack_messages(self, channel: str) -> list[dict[str, Any]]:
        return list(
            requests.get(f"{self.url}/_local/slack/messages", params={"channel": channel}, timeout=10).json()[
                "messages"
            ]
        )

    def emails_to(self, address: str) -> list[dict[str, Any]]:
        return list(
            requests.get(f"{self.url}/_local/email/messages", params={"to": address}, timeout=10).json()["messages"]
        )

    def timers(self) -> list[dict[str, Any]]:
        return list(requests.get(f"{self.url}/_local/timers", timeout=10).json()["timers"])

    def rep(self, rep_id: str) -> dict[str, Any]:
        return next(rep for rep in self.get("/api/v1/routing/reps")["reps"] if rep["rep_id"] == rep_id)

    def click(self, action_id: str, value: str, slack_user_id: str) -> requests.Response:
        """The rep's click, as Slack sends it: a form-encoded block_actions payload, signed with the app's secret."""
        payload = {
            "type": "block_actions",
            "user": {"id": slack_user_id, "username": slack_user_id},
            "team": {"id": "T0LOCAL01"},
            "channel": {"id": slack_user_id},
            "container": {"type": "message", "message_ts": f"{time.time():.6f}", "channel_id": slack_user_id},
            "trigger_id": uuid.uuid4().hex,
            "actions": [{"action_id": action_id, "value": value, "type": "button", "action_ts": f"{time.time():.6f}"}],
        }
        body = urlencode({"payload": json.dumps(payload)})
        timestamp = str(int(time.time()))
        signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=body)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
        }
        return requests.post(f"{self.url}/webhooks/slack", data=body, headers=headers, timeout=10)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with started_hub(tmp_path_factory.mktemp("handoffs") / "hub.json") as (url, _):
        yield Hub(url)


def button(message: dict[str, Any], action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {message['text']}")


def test_an_icp_lead_requesting_a_demo_is_assigned_told_and_accepted_from_slack(hub: Hub) -> None:
    # Given an AMER ICP lead who requests a demo
    lead_id = hub.demo_request("US")
    # When the hub routes it, then an AMER SDR has it within a second of the request, due within the SLA
    handoff = hub.handoff_of(lead_id)
    assert handoff["rep_id"] in AMER_SDRS
    assert handoff["team"] == "sdr-amer"
    assert handoff["priority"] == "priority"
    assert handoff["sla_due_at"] is not None
    requested = next(h for h in handoff["history"] if h["status"] == "requested")["at"]
    assigned = next(h for h in handoff["history"] if h["status"] == "assigned")["at"]
    assert assigned >= requested
    # And the handoff carries the lead: profile, score breakdown and engagement
    assert handoff["lead"]["lead_id"] == lead_id
    assert handoff["lead"]["breakdown"]
    assert any(e["kind"] == "demo_request" for e in handoff["lead"]["engagement"])
    # And the rep hears of it in Slack (with buttons) and by email, the team channel too
    rep = hub.rep(handoff["rep_id"])
    message = eventually(lambda: hub.slack_messages(rep["slack_user_id"]))[0]
    assert eventually(lambda: hub.emails_to(rep["email"]))
    assert eventually(lambda: hub.slack_messages("#sdr-amer-handoffs"))
    # When the rep clicks Accept in Slack (a signed interaction through the webhook gateway)
    clicked = hub.click("handoff_accept", button(message, "handoff_accept"), rep["slack_user_id"])
    assert clicked.status_code == 200, clicked.text
    # Then the handoff is accepted, and the lead becomes an SQL
    accepted = eventually(lambda: hub.get(f"/api/v1/handoffs/{handoff['handoff_id']}")["status"] == "accepted")
    assert accepted
    assert eventually(lambda: hub.get(f"/api/v1/leads/{lead_id}")["stage"] == "SQL")
    assert len(hub.events("handoff.accepted", handoff["handoff_id"])) == 1
    # And of its timers only the first-touch deadline is left: accepting is not touching the lead
    handoff_id = handoff["handoff_id"]

    def pending() -> set[str]:
        return {t["kind"] for t in hub.timers() if t["handoff_id"] == handoff_id}

    assert eventually(lambda: pending() == {"first_touch"})
    # When the rep's first call to the lead is recorded
    touched = hub.post(f"/api/v1/handoffs/{handoff_id}/touch", {"channel": "call", "note": "discovery call booked"})
    # Then it is stored within the first-touch SLA, published, its deadline is gone, and the metrics count it
    assert touched.status_code == 200, touched.text
    assert (touched.json()["status"], touched.json()["first_touch"]["within_sla"]) == ("accepted", True)
    [event] = eventually(lambda: hub.events("handoff.first_touched", handoff_id))
    assert (event["detail"]["channel"], event["detail"]["within_sla"], event["detail"]["rep_id"]) == (
        "call",
        True,
        rep["rep_id"],
    )
    assert pending() == set()
    metrics = hub.get("/api/v1/handoffs/metrics")
    assert metrics["assigned_to_first_touch"]["count"] >= 1
    row = next(row for row in metrics["sla"] if (row["priority"], row["team"]) == ("priority", "sdr-amer"))
    assert row["touched_within_sla"] >= 1


def test_an_unaccepted_handoff_breaches_when_the_clock_moves_and_goes_to_the_next_rep(hub: Hub) -> None:
    # Given an assigned, unaccepted handoff
    lead_id = hub.demo_request("US")
    handoff = hub.handoff_of(lead_id)
    first = handoff["rep_id"]
    # (its timers are set once the assignment is announced, just after it is stored: wait for the accept SLA's)
    eventually(
        lambda: any(t["handoff_id"] == handoff["handoff_id"] and t["kind"] == "sla_accept" for t in hub.timers())
    )
    # When the hub's clock passes its SLA (working hours may put it the next morning: move three days)
    moved = hub.post("/_local/clock", {"advance_minutes": 3 * 24 * 60})
    assert moved.status_code == 200, moved.text
    assert any(t["handoff_id"] == handoff["handoff_id"] and t["kind"] == "sla_accept" for t in moved.json()["fired"])
    # Then the breach is published, the handoff went to another rep, and the team's manager was told
    after = eventually(lambda: (h := hub.get(f"/api/v1/handoffs/{handoff['handoff_id']}"))["rep_id"] != first and h)
    assert after["reassignments"] >= 1
    assert first in after["excluded_reps"]
    assert hub.events("handoff.sla_breached", handoff["handoff_id"])
    manager = hub.rep("mgr-priya-nair")
    assert eventually(lambda: hub.emails_to(manager["email"]))


def test_a_german_lead_goes_to_the_emea_team(hub: Hub) -> None:
    handoff = hub.handoff_of(hub.demo_request("DE"))
    assert handoff["team"] == "sdr-emea"
    assert handoff["rep_id"] in EMEA_SDRS


def test_simulate_routes_without_writing(hub: Hub) -> None:
    # Given the shipped routing file with its AMER rule moved to plain round robin
    routing = json.loads((ROOT / "config/routing.json").read_text())
    routing["version"] = "candidate-1"
    before = hub.get("/api/v1/handoffs", limit=200)["items"]
    loads = {rep["rep_id"]: rep["open_handoffs"] for rep in hub.get("/api/v1/routing/reps")["reps"]}
    leads = [
        {"lead_id": f"sim-{n}", "email": f"sim{n}@example.com", "country": "US", "fit_score": "40"} for n in range(6)
    ]
    # When it is simulated against six AMER leads
    response = hub.post("/api/v1/routing/simulate", {"routing": routing, "leads": leads})
    # Then every lead has a rep, the spread is reported, and nothing was stored or published
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["leads_routed"] == 6
    assert report["unroutable"] == []
    assert sum(report["assigned_per_rep"].values()) == 6
    assert hub.get("/api/v1/handoffs", limit=200)["items"] == before
    assert {rep["rep_id"]: rep["open_handoffs"] for rep in hub.get("/api/v1/routing/reps")["reps"]} == loads


def standard_webhook(hub: Hub, event_type: str, data: dict[str, Any]) -> requests.Response:
    """A Standard Webhooks delivery, signed as any sender would with the hub's configured secret."""
    return send_standard_webhook(hub.url, event_type, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), data)


def test_a_won_deal_hands_the_customer_to_a_csm_with_a_success_plan(hub: Hub) -> None:
    # Given a lead whose company the hub knows as an account
    lead_id = hub.demo_request("US")
    lead = eventually(lambda: (found := hub.get(f"/api/v1/leads/{lead_id}"))["account_id"] and found)
    account_id, email = lead["account_id"], lead["profile"]["email"]
    # When the deal is won (reported by any sender as a Standard Webhooks deal.won)
    deal = f"deal-{uuid.uuid4().hex[:8]}"
    answer = standard_webhook(
        hub, "deal.won", {"deal_id": deal, "email": email, "amount": "48000.00", "currency": "USD"}
    )
    assert answer.status_code == 202, answer.text

    # Then the customer is handed to a CSM with a success plan from the template, and the events say so
    def handed() -> dict[str, Any] | None:
        response = requests.get(f"{hub.url}/api/v1/cs-sales/handoff/{account_id}", headers=hub.admin, timeout=10)
        return response.json() if response.status_code == 200 else None

    handoff = eventually(handed)
    assert handoff["rep_id"] in {"csm-emma-johansson", "csm-carlos-mendez", "csm-grace-lee"}
    assert handoff["team"] == "csm"
    assert handoff["handover"]["contract_value"] == "48000.00"
    assert next(m["milestone_id"] for m in handoff["success_plan"]["milestones"]) == "kickoff"
    assert handoff["baseline"]["contract_value"] == "48000.00"
    # both of one publish, which the local bus records one entry at a time: each is waited for
    assert eventually(lambda: hub.events("customer.handoff_completed", handoff["handoff_id"]))
    assert eventually(lambda: hub.events("success_plan.created", handoff["handoff_id"]))
    # And the company's domain names the same customer: a GET by it reads this handoff, another deal by it is a
    # 409 naming this one (not a second onboarding)
    domain = email.split("@")[1]
    by_domain = requests.get(f"{hub.url}/api/v1/cs-sales/handoff/{domain}", headers=hub.admin, timeout=10)
    assert by_domain.status_code == 200, by_domain.text
    assert (by_domain.json()["handoff_id"], by_domain.json()["customer_id"]) == (handoff["handoff_id"], account_id)
    other = hub.post(f"/api/v1/cs-sales/handoff/{domain}", {"deal_id": f"other-{deal}"})
    assert other.status_code == 409, other.text
    assert handoff["handoff_id"] in other.json()["message"]
    # And the same handoff asked again through the API is a conflict naming what differs (sales said more)
    again = hub.post(f"/api/v1/cs-sales/handoff/{account_id}", {"deal_id": f"standard:{deal}", "goals": ["go live"]})
    assert again.status_code == 409, again.text
    assert "goals" in again.json()["message"]


def test_a_handoff_click_sent_as_a_standard_webhook_accepts_nothing(hub: Hub) -> None:
    # Given an assigned handoff, and its team manager's Slack user id (a manager may accept any handoff)
    handoff = hub.handoff_of(hub.demo_request("US"))
    manager = hub.rep("mgr-priya-nair")
    # When someone with the Standard Webhooks secret sends a handoff.accepted naming the handoff and the manager
    data = {"handoff_id": handoff["handoff_id"], "slack_user_id": manager["slack_user_id"], "slack_user_name": "x"}
    answer = standard_webhook(hub, "handoff.accepted", data)
    assert answer.status_code == 202, answer.text
    settle(hub.url)
    # Then the handoff is still assigned to its rep: only a click Slack signed acts in a Slack user's name
    after = hub.get(f"/api/v1/handoffs/{handoff['handoff_id']}")
    assert (after["status"], after["rep_id"]) == ("assigned", handoff["rep_id"])
    assert hub.events("handoff.accepted", handoff["handoff_id"]) == []


def test_slack_down_still_emails_the_rep_once(hub: Hub) -> None:
    # Given Slack failing every post for a while (more than the notifier's retries)
    faults = requests.post(f"{hub.url}/_local/slack/faults", json={"calls": 20}, timeout=10)
    assert faults.status_code == 200, faults.text
    try:
        # When a demo request is assigned
        handoff = hub.handoff_of(hub.demo_request("US"))
        handoff_id = handoff["handoff_id"]
        rep = hub.rep(handoff["rep_id"])

        def about_it(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [m for m in messages if handoff_id in json.dumps(m)]

        # Then the rep is emailed though Slack never took the message
        assert eventually(lambda: about_it(hub.emails_to(rep["email"])))
        settle(hub.url)
        # And the retries of the failed Slack message did not email the rep again
        assert len(about_it(hub.emails_to(rep["email"]))) == 1
        assert about_it(hub.slack_messages(rep["slack_user_id"])) == []
    finally:
        requests.post(f"{hub.url}/_local/slack/faults", json={"calls": 0}, timeout=10).raise_for_status()


def test_a_customer_handoff_for_a_customer_the_hub_does_not_know_is_404(hub: Hub) -> None:
    answer = hub.post("/api/v1/cs-sales/handoff/nonexistent", {"deal_id": f"crm-{uuid.uuid4().hex[:8]}"})
    assert answer.status_code == 404, answer.text
    assert "'nonexistent'" in answer.json()["message"]


def test_a_customer_handoff_through_the_api_is_idempotent(hub: Hub) -> None:
    lead_id = hub.demo_request("DE")
    account_id = eventually(lambda: hub.get(f"/api/v1/leads/{lead_id}")["account_id"])
    body = {
        "deal_id": f"crm-{uuid.uuid4().hex[:8]}",
        "executive_sponsor": {"name": "Dana Cole", "email": "dana@example.com", "role": "CFO"},
        "goals": ["Cut lead response time to 5 minutes"],
        "products": ["routing"],
        "contract_value": "120000",
        "currency": "EUR",
        "seats": 40,
        "starts_on": "2026-01-05",
    }
    first = hub.post(f"/api/v1/cs-sales/handoff/{account_id}", body)
    second = hub.post(f"/api/v1/cs-sales/handoff/{account_id}", body)
    assert first.status_code == 201, first.text
    assert second.status_code == 200, second.text
    assert second.json()["handoff_id"] == first.json()["handoff_id"]
    assert first.json()["success_plan"]["milestones"][0]["due_on"] == "2026-01-12"
    assert first.json()["baseline"]["seats"] == 40
