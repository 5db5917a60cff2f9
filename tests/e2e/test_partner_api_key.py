"""A partner that can only send an API key posts leads on the running hub (issue 15 §5): `make rotate-api-key` issues
its key; `POST /api/v1/partners/leads` with the key as `x-api-key` captures the lead, without it (or with a key no
partner has) the gateway refuses it; a rotation keeps the old key for its overlap, and with no overlap the old key is
refused at once while the new one works; the audit trail names the partner's key, never its value."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import token
from tests.partner_keys import API_KEY_HEADER, api_key_id, rotate_partner_key

PARTNER_LEADS = "/api/v1/partners/leads"
ROUTE = f"POST {PARTNER_LEADS}"


def lead_body() -> dict[str, Any]:
    run = uuid.uuid4().hex[:10]
    return {
        "email": f"ines.{run}@kestrel-{run}.io",
        "source": "partner: example-lead-partner",
        "company": "Kestrel",
        "job_title": "Head of Revenue",
    }


def post_lead(hub: str, body: dict[str, Any], key: str | None) -> requests.Response:
    headers = {API_KEY_HEADER: key} if key is not None else {}
    return requests.post(f"{hub}{PARTNER_LEADS}", json=body, headers=headers, timeout=30)


def leads_with_email(hub: str, email: str) -> list[dict[str, Any]]:
    found = requests.get(
        f"{hub}/api/v1/leads",
        params={"email": email},
        headers={"Authorization": f"Bearer {token('admin')}"},
        timeout=10,
    )
    assert found.status_code == 200, found.text
    return list(found.json()["items"])


@pytest.fixture(scope="module")
def key(hub: str, hub_state_file: Path) -> str:
    # Given the partner's key, issued by the operator's command against this hub
    return rotate_partner_key(hub_state_file)


def test_a_partner_posts_a_lead_with_its_key_and_the_lead_exists(hub: str, key: str) -> None:
    # When the partner posts a new lead with its key
    body = lead_body()
    created = post_lead(hub, body, key)
    # Then it is captured, new, and the hub holds the lead under that email
    assert created.status_code == 201, created.text
    lead_id = created.json()["lead_id"]
    assert [item["lead_id"] for item in leads_with_email(hub, body["email"])] == [lead_id]
    # And the same person posted again is the same lead
    again = post_lead(hub, body, key)
    assert (again.status_code, again.json()["lead_id"]) == (200, lead_id)


@pytest.mark.parametrize("sent", [None, "", "not-a-key-of-any-partner-0123456789", "Bearer"], ids=repr)
def test_without_a_partners_key_the_gateway_refuses_and_nothing_is_captured(
    hub: str, key: str, sent: str | None
) -> None:
    body = lead_body()
    refused = post_lead(hub, body, sent)
    assert refused.status_code == 403, refused.text
    assert leads_with_email(hub, body["email"]) == []


def test_a_persons_token_does_not_open_the_partner_route(hub: str, key: str) -> None:
    # (a partner route takes a key; people and systems use the token-authenticated capture)
    body = lead_body()
    refused = requests.post(
        f"{hub}{PARTNER_LEADS}", json=body, headers={"Authorization": f"Bearer {token('admin')}"}, timeout=30
    )
    assert refused.status_code == 403
    assert leads_with_email(hub, body["email"]) == []


def test_a_rotation_keeps_the_old_key_for_the_overlap_and_without_overlap_retires_it(
    hub: str, hub_state_file: Path, key: str
) -> None:
    # Given the partner's current key, rotated with the default overlap
    current = rotate_partner_key(hub_state_file)
    # Then both the replaced key and the new one work during the overlap
    assert post_lead(hub, lead_body(), key).status_code == 201
    assert post_lead(hub, lead_body(), current).status_code == 201
    # When the key is rotated again with no overlap
    newest = rotate_partner_key(hub_state_file, overlap_hours=0)
    # Then the key it replaced is refused at once, and the new one works
    assert len({key, current, newest}) == 3
    body = lead_body()
    assert post_lead(hub, body, current).status_code == 403
    assert leads_with_email(hub, body["email"]) == []
    assert post_lead(hub, body, newest).status_code == 201
    assert len(leads_with_email(hub, body["email"])) == 1


def test_the_audit_trail_names_the_partners_key_for_its_capture_and_never_its_value(hub: str, key: str) -> None:
    # Given a lead the partner captured with its key, and a refused attempt without one
    created = post_lead(hub, lead_body(), key)
    assert created.status_code == 201, created.text
    lead_id = created.json()["lead_id"]
    aws_endpoint = requests.get(f"{hub}/healthz", timeout=5).json()["aws_endpoint"]
    actor = f"api-key:{api_key_id(aws_endpoint, key)}"
    # When an admin asks who captured that lead through the partner route
    found = requests.get(
        f"{hub}/api/v1/audit",
        params={"route": ROUTE, "target": lead_id},
        headers={"Authorization": f"Bearer {token('admin')}"},
        timeout=10,
    )
    # Then the trail names the partner's key, with the capture's outcome
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    assert [(item["actor"], item["route"], item["status"]) for item in items] == [(actor, ROUTE, 201)]
    # And the key's value is nowhere in what the trail answers for the partner
    by_partner = requests.get(
        f"{hub}/api/v1/audit",
        params={"actor": actor},
        headers={"Authorization": f"Bearer {token('admin')}"},
        timeout=10,
    )
    assert by_partner.status_code == 200
    assert by_partner.json()["items"]
    assert key not in json.dumps(by_partner.json())


def test_the_openapi_document_says_who_sends_what(hub: str) -> None:
    document = requests.get(f"{hub}/openapi.json", timeout=10).json()
    schemes = document["components"]["securitySchemes"]
    # The partner route takes the partner key, and only it
    partner = document["paths"][PARTNER_LEADS]["post"]
    assert partner["security"] == [{"partner_api_key": []}]
    assert schemes["partner_api_key"] == {
        "type": "apiKey",
        "in": "header",
        "name": API_KEY_HEADER,
        "description": schemes["partner_api_key"]["description"],
    }
    # A route open to systems takes a person's access token or a client-credentials token with its scope
    capture = document["paths"]["/api/v1/integrations/sales/leads"]["post"]
    assert capture["security"] == [{"cognito": []}, {"clients": ["revops/leads.write"]}]
    assert capture["x-revops-scope"] == "revops/leads.write"
    flow = schemes["clients"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == f"{hub}/oauth2/token"
    assert "revops/leads.write" in flow["scopes"]
    # An admin-only route, a person's token only; and the document says it is the access token
    assert document["paths"]["/api/v1/webhooks/deliveries"]["get"]["security"] == [{"cognito": []}]
    assert "access token" in document["info"]["description"]
    assert "ID token is refused" in document["info"]["description"]
