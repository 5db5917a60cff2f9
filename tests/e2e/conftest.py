"""End-to-end tier: the local runtime started exactly as `make run` starts it, spoken to over real HTTP."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def started_hub(state_file: Path, **environment: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`python -m local_runtime` on a free port, its state file at `state_file` (never a developer's
    `.hub/local.json`); yields its URL and process, and stops it."""
    port = free_port()
    env = os.environ | {"HUB_PORT": str(port), "PYTHONUNBUFFERED": "1", "HUB_STATE_FILE": str(state_file)}
    # Output to a file, not a pipe nobody reads while the hub runs: a full pipe would block the hub.
    output = state_file.with_suffix(".log")
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_runtime"],
            cwd=ROOT,
            env=env | environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):  # the port is bound before the hub serves on it
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"local runtime did not start:\n{output.read_text()}")
        time.sleep(0.2)  # polling the port: there is nothing else to wait on
    try:
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def hub_state_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hub-state") / "local.json"


@pytest.fixture(scope="session")
def hub_process(hub_state_file: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with started_hub(hub_state_file) as running:
        yield running


@pytest.fixture(scope="session")
def hub(hub_process: tuple[str, subprocess.Popen[str]]) -> str:
    return hub_process[0]


@functools.cache
def token(*groups: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "local_runtime.token", *groups], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


def bus_events(url: str) -> list[dict]:
    return list(requests.get(f"{url}/_local/events", timeout=5).json())


def wait_for_event(url: str, predicate, seconds: float = 15) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for event in bus_events(url):
            if predicate(event):
                return event
        time.sleep(0.1)
    raise AssertionError("expected event did not reach the bus")


def wait_for_events(url: str, condition, seconds: float = 15) -> list[dict]:  # type: ignore[no-untyped-def]
    """The bus's events once `condition(events)` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        events = bus_events(url)
        if condition(events):
            return events
        time.sleep(0.1)
    raise AssertionError("the bus never held the expected events")


def put_on_bus(url: str, detail_type: str, count: int = 1) -> None:
    """Puts `count` events straight on the hub's bus (through its embedded AWS), as any publisher would."""
    import json

    import boto3

    from shared.catalog import CATALOG, physical_name

    endpoint = requests.get(f"{url}/healthz", timeout=5).json()["aws_endpoint"]
    events = boto3.client(
        "events",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # the embedded AWS takes any
    )
    bus = physical_name("local", CATALOG.bus_name)
    for n in range(count):
        entry = {"EventBusName": bus, "Source": "revops.e2e", "DetailType": detail_type, "Detail": json.dumps({"n": n})}
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0


def send_stripe_event(url: str, event_type: str, obj: dict[str, Any], created: int | None = None) -> requests.Response:
    """A Stripe event about `obj` (`data.object`) to the hub at `url`, signed as Stripe does with the hub's local
    secret (now); `created`: when Stripe says it happened (default now). The answer as it came."""
    from shared.webhooks.vendors import stripe

    secret = json.loads((ROOT / "config/local.secrets.json").read_text())["stripe"][0]
    now = int(time.time())
    event = {"id": f"evt_{uuid.uuid4().hex}", "object": "event", "type": event_type, "created": created or now}
    body = json.dumps(event | {"data": {"object": obj}}).encode()
    headers = {"Stripe-Signature": stripe.sign(secret, body, now), "Content-Type": "application/json"}
    return requests.post(f"{url}/webhooks/stripe", data=body, headers=headers, timeout=10)


def send_standard_webhook(url: str, event_type: str, timestamp: str, data: dict[str, Any]) -> requests.Response:
    """A Standard Webhooks delivery of `{type, timestamp, data}` to the hub at `url`, signed as any sender would
    with the hub's local secret."""
    from shared.webhooks.vendors import standard

    secret = json.loads((ROOT / "config/local.secrets.json").read_text())["standard"][0]
    body = json.dumps({"type": event_type, "timestamp": timestamp, "data": data})
    msg_id, stamp = f"msg_{uuid.uuid4().hex}", int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard.sign(secret, msg_id, stamp, body.encode()),
        "Content-Type": "application/json",
    }
    return requests.post(f"{url}/webhooks/standard", data=body, headers=headers, timeout=10)


def send_hubspot_property_change(
    url: str, object_id: int, prop: str, value: str, change_source: str = "FORM"
) -> requests.Response:
    """A HubSpot `contact.propertyChange` webhook of one property to the hub at `url`, signed as HubSpot signs it
    with the hub's local secret: a person (or a form) changing the contact in HubSpot."""
    from local_runtime.example import hubspot_property_change, local_secret

    target = f"{url}/webhooks/hubspot"
    secret, now, uid = local_secret("hubspot"), datetime.now(UTC), uuid.uuid4().hex
    example = hubspot_property_change(target, secret, now, uid, object_id, prop, value, change_source)
    headers = {**example.headers, "Content-Type": example.content_type}
    return requests.post(target, data=example.body, headers=headers, timeout=10)


def eventually(condition: Callable[[], Any], seconds: float = 60, every: float = 0.2) -> Any:
    """The condition's first truthy result within `seconds`, polled every `every` seconds; fails the test
    otherwise. For conditions read from the hub over HTTP: there is nothing else to wait on."""
    deadline = time.monotonic() + seconds
    while not (result := condition()) and time.monotonic() < deadline:
        time.sleep(every)
    assert result, "condition not met in time"
    return result


def settle(url: str, quiet_polls: int = 4) -> None:
    """Until the bus of the hub at `url` has been quiet for a few polls in a row: every event sent so far has
    been handled and nothing new follows from it."""
    last, quiet = None, 0
    deadline = time.monotonic() + 60
    while quiet < quiet_polls and time.monotonic() < deadline:
        seq = requests.get(f"{url}/_local/events", timeout=10).headers.get("X-Events-Last-Seq")
        quiet = quiet + 1 if seq == last else 0
        last = seq
        time.sleep(0.5)  # the poll interval of the quiet check itself
