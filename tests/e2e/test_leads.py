"""A lead's life on the running hub: captured through the lead API, browsing anonymously, identifying and
engaging through the Segment-compatible API, qualifying as an MQL, explained, simulated and unmerged."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from segment.analytics.client import Client

from shared.scoring.engine import Engagement, Profile, score
from shared.scoring.model import DEFAULT_MODEL_PATH, load_model
from tests.e2e.conftest import eventually, settle, token, wait_for_event

WRITE_KEY = "local-write-key-dev-only"


def api(hub: str, method: str, path: str, group: str = "marketing", **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token(group)}"}
    return requests.request(method, f"{hub}{path}", headers=headers, timeout=30, **kwargs)


class Journey:
    """What the test sends, kept so the expected score can be computed independently with the engine."""

    def __init__(self, hub: str) -> None:
        self.hub = hub
        self.run = uuid.uuid4().hex[:8]
        self.email = f"grace.{self.run}@acme.io"
        self.user_id = f"user-{self.run}"
        self.anonymous_id = f"anon-{self.run}"
        self.now = datetime.now(UTC)
        self.engagements: list[Engagement] = []
        self.client = Client(WRITE_KEY, host=hub, sync_mode=True, max_retries=0)

    def page(self, days_ago: float, path: str, anonymous: bool) -> None:
        at = self.now - timedelta(days=days_ago)
        who = {"anonymous_id": self.anonymous_id} if anonymous else {"user_id": self.user_id}
        self.client.page(name=path, properties={"path": path}, timestamp=at, **who)
        self.engagements.append(Engagement.of(f"p{len(self.engagements)}", at, "page_view", name=path, path=path))

    def track(self, days_ago: float, event: str, kind: str, message_id: str | None = None, **props: Any) -> None:
        at = self.now - timedelta(days=days_ago)
        self.client.track(self.user_id, event, props, timestamp=at, message_id=message_id)
        name = props.get("title", event)
        self.engagements.append(Engagement.of(f"t{len(self.engagements)}", at, kind, name=name, properties=props))


@pytest.fixture(scope="module")
def journey(hub: str) -> Journey:
    return Journey(hub)


@pytest.fixture(scope="module")
def lead_id(hub: str, journey: Journey) -> str:
    response = api(
        hub,
        "POST",
        "/api/v1/integrations/sales/leads",
        json={"email": journey.email, "source": "web form", "company": "Acme", "job_title": "VP of Sales"},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["lead_id"])


def test_capturing_the_same_person_twice_gives_the_same_lead(hub: str, journey: Journey, lead_id: str) -> None:
    again = api(
        hub,
        "POST",
        "/api/v1/integrations/sales/leads",
        json={"email": journey.email.upper(), "source": "partner", "company": "Acme", "job_title": "VP"},
    )
    assert again.status_code == 200
    assert again.json() == {"lead_id": lead_id, "created": False}


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        ({"email": "not-an-email", "source": "form", "company": "A", "job_title": "B"}, "email"),
        ({"email": "x@acme.io", "source": "form"}, "company, job_title"),
        ({"email": "x@acme.io", "company": "A", "job_title": "B"}, "source"),
    ],
)
def test_bad_leads_are_422_naming_what_to_fix(hub: str, body: dict, mentions: str) -> None:
    response = api(hub, "POST", "/api/v1/integrations/sales/leads", json=body)
    assert response.status_code == 422
    assert mentions in response.json()["message"]


def test_only_marketing_sales_and_admin_may_capture_leads(hub: str) -> None:
    response = api(hub, "POST", "/api/v1/integrations/sales/leads", group="finance", json={})
    assert response.status_code == 403


def test_a_lead_who_engages_reaches_mql_with_the_score_the_model_predicts(
    hub: str, journey: Journey, lead_id: str
) -> None:
    # Given the captured lead browsed anonymously first: five sessions over five days
    for day in (5, 4, 3, 2, 1):
        journey.page(day, f"/blog/post-{day}", anonymous=True)
    # When they identify (linking the anonymous visitor), click six emails and read three pieces of content
    traits = {"email": journey.email, "industry": "Software", "employees": 500, "title": "VP of Sales", "country": "US"}
    journey.client.identify(journey.user_id, traits, anonymous_id=journey.anonymous_id)
    for day in (6, 5, 4, 3, 2, 1):
        journey.track(day, "Email Link Clicked", "email_click")
    for title in ("RevOps guide", "Pipeline report", "Attribution 101"):
        journey.track(0.5, "Content Downloaded", "content_download", title=title)
    # Then lead.mql_reached is published for the captured lead
    wait_for_event(hub, lambda e: e["detail-type"] == "lead.mql_reached" and e["detail"]["lead_id"] == lead_id, 30)
    view = api(hub, "GET", f"/api/v1/leads/{lead_id}").json()
    assert view["stage"] == "MQL"
    assert view["mql"]["met"] is True
    # And the anonymous visitor was merged in, and everything it did counts
    assert len(view["merged_leads"]) == 1
    assert sum(line["category"] == "engagement" for line in view["breakdown"]) == len(journey.engagements)
    # And the breakdown sums exactly to the score, which is what the engine predicts from what was sent
    assert round(sum(line["points"] for line in view["breakdown"]), 2) == view["score"]
    profile = Profile(
        email=journey.email,
        job_title="VP of Sales",
        industry="Software",
        country="US",
        company_domain="acme.io",
        employee_count=500,
    )
    expected = score(load_model(), profile, journey.engagements, datetime.fromisoformat(view["as_of"]))
    assert view["score"] == expected.total
    assert view["fit_score"] == expected.fit_score
    # And the stage history shows each move
    assert [move["to_stage"] for move in view["history"]["stages"]] == ["Lead", "MQL"]


def test_the_same_event_twice_scores_once(hub: str, journey: Journey, lead_id: str) -> None:
    # Given an email open the hub has scored: the lead shows one engagement line per event sent
    journey.track(0.1, "Email Opened", "email_open", message_id=f"open-{journey.run}")
    before = eventually(lambda: scored_engagements(hub, lead_id, len(journey.engagements)))
    # When the SDK sends it again (same messageId), and the hub has handled all that follows
    journey.client.track(journey.user_id, "Email Opened", {}, message_id=f"open-{journey.run}")
    settle(hub)
    # Then the lead has the same engagement lines as before
    # (points decay with time, so the lines are compared by what they are, not what they are worth now)
    after = api(hub, "GET", f"/api/v1/leads/{lead_id}").json()
    assert [(line["category"], line["rule"]) for line in after["breakdown"]] == [
        (line["category"], line["rule"]) for line in before["breakdown"]
    ]


def scored_engagements(hub: str, lead_id: str, expected: int) -> dict[str, Any] | None:
    """The lead's view once it shows `expected` engagement lines."""
    view: dict[str, Any] = api(hub, "GET", f"/api/v1/leads/{lead_id}").json()
    return view if sum(line["category"] == "engagement" for line in view["breakdown"]) == expected else None


def test_leads_are_found_by_email_and_listed_by_stage(hub: str, journey: Journey, lead_id: str) -> None:
    by_email = api(hub, "GET", "/api/v1/leads", params={"email": journey.email}).json()
    assert [item["lead_id"] for item in by_email["items"]] == [lead_id]
    mqls = api(hub, "GET", "/api/v1/leads", group="sales", params={"stage": "MQL", "min_score": 1}).json()
    assert lead_id in [item["lead_id"] for item in mqls["items"]]
    scores = [item["score"] for item in mqls["items"]]
    assert scores == sorted(scores, reverse=True)


def test_simulate_reports_what_a_stricter_model_would_do_without_changing_anything(hub: str, lead_id: str) -> None:
    # Given a candidate model that asks for much more email engagement
    candidate = json.loads(DEFAULT_MODEL_PATH.read_text())
    stricter = copy.deepcopy(candidate) | {"version": "stricter"}
    stricter["mql"]["email_engagement_min"] = 140
    before = api(hub, "GET", f"/api/v1/leads/{lead_id}").json()
    # When it is simulated
    report = api(hub, "POST", "/api/v1/scoring/simulate", json={"model": stricter})
    # Then the lead is reported as dropping below MQL, and nothing about it changed
    assert report.status_code == 200, report.text
    assert lead_id in report.json()["would_drop_below_mql"]
    after = api(hub, "GET", f"/api/v1/leads/{lead_id}").json()
    assert (after["stage"], after["history"]) == (before["stage"], before["history"])


def test_a_bad_candidate_model_is_refused_naming_the_rule(hub: str) -> None:
    model = json.loads(DEFAULT_MODEL_PATH.read_text())
    model["engagement"]["rules"][0]["max_per_day"] = 1
    response = api(hub, "POST", "/api/v1/scoring/simulate", json={"model": model})
    assert response.status_code == 400
    assert model["engagement"]["rules"][0]["id"] in response.json()["message"]


def test_unmerge_gives_the_visitor_back_its_browsing(hub: str, lead_id: str) -> None:
    # Given the lead with the anonymous visitor merged in
    merged = api(hub, "GET", f"/api/v1/leads/{lead_id}").json()
    [visitor_id] = merged["merged_leads"]
    # When the merge is undone
    response = api(hub, "POST", f"/api/v1/leads/{lead_id}/unmerge", json={})
    # Then both stand alone again: the visitor has its page views, the lead has lost them
    assert response.status_code == 200, response.text
    assert response.json()["separated_from"] == visitor_id
    lead, visitor = (api(hub, "GET", f"/api/v1/leads/{i}").json() for i in (lead_id, visitor_id))
    assert lead["merged_leads"] == []
    assert visitor["merged_into"] is None
    assert kinds(visitor) == {"page_view"}
    assert "page_view" not in kinds(lead)
    assert lead["score"] < merged["score"]
    assert [m["undone_at"] is not None for m in lead["history"]["merges"]] == [True]


def kinds(view: dict) -> set[str]:
    return {line["detail"].split(" ")[0] for line in view["breakdown"] if line["category"] == "engagement"}


def test_an_unknown_lead_is_404(hub: str) -> None:
    assert api(hub, "GET", "/api/v1/leads/nobody").status_code == 404


def test_the_nurture_schedule_can_be_fired_locally(hub: str) -> None:
    # Given the hourly nurture schedule of the catalog
    # When it is fired on demand
    response = requests.post(f"{hub}/_local/schedules/lead-nurture-hourly", timeout=60)
    # Then the nurture function ran to completion
    assert response.status_code == 200
    assert response.json() == {"schedule": "lead-nurture-hourly", "delivered": True}
    assert requests.post(f"{hub}/_local/schedules/nope", timeout=5).status_code == 404


def test_bus_events_can_be_filtered_by_type_and_position(hub: str, lead_id: str) -> None:
    everything = requests.get(f"{hub}/_local/events", timeout=10).json()
    scored = requests.get(f"{hub}/_local/events", params={"detail-type": "lead.score_changed"}, timeout=10).json()
    assert scored
    assert {e["detail-type"] for e in scored} == {"lead.score_changed"}
    last = everything[-1]["seq"]
    later = requests.get(f"{hub}/_local/events", params={"since": last - 1}, timeout=10).json()
    assert [e["seq"] for e in later][:1] == [last]  # since=N: what came after event N
