"""Every vendor against the running hub: a signed delivery is accepted once and reaches the bus, the same
delivery again publishes nothing, and forged, stale, tampered and unsigned deliveries are refused with a
logged reason."""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import requests

from local_runtime.example import BUILDERS, Example, build
from tests.e2e.conftest import bus_events, token, wait_for_event

VENDORS = sorted(BUILDERS)


def post(url: str, example: Example) -> requests.Response:
    headers = {"Content-Type": example.content_type, **example.headers}
    return requests.post(url, data=example.body, headers=headers, timeout=10)


def delivery_of(hub: str, vendor: str, example: Example, outcome: str) -> dict:
    """The newest logged delivery of this very body with that outcome. Found by the body's hash, not as the
    vendor's newest: the CRM stand-ins deliver their own webhooks to this shared hub in the background (with
    retries and delays), so another Salesforce or HubSpot delivery may be logged in between."""
    digest = hashlib.sha256(example.body).hexdigest()
    response = requests.get(
        f"{hub}/api/v1/webhooks/deliveries",
        params={"vendor": vendor, "outcome": outcome, "limit": 100},
        headers={"Authorization": f"Bearer {token('admin')}"},
        timeout=10,
    )
    response.raise_for_status()
    found = [item for item in response.json()["items"] if item["body_sha256"] == digest]
    assert found, f"no {outcome} {vendor} delivery of this body is logged"
    return dict(found[0])


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_signed_delivery_is_published_once_and_its_repeat_is_a_duplicate(hub: str, vendor: str) -> None:
    # Given a correctly signed delivery from the vendor
    url, example = build(vendor, hub)
    # When it is delivered
    first = post(url, example)
    # Then it is accepted, logged, and each of its canonical events reaches the bus
    assert first.status_code in (200, 202), first.text
    accepted = delivery_of(hub, vendor, example, "accepted")
    event_ids = [event["event_id"] for event in accepted["events"]]
    assert event_ids
    for event_id in event_ids:
        wait_for_event(hub, lambda e, wanted=event_id: e["detail"].get("event_id") == wanted)
    # And when the very same delivery arrives again
    again = post(url, example)
    # Then it is acknowledged, logged as a duplicate (before the answer), and nothing new is on the bus
    assert again.status_code == 200, again.text
    duplicate = delivery_of(hub, vendor, example, "duplicate")
    assert [event["event_id"] for event in duplicate["events"]] == event_ids
    time.sleep(1.0)  # what a second publish would take to show: there is no event to wait on when none should come
    on_bus = [e["detail"].get("event_id") for e in bus_events(hub)]
    assert all(on_bus.count(event_id) == 1 for event_id in event_ids)


def forged(vendor: str, hub: str) -> tuple[str, Example]:
    return build(vendor, hub, secret="00D999999999999ZZZ" if vendor == "salesforce" else "whsec_Zm9yZ2VkLWtleQ==")


def stale(vendor: str, hub: str) -> tuple[str, Example]:
    return build(vendor, hub, now=datetime.now(UTC) - timedelta(minutes=10))


def tampered(vendor: str, hub: str) -> tuple[str, Example]:
    url, example = build(vendor, hub)
    return url, replace(example, body=example.body.replace(b"ada@example.com", b"eve@example.com", 1))


def unsigned(vendor: str, hub: str) -> tuple[str, Example]:
    url, example = build(vendor, hub)
    headers = {k: v for k, v in example.headers.items() if k not in example.proof_headers}
    return url, replace(example, headers=headers)


ATTACKS = {"forged": forged, "stale": stale, "tampered": tampered, "unsigned": unsigned}


def applicable(vendor: str, attack: str) -> bool:
    _, example = build(vendor, "http://x")
    if attack == "stale":
        return example.timestamped
    if attack in ("tampered", "unsigned"):
        return bool(example.proof_headers) and (attack == "unsigned" or b"ada@example.com" in example.body)
    return True


@pytest.mark.parametrize(
    ("vendor", "attack"),
    [(vendor, attack) for vendor in VENDORS for attack in ATTACKS if applicable(vendor, attack)],
)
def test_forged_stale_tampered_and_unsigned_deliveries_are_401_and_logged(hub: str, vendor: str, attack: str) -> None:
    # Given a delivery that is <attack>
    url, example = ATTACKS[attack](vendor, hub)
    # When it is delivered
    response = post(url, example)
    # Then it is refused, the delivery log says why, and nothing of it reaches the bus
    assert response.status_code == 401, response.text
    logged = delivery_of(hub, vendor, example, "rejected")
    assert logged["status_code"] == 401
    assert logged["reason"]
    time.sleep(0.3)  # what a publish would take to show: there is no event to wait on when none should come
    assert [e for e in bus_events(hub) if e["detail"].get("delivery_id") == logged["delivery_id"]] == []
