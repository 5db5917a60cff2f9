"""An API action whose commit went through but whose announcement failed (EventBridge refusing the events, the
in-place retry too) answers what it stored, not a 500; the queue sweep announces it later: the new assignee's
notice goes out and their SLA timers are set."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest

from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import Provisioned
from shared.adapters.eventbridge_publisher import EventBridgePublisher
from shared.events.handoff_events import HANDOFF_EVENT_SOURCE
from shared.handoffs import service as handoff_service
from tests.integration.conftest import refuse_put_events
from tests.integration.test_handoff_api import Api, rep
from tests.integration.test_handoff_functions import AMER_SDRS, REGION, Hub, types_of

SWEEP = {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}


@pytest.fixture
def api(aws: Provisioned) -> Api:
    return Api(Hub(aws))


def test_a_reject_whose_announcement_failed_answers_the_stored_change_and_the_sweep_announces_it(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an assigned handoff, and EventBridge refusing the API's next two PutEvents
    routed = api.hub.assigned()
    first, handoff_id = routed["rep_id"], routed["handoff_id"]
    api.hub.published(None)
    events = boto3.client("events", region_name=REGION)
    publisher = EventBridgePublisher(events, api.hub.aws.bus_name, HANDOFF_EVENT_SOURCE)
    monkeypatch.setattr(api.hub.api.service._announcer, "_publisher", publisher)
    refuse_put_events(events, times=2)
    # When its rep rejects it through the API
    status, body = api.reject(handoff_id, rep(first), {"reason": "wrong territory"})
    # Then the answer is the committed change, truthfully: another SDR has it (no 5xx)
    assert status == 200, body
    assert (body["status"], body["rep_id"] in AMER_SDRS - {first}) == ("assigned", True)
    stored = api.hub.handoff(handoff_id)
    assert stored.announced < len(stored.history)
    assert api.hub.published() == []
    assert api.hub.timer_inputs(handoff_id, "sla_accept")[0]["assignment"] == 0  # only the old rep's deadline
    # When the periodic sweep runs (a minute later: it leaves the newest changes to their own caller)
    monkeypatch.setattr(handoff_service, "ANNOUNCE_LATE_AFTER", timedelta(0))
    swept: dict[str, Any] = api.hub.timers.handler(SWEEP, LocalLambdaContext("handoff-timers"))
    # Then the rejection and the new assignment are on the bus, and the new assignee's deadline is set
    assert swept["announced_late"] == [handoff_id]
    assert types_of(api.hub.published()) == ["handoff.assigned", "handoff.rejected"]
    assert [t["assignment"] for t in api.hub.timer_inputs(handoff_id, "sla_accept")][-1] == 1
    assert api.hub.handoff(handoff_id).announced == len(api.hub.handoff(handoff_id).history)
    # And the next sweep has nothing left to announce
    again = api.hub.timers.handler(SWEEP, LocalLambdaContext("handoff-timers"))
    assert again["announced_late"] == []
