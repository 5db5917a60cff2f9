"""The first vertical slice on the local runtime, as a user drives it: signed webhooks in, canonical
events on the bus, forgeries refused, the delivery log behind admin-only auth."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
import time

import requests

from tests.e2e.conftest import ROOT, bus_events, token, wait_for_event


def send_example(url: str, vendor: str, *extra: str) -> requests.Response:
    """Runs the README's example generator and sends what its curl command would send."""
    printed = subprocess.run(
        [sys.executable, "-m", "local_runtime.example", vendor, "--hub", url, *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
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
        event = wait_for_event(hub, lambda e, wanted=event_id: e["detail"]["event_id"] == wanted)
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
    # Given an accepted and a rejected delivery
    send_example(hub, "hubspot")
    send_example(hub, "hubspot", "--secret", "forged")
    # When an admin reads HubSpot's deliveries, newest first
    response = requests.get(
        f"{hub}/api/v1/webhooks/deliveries",
        params={"vendor": "hubspot", "limit": 2},
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


def test_a_publish_failure_is_503_and_the_vendors_retry_publishes_exactly_once(hub: str) -> None:
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

    # When Stripe delivers, is told to retry, retries, and then retries once more
    statuses = [deliver().status_code for _ in range(3)]
    wait_for_event(hub, lambda e: e["detail"].get("vendor_event_id") == "evt_e2e_flaky")
    time.sleep(1.5)
    # Then 503, 202, 200, and the event is on the bus exactly once
    assert statuses == [503, 202, 200]
    assert [e["detail"].get("vendor_event_id") for e in bus_events(hub)].count("evt_e2e_flaky") == 1
