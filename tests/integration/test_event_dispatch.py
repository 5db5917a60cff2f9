"""The local runtime's event delivery: EventBridge (moto) matches, targets run in-process, and failures
retry then land in the function's on-failure queue, as with Lambda's asynchronous invocation."""

from __future__ import annotations

import importlib
import json
import threading
import time
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from local_runtime.dispatcher import LAMBDA_ASYNC_RETRIES, LONG_POLL_SECONDS, POLLER_THREAD_PREFIX, EventDispatcher
from local_runtime.provision import provision
from shared.catalog import CATALOG, Catalog, Function, Rule
from tests.integration.conftest import wait_for

TEST_CATALOG = Catalog(
    bus_name="events",
    event_sources=("revops.test",),
    tables=(),
    secrets=(),
    functions=(
        Function(
            name="recording_consumer",
            description="records payments",
            package="tests.fixture_functions",
            rules=(Rule("payments-to-recorder", "payments", {"detail-type": ["payment.succeeded"]}),),
        ),
        Function(
            name="failing_consumer",
            description="fails on deals",
            package="tests.fixture_functions",
            rules=(
                Rule("deals-to-failer", "deals", {"source": ["revops.test"], "detail-type": [{"prefix": "deal."}]}),
            ),
        ),
    ),
)


@pytest.fixture
def dispatcher() -> Iterator[tuple[EventDispatcher, object, object]]:
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        provisioned = provision(TEST_CATALOG, "test", session)
        recorder = importlib.import_module("tests.fixture_functions.recording_consumer.handler")
        failer = importlib.import_module("tests.fixture_functions.failing_consumer.handler")
        recorder.received.clear()
        failer.invocations.clear()
        failer.failing = True

        def invoke(fn: Function, event: dict) -> object:
            return importlib.import_module(fn.module).handler(event, None)

        running = EventDispatcher(session.client("sqs"), provisioned, invoke)  # the hub's 20 s long polls
        running.start()
        yield running, provisioned, session
        running.stop()


def put(session, bus: str, source: str, detail_type: str) -> None:  # type: ignore[no-untyped-def]
    response = session.client("events").put_events(
        Entries=[{"EventBusName": bus, "Source": source, "DetailType": detail_type, "Detail": json.dumps({"n": 1})}]
    )
    assert response["FailedEntryCount"] == 0


def test_events_reach_only_the_rules_that_match(dispatcher) -> None:  # type: ignore[no-untyped-def]
    running, provisioned, session = dispatcher
    recorder = importlib.import_module("tests.fixture_functions.recording_consumer.handler")
    # Given a rule on payment.succeeded
    # When a payment and a contact event are put on the bus
    put(session, provisioned.bus_name, "revops.test", "payment.succeeded")
    put(session, provisioned.bus_name, "revops.test", "contact.upserted")
    # Then the recorder gets the payment only, and both are in the local event log, oldest first
    wait_for(lambda: len(running.recorded()) == 2 and len(recorder.received) >= 1)
    time.sleep(0.3)
    assert [event["detail-type"] for event in recorder.received] == ["payment.succeeded"]
    assert [event["detail-type"] for event in running.recorded()] == ["payment.succeeded", "contact.upserted"]


def test_a_failing_target_is_retried_then_its_event_goes_to_the_failure_queue(dispatcher) -> None:  # type: ignore[no-untyped-def]
    _, provisioned, session = dispatcher
    failer = importlib.import_module("tests.fixture_functions.failing_consumer.handler")
    failure_queue = provisioned.queue_urls[TEST_CATALOG.function("failing_consumer").failure_queue.name]
    sqs = session.client("sqs")
    # Given a target that always fails
    # When a deal event is put on the bus
    put(session, provisioned.bus_name, "revops.test", "deal.won")
    # Then it is tried 1 + 2 times and the event lands in the on-failure queue with the error, for redrive
    messages: list[dict] = []
    wait_for(lambda: messages.extend(sqs.receive_message(QueueUrl=failure_queue).get("Messages", [])) or messages)
    record = json.loads(messages[0]["Body"])
    assert len(failer.invocations) == 1 + LAMBDA_ASYNC_RETRIES
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"]["detail-type"] == "deal.won"
    assert "cannot handle deal.won" in record["responsePayload"]["errorMessage"]


def test_a_redriven_dead_letter_reaches_its_function_again(dispatcher) -> None:  # type: ignore[no-untyped-def]
    running, provisioned, session = dispatcher
    failer = importlib.import_module("tests.fixture_functions.failing_consumer.handler")
    queue = TEST_CATALOG.function("failing_consumer").failure_queue.name
    sqs = session.client("sqs")
    # Given an event that ended in the on-failure queue
    put(session, provisioned.bus_name, "revops.test", "deal.lost")

    def queued() -> bool:
        attributes = sqs.get_queue_attributes(
            QueueUrl=provisioned.queue_urls[queue], AttributeNames=["ApproximateNumberOfMessages"]
        )
        return attributes["Attributes"]["ApproximateNumberOfMessages"] == "1"

    wait_for(queued)
    # When the function is fixed and the queue redriven
    failer.failing = False
    result = running.redrive(queue)
    # Then the event is handled and the queue is empty
    assert result == {"redriven": 1, "failed_again": 0, "left": 0}
    assert len(failer.invocations) == 1 + LAMBDA_ASYNC_RETRIES + 1
    assert sqs.receive_message(QueueUrl=provisioned.queue_urls[queue]).get("Messages", []) == []


def test_the_real_catalog_provisions_cleanly() -> None:
    # Given the shipped catalog
    # When it is provisioned on an empty embedded AWS
    with mock_aws():
        provisioned = provision(CATALOG, "check", boto3.Session(region_name="us-east-1"))
    # Then every queue it declares exists
    assert set(provisioned.queue_urls) == {queue.name for queue in CATALOG.queues}


def test_stop_ends_every_poller_at_once_though_each_waits_in_a_long_poll(dispatcher) -> None:  # type: ignore[no-untyped-def]
    running, provisioned, session = dispatcher
    recorder = importlib.import_module("tests.fixture_functions.recording_consumer.handler")
    # Given pollers that wait up to 20 s for a message, one event delivered (so each is in its next wait)
    assert LONG_POLL_SECONDS == 20
    put(session, provisioned.bus_name, "revops.test", "payment.succeeded")
    wait_for(lambda: len(recorder.received) == 1)
    pollers = [t for t in threading.enumerate() if t.name.startswith(POLLER_THREAD_PREFIX)]
    assert len(pollers) == 1 + len(provisioned.taps)
    # When the dispatcher stops
    running.stop()
    # Then every poller has ended (its wait woken, not waited out), and the wake-ups reached no function
    assert [t.name for t in pollers if t.is_alive()] == []
    assert [event["detail-type"] for event in recorder.received] == ["payment.succeeded"]
