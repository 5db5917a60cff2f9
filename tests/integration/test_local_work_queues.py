"""Work queues on the local hub: a FIFO queue's trigger plays Lambda's SQS event source mapping (batches as
Lambda's SQS event, item failures reported, failed messages back until the queue's max receive count sends them to
its dead-letter queue, a message group in order), and `/_local/redrive/<dead-letter queue>` sends them back.

The hub runs in this process, on a test catalog whose two fixture functions (`tests/fixture_functions/`) send to and
consume one work queue; each test has a hub of its own."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from local_runtime import queues
from local_runtime.hub import LocalHub
from local_runtime.provision import provision
from local_runtime.queues import QueueTriggerRunner, failed_message_ids
from shared.catalog import Domain, Function, QueueTrigger, WorkQueue, compose
from tests.integration.conftest import wait_for

WORK = WorkQueue(
    "work-test.fifo", "changes to sync, in order per record", visibility_timeout_seconds=60, max_receive_count=3
)
CONSUMER = Function(
    name="queue_consumer",
    description="consumes the test work queue",
    package="tests.fixture_functions",
    timeout_seconds=10,
    queue_triggers=(QueueTrigger(WORK.name, "every change sent to the test work queue", batch_size=10),),
)
SENDER = Function(
    name="queue_sender",
    description="sends to the test work queue",
    package="tests.fixture_functions",
    sends_to=(WORK.name,),
)
CATALOG = compose("events", (Domain("work-test", "revops.test", work_queues=(WORK,), functions=(CONSUMER, SENDER)),))
FIXTURE_MODULES = (CONSUMER.module, SENDER.module)
DEAD_LETTERS = WORK.dead_letter_queue.name


@pytest.fixture
def hub() -> Iterator[LocalHub]:
    """A local hub of the test catalog, in this process. What the hub changes process-wide (the environment, boto3's
    default session) is put back after it; its fixture functions are imported afresh, with its endpoint."""
    environment, session = dict(os.environ), boto3.DEFAULT_SESSION
    for module in FIXTURE_MODULES:
        sys.modules.pop(module, None)
    running = LocalHub(CATALOG, port=0)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        os.environ.clear()
        os.environ.update(environment)
        boto3.DEFAULT_SESSION = session


def consumer() -> ModuleType:
    return importlib.import_module(CONSUMER.module)


def change(key: str, group: str, **body: Any) -> dict[str, Any]:
    """A message for the sender fixture: a change of record `group`, de-duplicated on its key."""
    return {"body": {"key": key, **body}, "group": group, "id": f"change-{key}"}


def send(hub: LocalHub, *changes: dict[str, Any]) -> None:
    """Through the sender function, which finds the queue's URL in its environment as a deployed one does."""
    hub.invoke(SENDER, {"queue": WORK.url_variable, "messages": list(changes)})


def send_as_one_batch(hub: LocalHub, *changes: dict[str, Any]) -> None:
    """Sends `changes` while the consumer holds on to a message of its own group, so that they are all waiting
    when the poller receives next, and arrive as one batch (they are fewer than its batch size)."""
    send(hub, change("gate", "gate", hold=True))
    wait_for(lambda: ("gate", 1) in consumer().attempts)
    send(hub, *changes)
    consumer().release.set()


def sqs(hub: LocalHub) -> Any:
    return boto3.client(
        "sqs",
        endpoint_url=hub.aws_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def messages_in(hub: LocalHub, queue_url: str) -> int:
    """Visible and in flight."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs(hub).get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def records_of(key: str) -> list[dict[str, Any]]:
    """Every record the consumer was given whose body has `key`, in the order given."""
    return [r for event in consumer().events for r in event["Records"] if json.loads(r["body"])["key"] == key]


def batch_with(key: str) -> list[str]:
    """The keys of the first batch that held `key`."""
    [event, *_] = [e for e in consumer().events if any(json.loads(r["body"])["key"] == key for r in e["Records"])]
    return [json.loads(record["body"])["key"] for record in event["Records"]]


def test_a_sender_is_told_the_queue_url_and_a_batch_reaches_the_consumer_as_lambdas_sqs_event(hub: LocalHub) -> None:
    assert hub.provisioned is not None
    queue_url = hub.provisioned.work_queue_urls[WORK.name]
    # Given the sender, started with the queue's URL in QUEUE_WORK_TEST_URL
    sender = importlib.import_module(SENDER.module)
    assert {"QUEUE_WORK_TEST_URL": queue_url} == sender.QUEUE_URLS
    # When it sends three changes of one record (one with message attributes of each kind), as one batch
    attributes = {
        "source": {"DataType": "String", "StringValue": "hub"},
        "version": {"DataType": "Number", "StringValue": "7"},
        "digest": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    send_as_one_batch(
        hub,
        change("c1", "contact-1") | {"attributes": attributes},
        change("c2", "contact-1"),
        change("c3", "contact-1"),
    )
    # Then the consumer handles them, in one batch, in order
    wait_for(lambda: {"c1", "c2", "c3"} <= set(consumer().handled))
    assert batch_with("c1") == ["c1", "c2", "c3"]
    # And each record is what Lambda's SQS event source mapping hands a function
    [first] = records_of("c1")
    assert set(first) == {
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfMessageAttributes",
        "md5OfBody",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    }
    assert first["body"] == json.dumps({"key": "c1"})
    assert first["md5OfBody"] == hashlib.md5(first["body"].encode()).hexdigest()  # noqa: S324 (SQS's own digest)
    assert (first["eventSource"], first["awsRegion"]) == ("aws:sqs", "us-east-1")
    assert first["eventSourceARN"] == hub.provisioned.work_queue_arns[WORK.name]
    assert first["eventSourceARN"].endswith(":revops-local-work-test.fifo")
    system = first["attributes"]
    assert {
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
        "MessageGroupId",
        "MessageDeduplicationId",
        "SequenceNumber",
    } <= set(system)
    assert all(isinstance(value, str) for value in system.values())
    assert (system["ApproximateReceiveCount"], system["MessageGroupId"]) == ("1", "contact-1")
    assert system["MessageDeduplicationId"] == "change-c1"
    assert first["messageAttributes"] == {
        "source": {"stringValue": "hub", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "version": {"stringValue": "7", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "digest": {"binaryValue": "AAE=", "stringListValues": [], "binaryListValues": [], "dataType": "Binary"},
    }
    [second] = records_of("c2")
    assert second["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in second
    # And, handled, they are deleted
    wait_for(lambda: messages_in(hub, queue_url) == 0)


def test_only_the_messages_the_function_reports_failed_come_back(hub: LocalHub) -> None:
    # Given a batch of three records' changes, of which the consumer fails one on its first receive
    send_as_one_batch(
        hub, change("ok-1", "record-1"), change("flaky", "record-2", fail_receives=1), change("ok-2", "record-3")
    )
    wait_for(lambda: {"ok-1", "flaky", "ok-2"} <= set(consumer().handled))
    assert batch_with("ok-1") == ["ok-1", "flaky", "ok-2"]
    # Then the consumer answered the failed one in batchItemFailures
    [flaky_first, flaky_again] = records_of("flaky")
    assert {"batchItemFailures": [{"itemIdentifier": flaky_first["messageId"]}]} in consumer().answers
    # And only that one came back (received a second time, alone); the others were deleted after one delivery
    assert flaky_again["messageId"] == flaky_first["messageId"]
    assert flaky_again["attributes"]["ApproximateReceiveCount"] == "2"
    assert batch_with("flaky") == ["ok-1", "flaky", "ok-2"]
    assert [len(records_of(key)) for key in ("ok-1", "ok-2")] == [1, 1]
    assert [e for e in consumer().events if e["Records"] == [flaky_again]]
    assert hub.provisioned is not None
    queue_url = hub.provisioned.work_queue_urls[WORK.name]
    wait_for(lambda: messages_in(hub, queue_url) == 0)


def test_a_group_stays_in_order_when_its_first_message_fails_and_later_ones_wait_while_it_is_in_flight(
    hub: LocalHub,
) -> None:
    # Given three changes of one record in one batch, the first of which fails on its first receive
    send_as_one_batch(
        hub, change("v1", "deal-9", fail_receives=1), change("v2", "deal-9"), change("v3", "deal-9"), change("x", "x")
    )
    # When it has failed (and the consumer failed the group's later ones with it), two more changes follow
    wait_for(lambda: [key for key, _ in consumer().attempts if key != "gate"][:2] == ["v1", "x"])
    send(hub, change("v4", "deal-9"), change("v5", "deal-9"))
    # Then the record's changes are handled in the order sent, and none was tried before the one ahead of it
    wait_for(lambda: {"v1", "v2", "v3", "v4", "v5"} <= set(consumer().handled))
    assert [key for key in consumer().handled if key.startswith("v")] == ["v1", "v2", "v3", "v4", "v5"]
    tried = [(key, receives) for key, receives in consumer().attempts if key.startswith("v")]
    assert tried == [("v1", 1), ("v1", 2), ("v2", 2), ("v3", 2), ("v4", 1), ("v5", 1)]
    # And the other record's change was not held back by it: handled once, at the first try
    assert [len(records_of("x")), consumer().handled.index("x")] == [1, 1]


def test_a_message_that_keeps_failing_is_dead_lettered_after_max_receive_count_and_redriven_in_order(
    hub: LocalHub,
) -> None:
    assert hub.provisioned is not None
    dead_letters = hub.provisioned.queue_urls[DEAD_LETTERS]
    # Given a change the consumer cannot handle, a later change of the same record, and another record's change
    send_as_one_batch(hub, change("poison", "lead-4", fail=True), change("next", "lead-4"), change("other", "lead-5"))
    # When the work queue has handed them out max_receive_count (3) times
    wait_for(lambda: messages_in(hub, dead_letters) == 2)
    # Then the failing change, and the later one of its record that came with it each time, are in the dead-letter
    # queue, received three times each; the other record's change was handled at once
    assert [r["attributes"]["ApproximateReceiveCount"] for r in records_of("poison")] == ["1", "2", "3"]
    assert [r["attributes"]["ApproximateReceiveCount"] for r in records_of("next")] == ["1", "2", "3"]
    assert consumer().handled == ["gate", "other"]
    assert messages_in(hub, hub.provisioned.work_queue_urls[WORK.name]) == 0
    originals = {key: records_of(key)[0] for key in ("poison", "next")}

    # When what the consumer could not do is fixed and the dead-letter queue is redriven
    consumer().recovered.add("poison")
    answer = requests.post(f"{hub.url}/_local/redrive/{DEAD_LETTERS}", timeout=10)
    # Then both go back to the work queue and are handled, in their order
    assert (answer.status_code, answer.json()) == (200, {"redriven": 2, "failed_again": 0, "left": 0})
    wait_for(lambda: consumer().handled[-2:] == ["poison", "next"])
    assert messages_in(hub, dead_letters) == 0
    for key, original in originals.items():
        redriven = records_of(key)[-1]
        # as new messages of the same record's group, with the same body, de-duplicated on a new id
        assert redriven["body"] == original["body"]
        assert redriven["attributes"]["MessageGroupId"] == "lead-4"
        assert redriven["attributes"]["MessageDeduplicationId"] == f"redrive-{original['messageId']}"
        assert redriven["attributes"]["ApproximateReceiveCount"] == "1"


def test_the_redrive_route_knows_work_queue_dead_letter_queues_and_only_catalog_queues(hub: LocalHub) -> None:
    empty = requests.post(f"{hub.url}/_local/redrive/{DEAD_LETTERS}", timeout=10)
    assert (empty.status_code, empty.json()) == (200, {"redriven": 0, "failed_again": 0, "left": 0})
    # The work queue itself is not a dead-letter queue: nothing is redriven into it from it
    refused = requests.post(f"{hub.url}/_local/redrive/{WORK.name}", timeout=10)
    assert refused.status_code == 404
    assert DEAD_LETTERS in refused.json()["message"]


def test_moto_holds_a_group_back_while_its_messages_are_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stepped by hand, without a hub: the poller receives only when told, and gives failed messages back at once
    monkeypatch.setattr(queues, "RETRY_AFTER_SECONDS", 0)
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        provisioned = provision(CATALOG, "test", session)
        client, queue_url = session.client("sqs"), provisioned.work_queue_urls[WORK.name]
        handler = consumer()
        handler.reset()
        [(function, trigger)] = CATALOG.queue_triggers
        runner = QueueTriggerRunner(
            function,
            trigger,
            client,
            queue_url,
            provisioned.work_queue_arns[WORK.name],
            "us-east-1",
            lambda _, event: handler.handler(event, None),
        )

        def put(key: str, **fields: Any) -> None:
            body = json.dumps({"key": key, **fields})
            client.send_message(QueueUrl=queue_url, MessageBody=body, MessageGroupId="g", MessageDeduplicationId=key)

        # Given a group's first two messages, received together, the first failing
        put("first", fail_receives=1)
        put("second")
        assert runner.run_once() == 2
        assert handler.handled == []
        # When a third is sent while they are in flight (failed, not yet given back)
        put("third")
        # Then a receive finds nothing of the group
        assert client.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []) == []
        # And once they are given back, the group comes in order
        assert runner.run_once() == 3
        assert handler.handled == ["first", "second", "third"]


@pytest.mark.parametrize(
    ("answer", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "m2"}]}, {"m2"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"id": "m2"}]}, {"m1", "m2"}),
        ({"batchItemFailures": [{"itemIdentifier": "m9"}]}, {"m1", "m2"}),
        ({"batchItemFailures": "m2"}, {"m1", "m2"}),
        ("ok", {"m1", "m2"}),
    ],
)
def test_the_functions_answer_is_read_as_lambda_reads_it(answer: Any, failed: set[str]) -> None:
    assert failed_message_ids(answer, ["m1", "m2"]) == failed
