"""`make replay` on the running hub, as issue 15 §3's "done when" reads: a realistic hour (Segment tracking, a
captured ICP lead requesting a demo and handed off to a rep who accepts in Slack, HubSpot and Stripe webhooks, a
Zendesk ticket, a Typeform NPS answer, a failed payment that starts a churn playbook, a won deal, spend crossing a
budget's alert thresholds) is driven through the real routes; once the hub is quiet, everything it holds (every
item of every table of the embedded DynamoDB, the Slack and e-mail it sent, the CRMs' records, the pending
timers, the dead-letter queues) is read; the last hour of the bus's archive is replayed with the operator
command; once quiet again, everything reads the same: every consumer took the replay as the duplicate it is.

A hub of its own: the snapshot must see only what this module did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
import requests
from segment.analytics.client import Client
from slack_sdk.signature import SignatureVerifier

from shared.catalog import CATALOG, physical_name
from tests.e2e.conftest import ROOT, eventually, send_hubspot_property_change, send_standard_webhook, started_hub, token
from tests.e2e.customers import SECRET, Customer

WRITE_KEY = "local-write-key-dev-only"
HUBSPOT_OBJECTS = ("contacts", "companies", "deals")
SALESFORCE_OBJECTS = ("Lead", "Contact", "Account", "Opportunity", "Task")
AUDIT_TABLE = physical_name("local", "audit")  # the audit trail (shared/catalog/audit.py)


class Hub:
    def __init__(self, url: str, state_file: Path) -> None:
        self.url = url
        self.state_file = state_file
        self.admin = {"Authorization": f"Bearer {token('admin')}"}
        self.aws_endpoint = requests.get(f"{url}/healthz", timeout=5).json()["aws_endpoint"]

    def get(self, path: str, **params: Any) -> Any:
        answer = requests.get(f"{self.url}{path}", params=params, headers=self.admin, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, headers=headers or self.admin, timeout=60)

    def aws(self, service: str) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.aws_endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # the embedded AWS takes any
        )

    def replay(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        """`make replay` as an operator runs it (the module the Makefile calls), finding this hub as they would."""
        env = os.environ | {"HUB_STATE_FILE": str(self.state_file)}
        env.pop("HUB_URL", None)
        return subprocess.run(
            [sys.executable, "-m", "ops.replay", *arguments],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )


# -- quiet, and what the hub holds -------------------------------------------------------------------------------


PENDING_COUNTS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def busy(hub: Hub) -> tuple[Any, ...]:
    """What moves while the hub is still working: the bus's last event, the CRMs' webhooks waiting to go out,
    the messages in the work queues (delayed ones too: under load the CRM writer holds a small batch back for
    up to 20 s, `shared.crm.pacing`, and a rate-limited one comes back after its Retry-After), the replays still
    running."""
    events = requests.get(f"{hub.url}/_local/events", params={"since": 1 << 62}, timeout=10)
    hubspot_pending = requests.get(f"{hub.url}/_local/crm/hubspot/_webhooks", timeout=10).json()["pending"]
    salesforce_pending = requests.get(f"{hub.url}/_local/crm/salesforce/_webhooks", timeout=10).json()["pending"]
    sqs = hub.aws("sqs")
    queued = 0
    for queue in CATALOG.work_queues:
        url = sqs.get_queue_url(QueueName=f"revops-local-{queue.name}")["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=PENDING_COUNTS)["Attributes"]
        queued += sum(int(value) for value in attributes.values())
    running = [
        r for r in requests.get(f"{hub.url}/_local/replays", timeout=10).json()["items"] if not r["replay_end_time"]
    ]
    return events.headers["X-Events-Last-Seq"], hubspot_pending, salesforce_pending, queued, len(running)


def quiet(hub: Hub, polls: int = 6, seconds: float = 180) -> None:
    """Until nothing has moved for `polls` polls in a row (and nothing is pending): every event sent so far has
    been handled, every change sent to the CRMs and heard back."""
    deadline = time.monotonic() + seconds
    last, still = None, 0
    while still < polls:
        assert time.monotonic() < deadline, f"the hub never went quiet: {last}"
        now = busy(hub)
        idle = now[1:] == (0, 0, 0, 0)
        still = still + 1 if idle and now == last else 0
        last = now
        time.sleep(0.5)  # the poll interval of the quiet check itself


def snapshot(hub: Hub) -> dict[str, Any]:
    """Everything the hub holds that a consumer writes or sends."""
    dynamodb = hub.aws("dynamodb")
    tables: dict[str, dict[str, str]] = {}
    for name in dynamodb.list_tables()["TableNames"]:
        if name == AUDIT_TABLE:
            continue  # the audit trail records the operator's replay run: that is a change, and meant to be
        keys = [k["AttributeName"] for k in dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]]
        items: dict[str, str] = {}
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            for item in page["Items"]:
                key = "|".join(json.dumps(item[k], sort_keys=True) for k in keys)
                items[key] = json.dumps(item, sort_keys=True, default=bytes.hex)  # binary attributes: raw bodies
        tables[name] = items
    sqs = hub.aws("sqs")
    dead_letters = {}
    for queue in CATALOG.queues:
        url = sqs.get_queue_url(QueueName=f"revops-local-{queue.name}")["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        dead_letters[queue.name] = sum(int(value) for value in attributes.values())
    crm = {
        **{
            f"hubspot {kind}": requests.get(f"{hub.url}/_local/crm/hubspot/_records/{kind}", timeout=10).json()
            for kind in HUBSPOT_OBJECTS
        },
        **{
            f"salesforce {kind}": requests.get(f"{hub.url}/_local/crm/salesforce/_records/{kind}", timeout=10).json()
            for kind in SALESFORCE_OBJECTS
        },
    }
    return {
        "tables": tables,
        "slack": requests.get(f"{hub.url}/_local/slack/messages", timeout=10).json()["messages"],
        "email": requests.get(f"{hub.url}/_local/email/messages", timeout=10).json()["messages"],
        "crm": crm,
        "timers": requests.get(f"{hub.url}/_local/timers", timeout=10).json()["timers"],
        "dead letters": dead_letters,
    }


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed, item by item, said so that the consumer at fault can be found."""
    found: list[str] = []
    for table in sorted(set(before["tables"]) | set(after["tables"])):
        old, new = before["tables"].get(table, {}), after["tables"].get(table, {})
        found += [f"{table}: new item {new[key][:600]}" for key in new.keys() - old.keys()]
        found += [f"{table}: item gone {old[key][:600]}" for key in old.keys() - new.keys()]
        for key in sorted(old.keys() & new.keys()):
            if old[key] != new[key]:
                was, now = json.loads(old[key]), json.loads(new[key])
                changed = {a: (was.get(a), now.get(a)) for a in set(was) | set(now) if was.get(a) != now.get(a)}
                found.append(f"{table}: item {key} changed: {json.dumps(changed)[:1200]}")
    for part in ("slack", "email", "timers"):
        if before[part] != after[part]:
            found.append(f"{part}: {len(before[part])} before, {len(after[part])} after: {after[part][-3:]}"[:1500])
    for part in ("crm", "dead letters"):
        for name in before[part]:
            if before[part][name] != after[part][name]:
                found.append(
                    f"{part} {name}: {json.dumps(before[part][name])[:600]} -> {json.dumps(after[part][name])[:600]}"
                )
    return found


# -- the hour ------------------------------------------------------------------------------------------------------


def hubspot_change(hub: Hub, object_id: int, prop: str, value: str) -> None:
    answer = send_hubspot_property_change(hub.url, object_id, prop, value)
    assert answer.status_code == 202, answer.text


def slack_click(hub: Hub, action_id: str, value: str, slack_user_id: str) -> requests.Response:
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
    signature = SignatureVerifier(SECRET["slack"]).generate_signature(timestamp=timestamp, body=body)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    return requests.post(f"{hub.url}/webhooks/slack", data=body, headers=headers, timeout=10)


def button(message: dict[str, Any], action_id: str) -> str:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return str(element["value"])
    raise AssertionError(f"no {action_id} button in {message['text']}")


def spend_crossing_a_budget(hub: Hub, run: str) -> None:
    """The sales events budget of the month, then spend over its 80 % and 100 % thresholds: two alerts."""
    finance = {"Authorization": f"Bearer {token('finance')}"}
    period = datetime.now(UTC).strftime("%Y-%m")
    budget = {
        "currency": "USD",
        "lines": [{"department": "sales", "channel": "events", "amount": "10000.00"}],
        "thresholds": [80, 100],
    }
    answer = requests.put(
        f"{hub.url}/api/v1/integrations/finance/budget/{period}", json=budget, headers=finance, timeout=30
    )
    assert answer.status_code == 200, answer.text
    for n, amount in enumerate(("8500.00", "2000.00")):
        line = {
            "spend_id": f"booth-{run}-{n}",
            "campaign_id": f"summit-{run}",
            "channel": "events",
            "department": "sales",
            "vendor": "Expo GmbH",
            "amount": amount,
            "currency": "USD",
            "incurred_on": f"{period}-01",
        }
        answer = hub.post("/api/v1/integrations/finance/spend", {"lines": [line]}, headers=finance)
        assert answer.status_code == 201, answer.text


def a_lead_handed_off_and_accepted(hub: Hub, run: str) -> str:
    """An ICP lead captured from a form browses, requests a demo, is assigned, and the rep accepts in Slack."""
    email = f"ana.lima.{run}@harbor-{run}.example"
    captured = hub.post(
        "/api/v1/integrations/sales/leads",
        {
            "email": email,
            "source": "web form",
            "first_name": "Ana",
            "last_name": "Lima",
            "company": f"Harbor {run}",
            "job_title": "VP of Sales",
            "industry": "Software",
            "employee_count": 450,
            "annual_revenue": "60000000",
            "country": "US",
        },
    )
    assert captured.status_code == 201, captured.text
    lead_id = str(captured.json()["lead_id"])
    segment = Client(WRITE_KEY, host=hub.url, sync_mode=True, max_retries=0)
    segment.identify(f"user-{run}", {"email": email}, anonymous_id=f"anon-{run}")
    segment.page(f"user-{run}", name="Pricing", properties={"path": "/pricing"})
    segment.track(f"user-{run}", "Content Downloaded", {"title": "RevOps guide"})
    segment.track(f"user-{run}", "Demo Requested")
    segment.flush()

    def assigned() -> dict[str, Any] | None:
        items = [h for h in hub.get("/api/v1/handoffs", limit=200)["items"] if h["lead_id"] == lead_id]
        return items[0] if items and items[0]["status"] == "assigned" else None

    handoff = eventually(assigned)
    rep = next(r for r in hub.get("/api/v1/routing/reps")["reps"] if r["rep_id"] == handoff["rep_id"])
    slack = f"{hub.url}/_local/slack/messages"
    message = eventually(
        lambda: requests.get(slack, params={"channel": rep["slack_user_id"]}, timeout=10).json()["messages"]
    )[0]
    clicked = slack_click(hub, "handoff_accept", button(message, "handoff_accept"), rep["slack_user_id"])
    assert clicked.status_code == 200, clicked.text
    eventually(lambda: hub.get(f"/api/v1/leads/{lead_id}")["stage"] == "SQL")
    return email


def a_customer_turning_red(hub: Hub) -> Customer:
    """A customer pays, opens a ticket, answers NPS 3 and fails a payment: red, a churn risk, a playbook."""
    customer = Customer(hub.url)
    customer.stripe(
        "customer.created",
        {"object": "customer", "id": customer.customer, "email": customer.email, "name": "Kestrel Labs"},
    )
    eventually(lambda: customer.known_as(f"stripe:{customer.customer}"))
    customer.zendesk(
        "user.created",
        datetime.now(UTC),
        {
            "id": customer.requester,
            "email": customer.email,
            "name": "Kim Lee",
            "role": "end-user",
            "organization_id": customer.organization,
        },
    )
    eventually(lambda: customer.known_as(f"zendesk:{customer.organization}"))
    customer.pays("1", 49_000)
    assert customer.usage("usage-1", active=12, seats=20, features=3).status_code == 201
    now = datetime.now(UTC)
    customer.ticket("9101", "high", opened=now - timedelta(minutes=50))
    customer.nps(3)
    for invoice in ("2", "3"):
        customer.stripe(
            "invoice.payment_failed",
            {
                "object": "invoice",
                "id": f"in_{customer.customer}_{invoice}",
                "customer": customer.customer,
                "customer_email": customer.email,
                "amount_due": 49_000,
                "currency": "usd",
                "status": "open",
            },
        )
    eventually(lambda: customer.health().json()["band"] == "red")
    return customer


def a_won_deal(hub: Hub, email: str, run: str) -> None:
    won_at = datetime.now(UTC).replace(microsecond=0)
    data = {
        "deal_id": f"D-{run}",
        "email": email,
        "amount": "24000.00",
        "currency": "USD",
        "won_at": won_at.isoformat(),
    }
    answer = send_standard_webhook(hub.url, "deal.won", data["won_at"], data)
    assert answer.status_code in (200, 202), answer.text


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    state = tmp_path_factory.mktemp("replay") / "hub.json"
    with started_hub(state) as (url, _):
        yield Hub(url, state)


@pytest.fixture(scope="module")
def an_hour(hub: Hub) -> dict[str, Any]:
    """The hour, driven and settled; answers what was archived in it, by detail-type."""
    run = uuid.uuid4().hex[:8]
    spend_crossing_a_budget(hub, run)
    email = a_lead_handed_off_and_accepted(hub, run)
    hubspot_change(hub, int(run, 16) % 10**9, "email", email)
    customer = a_customer_turning_red(hub)
    a_won_deal(hub, email, run)
    quiet(hub)
    eventually(lambda: customer.success_events("customer.intervention_started"))
    events = requests.get(f"{hub.url}/_local/events", timeout=10).json()
    sources = set(CATALOG.event_sources)
    return {"types": {e["detail-type"] for e in events if e["source"] in sources}, "email": email}


def test_the_hour_reached_every_consumer(hub: Hub, an_hour: dict[str, Any]) -> None:
    # the hour is worth replaying only if it exercised every kind of consumer: say so before the replay
    expected = {
        "contact.upserted",  # lead processor, CRM sync
        "engagement.recorded",
        "lead.handoff_requested",  # handoff router
        "handoff.assigned",  # handoff notifier, CRM sync
        "handoff.accepted",  # a click, then the lead processor
        "deal.won",  # attribution, customer handoffs
        "payment.succeeded",  # success signals, attribution
        "survey.responded",
        "customer.intervention_started",  # success notifier
        "budget.threshold_crossed",  # budget notifier
        "lead.stage_changed",  # attribution funnel, handoff completion
    }
    assert expected <= an_hour["types"], expected - an_hour["types"]
    messages = snapshot(hub)
    assert messages["slack"], "the hour posted nothing to Slack"
    assert messages["email"], "the hour sent no e-mail"


def test_a_replay_of_the_last_hour_changes_nothing(hub: Hub, an_hour: dict[str, Any]) -> None:
    # Given the hub after the hour, quiet, with everything it holds read
    before = snapshot(hub)
    archived = [
        e
        for e in requests.get(f"{hub.url}/_local/events", timeout=10).json()
        if e["source"] in set(CATALOG.event_sources)
        and datetime.fromisoformat(e["time"]) >= datetime.now(UTC) - timedelta(minutes=55)
    ]
    # When the last hour is replayed to every rule with the operator command
    done = hub.replay("--from=-1h")
    assert done.returncode == 0, done.stderr
    assert "completed" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr
    # And the hub is quiet again
    quiet(hub)
    # Then the replay went through every event of the hour (to every rule: many deliveries)...
    name = done.stdout.split()[1]  # "replay <name> completed after ..."
    replay = requests.get(f"{hub.url}/_local/replays/{name}", timeout=10).json()
    assert replay["state"] == "COMPLETED"
    assert replay["events_total"] >= len(archived)
    assert replay["events_replayed"] == replay["events_total"]
    assert replay["deliveries"] > replay["events_total"] / 2
    assert replay["failed"] == 0
    # ...and nothing the hub holds changed: no new item, no changed attribute, no second message or CRM write
    after = snapshot(hub)
    changed = differences(before, after)
    assert not changed, "the replay changed what the hub holds:\n" + "\n".join(changed)


def test_a_replay_narrowed_to_types_reaches_only_the_rules_taking_them(hub: Hub, an_hour: dict[str, Any]) -> None:
    # When deal.won events are replayed to the rules that take them
    done = hub.replay("--from=-1h", "--types=deal.won")
    # Then those rules (and only they) are named, and it completes
    assert done.returncode == 0, done.stderr
    for rule in ("customer-handoffs-from-won-deals", "attribution-conversions", "leads-from-webhook-events"):
        assert rule in done.stdout
    assert "handoff-notifications" not in done.stdout
    quiet(hub)


def test_a_replay_of_what_no_rule_takes_or_an_unknown_type_is_one_line(hub: Hub) -> None:
    for arguments, says in (
        (("--types=deal.wonn",), "did you mean deal.won"),
        (("--target=no-such-rule",), "no rule or rule-consuming function"),
        (("--target=budget-alerts", "--types=deal.won"), "takes none of the types"),
        (("--from=yesterday",), "from must be an ISO 8601 time"),
        (("--from=-1h", "--to=-2h"), "must be before to"),
    ):
        done = hub.replay(*arguments)
        assert done.returncode == 2, done.stdout
        assert "Traceback" not in done.stderr
        assert done.stderr.count("\n") == 1, done.stderr
        assert says in done.stderr, done.stderr
