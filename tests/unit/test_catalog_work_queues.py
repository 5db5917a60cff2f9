"""Work queues in the catalog: declared once by a domain, consumed by exactly one function's queue trigger, sent
to by the functions that name them; what `compose` refuses; what the catalog derives (the dead-letter queue, the
URL variable); and where a work queue's dead letters go back to."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from shared.catalog import Catalog, Domain, Function, QueueTrigger, WorkQueue, compose
from shared.redrive import UnknownQueue, WorkQueueDeadLetters, back_to_work_queue, owner_of, work_queue_of

CHANGES = WorkQueue("crm-changes.fifo", "hub changes to push to the CRM")
PUSHER = Function(
    "crm_pusher", "pushes changes", timeout_seconds=30, queue_triggers=(QueueTrigger(CHANGES.name, "changes"),)
)
FEED = Function("change_feed", "sends changes", sends_to=(CHANGES.name,))


def catalog(*functions: Function, queues: tuple[WorkQueue, ...] = (CHANGES,)) -> Catalog:
    return compose("events", (Domain("crm", "revops.crm", work_queues=queues, functions=functions),))


def test_a_work_queue_is_fifo_with_the_defaults_of_a_two_hour_outage() -> None:
    assert (CHANGES.fifo, CHANGES.content_based_deduplication) == (True, False)
    assert (CHANGES.visibility_timeout_seconds, CHANGES.max_receive_count) == (300, 24)
    assert CHANGES.visibility_timeout_seconds * CHANGES.max_receive_count == 2 * 3600
    assert CHANGES.retention_seconds == 4 * 24 * 3600


def test_its_dead_letter_queue_and_url_variable_are_derived_from_its_name() -> None:
    dead_letters = CHANGES.dead_letter_queue
    assert (dead_letters.name, dead_letters.fifo, dead_letters.retention_seconds) == (
        "crm-changes-dlq.fifo",
        True,
        14 * 24 * 3600,
    )
    assert CHANGES.url_variable == "QUEUE_CRM_CHANGES_URL"
    standard = WorkQueue("crm-changes", "not ordered", fifo=False)
    assert (standard.dead_letter_queue.name, standard.dead_letter_queue.fifo) == ("crm-changes-dlq", False)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "crm-changes"}, r"FIFO queue must end in '\.fifo'"),
        ({"name": "crm-changes.fifo", "fifo": False}, r"must not end in '\.fifo'"),
        ({"name": "crm.changes.fifo"}, "letters, digits"),
        ({"name": "crm changes.fifo"}, "letters, digits"),
        ({"name": f"{'c' * 54}.fifo"}, "would be 81 characters with a 10-character stage, over SQS's 80"),
        ({"max_receive_count": 0}, "max_receive_count is 1 to 1000"),
        ({"visibility_timeout_seconds": 12 * 3600 + 1}, "visibility_timeout_seconds"),
        ({"retention_seconds": 15 * 24 * 3600}, "retention_seconds"),
        ({"name": "crm-changes", "fifo": False, "content_based_deduplication": True}, "FIFO queues only"),
    ],
)
def test_a_work_queue_sqs_would_refuse_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(CHANGES, **fields)


def test_the_longest_name_that_fits_with_a_ten_character_stage_is_accepted() -> None:
    # revops-<10 characters>- and <stem>-dlq.fifo: 18 + 62 = SQS's 80
    assert len(WorkQueue(f"{'c' * 53}.fifo", "long").dead_letter_queue.name) == 62


@pytest.mark.parametrize(
    ("batch_size", "window", "message"),
    [
        (0, 0, "batch_size is 1 to 10000"),
        (10_001, 1, "batch_size is 1 to 10000"),
        (11, 0, "a batch_size over 10 needs a max_batching_window_seconds of at least 1"),
        (100, 301, "max_batching_window_seconds is 0 to 300"),
    ],
)
def test_a_batch_lambda_refuses_is_refused(batch_size: int, window: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QueueTrigger(CHANGES.name, "changes", batch_size=batch_size, max_batching_window_seconds=window)


@pytest.mark.parametrize("concurrency", [0, 1, 1001])
def test_a_maximum_concurrency_lambda_refuses_is_refused(concurrency: int) -> None:
    with pytest.raises(ValueError, match="max_concurrency is 2 to 1000"):
        QueueTrigger(CHANGES.name, "changes", max_concurrency=concurrency)


def test_a_fifo_queues_trigger_takes_ten_at_most_and_no_window() -> None:
    # Given a FIFO work queue whose trigger asks for the batches of a standard queue
    trigger = QueueTrigger(CHANGES.name, "changes", batch_size=100, max_batching_window_seconds=1)
    consumer = dataclasses.replace(PUSHER, queue_triggers=(trigger,))
    # Then the catalog refuses it, naming the queue
    with pytest.raises(
        ValueError, match=r"work queue 'crm-changes\.fifo' is FIFO: its trigger takes batches of at most"
    ):
        catalog(consumer, FEED)


def test_a_composed_catalog_lists_the_work_queue_and_its_dead_letter_queue_with_the_others() -> None:
    composed = catalog(PUSHER, FEED)
    assert composed.work_queues == (CHANGES,)
    assert composed.work_queue(CHANGES.name) is CHANGES
    # The dead-letter queue is one of the catalog's queues (alarmed, on the dashboard, redrivable); the work queue not
    assert CHANGES.dead_letter_queue in composed.queues
    assert CHANGES.name not in {queue.name for queue in composed.queues}
    assert composed.queue_triggers == ((PUSHER, PUSHER.queue_triggers[0]),)
    assert composed.consumer_of(CHANGES.name) == (PUSHER, PUSHER.queue_triggers[0])


def test_a_sender_is_told_the_queue_url_and_no_other_function_is() -> None:
    composed = catalog(PUSHER, FEED)
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/revops-prod-crm-changes.fifo"
    assert composed.environment(FEED, "prod", {CHANGES.name: url})["QUEUE_CRM_CHANGES_URL"] == url
    # Without the URLs (a caller after the variables' names only), the queue's physical name stands in
    assert composed.environment(FEED, "prod")["QUEUE_CRM_CHANGES_URL"] == "revops-prod-crm-changes.fifo"
    assert not [name for name in composed.environment(PUSHER, "prod", {CHANGES.name: url}) if name.startswith("QUEUE_")]


def test_a_function_naming_an_undeclared_work_queue_is_refused() -> None:
    stray = Function("stray", "sends", sends_to=("nowhere.fifo",))
    with pytest.raises(ValueError, match=r"stray names work queue 'nowhere\.fifo', which no domain declares"):
        catalog(PUSHER, stray)
    lost = Function("lost", "reads", queue_triggers=(QueueTrigger("nowhere.fifo", "x"),))
    with pytest.raises(ValueError, match=r"lost names work queue 'nowhere\.fifo'"):
        catalog(PUSHER, lost)


def test_a_work_queue_must_have_exactly_one_consumer() -> None:
    with pytest.raises(ValueError, match=r"exactly one consuming function \(found: none\)"):
        catalog(FEED)
    second = dataclasses.replace(PUSHER, name="crm_pusher_2")
    with pytest.raises(ValueError, match=r"exactly one consuming function \(found: crm_pusher, crm_pusher_2\)"):
        catalog(PUSHER, second)


def test_a_visibility_timeout_under_six_times_the_consumers_timeout_is_refused() -> None:
    slow = dataclasses.replace(PUSHER, timeout_seconds=60)
    with pytest.raises(ValueError, match=r"300 is under 6x the 60 s timeout of its consumer crm_pusher \(360 s\)"):
        catalog(slow)
    assert catalog(dataclasses.replace(PUSHER, timeout_seconds=50)).work_queues == (CHANGES,)


def test_the_same_work_queue_or_url_variable_twice_is_refused() -> None:
    twice = Domain("other", None, work_queues=(CHANGES,))
    with pytest.raises(ValueError, match=r"same queue twice: crm-changes-dlq\.fifo, crm-changes\.fifo"):
        compose("events", (Domain("crm", None, work_queues=(CHANGES,), functions=(PUSHER,)), twice))
    standard = WorkQueue("crm-changes", "the same variable", fifo=False)
    reader = Function("reader", "reads", queue_triggers=(QueueTrigger(standard.name, "x"),))
    with pytest.raises(ValueError, match="same queue URL variable twice: QUEUE_CRM_CHANGES_URL"):
        catalog(PUSHER, reader, queues=(CHANGES, standard))


def test_a_work_queues_dead_letters_go_back_to_the_work_queue_not_to_a_function() -> None:
    composed = catalog(PUSHER, FEED)
    assert work_queue_of(composed, "crm-changes-dlq.fifo") is CHANGES
    assert work_queue_of(composed, "crm-pusher-async-failures") is None
    with pytest.raises(WorkQueueDeadLetters, match=r"holds the dead letters of work queue crm-changes\.fifo"):
        owner_of(composed, "crm-changes-dlq.fifo")
    assert issubclass(WorkQueueDeadLetters, UnknownQueue)  # ops.redrive refuses it with its message
    assert owner_of(composed, "crm-pusher-async-failures") is PUSHER


def test_a_dead_letter_goes_back_to_its_group_under_a_new_deduplication_id() -> None:
    # Given a dead letter as ReceiveMessage gives it, every attribute asked for
    dead_letter = {
        "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
        "ReceiptHandle": "handle",
        "Body": '{"change": "c-1"}',
        "MD5OfBody": "ignored",
        "Attributes": {
            "MessageGroupId": "contact:42",
            "MessageDeduplicationId": "c-1",
            "ApproximateReceiveCount": "24",
        },
        "MessageAttributes": {
            "kind": {"DataType": "String", "StringValue": "contact", "StringListValues": [], "BinaryListValues": []}
        },
    }
    # Then it is sent back with its body, attributes and group, de-duplicated on its own message id
    assert back_to_work_queue(dead_letter, CHANGES, "https://queue") == {
        "QueueUrl": "https://queue",
        "MessageBody": '{"change": "c-1"}',
        "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "contact"}},
        "MessageGroupId": "contact:42",
        "MessageDeduplicationId": "redrive-5fea7756-0ea4-451a-a703-a558b933e274",
    }
    # And to a standard queue without either
    standard = WorkQueue("crm-changes", "not ordered", fifo=False)
    assert back_to_work_queue({"MessageId": "m", "Body": "b"}, standard, "https://q") == {
        "QueueUrl": "https://q",
        "MessageBody": "b",
    }
