"""Systems on the running hub (issue 15 §5): an app client trades its id and secret for a client-credentials access
token at `/oauth2/token`, as at Cognito's token endpoint, and calls the same `/api/v1` routes people call, within
its scopes. A `leads.read` token reads leads and is refused a write; a `leads.write` token captures and cannot read;
no app client reaches a route only admins may call."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import requests

from tests.e2e.conftest import token

ROOT = Path(__file__).resolve().parents[2]
SECRETS = json.loads((ROOT / "config" / "local.auth.json").read_text())["client_secrets"]
CAPTURE = "/api/v1/integrations/sales/leads"


def client_token(hub: str, client: str, scope: str | None = None, secret: str | None = None) -> requests.Response:
    """The token endpoint's answer for the app client (HTTP Basic, as Cognito's takes it)."""
    form = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    return requests.post(f"{hub}/oauth2/token", data=form, auth=(client, secret or SECRETS[client]), timeout=10)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def new_lead() -> dict[str, Any]:
    return {
        "email": f"cc-{uuid.uuid4().hex[:12]}@northwind.io",
        "source": "web-form",
        "company": "Northwind",
        "job_title": "VP Revenue Operations",
    }


def find(hub: str, email: str) -> list[dict[str, Any]]:
    """The leads with that email, as an admin finds them."""
    response = requests.get(f"{hub}/api/v1/leads", params={"email": email}, headers=bearer(token("admin")), timeout=10)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_leads_read_token_reads_leads_and_is_refused_a_write(hub: str) -> None:
    # Given a lead a marketer captured
    lead = new_lead()
    captured = requests.post(f"{hub}{CAPTURE}", json=lead, headers=bearer(token("marketing")), timeout=10)
    assert captured.status_code == 201, captured.text
    lead_id = captured.json()["lead_id"]
    # And a client-credentials token the BI tool asked for with leads.read only
    issued = client_token(hub, "bi-reporting", scope="revops/leads.read")
    assert issued.status_code == 200, issued.text
    assert issued.json()["token_type"] == "Bearer"
    assert issued.json()["expires_in"] == 3600
    system = bearer(issued.json()["access_token"])
    # When it reads the lead, and finds it by email
    profile = requests.get(f"{hub}/api/v1/leads/{lead_id}", headers=system, timeout=10)
    listed = requests.get(f"{hub}/api/v1/leads", params={"email": lead["email"]}, headers=system, timeout=10)
    # Then both answer with the lead
    assert profile.status_code == 200, profile.text
    assert profile.json()["lead_id"] == lead_id
    assert profile.json()["profile"]["company"] == "Northwind"
    assert lead["email"] in json.dumps(profile.json())
    assert listed.status_code == 200
    assert [item["lead_id"] for item in listed.json()["items"]] == [lead_id]
    # When it tries to capture a lead
    other = new_lead()
    refused = requests.post(f"{hub}{CAPTURE}", json=other, headers=system, timeout=10)
    # Then the gateway refuses it (the method takes leads.write, or a person's token) and nothing is stored
    assert refused.status_code == 401
    assert find(hub, other["email"]) == []


def test_a_token_from_make_token_carries_the_clients_scopes_and_works_the_same(hub: str) -> None:
    # Given the token `make -s token CLIENT=bi-reporting` prints (every scope the client has)
    printed = subprocess.run(
        [sys.executable, "-m", "local_runtime.token", "--client", "bi-reporting"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Then it lists stages of leads and reads the handoff metrics, and captures nothing
    stage = requests.get(f"{hub}/api/v1/leads", params={"stage": "MQL"}, headers=bearer(printed), timeout=10)
    assert stage.status_code == 200, stage.text
    assert "items" in stage.json()
    metrics = requests.get(f"{hub}/api/v1/handoffs/metrics", headers=bearer(printed), timeout=10)
    assert metrics.status_code == 200, metrics.text
    lead = new_lead()
    assert requests.post(f"{hub}{CAPTURE}", json=lead, headers=bearer(printed), timeout=10).status_code == 401
    assert find(hub, lead["email"]) == []


def test_a_leads_write_token_captures_a_lead_and_reads_nothing(hub: str) -> None:
    system = bearer(client_token(hub, "web-forms").json()["access_token"])
    lead = new_lead()
    # When the form backend captures a lead
    captured = requests.post(f"{hub}{CAPTURE}", json=lead, headers=system, timeout=10)
    # Then it is stored, and the backend may not read it back
    assert captured.status_code == 201, captured.text
    assert [item["lead_id"] for item in find(hub, lead["email"])] == [captured.json()["lead_id"]]
    read = requests.get(f"{hub}/api/v1/leads/{captured.json()['lead_id']}", headers=system, timeout=10)
    assert read.status_code == 401


def test_no_app_client_reaches_a_route_only_admins_may_call(hub: str) -> None:
    # Given a token holding every scope the BI tool has
    system = bearer(client_token(hub, "bi-reporting").json()["access_token"])
    # Then the delivery log (admin only: raw vendor bodies) is closed to it, while an admin reads it
    url = f"{hub}/api/v1/webhooks/deliveries"
    assert requests.get(url, headers=system, timeout=10).status_code == 401
    assert requests.get(url, headers=bearer(token("admin")), timeout=10).status_code == 200


def test_the_token_endpoint_refuses_what_cognitos_refuses(hub: str) -> None:
    def error(response: requests.Response) -> tuple[int, str]:
        return response.status_code, response.json()["error"]

    # A wrong secret, an unknown client, a scope the client was not given
    assert error(client_token(hub, "bi-reporting", secret="not-the-secret")) == (400, "invalid_client")
    assert error(client_token(hub, "no-such-client", secret="x")) == (400, "invalid_client")
    assert error(client_token(hub, "bi-reporting", scope="revops/leads.write")) == (400, "invalid_scope")
    # Another grant, no client authentication, a JSON body
    url = f"{hub}/oauth2/token"
    password = requests.post(
        url, data={"grant_type": "password"}, auth=("bi-reporting", SECRETS["bi-reporting"]), timeout=10
    )
    assert error(password) == (400, "unsupported_grant_type")
    assert error(requests.post(url, data={"grant_type": "client_credentials"}, timeout=10)) == (400, "invalid_client")
    as_json = requests.post(url, json={"grant_type": "client_credentials"}, timeout=10)
    assert error(as_json) == (400, "invalid_request")
    # And a token of a client id in the form (client_secret_post) works like Basic
    posted = requests.post(
        url,
        data={"grant_type": "client_credentials", "client_id": "web-forms", "client_secret": SECRETS["web-forms"]},
        timeout=10,
    )
    assert posted.status_code == 200
    assert posted.json()["access_token"]


def test_people_send_their_access_token_and_are_still_checked_by_group(hub: str) -> None:
    # A person's token opens the routes of their groups and no other, whatever the method's scopes
    url = f"{hub}/api/v1/webhooks/deliveries"
    forbidden = requests.get(url, headers=bearer(token("marketing")), timeout=10)
    assert forbidden.status_code == 403
    assert "admin" in forbidden.json()["message"]
    assert requests.get(url, headers=bearer(token("admin")), timeout=10).status_code == 200
