"""The first vertical slice on the local runtime, as a user drives it: signed webhooks in, canonical
events on the bus, forgeries refused, the delivery log behind admin-only auth."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import ROOT, bus_events, free_port, put_on_bus, token, wait_for_event, wait_for_events


def send_example(url: str, vendor: str, *extra: str) -> requests.Response:
    """Runs the README's example generator and sends what its curl command would send."""
    printed = subprocess.run(
        [sys.executable, "-m", "local_runtime.example", vendor, "--hub", url, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return send_printed(printed)


def send_printed(printed: str) -> requests.Response:
    """Sends what the example's curl command would send."""
    parts = shlex.split(printed)
    target = parts[parts.index("POST") + 1]
    headers = dict(parts[i + 1].split(": ", 1) for i, part in enumerate(parts) if part == "-H")
    body = parts[parts.index("--data-binary") + 1].encode()
    return requests.post(target, data=body, headers=headers, timeout=10)


def test_the_hub_answers_health_checks(hub: str) -> None:
    response = requests.get(f"{hub}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_signed_stripe_and_hubspot_webhooks_reach_the_bus_once(hub: str) -> None:
    # Given a Stripe-signed and a HubSpot-signed webhook
    # When each is sent to the hub
    stripe = send_example(hub, "stripe")
    hubspot = send_example(hub, "hubspot")
    # Then both are accepted and their canonical events appear on the bus
    assert (stripe.status_code, hubspot.status_code) == (202, 202), (stripe.text, hubspot.text)
    for answer in (stripe, hubspot):
        [event_id] = answer.json()["event_ids"]
        event = wait_for_event(hub, lambda e, wanted=event_id: e["detail"].get("event_id") == wanted)
        assert event["source"] == "revops.webhooks"
    assert {e["detail-type"] for e in bus_events(hub)} >= {"payment.succeeded", "contact.upserted"}


def test_the_same_delivery_again_is_200_and_adds_nothing_to_the_bus(hub: str) -> None:
    # Given a delivery the hub accepted
    body = json.dumps(
        {"id": "evt_e2e_dup", "object": "event", "type": "invoice.paid", "created": int(time.time()), "data": {}}
    ).encode()
    from shared.webhooks.vendors.stripe import sign

    secret = json.loads((ROOT / "config" / "local.secrets.json").read_text())["stripe"][0]
    first = requests.post(
        f"{hub}/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": sign(secret, body, int(time.time()))},
        timeout=10,
    )
    assert first.status_code == 202
    wait_for_event(hub, lambda e: e["detail"].get("vendor_event_id") == "evt_e2e_dup")
    # When Stripe sends it again
    again = requests.post(
        f"{hub}/webhooks/stripe",
        data=body,
        headers={"Stripe-Signature": sign(secret, body, int(time.time()))},
        timeout=10,
    )
    time.sleep(1.5)
    # Then it is acknowledged as a duplicate and the bus holds it once
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert [e["detail"].get("vendor_event_id") for e in bus_events(hub)].count("evt_e2e_dup") == 1


def test_a_wrong_signature_is_401(hub: str) -> None:
    response = send_example(hub, "stripe", "--secret", "whsec_not_the_configured_one")
    assert response.status_code == 401
    assert "signature" in response.json()["message"]


def test_only_an_admin_token_opens_the_delivery_log(hub: str) -> None:
    url = f"{hub}/api/v1/webhooks/deliveries"
    # Given tokens for an admin and a marketer, and no token at all
    admin = requests.get(url, headers={"Authorization": f"Bearer {token('admin')}"}, timeout=10)
    marketing = requests.get(url, headers={"Authorization": f"Bearer {token('marketing')}"}, timeout=10)
    anonymous = requests.get(url, timeout=10)
    forged = requests.get(url, headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."}, timeout=10)
    # Then the admin reads the log, the marketer is forbidden and the others are unauthorized
    assert admin.status_code == 200
    assert isinstance(admin.json()["items"], list)
    assert (marketing.status_code, anonymous.status_code, forged.status_code) == (403, 401, 401)
    assert "admin" in marketing.json()["message"]


def test_the_delivery_log_records_what_became_of_each_delivery(hub: str) -> None:
    # Given an accepted and a rejected delivery (of a vendor nothing else here sends: the hub's own CRM stand-ins
    # send HubSpot's and Salesforce's webhooks whenever the CRM sync writes there)
    send_example(hub, "typeform")
    send_example(hub, "typeform", "--secret", "forged")
    # When an admin reads Typeform's deliveries, newest first
    response = requests.get(
        f"{hub}/api/v1/webhooks/deliveries",
        params={"vendor": "typeform", "limit": 2},
        headers={"Authorization": f"Bearer {token('admin')}"},
        timeout=10,
    )
    # Then the rejection (with its reason) comes before the acceptance
    items = response.json()["items"]
    assert [item["outcome"] for item in items] == ["rejected", "accepted"]
    assert "signature" in items[0]["reason"]
    assert response.json()["next_cursor"]


def test_the_api_is_described_by_openapi_and_swagger_ui(hub: str) -> None:
    document = requests.get(f"{hub}/openapi.json", timeout=10).json()
    assert set(document["paths"]) >= {"/webhooks/{vendor}", "/api/v1/webhooks/deliveries"}
    assert document["paths"]["/api/v1/webhooks/deliveries"]["get"]["x-revops-groups"] == ["admin"]
    page = requests.get(f"{hub}/docs", timeout=10)
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text


def test_unknown_routes_are_404_with_a_message(hub: str) -> None:
    response = requests.get(f"{hub}/api/v1/nothing-here", timeout=5)
    assert response.status_code == 404
    assert "no route" in response.json()["message"]


def test_a_refused_publish_is_retried_from_the_outbox_and_published_exactly_once(hub: str) -> None:
    # Given the bus will refuse the next PutEvents (as EventBridge does under throttling or an outage)
    requests.post(f"{hub}/_local/faults/put-events", json={"calls": 1}, timeout=5).raise_for_status()
    body = json.dumps(
        {"id": "evt_e2e_flaky", "object": "event", "type": "invoice.paid", "created": int(time.time()), "data": {}}
    ).encode()
    from shared.webhooks.vendors.stripe import sign

    secret = json.loads((ROOT / "config" / "local.secrets.json").read_text())["stripe"][0]

    def deliver() -> requests.Response:
        headers = {"Stripe-Signature": sign(secret, body, int(time.time()))}
        return requests.post(f"{hub}/webhooks/stripe", data=body, headers=headers, timeout=10)

    # When Stripe delivers, and retries twice anyway
    statuses = [deliver().status_code for _ in range(3)]
    wait_for_event(hub, lambda e: e["detail"].get("vendor_event_id") == "evt_e2e_flaky")
    time.sleep(1.5)  # what a second publish would take to show
    # Then Stripe was told stored (202), then duplicate; the publisher's retry put the event on the bus once
    assert statuses == [202, 200, 200]
    assert [e["detail"].get("vendor_event_id") for e in bus_events(hub)].count("evt_e2e_flaky") == 1


# The local runtime's own routes and gateway behave as documented (issue 7 item 12, issue 8 item 9) -----------


def local_token(**claims: object) -> str:
    """A token signed with the local pool's key: an admin's access token, with `claims` changed (None removes)."""
    import jwt

    config = json.loads((ROOT / "config" / "local.auth.json").read_text())
    now = int(time.time())
    base: dict[str, object] = {
        "sub": "e2e-admin",
        "cognito:groups": ["admin"],
        "username": "e2e-admin",
        "client_id": config["people_client_id"],
        "scope": "aws.cognito.signin.user.admin",
        "token_use": "access",
        "iss": config["issuer"],
        "iat": now,
        "exp": now + 600,
    }
    payload = {key: value for key, value in (base | claims).items() if value is not None}
    return jwt.encode(payload, config["signing_key"], algorithm="HS256")


def test_events_since_a_seq_are_the_ones_after_it(hub: str) -> None:
    # Given events on the bus
    put_on_bus(hub, "e2e.since", count=2)
    everything = wait_for_events(hub, lambda events: [e["detail-type"] for e in events[-2:]] == ["e2e.since"] * 2)
    last = everything[-1]["seq"]
    # When asked for the events since the one before the last, and since the last
    after_previous = requests.get(f"{hub}/_local/events", params={"since": last - 1}, timeout=10).json()
    after_last = requests.get(f"{hub}/_local/events", params={"since": last}, timeout=10).json()
    # Then the first answer starts with the last event, and the second holds only later ones
    assert after_previous[0]["seq"] == last
    assert all(event["seq"] > last for event in after_last)


def test_events_since_something_not_a_number_is_400_with_a_message(hub: str) -> None:
    response = requests.get(f"{hub}/_local/events", params={"since": "abc"}, timeout=10)
    assert response.status_code == 400
    assert "since must be an integer" in response.json()["message"]


def test_put_events_faults_take_the_number_sent_whatever_the_content_type(hub: str) -> None:
    url = f"{hub}/_local/faults/put-events"
    # When two refusals are asked for in a body sent as text/plain, or with no content type at all
    as_text = requests.post(url, data='{"calls": 2}', headers={"Content-Type": "text/plain"}, timeout=5)
    untyped = requests.post(url, data=b'{"calls": 3}', timeout=5)
    # Then the hub takes the number sent (and 0 disarms it again)
    assert (as_text.status_code, as_text.json()["calls"]) == (200, 2)
    assert (untyped.status_code, untyped.json()["calls"]) == (200, 3)
    assert requests.post(url, json={"calls": 0}, timeout=5).json()["calls"] == 0


def test_put_events_faults_refuse_what_is_not_a_number_of_calls_with_400(hub: str) -> None:
    url = f"{hub}/_local/faults/put-events"
    for body in ('{"calls": "x"}', '{"calls": -1}', '{"calls": 1001}', '{"calls": true}', "[1]", "two"):
        response = requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=5)
        assert response.status_code == 400, body
        assert "calls" in response.json()["message"] or "JSON" in response.json()["message"], body


def test_the_swagger_pages_json_link_serves_the_openapi_document(hub: str) -> None:
    response = requests.get(f"{hub}/docs", params={"format": "json"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json()["openapi"].startswith("3.")
    assert "/webhooks/{vendor}" in response.json()["paths"]


def test_only_access_tokens_with_the_methods_scopes_pass_the_local_cognito_authorizer(hub: str) -> None:
    # Every /api/v1 method has OAuth scopes, so API Gateway takes access tokens holding one of them, never ID tokens
    url = f"{hub}/api/v1/webhooks/deliveries"

    def status(token: str) -> int:
        return requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code

    assert status(local_token()) == 200
    assert status(local_token(token_use="id")) == 401
    assert status(local_token(token_use=None)) == 401
    assert status(local_token(scope=None)) == 401
    assert status(local_token(client_id="an-app-client-the-pool-does-not-have")) == 401


def test_a_method_a_route_does_not_have_is_405_with_an_allow_header(hub: str) -> None:
    for method, path, allowed in (
        ("GET", "/webhooks/stripe", "POST"),
        ("GET", "/_local/faults/put-events", "POST"),
        ("DELETE", "/healthz", "GET, HEAD"),
    ):
        response = requests.request(method, f"{hub}{path}", timeout=10)
        assert response.status_code == 405, path
        assert response.headers["Allow"] == allowed, path
        assert response.headers["Content-Type"] == "application/json"
        assert allowed in response.json()["message"]


def test_doubled_slashes_are_not_merged_into_a_redirect_but_are_404(hub: str) -> None:
    for path in ("//webhooks//stripe", "/webhooks//stripe", "/_local//events", "/webhooks/stripe/more"):
        response = requests.post(f"{hub}{path}", data=b"{}", allow_redirects=False, timeout=10)
        assert response.status_code == 404, path
        assert "Location" not in response.headers
        assert response.headers["Content-Type"] == "application/json"
        assert set(response.json()) == {"message"}


def test_health_and_the_state_file_tell_where_the_hub_and_its_aws_are(
    hub_process: tuple[str, subprocess.Popen[str]], hub_state_file: Path
) -> None:
    hub, process = hub_process
    health = requests.get(f"{hub}/healthz", timeout=5).json()
    state = json.loads(hub_state_file.read_text())
    assert state == {"url": hub, "aws_endpoint": health["aws_endpoint"], "pid": process.pid}
    assert requests.get(f"{health['aws_endpoint']}/moto-api/", timeout=5).status_code == 200


def test_the_examples_follow_the_port_the_hub_runs_on(hub: str, hub_state_file: Path) -> None:
    # Given a hub on a port nobody exported (HUB_PORT and HUB_URL unset) and its state file
    env = {k: v for k, v in os.environ.items() if k not in {"HUB_PORT", "HUB_URL"}}
    env["HUB_STATE_FILE"] = str(hub_state_file)
    # When the README's example command and the URL helper are run
    printed = subprocess.run(
        [sys.executable, "-m", "local_runtime.example", "stripe"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    url = subprocess.run([sys.executable, "-m", "local_runtime.url"], cwd=ROOT, env=env, capture_output=True, text=True)
    # Then both name this hub, and the example is accepted there
    assert f" {hub}/webhooks/stripe " in printed.stdout
    assert (url.returncode, url.stdout.strip()) == (0, hub)
    assert send_printed(printed.stdout).status_code == 202


def test_the_url_helper_says_so_in_one_line_when_no_hub_runs() -> None:
    env = os.environ | {"HUB_STATE_FILE": "", "HUB_PORT": str(free_port())}
    env.pop("HUB_URL", None)
    command = [sys.executable, "-m", "local_runtime.url"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "no local hub is running" in result.stderr


def test_the_hub_url_is_hub_url_then_a_running_hub_in_the_state_file_then_hub_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from local_runtime import discovery

    state_file = tmp_path / "local.json"
    monkeypatch.setenv("HUB_STATE_FILE", str(state_file))
    monkeypatch.setenv("HUB_PORT", "3999")
    monkeypatch.delenv("HUB_URL", raising=False)
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # its pid now names no process
    recorded = {"url": "http://127.0.0.1:4100", "aws_endpoint": "http://127.0.0.1:4101"}
    # No state file: HUB_PORT
    assert discovery.hub_url() == "http://127.0.0.1:3999"
    # A state file whose hub has stopped: HUB_PORT still
    state_file.write_text(json.dumps(recorded | {"pid": ended.pid}))
    assert discovery.hub_url() == "http://127.0.0.1:3999"
    assert discovery.aws_endpoint() == "http://127.0.0.1:3001"
    # A running hub in the state file: its URLs
    state_file.write_text(json.dumps(recorded | {"pid": os.getpid()}))
    assert (discovery.hub_url(), discovery.aws_endpoint()) == ("http://127.0.0.1:4100", "http://127.0.0.1:4101")
    # HUB_URL: whatever the state file says
    monkeypatch.setenv("HUB_URL", "http://hub.example:8080/")
    assert discovery.hub_url() == "http://hub.example:8080"
