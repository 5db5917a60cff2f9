"""The local hub's redrive (`POST /_local/redrive/<queue>`, `EventDispatcher.redrive`): it hands back the dead letters
there when it starts and ends, a dead letter that fails again waits for the next redrive, and none is lost."""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.dispatcher import LAMBDA_ASYNC_RETRIES, EventDispatcher
from local_runtime.provision import provision
from shared.adapters.dynamodb_privacy_leads import LeadsPrivacy
from shared.catalog import Function
from shared.permanent_failures import PERMANENT_CONDITION
from shared.redrive import destination_record
from tests.integration.conftest import wait_for
from tests.integration.test_event_dispatch import TEST_CATALOG, put
from tests.integration.test_lead_outbox import (  # noqa: F401  (fixtures)
    FAILURES,
    VP,
    lead_bus,
    leads,
    local_trigger_of_the_lead_publisher,
    set_aside_as_the_bus_refused_them,
)
from tests.integration.test_lead_outbox import TABLE as LEADS_TABLE

FAILER = TEST_CATALOG.function("failing_consumer")


@pytest.fixture
def hub() -> Iterator[dict[str, Any]]:
    """The hub's dispatcher of the test catalog; `import_broken` makes the failing consumer's import fail."""
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        provisioned = provision(TEST_CATALOG, "test", session)
        failer = importlib.import_module("tests.fixture_functions.failing_consumer.handler")
        failer.invocations.clear()
        failer.failing = True
        state = {"import_broken": False}

        def invoke(fn: Function, event: dict[str, Any]) -> Any:
            if state["import_broken"] and fn.name == FAILER.name:
                raise ImportError("No module named 'broken_dependency'")
            return importlib.import_module(fn.module).handler(event, None)

        running = EventDispatcher(session.client("sqs"), provisioned, invoke)
        running.start()
        yield {"dispatcher": running, "provisioned": provisioned, "session": session, "failer": failer, "state": state}
        running.stop()


def visible(sqs: Any, url: str) -> list[dict[str, Any]]:
    """The bodies of the messages a receive gets now (each put back in view at once)."""
    bodies, handles = [], []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        if not messages:
            break
        bodies += [
            json.loads(message["Body"]) if message["Body"].startswith("{") else message["Body"] for message in messages
        ]
        handles += [message["ReceiptHandle"] for message in messages]
    for handle in handles:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return bodies


def depth(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def redriven_within(dispatcher: EventDispatcher, queue: str, seconds: float = 15, **options: Any) -> dict[str, Any]:
    """The redrive's answer, or what it raised; fails when it has not ended within `seconds`."""
    answer: dict[str, Any] = {}

    def run() -> None:
        try:
            answer.update(dispatcher.redrive(queue, **options))
        except Exception as exc:  # what the hub's route would answer 500 for
            answer["raised"] = repr(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=seconds)
    assert not thread.is_alive(), f"the redrive of {queue} has not ended after {seconds} s"
    return answer


def test_a_dead_letter_that_fails_again_is_handed_back_once_and_waits_for_the_next_redrive(hub: dict[str, Any]) -> None:
    sqs, provisioned, failer = hub["session"].client("sqs"), hub["provisioned"], hub["failer"]
    failures = provisioned.queue_urls[FAILER.failure_queue.name]
    # Given an event in the function's failure queue, and the cause not fixed
    put(hub["session"], provisioned.bus_name, "revops.test", "deal.lost")
    wait_for(lambda: depth(sqs, failures) == 1)
    before = len(failer.invocations)
    # When the queue is redriven
    answer = redriven_within(hub["dispatcher"], FAILER.failure_queue.name)
    # Then the event was handed back once (with Lambda's retries), failed again, and its new record waits in view
    assert answer == {"redriven": 0, "failed_again": 1, "left": 0}
    assert len(failer.invocations) - before == 1 + LAMBDA_ASYNC_RETRIES
    [record] = visible(sqs, failures)
    assert record["requestPayload"]["detail-type"] == "deal.lost"
    # And the next redrive, the cause fixed, hands it back
    failer.failing = False
    assert redriven_within(hub["dispatcher"], FAILER.failure_queue.name) == {
        "redriven": 1,
        "failed_again": 0,
        "left": 0,
    }
    assert depth(sqs, failures) == 0


def test_a_dead_letter_whose_function_still_cannot_be_imported_stays_in_its_queue(hub: dict[str, Any]) -> None:
    sqs, provisioned, state = hub["session"].client("sqs"), hub["provisioned"], hub["state"]
    [rule] = FAILER.rules
    dead_letters = provisioned.queue_urls[FAILER.rule_dlq(rule).name]
    # Given an event EventBridge could not hand to its target (its import fails), in the rule's dead-letter queue
    state["import_broken"] = True
    put(hub["session"], provisioned.bus_name, "revops.test", "deal.won")
    wait_for(lambda: depth(sqs, dead_letters) == 1)
    # When the queue is redriven before the import is fixed
    answer = redriven_within(hub["dispatcher"], FAILER.rule_dlq(rule).name)
    # Then the redrive answers that it failed again (no error), and the dead letter is still there, in view
    assert answer == {"redriven": 0, "failed_again": 1, "left": 0}
    [event] = visible(sqs, dead_letters)
    assert event["detail-type"] == "deal.won"
    assert depth(sqs, provisioned.queue_urls[FAILER.failure_queue.name]) == 0


def test_a_permanent_failure_and_an_unreadable_message_stay_unless_permanent_ones_are_included(
    hub: dict[str, Any],
) -> None:
    sqs, provisioned, failer = hub["session"].client("sqs"), hub["provisioned"], hub["failer"]
    queue = FAILER.failure_queue.name
    failures = provisioned.queue_urls[queue]
    # Given an event the function set aside as one it can never handle as it is, and a message that is no dead letter
    event = {"id": "e-1", "source": "revops.test", "detail-type": "deal.won", "detail": {"bad": True}}
    record = destination_record(FAILER.slug, event, ValueError("invalid"), PERMANENT_CONDITION, 1)
    sqs.send_message(QueueUrl=failures, MessageBody=json.dumps(record))
    sqs.send_message(QueueUrl=failures, MessageBody="not json")
    failer.failing = False
    # When the queue is redriven
    answer = redriven_within(hub["dispatcher"], queue)
    # Then neither is handed back, and both stay, in view
    assert answer == {"redriven": 0, "failed_again": 0, "left": 2}
    assert failer.invocations == []
    assert sorted(map(str, visible(sqs, failures))) == sorted(map(str, [record, "not json"]))
    # And with permanent failures included (their cause fixed), the event is handed back; the other one stays
    answer = redriven_within(hub["dispatcher"], queue, include_permanent=True)
    assert answer == {"redriven": 1, "failed_again": 0, "left": 1}
    assert failer.invocations == ["e-1"]
    assert visible(sqs, failures) == ["not json"]


@pytest.mark.parametrize("erased", [False, True], ids=["the item is there", "the person was erased since"])
def test_a_stream_dead_letter_whose_item_is_gone_stays_in_its_queue_as_left(
    aws: Any,
    leads: tuple[Any, Any],  # noqa: F811
    lead_outbox: Any,
    lead_bus: Any,  # noqa: F811
    erased: bool,
) -> None:
    service, _ = leads
    sqs = boto3.client("sqs")
    failures = aws.queue_urls[FAILURES]
    # Given lead events set aside by their keys (the bus refused them), and, in one case, the person erased since
    set_aside_as_the_bus_refused_them(aws, service, lead_outbox, lead_bus)
    letters = depth(sqs, failures)
    assert letters > 0
    if erased:
        privacy = LeadsPrivacy(boto3.client("dynamodb"), LEADS_TABLE)
        person = privacy.person(VP.email)
        assert person is not None
        privacy.erase(person)
    # When the local hub's redrive hands them back through the trigger (as `LocalHub._redrive_stream` does)
    handed: list[dict[str, Any]] = []
    trigger = local_trigger_of_the_lead_publisher(handed)
    dispatcher = EventDispatcher(sqs, aws, lambda fn, event: None)
    dispatcher.redrive_streams_with(lambda letter: trigger.redeliver(letter.event.get("Records", [])))
    answer = dispatcher.redrive(FAILURES, include_permanent=True)
    # Then, the items there, each is handed back and goes; an item gone, nothing is handed back, no new failure
    # record is sent, and each dead letter stays, in view, counted as left (as `ops.redrive` leaves it on a stage)
    if erased:
        assert (answer, handed) == ({"redriven": 0, "failed_again": 0, "left": letters}, [])
        assert len(visible(sqs, failures)) == letters
    else:
        assert answer == {"redriven": letters, "failed_again": 0, "left": 0}
        assert handed
        assert depth(sqs, failures) == 0
