"""The handoff functions over moto, invoked with the events EventBridge and Scheduler hand them (issue 10): the
router (lead.handoff_requested and Slack clicks), the SLA / reminder timers, and the notifier (Slack through
the local stand-in on a loopback port, email through moto's SES). Every effect is read back: the stored
handoff, the events on the bus (an all-events tap queue), the dead letters in the function's failure queue,
the messages Slack and SES got.

The helpers here (`Hub`, the event builders) are shared with `test_handoff_api.py`."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from local_runtime.hub import verify_senders
from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from local_runtime.provision import Provisioned, provision
from shared.adapters.clock import SystemClock
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.catalog import CATALOG, physical_name
from shared.catalog.model import timer_group
from shared.events.canonical import WEBHOOK_EVENT_SOURCE, CanonicalEvent, EventType, Subject
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE
from shared.events.lead_events import LEAD_EVENT_SOURCE, LeadEvent, LeadEventType
from shared.handoffs.model import Handoff, SlaKind
from tests.integration.conftest import STAGE, ServedSlack, drain, eventbridge, handler_module, refuse_put_events
from tests.lead_journey_hub import hubspot_change, normalized

REGION = "us-east-1"
ADMIN = {"sub": "u-admin", "cognito:groups": "admin", "cognito:username": "admin", "token_use": "id"}
AMER_SDRS = {"sdr-maya-chen", "sdr-jordan-reyes", "sdr-sam-okafor"}
SLACK_IDS = {"sdr-maya-chen": "U0EXAMPLE01", "sdr-jordan-reyes": "U0EXAMPLE02", "sdr-sam-okafor": "U0EXAMPLE03"}
EMAILS = {
    "sdr-maya-chen": "maya.chen@example.com",
    "sdr-jordan-reyes": "jordan.reyes@example.com",
    "sdr-sam-okafor": "sam.okafor@example.com",
}
MANAGER_SLACK_ID = "U0EXAMPLE04"  # mgr-priya-nair, sdr-amer's manager
LEADS_TABLE = physical_name(STAGE, "leads")
HANDOFFS_TABLE = physical_name(STAGE, "handoffs")
SENDER = "handoffs@revops.example.com"  # config/local.notifications.json


# Events as AWS hands them ----------------------------------------------------------------------------------------


def handoff_requested(
    lead_id: str, priority: str = "standard", event_id: str | None = None, occurred_at: datetime | None = None
) -> dict[str, Any]:
    """A lead.handoff_requested as the lead processor publishes it (happened now, unless `occurred_at`)."""
    detail = LeadEvent(
        event_id=event_id or str(uuid.uuid4()),
        event_type=LeadEventType.HANDOFF_REQUESTED,
        occurred_at=occurred_at or datetime.now(UTC),
        lead_id=lead_id,
        email=None,
        stage="MQL",
        score=60,
        fit_score=40,
        engagement_score=20,
        priority=priority,
        reason=f"{priority} test request",
    )
    return eventbridge(LEAD_EVENT_SOURCE, LeadEventType.HANDOFF_REQUESTED.value, detail.model_dump(mode="json"))


def slack_click(handoff_id: str, slack_user_id: str, accept: bool = True) -> dict[str, Any]:
    """A Slack Accept / Reject click, as the webhook gateway publishes it (canonical, source revops.webhooks)."""
    kind = EventType.HANDOFF_ACCEPTED if accept else EventType.HANDOFF_REJECTED
    now = datetime.now(UTC)
    click = CanonicalEvent(
        event_id=str(uuid.uuid4()),
        event_type=kind,
        occurred_at=now,
        received_at=now,
        source_vendor="slack",
        vendor_event_id=None,
        vendor_event_type="block_actions",
        data={"handoff_id": handoff_id, "slack_user_id": slack_user_id, "slack_user_name": slack_user_id},
        correlation_id="r-1",
        delivery_id="d-1",
    )
    return eventbridge(WEBHOOK_EVENT_SOURCE, kind.value, click.model_dump(mode="json"))


def engagement(email: str, kind: str = "demo_request") -> dict[str, Any]:
    now = datetime.now(UTC)
    event = CanonicalEvent(
        event_id=str(uuid.uuid4()),
        event_type=EventType.ENGAGEMENT_RECORDED,
        occurred_at=now,
        received_at=now,
        source_vendor="segment",
        vendor_event_id=uuid.uuid4().hex,
        vendor_event_type="track",
        subject=Subject(email=email),
        data={"kind": kind, "name": "Demo Requested", "url": "https://www.example.com/demo"},
        correlation_id="r-2",
        delivery_id="d-2",
    )
    return eventbridge(WEBHOOK_EVENT_SOURCE, EventType.ENGAGEMENT_RECORDED.value, event.model_dump(mode="json"))


# The hub, as far as these tests drive it ---------------------------------------------------------------------------


class Hub:
    """The handoff functions (and the lead functions that give them leads) over one moto account."""

    def __init__(self, aws: Provisioned) -> None:
        self.aws = aws
        boto3.client("scheduler", region_name=REGION).create_schedule_group(
            Name=timer_group(STAGE, CATALOG.function("handoff_timers"))
        )
        self.leads_api = handler_module("leads_api")
        self.lead_processor = handler_module("lead_processor")
        self.router = handler_module("handoff_router")
        self.timers = handler_module("handoff_timers")
        self.api = handler_module("handoffs_api")
        self._dynamodb = boto3.client("dynamodb", region_name=REGION)

    # leads

    def capture(self, email: str | None = None, **profile: Any) -> str:
        """A B2B lead captured through the lead API (US by default: the AMER SDRs' round robin); its id."""
        body = {
            "email": email or f"buyer.{uuid.uuid4().hex[:10]}@acme-{uuid.uuid4().hex[:6]}.example",
            "source": "web form",
            "first_name": "Alex",
            "last_name": "Buyer",
            "company": "Acme",
            "job_title": "VP Sales",
            "employee_count": 250,
            "country": "US",
        } | profile
        event = rest_proxy_event(
            method="POST",
            path="/api/v1/integrations/sales/leads",
            resource="/api/v1/integrations/sales/leads",
            headers={"Content-Type": "application/json"},
            body=json.dumps(body).encode(),
            claims=ADMIN,
        )
        answer = self.leads_api.handler(event, LocalLambdaContext("leads-api"))
        assert answer["statusCode"] == 201, answer["body"]
        return str(json.loads(answer["body"])["lead_id"])

    def engage(self, email: str, kind: str = "demo_request") -> None:
        outcome = self.lead_processor.handler(engagement(email, kind), LocalLambdaContext("lead-processor"))
        assert "dead_lettered" not in outcome, outcome

    # handoffs

    def invoke(self, function: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = function.handler(event, LocalLambdaContext(function.__name__))
        return result

    def request(self, lead_id: str, priority: str = "standard", event_id: str | None = None) -> dict[str, Any]:
        return self.invoke(self.router, handoff_requested(lead_id, priority, event_id))

    def assigned(self, priority: str = "standard", **profile: Any) -> dict[str, Any]:
        """A new lead's handoff, requested and assigned: the router's answer."""
        routed = self.request(self.capture(**profile), priority)
        assert routed["status"] == "assigned", routed
        return routed

    def handoff(self, handoff_id: str) -> Handoff:
        stored = self.router.service.repository.handoff(handoff_id)
        assert stored is not None, handoff_id
        return stored

    def handoff_items(self) -> int:
        return int(self._dynamodb.scan(TableName=HANDOFFS_TABLE, Select="COUNT")["Count"])

    # what came out

    def published(self, source: str | None = HANDOFF_EVENT_SOURCE) -> list[dict[str, Any]]:
        """Events on the bus since the last call (of `source`; every source when None)."""
        return [e for e in drain(self.aws.all_events_url) if source is None or e["source"] == source]

    def dead_letters(self, function: str) -> list[dict[str, Any]]:
        return drain(self.aws.queue_urls[CATALOG.function(function).failure_queue.name])

    def timer_names(self) -> list[str]:
        scheduler = boto3.client("scheduler", region_name=REGION)
        group = timer_group(STAGE, CATALOG.function("handoff_timers"))
        return [s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]]

    def timer_inputs(self, handoff_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """What the handoff's pending schedules (of `kind`) will hand the timer function, soonest first."""
        scheduler = boto3.client("scheduler", region_name=REGION)
        group = timer_group(STAGE, CATALOG.function("handoff_timers"))
        inputs = [
            json.loads(scheduler.get_schedule(Name=name, GroupName=group)["Target"]["Input"])
            for name in self.timer_names()
            if name.startswith(f"{handoff_id}-")
        ]
        return sorted((i for i in inputs if kind in (None, i["kind"])), key=lambda i: str(i["due_at"]))

    def fire(self, handoff_id: str, kind: str = "sla_accept") -> dict[str, Any]:
        """The handoff's pending timer of `kind` (the first) comes due: the hub's clock reaches its due time (a
        timer delivered before it does nothing yet), and the timer function gets its input."""
        due = self.timer_inputs(handoff_id, kind)[0]
        reach(datetime.fromisoformat(due["due_at"]))
        return self.invoke(self.timers, due)


def reach(moment: datetime) -> None:
    """The functions' clock (`SystemClock`, as the local hub moves it) moved forward to `moment`, if behind it."""
    behind = moment - SystemClock().now()
    if behind > timedelta(0):
        SystemClock.offset += behind


@pytest.fixture(autouse=True)
def _clock_as_it_was(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts at the real time; `reach` moves the clock for its own test only."""
    monkeypatch.setattr(SystemClock, "offset", timedelta(0))


@pytest.fixture
def hub(aws: Provisioned) -> Hub:
    return Hub(aws)


def types_of(events: list[dict[str, Any]]) -> list[str]:
    return sorted(e["detail-type"] for e in events)


# Router: lead.handoff_requested ------------------------------------------------------------------------------------


def test_a_handoff_request_is_assigned_stored_announced_and_timed(hub: Hub) -> None:
    # Given a US lead
    lead_id = hub.capture()
    hub.published(None)
    # When its handoff is requested
    routed = hub.request(lead_id)
    # Then an AMER SDR has it, stored with its SLA, announced on the bus once, with its timers set
    assert routed["rep_id"] in AMER_SDRS
    stored = hub.handoff(routed["handoff_id"])
    assert (stored.status.value, stored.rep_id, stored.lead_id) == ("assigned", routed["rep_id"], lead_id)
    assert stored.sla_due_at is not None
    events = hub.published()
    assert types_of(events) == ["handoff.assigned", "lead.nurture_paused"]
    assigned = next(e for e in events if e["detail-type"] == "handoff.assigned")
    assert (assigned["detail"]["handoff_id"], assigned["detail"]["rep_id"]) == (stored.handoff_id, stored.rep_id)
    assert any(name.startswith(f"{stored.handoff_id}-sla-0-") for name in hub.timer_names())


def test_a_handoff_is_requested_when_the_request_event_happened_not_when_the_router_ran(hub: Hub) -> None:
    # Given a lead whose handoff was requested two minutes before the router gets the event (a busy bus)
    lead_id = hub.capture()
    asked = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    # When the router handles it
    routed = hub.invoke(hub.router, handoff_requested(lead_id, occurred_at=asked))
    # Then the stored handoff was requested at the event's time, and assigned about two minutes later
    stored = hub.handoff(routed["handoff_id"])
    assert stored.requested_at == asked
    assert stored.assigned_at is not None
    assert timedelta(minutes=2) <= stored.assigned_at - stored.requested_at < timedelta(minutes=3)


def test_a_retried_request_opens_no_second_handoff_and_publishes_nothing_new(hub: Hub) -> None:
    # Given a handoff request the router has handled
    lead_id = hub.capture()
    event = handoff_requested(lead_id)
    first = hub.invoke(hub.router, event)
    hub.published(None)
    # When EventBridge delivers the same event again
    second = hub.invoke(hub.router, event)
    # Then it is the same handoff, still one for the lead, and nothing new is on the bus
    assert second["handoff_id"] == first["handoff_id"]
    assert second["published"] == []
    assert hub.handoff_items() == 1 + 1 + 1  # the handoff, the lead's open-handoff lock, the rep's load
    assert hub.published(None) == []


def test_an_assignment_the_bus_refused_is_published_when_the_event_is_retried(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given EventBridge refusing the router's next PutEvents, and the retry the router makes in place
    events = boto3.client("events", region_name=REGION)
    publisher = EventBridgePublisher(events, hub.aws.bus_name, HANDOFF_EVENT_SOURCE)
    monkeypatch.setattr(hub.router.service._announcer, "_publisher", publisher)
    refuse_put_events(events, times=2)
    event = handoff_requested(hub.capture())
    # When the request is handled, fails on the bus (Lambda retries it), and is handled again
    with pytest.raises(RuntimeError, match="the bus refused"):
        hub.invoke(hub.router, event)
    hub.published(None)
    retried = hub.invoke(hub.router, event)
    # Then the assignment is stored once and is on the bus after all: the rep hears of it
    assert retried["status"] == "assigned"
    assert types_of(hub.published()) == ["handoff.assigned", "lead.nurture_paused"]


def test_a_second_request_for_the_lead_while_one_is_open_opens_no_second_handoff(hub: Hub) -> None:
    lead_id = hub.capture()
    first = hub.request(lead_id)
    second = hub.request(lead_id)  # another trigger, another event id, same priority
    assert second["handoff_id"] == first["handoff_id"]
    assert hub.handoff_items() == 3


@pytest.mark.parametrize(
    ("case", "detail"),
    [
        ("no detail", None),
        ("detail a string", "lead.handoff_requested"),
        ("no lead_id", {"event_type": "lead.handoff_requested", "priority": "standard"}),
        ("a lead event of another type", "score_changed"),
        ("a request without priority", "no_priority"),
        ("priority urgent", "bad_priority"),
    ],
)
def test_a_malformed_lead_event_is_dead_lettered_at_once(hub: Hub, case: str, detail: Any) -> None:
    # Given a lead event that can never be applied (<case>)
    good = handoff_requested("lead-x")["detail"]
    if detail == "score_changed":
        detail = good | {"event_type": "lead.score_changed", "priority": None}
    elif detail == "no_priority":
        detail = good | {"priority": None}
    elif detail == "bad_priority":
        detail = good | {"priority": "urgent"}
    event = eventbridge(LEAD_EVENT_SOURCE, "lead.handoff_requested", detail)
    # When the router gets it
    outcome = hub.invoke(hub.router, event)
    # Then the invocation succeeds (no retries), the event is in the router's failure queue with the reason,
    # and nothing was stored or published
    assert "dead_lettered" in outcome, outcome
    [letter] = hub.dead_letters("handoff_router")
    assert letter["requestContext"]["condition"] == "PermanentFailure"
    assert letter["requestPayload"] == event
    assert letter["responsePayload"]["errorMessage"]
    assert hub.handoff_items() == 0
    assert hub.published() == []


@pytest.mark.parametrize("lead_id", ["", "x" * 3000], ids=["empty", "3000-chars"])
def test_a_lead_id_no_lead_can_have_is_dropped_not_retried(hub: Hub, lead_id: str) -> None:
    # (moto does not refuse a key over DynamoDB's 2,048 bytes as DynamoDB does: see the report)
    outcome = hub.invoke(hub.router, handoff_requested(lead_id))
    assert outcome["handoff_id"] is None or "dead_lettered" in outcome, outcome
    assert hub.handoff_items() == 0


def test_a_request_for_a_lead_the_hub_does_not_know_is_dropped_with_a_note(hub: Hub) -> None:
    outcome = hub.request("no-such-lead")
    assert (outcome["handoff_id"], outcome["note"]) == (None, "lead no-such-lead is not known to the hub")
    assert hub.handoff_items() == 0
    assert hub.dead_letters("handoff_router") == []


def test_a_lead_of_an_account_its_crm_owner_is_an_ae_goes_to_that_ae(hub: Hub) -> None:
    # Given a HubSpot company owned by Daniel Kim (an AE), and a lead the lead processor links to it
    at = datetime.now(UTC)
    changes = [
        (9001, "name", "Initech", "company.propertyChange"),
        (9001, "hubspot_owner_id", "71000012", "company.propertyChange"),  # Daniel's id in config/crm-mappings.json
        (501, "email", "bill@initech.example", "contact.propertyChange"),
        (501, "associatedcompanyid", "9001", "contact.propertyChange"),
    ]
    lead_id = hub.capture("bill@initech.example")
    for n, (object_id, prop, value, subscription) in enumerate(changes, start=1):
        [event] = normalized("hubspot", hubspot_change(object_id, prop, value, at, n, subscription), at, n)
        hub.invoke(
            hub.lead_processor, eventbridge(WEBHOOK_EVENT_SOURCE, event.event_type.value, event.model_dump(mode="json"))
        )
    # When its handoff is requested
    routed = hub.request(lead_id)
    # Then the owned-accounts rule gives it to Daniel
    stored = hub.handoff(routed["handoff_id"])
    assert (stored.status.value, stored.rule_id, stored.rep_id) == ("assigned", "owned-accounts", "ae-daniel-kim")
    assert hub.dead_letters("lead_processor") == []


# Router: Slack clicks ----------------------------------------------------------------------------------------------


def test_a_slack_accept_from_the_assignee_accepts_the_handoff(hub: Hub) -> None:
    # Given an assigned handoff
    routed = hub.assigned()
    hub.published(None)
    # When the assignee clicks Accept in Slack
    outcome = hub.invoke(hub.router, slack_click(routed["handoff_id"], SLACK_IDS[routed["rep_id"]]))
    # Then it is accepted by them, handoff.accepted is on the bus once, and its accept timers are gone: the
    # first-touch deadline alone is pending
    assert outcome["status"] == "accepted", outcome
    stored = hub.handoff(routed["handoff_id"])
    assert (stored.status.value, stored.rep_id) == ("accepted", routed["rep_id"])
    assert stored.accepted_at is not None
    assert types_of(hub.published()) == ["handoff.accepted"]
    [pending] = hub.timer_inputs(routed["handoff_id"])
    assert (pending["kind"], datetime.fromisoformat(pending["due_at"])) == ("first_touch", stored.first_touch_due_at)


def test_a_slack_accept_from_another_rep_leaves_the_handoff_assigned(hub: Hub) -> None:
    # Given a handoff assigned to one AMER SDR
    routed = hub.assigned()
    other = next(rep for rep in sorted(AMER_SDRS) if rep != routed["rep_id"])
    hub.published(None)
    # When another SDR clicks Accept on it
    outcome = hub.invoke(hub.router, slack_click(routed["handoff_id"], SLACK_IDS[other]))
    # Then nothing changes: still assigned to the first, nothing published, nothing dead-lettered
    assert "not applied" in outcome["note"], outcome
    stored = hub.handoff(routed["handoff_id"])
    assert (stored.status.value, stored.rep_id, stored.accepted_at) == ("assigned", routed["rep_id"], None)
    assert hub.published() == []
    assert hub.dead_letters("handoff_router") == []


def test_a_slack_accept_from_an_unknown_slack_user_leaves_the_handoff_assigned(hub: Hub) -> None:
    routed = hub.assigned()
    hub.invoke(hub.router, slack_click(routed["handoff_id"], "U0STRANGER"))
    assert hub.handoff(routed["handoff_id"]).status.value == "assigned"


def test_a_slack_accept_from_the_teams_manager_accepts_it(hub: Hub) -> None:
    routed = hub.assigned()
    outcome = hub.invoke(hub.router, slack_click(routed["handoff_id"], MANAGER_SLACK_ID))
    assert outcome["status"] == "accepted", outcome


def test_a_slack_reject_from_the_assignee_moves_the_handoff_to_another_rep(hub: Hub) -> None:
    routed = hub.assigned()
    hub.published(None)
    outcome = hub.invoke(hub.router, slack_click(routed["handoff_id"], SLACK_IDS[routed["rep_id"]], accept=False))
    stored = hub.handoff(routed["handoff_id"])
    assert stored.status.value == "assigned", outcome
    assert stored.rep_id in AMER_SDRS - {routed["rep_id"]}
    assert routed["rep_id"] in stored.excluded_reps
    assert types_of(hub.published()) == ["handoff.assigned", "handoff.rejected"]


def test_a_repeated_slack_accept_is_applied_once(hub: Hub) -> None:
    routed = hub.assigned()
    click = slack_click(routed["handoff_id"], SLACK_IDS[routed["rep_id"]])
    hub.invoke(hub.router, click)
    hub.published(None)
    again = hub.invoke(hub.router, click)
    assert again["status"] == "accepted"
    assert hub.published() == []


@pytest.mark.parametrize(
    ("case", "detail"),
    [("no detail", None), ("not canonical", {"handoff_id": "h-1"}), ("detail a list", [1, 2])],
)
def test_a_malformed_click_is_dead_lettered_at_once(hub: Hub, case: str, detail: Any) -> None:
    event = eventbridge(WEBHOOK_EVENT_SOURCE, "handoff.accepted", detail)
    outcome = hub.invoke(hub.router, event)
    assert "dead_lettered" in outcome, outcome
    [letter] = hub.dead_letters("handoff_router")
    assert letter["requestPayload"] == event


def test_a_click_on_a_handoff_the_hub_does_not_have_is_dropped_with_a_note(hub: Hub) -> None:
    outcome = hub.invoke(hub.router, slack_click("0" * 32, SLACK_IDS["sdr-maya-chen"]))
    assert outcome["handoff_id"] is None
    assert "no handoff" in outcome["note"]
    assert hub.dead_letters("handoff_router") == []


def test_a_click_with_an_oversized_handoff_id_is_dropped_not_retried(hub: Hub) -> None:
    outcome = hub.invoke(hub.router, slack_click("h" * 3000, SLACK_IDS["sdr-maya-chen"]))
    assert outcome["handoff_id"] is None, outcome


# Timers --------------------------------------------------------------------------------------------------------


def timer(handoff_id: str, kind: str = "sla_accept", assignment: Any = 0) -> dict[str, Any]:
    """What a timer's one-time schedule hands the timer function (`scheduler_timers.timer_input`)."""
    return {"handoff_id": handoff_id, "kind": kind, "assignment": assignment, "due_at": datetime.now(UTC).isoformat()}


def test_a_timer_delivered_before_its_due_time_waits_for_it_and_is_set_again(hub: Hub) -> None:
    # Given a handoff's accept deadline, as its schedule hands it to the timer function
    routed = hub.assigned()
    [deadline] = hub.timer_inputs(routed["handoff_id"], "sla_accept")
    before = hub.handoff(routed["handoff_id"])
    hub.published(None)
    # When Scheduler delivers it before its due time
    outcome = hub.invoke(hub.timers, deadline)
    # Then nothing happens to the handoff, nothing is published
    assert outcome["note"].startswith("early"), outcome
    assert hub.handoff(routed["handoff_id"]) == before
    assert hub.published(None) == []
    # And a schedule of its own is set for the minute after the due time, handing the same timer on
    [again] = [i for i in hub.timer_inputs(routed["handoff_id"], "sla_accept") if i.get("early")]
    assert again == deadline | {"early": 1}
    # When that one comes due, Then the deadline is acted on: the breach is published, the handoff moves on
    reach(datetime.fromisoformat(again["due_at"]))
    hub.invoke(hub.timers, again)
    assert types_of(hub.published()) == ["handoff.assigned", "handoff.sla_breached"]
    assert hub.handoff(routed["handoff_id"]).rep_id != routed["rep_id"]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"handoff_id": "", "kind": "sla_accept", "assignment": 0},
        {"handoff_id": "h", "kind": "explode", "assignment": 0},
        {"handoff_id": "h", "kind": "sla_accept", "assignment": -1},
        {"handoff_id": "h", "kind": "sla_accept", "assignment": "0"},
        {"handoff_id": "h", "kind": "sla_accept", "assignment": True},
        {"handoff_id": 7, "kind": "reminder", "assignment": 0},
        {"handoff_id": "h", "kind": "sla_accept", "assignment": 0},
        {"handoff_id": "h", "kind": "sla_accept", "assignment": 0, "due_at": "2026-03-10T15:30:00"},
        {"handoff_id": "h", "kind": "sla_accept", "assignment": 0, "due_at": "half past three"},
        {"handoff_id": "h", "kind": "sla_accept", "assignment": 0, "due_at": "2026-03-10T15:30:00+00:00", "early": -1},
    ],
    ids=[
        "empty",
        "empty-id",
        "bad-kind",
        "negative",
        "string-assignment",
        "bool-assignment",
        "numeric-id",
        "no-due-at",
        "naive-due-at",
        "unreadable-due-at",
        "negative-early",
    ],
)
def test_a_malformed_timer_input_is_dead_lettered_at_once(hub: Hub, event: dict[str, Any]) -> None:
    outcome = hub.invoke(hub.timers, event)
    assert "dead_lettered" in outcome, outcome
    [letter] = hub.dead_letters("handoff_timers")
    assert letter["requestContext"]["condition"] == "PermanentFailure"
    assert letter["requestPayload"] == event
    assert "timer input" in letter["responsePayload"]["errorMessage"]


def test_an_sla_timer_of_the_current_assignment_reassigns_and_announces_the_breach(hub: Hub) -> None:
    # Given a handoff assigned and not accepted
    routed = hub.assigned()
    first = routed["rep_id"]
    hub.published(None)
    # When its SLA timer fires
    outcome = hub.fire(routed["handoff_id"])
    # Then it moved to another AMER SDR, the first is excluded, and the breach and new assignment are published
    stored = hub.handoff(routed["handoff_id"])
    assert stored.status.value == "assigned", outcome
    assert stored.rep_id in AMER_SDRS - {first}
    assert (stored.reassignments, stored.excluded_reps) == (1, (first,))
    events = hub.published()
    assert types_of(events) == ["handoff.assigned", "handoff.sla_breached"]
    breach = next(e for e in events if e["detail-type"] == "handoff.sla_breached")
    assert (breach["detail"]["handoff_id"], breach["detail"]["rep_id"]) == (routed["handoff_id"], first)
    # And the new assignment's timers are set, the old ones' SLA gone
    names = hub.timer_names()
    assert any(name.startswith(f"{routed['handoff_id']}-sla-1-") for name in names)
    assert not any(name.startswith(f"{routed['handoff_id']}-sla-0-") for name in names)
    # And the loads moved with it: the first rep has nothing open
    loads = hub.router.service.repository.rep_loads()
    assert (loads[first].open_handoffs, loads[stored.rep_id or ""].open_handoffs) == (0, 1)


@pytest.mark.parametrize("stale", ["earlier assignment", "accepted since", "unknown handoff"])
def test_a_stale_timer_changes_nothing(hub: Hub, stale: str) -> None:
    # Given a handoff, and a timer that no longer applies to it (<stale>)
    routed = hub.assigned()
    handoff_id = routed["handoff_id"]
    event = timer(handoff_id, assignment=1)
    if stale == "accepted since":
        [event] = hub.timer_inputs(handoff_id, "sla_accept")
        hub.invoke(hub.router, slack_click(handoff_id, SLACK_IDS[routed["rep_id"]]))
    elif stale == "unknown handoff":
        event = timer("f" * 32)
    before = hub.handoff(handoff_id)
    hub.published(None)
    # When it fires
    outcome = hub.invoke(hub.timers, event)
    # Then nothing changed, nothing was published, nothing dead-lettered
    assert outcome["note"] == "stale timer", outcome
    assert hub.handoff(handoff_id) == before
    assert hub.published(None) == []
    assert hub.dead_letters("handoff_timers") == []


def test_a_reminder_timer_records_and_announces_a_reminder(hub: Hub) -> None:
    routed = hub.assigned()
    hub.published(None)
    hub.fire(routed["handoff_id"], "reminder")
    stored = hub.handoff(routed["handoff_id"])
    assert (stored.status.value, stored.rep_id) == ("assigned", routed["rep_id"])
    assert types_of(hub.published()) == ["handoff.reminded"]


def test_a_second_breach_escalates_to_the_teams_manager(hub: Hub) -> None:
    routed = hub.assigned()
    hub.fire(routed["handoff_id"])
    hub.published(None)
    hub.fire(routed["handoff_id"])
    stored = hub.handoff(routed["handoff_id"])
    assert (stored.rep_id, stored.reassignments) == ("mgr-priya-nair", 2)
    assert types_of(hub.published()) == ["handoff.escalated", "handoff.sla_breached"]


def test_the_old_timers_of_a_raised_handoff_are_gone_and_fire_to_no_effect(hub: Hub) -> None:
    # Given a standard handoff assigned, with its standard reminders and deadline scheduled
    lead_id = hub.capture()
    routed = hub.request(lead_id, "standard")
    handoff_id = routed["handoff_id"]
    standard = hub.timer_inputs(handoff_id)
    assert [i["kind"] for i in standard] == ["reminder", "reminder", "sla_accept", "first_touch"]
    # When a demo request raises it to priority
    raised = hub.request(lead_id, "priority")
    assert raised["handoff_id"] == handoff_id
    stored = hub.handoff(handoff_id)
    assert stored.priority.value == "priority"
    # Then only the priority's four schedules are pending, the deadlines the handoff's own
    pending = hub.timer_inputs(handoff_id)
    assert [i["kind"] for i in pending] == ["reminder", "reminder", "sla_accept", "first_touch"]
    assert not any(i in pending for i in standard)
    assert datetime.fromisoformat(pending[-2]["due_at"]) == stored.sla_due_at
    assert datetime.fromisoformat(pending[-1]["due_at"]) == stored.first_touch_due_at
    # And when the old standard deadline fires anyway (its delete raced the firing), nothing happens
    hub.published(None)
    outcome = hub.invoke(hub.timers, standard[-1])
    assert outcome["note"] == "stale timer", outcome
    assert hub.handoff(handoff_id) == stored
    assert hub.published(None) == []
    # And the assignee's accept deletes the priority's schedules but its first-touch deadline
    hub.invoke(hub.router, slack_click(handoff_id, SLACK_IDS[routed["rep_id"]]))
    assert hub.timer_inputs(handoff_id) == pending[-1:]


def test_a_first_touch_timer_of_an_accepted_handoff_announces_the_breach_and_moves_nothing(hub: Hub) -> None:
    # Given a handoff its assignee accepted in Slack and whose lead they have not touched
    routed = hub.assigned()
    hub.invoke(hub.router, slack_click(routed["handoff_id"], SLACK_IDS[routed["rep_id"]]))
    accepted = hub.handoff(routed["handoff_id"])
    [deadline] = hub.timer_inputs(routed["handoff_id"], "first_touch")
    hub.published(None)
    # When its first-touch deadline fires, at its due time
    reach(datetime.fromisoformat(deadline["due_at"]))
    outcome = hub.invoke(hub.timers, deadline)
    # Then handoff.sla_breached is on the bus saying which SLA, and the handoff is still the rep's, accepted
    [breach] = hub.published()
    assert (breach["detail-type"], breach["detail"]["sla"], breach["detail"]["rep_id"]) == (
        "handoff.sla_breached",
        "first_touch",
        routed["rep_id"],
    )
    stored = hub.handoff(routed["handoff_id"])
    assert (stored.status.value, stored.rep_id, stored.reassignments) == ("accepted", routed["rep_id"], 0), outcome
    assert (stored.history[-1].event, stored.history[-1].sla) == ("handoff.sla_breached", SlaKind.FIRST_TOUCH)
    assert stored.first_touch_due_at == accepted.first_touch_due_at
    # And the same timer again (Scheduler delivers at least once) changes nothing
    again = hub.invoke(hub.timers, deadline)
    assert again["note"] == "stale timer", again
    assert hub.published(None) == []


def test_a_breach_of_a_direct_assignment_escalates_to_the_manager(hub: Hub) -> None:
    # Given a partner referral, which the `direct` rule gives to the partnerships AE alone
    routed = hub.assigned(source="partner_referral")
    assert routed["rep_id"] == "ae-nina-patel"
    hub.published(None)
    # When her SLA timer fires
    outcome = hub.fire(routed["handoff_id"])
    # Then the handoff is the AE team's manager's, not parked in the AE queue, and the escalation is published
    stored = hub.handoff(routed["handoff_id"])
    assert (stored.status.value, stored.rep_id, stored.queue) == ("assigned", "mgr-david-cohen", None), outcome
    assert types_of(hub.published()) == ["handoff.escalated", "handoff.sla_breached"]
    assert any(name.startswith(f"{routed['handoff_id']}-sla-1-") for name in hub.timer_names())


# Notifier ------------------------------------------------------------------------------------------------------


@pytest.fixture
def notifying(slack: ServedSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hub, ModuleType]]:
    """The hub provisioned with the notifications secret pointing at the Slack stand-in (its `{hub_url}`), the
    sender verified in moto's SES as the local hub does; and the notifier handler."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        provisioned = provision(CATALOG, STAGE, session, placeholders={"hub_url": slack.url})
        verify_senders(CATALOG, STAGE, session)
        notifier = handler_module("handoff_notifier")
        # The notifier keeps the channels it built from the secret for a few minutes; this test's secret must
        # be read (another test may have built them from its own).
        monkeypatch.setattr(notifier.notifier._channels, "_built_at", float("-inf"))
        yield Hub(provisioned), notifier


def assigned_event(hub: Hub) -> dict[str, Any]:
    """The handoff.assigned the bus carried, as EventBridge hands it to the notifier's rule."""
    [assigned] = [e for e in hub.published() if e["detail-type"] == "handoff.assigned"]
    return eventbridge(assigned["source"], assigned["detail-type"], assigned["detail"])


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    return {
        element["action_id"]: element["value"]
        for block in message.get("blocks", [])
        for element in block.get("elements", [])
        if element.get("type") == "button"
    }


def test_an_assignment_is_sent_to_the_rep_in_slack_with_buttons_and_by_email(
    notifying: tuple[Hub, ModuleType], slack: ServedSlack
) -> None:
    hub, notifier = notifying
    # Given a standard handoff assigned, and its handoff.assigned on the bus
    routed = hub.assigned()
    assigned = assigned_event(hub)
    rep = routed["rep_id"]
    # When the notifier gets the event
    sent = hub.invoke(notifier, assigned)
    # Then the rep got one Slack message, with Accept and Reject buttons carrying the handoff id
    assert len(sent["slack"]) == 1, sent
    [message] = slack.messages(SLACK_IDS[rep])
    values = buttons(message)
    assert set(values) == {"handoff_accept", "handoff_reject"}
    assert all(routed["handoff_id"] in value for value in values.values())
    # (only the rep: a standard handoff is no team alert)
    assert len(slack.messages()) == 1
    # And one email, from the configured sender to the rep's address, through SES
    [email] = sent_emails()
    assert email.source == SENDER
    assert email.destinations["ToAddresses"] == [EMAILS[rep]]
    assert sent["email"] == [email.id]


def test_an_urgent_assignment_alerts_the_teams_channel_too(
    notifying: tuple[Hub, ModuleType], slack: ServedSlack
) -> None:
    hub, notifier = notifying
    # Given a `priority` handoff (a buying signal) assigned
    routed = hub.assigned("priority")
    # When the notifier gets its handoff.assigned
    hub.invoke(notifier, assigned_event(hub))
    # Then the rep and the team's channel hear of it
    assert len(slack.messages(SLACK_IDS[routed["rep_id"]])) == 1
    assert len(slack.messages("#sdr-amer-handoffs")) == 1


@pytest.mark.parametrize("fault", ["fail_next() in-process", "the faults endpoint, ratelimited"])
def test_a_slack_failure_still_emails_the_rep_and_the_retry_sends_only_the_slack_message(
    notifying: tuple[Hub, ModuleType], slack: ServedSlack, fault: str
) -> None:
    hub, notifier = notifying
    # Given an assignment to tell, and Slack failing the next post
    routed = hub.assigned()
    assigned = assigned_event(hub)
    if fault.startswith("fail_next"):
        slack.sink.fail_next(1)
    else:
        slack.fail_next(1, "ratelimited")
    # When the notifier gets the event, Then the invocation fails (Lambda retries it), nothing is swallowed
    with pytest.raises(Exception) as failed:  # noqa: PT011 - the notifier's NotificationsFailed, whatever wraps it
        hub.invoke(notifier, assigned)
    assert "internal_error" in str(failed.value) or "ratelimited" in str(failed.value)
    # and nothing was dead-lettered as permanent, no Slack message went out, but the rep got the email
    assert hub.dead_letters("handoff_notifier") == []
    assert slack.messages() == []
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == [EMAILS[routed["rep_id"]]]
    # And the retry, Slack back, tells the rep in Slack, without emailing them again
    sent = hub.invoke(notifier, assigned)
    assert (len(sent["slack"]), sent["email"], sent["already_sent"]) == (1, [], 1), sent
    assert len(slack.messages(SLACK_IDS[routed["rep_id"]])) == 1
    assert len(sent_emails()) == 1


def test_an_email_failure_still_tells_the_rep_in_slack_and_the_retry_sends_only_the_email(
    notifying: tuple[Hub, ModuleType], slack: ServedSlack
) -> None:
    hub, notifier = notifying
    # Given an assignment to tell, and SES refusing the sender (no longer verified)
    routed = hub.assigned()
    assigned = assigned_event(hub)
    ses = boto3.client("ses", region_name=REGION)
    ses.delete_identity(Identity=SENDER)
    # When the notifier gets the event, Then the invocation fails, naming the email's failure
    with pytest.raises(Exception) as failed:  # noqa: PT011 - the notifier's NotificationsFailed, whatever wraps it
        hub.invoke(notifier, assigned)
    assert "email" in str(failed.value)
    # and the rep was told in Slack, no email went out
    assert len(slack.messages(SLACK_IDS[routed["rep_id"]])) == 1
    assert sent_emails() == []
    # And the retry, SES back, sends the email only
    ses.verify_email_identity(EmailAddress=SENDER)
    sent = hub.invoke(notifier, assigned)
    assert (sent["slack"], len(sent["email"])) == ([], 1), sent
    assert len(slack.messages()) == 1
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == [EMAILS[routed["rep_id"]]]


def test_an_assignment_notified_again_tells_no_one_twice(notifying: tuple[Hub, ModuleType], slack: ServedSlack) -> None:
    hub, notifier = notifying
    # Given an assignment told in Slack and by email
    hub.assigned()
    assigned = assigned_event(hub)
    hub.invoke(notifier, assigned)
    # When the same event is delivered again (the bus delivers at least once)
    again = hub.invoke(notifier, assigned)
    # Then nothing is sent again
    assert (again["slack"], again["email"], again["already_sent"]) == ([], [], 2), again
    assert (len(slack.messages()), len(sent_emails())) == (1, 1)


def test_a_missed_first_touch_is_told_to_the_teams_manager_not_the_rep(
    notifying: tuple[Hub, ModuleType], slack: ServedSlack
) -> None:
    hub, notifier = notifying
    # Given an accepted handoff whose first-touch deadline passed, and its handoff.sla_breached on the bus
    routed = hub.assigned()
    hub.invoke(hub.router, slack_click(routed["handoff_id"], SLACK_IDS[routed["rep_id"]]))
    hub.fire(routed["handoff_id"], "first_touch")
    [breach] = [e for e in hub.published() if e["detail-type"] == "handoff.sla_breached"]
    # When the notifier gets it
    sent = hub.invoke(notifier, eventbridge(breach["source"], breach["detail-type"], breach["detail"]))
    # Then the team's manager got one Slack message, without buttons, naming the rep; and one email; the rep none
    assert (len(sent["slack"]), len(sent["email"])) == (1, 1), sent
    [message] = slack.messages(MANAGER_SLACK_ID)
    assert buttons(message) == {}
    assert message["text"].startswith("First touch missed")
    assert routed["rep_id"] in json.dumps(message["blocks"])
    assert slack.messages(SLACK_IDS[routed["rep_id"]]) == []
    [email] = sent_emails()
    manager = hub.router.service.router.rep("mgr-priya-nair")
    assert email.destinations["ToAddresses"] == [manager.email]


def test_a_malformed_notification_event_is_dead_lettered_at_once(notifying: tuple[Hub, ModuleType]) -> None:
    hub, notifier = notifying
    event = eventbridge(HANDOFF_EVENT_SOURCE, "handoff.assigned", {"handoff_id": "h-1"})
    outcome = hub.invoke(notifier, event)
    assert "dead_lettered" in outcome, outcome
    [letter] = hub.dead_letters("handoff_notifier")
    assert letter["requestPayload"] == event
