"""The audit trail on the running hub: every write through /api/v1, every refusal and every operator command run
is recorded, and `GET /api/v1/audit` (admins only) answers who did what to a lead, by target, actor, route and
time, page after page; no email is kept in clear anywhere in the trail."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import jwt
import pytest
import requests

from shared.catalog import CATALOG, physical_name
from shared.catalog.audit import AUDIT
from shared.scoring.model import DEFAULT_MODEL_PATH
from tests.e2e.conftest import ROOT, eventually, token
from tests.e2e.test_client_credentials import client_token

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CAPTURE = "POST /api/v1/integrations/sales/leads"
UNMERGE = "POST /api/v1/leads/{lead_id}/unmerge"
REP = "PUT /api/v1/routing/reps/{rep_id}"


def api(hub: str, method: str, path: str, group: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token(group)}", "User-Agent": "audit-e2e/1.0"}
    return requests.request(method, f"{hub}{path}", headers=headers, timeout=30, **kwargs)


def audit(hub: str, **params: str) -> requests.Response:
    return api(hub, "GET", "/api/v1/audit", "admin", params=params)


def everything(hub: str, **params: str) -> list[dict[str, Any]]:
    """Every record of a search, following next_cursor."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = audit(hub, **params, **({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def sub_of(group: str) -> str:
    """The `sub` of the local token for `group` (`local_runtime.auth`)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"local-{group}"))


class Story:
    """A lead captured by marketing, an unmerge marketing tried on it, the same tried by sales (refused), and a
    routing write by an admin."""

    def __init__(self, hub: str) -> None:
        run = uuid.uuid4().hex[:10]
        self.email = f"rui.{run}@osprey-{run}.io"
        self.started = datetime.now(UTC) - timedelta(seconds=1)
        body = {"email": self.email, "source": "audit e2e", "company": "Osprey", "job_title": "Head of Ops"}
        captured = api(hub, "POST", "/api/v1/integrations/sales/leads", "marketing", json=body)
        assert captured.status_code == 201, captured.text
        self.lead_id = str(captured.json()["lead_id"])
        unmerge = f"/api/v1/leads/{self.lead_id}/unmerge"
        self.edit = api(hub, "POST", unmerge, "marketing", json={})
        self.refused = api(hub, "POST", unmerge, "sales", json={})
        self.rep = api(hub, "PUT", "/api/v1/routing/reps/sdr-maya-chen", "admin", json={})
        self.ended = datetime.now(UTC) + timedelta(seconds=1)


@pytest.fixture(scope="module")
def story(hub: str) -> Story:
    return Story(hub)


def test_who_touched_a_lead_answers_every_write_on_it_newest_first(hub: str, story: Story) -> None:
    # When the trail is searched by the lead's id
    items = everything(hub, target=story.lead_id)
    # Then the capture, the edit and the refused edit are there, newest first, each with who, what and where
    assert [(item["route"], item["status"]) for item in items] == [
        (UNMERGE, 403),
        (UNMERGE, story.edit.status_code),
        (CAPTURE, 201),
    ]
    refused, edit, capture = items
    assert (refused["actor"], refused["groups"], refused["outcome"]) == (sub_of("sales"), ["sales"], "refused")
    assert (edit["actor"], capture["actor"]) == (sub_of("marketing"), sub_of("marketing"))
    for item in items:
        assert item["target"] == story.lead_id
        assert item["phase"] == "completed"
        assert item["request_id"]
        assert item["source_ip"] == "127.0.0.1"
        assert item["user_agent"] == "audit-e2e/1.0"
        assert item["request_digest"].startswith("sha256:")
        assert story.started <= datetime.fromisoformat(item["at"]) <= story.ended
    assert capture["targets"] == [{"field": "lead_id", "id": story.lead_id}]
    assert capture["path"] == "/api/v1/integrations/sales/leads"


def test_a_search_pages_with_a_cursor_and_nothing_twice(hub: str, story: Story) -> None:
    pages = []
    cursor: str | None = None
    while True:
        page = audit(hub, target=story.lead_id, limit="1", **({"cursor": cursor} if cursor else {})).json()
        pages.append([item["request_id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [request_id for page in pages for request_id in page]
    assert len(ids) == len(set(ids)) == 3
    assert all(len(page) <= 1 for page in pages)


def test_searches_by_actor_route_and_time(hub: str, story: Story) -> None:
    window = {"from": story.started.isoformat(), "to": story.ended.isoformat()}
    by_actor = everything(hub, actor=sub_of("sales"), **window)
    assert story.lead_id in [item["target"] for item in by_actor]
    assert {item["actor"] for item in by_actor} == {sub_of("sales")}
    by_route = everything(hub, route=REP, **window)
    assert [(item["target"], item["status"], item["actor"]) for item in by_route] == [
        ("sdr-maya-chen", story.rep.status_code, sub_of("admin"))
    ]
    by_time = everything(hub, **window)
    assert {CAPTURE, UNMERGE, REP} <= {item["route"] for item in by_time}
    later = everything(hub, target=story.lead_id, **{"from": story.ended.isoformat()})
    assert later == []
    assert [i["at"] for i in by_time] == sorted((i["at"] for i in by_time), reverse=True)


def test_only_admins_read_the_trail_and_a_refused_read_is_recorded(hub: str, story: Story) -> None:
    for group in ("marketing", "sales", "finance"):
        assert api(hub, "GET", "/api/v1/audit", group).status_code == 403
    refusals = everything(hub, route="GET /api/v1/audit", actor=sub_of("finance"))
    assert refusals
    assert refusals[0]["outcome"] == "refused"


def test_requests_the_gateway_refuses_are_recorded_with_who_and_what_refused_them(hub: str) -> None:
    # Given a BI tool's client-credentials token that may only read leads, a forged token, and no token at all
    issued = client_token(hub, "bi-reporting", scope="revops/leads.read")
    assert issued.status_code == 200, issued.text
    system = issued.json()["access_token"]
    client_id = jwt.decode(system, options={"verify_signature": False})["client_id"]
    lead_id = f"L-{uuid.uuid4().hex[:12]}"
    unmerge = f"{hub}/api/v1/leads/{lead_id}/unmerge"
    # When each tries a write, which API Gateway refuses before any function runs
    scoped_out = requests.post(unmerge, json={}, headers={"Authorization": f"Bearer {system}"}, timeout=10)
    forged = requests.post(unmerge, json={}, headers={"Authorization": "Bearer not.a.token"}, timeout=10)
    anonymous = requests.post(unmerge, json={}, timeout=10)
    assert [r.status_code for r in (scoped_out, forged, anonymous)] == [401, 401, 401]
    # Then the trail lists all three under the lead they were about, refused by the gateway
    records = eventually(lambda: (found := everything(hub, target=lead_id)) and len(found) == 3 and found)
    assert {(r["route"], r["status"], r["outcome"], r["phase"]) for r in records} == {
        (UNMERGE, 401, "refused", "completed")
    }
    assert {r["detail"]["refused_by"] for r in records} == {"api_gateway"}
    assert sorted(r["actor"] for r in records) == sorted([client_id, "anonymous", "anonymous"])
    # And the system's refusal is found by its client id, as "what did this system try" asks
    (by_client,) = [r for r in everything(hub, actor=client_id, route=UNMERGE) if r["target"] == lead_id]
    assert by_client["client_id"] == client_id
    assert by_client["detail"]["error"] == "UNAUTHORIZED"


def test_bad_searches_are_4xx_naming_the_field(hub: str) -> None:
    assert "cursor" in audit(hub, cursor="not-a-cursor").json()["message"]
    assert audit(hub, **{"from": "2026-05-14T10:00:00Z", "to": "2026-05-14T09:00:00Z"}).status_code == 400
    assert audit(hub, limit="0").status_code == 422
    assert audit(hub, **{"from": "yesterday"}).status_code == 422


def test_an_operator_run_is_recorded_started_and_finished(hub: str, hub_state_file: Any) -> None:
    env = os.environ | {"HUB_STATE_FILE": str(hub_state_file)}
    done = subprocess.run(
        [sys.executable, "-m", "ops.simulate", str(DEFAULT_MODEL_PATH)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    runs = eventually(lambda: everything(hub, route="CLI simulate"))
    finished, started = runs[0], runs[1]
    assert (started["phase"], finished["phase"]) == ("started", "finished")
    assert started["request_id"] == finished["request_id"]
    assert finished["outcome"] == "succeeded"
    assert finished["channel"] == "cli"
    assert finished["actor"].startswith("local:")
    assert finished["detail"]["stage"] == "local"


def test_no_email_is_kept_in_clear_anywhere_in_the_trail(hub: str, story: Story) -> None:
    # Given a request whose body is an email, when the hub has one (the privacy erasure)
    if CATALOG.route_for("POST", "/api/v1/privacy/erasure") is not None:
        erased = api(hub, "POST", "/api/v1/privacy/erasure", "admin", json={"email": story.email})
        assert erased.status_code < 500
        assert everything(hub, route="POST /api/v1/privacy/erasure")
    # And a path with an email in it
    api(hub, "GET", f"/api/v1/cs-sales/handoff/{story.email}", "sales")
    api(hub, "POST", f"/api/v1/cs-sales/handoff/{story.email}", "marketing", json={})
    # When the whole audit table is read
    endpoint = requests.get(f"{hub}/healthz", timeout=5).json()["aws_endpoint"]
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # the embedded AWS takes any
    )
    items = [
        item
        for page in dynamodb.get_paginator("scan").paginate(TableName=physical_name("local", AUDIT.name))
        for item in page["Items"]
    ]
    # Then it holds the story's records, and not one email in clear
    text = json.dumps(items)
    assert story.lead_id in text
    assert EMAIL.findall(text) == []
    assert story.email not in text
    assert story.email.replace("@", "%40") not in text
