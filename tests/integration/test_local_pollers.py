"""The local runtime's pollers of the embedded AWS (moto) ask only what they need: a DynamoDB stream's shards are
described now and then rather than before every read, and a pending timer's schedule is read once until it
changes. An idle hub spent a quarter of a core on such calls, taken from the work it runs."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.streams import StreamReader
from local_runtime.timers import LocalTimers
from shared.catalog import CATALOG

STAGE = "test"


class Counted:
    """A boto3 client whose calls are counted by operation name."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("get_paginator"):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return attribute(*args, **kwargs)

        return call


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def test_a_stream_reader_describes_its_stream_once_and_still_reads_every_record_in_order(aws: None) -> None:
    # Given a table with a stream, and a reader whose calls are counted
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = dynamodb.create_table(
        TableName="items",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    streams = Counted(boto3.client("dynamodbstreams", region_name="us-east-1"))
    reader = StreamReader(streams, table["LatestStreamArn"])
    # When items are written between ten reads (most of which find nothing new)
    read: list[str] = []
    for n in range(10):
        if n % 3 == 0:
            dynamodb.put_item(TableName="items", Item={"pk": {"S": f"item-{n}"}})
        read += [record["dynamodb"]["Keys"]["pk"]["S"] for record in reader.read()]
    # Then every item was read once, in the order written, and the stream was described once for all ten reads
    assert read == ["item-0", "item-3", "item-6", "item-9"]
    assert streams.calls["describe_stream"] == 1
    assert streams.calls["get_records"] == 10


def test_pending_timers_read_each_schedule_once_until_it_changes(aws: None) -> None:
    # Given the hub's timers over the embedded EventBridge Scheduler, and two SLA timers set
    scheduler = Counted(boto3.client("scheduler", region_name="us-east-1"))
    timers = LocalTimers(CATALOG, STAGE, scheduler, deliver=lambda function, event: None)
    timers.provision()
    [group] = timers.groups
    due = datetime.now(UTC) + timedelta(hours=1)
    for name in ("first-touch", "escalate"):
        _set(scheduler, group, name, due, {"handoff_id": "h-1", "kind": name})
    # When the pending timers are listed three times
    views = [[timer.view() for timer in timers.pending()] for _ in range(3)]
    # Then each listing holds both timers, and each schedule was read once
    assert all([view["name"] for view in listing] == ["escalate", "first-touch"] for listing in views)
    assert scheduler.calls["get_schedule"] == 2
    # When one timer is moved (UpdateSchedule) and the other is cancelled
    later = due + timedelta(minutes=30)
    scheduler.update_schedule(
        Name="escalate",
        GroupName=group,
        ScheduleExpression=f"at({later.strftime('%Y-%m-%dT%H:%M:%S')})",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": "arn:aws:lambda:us-east-1:123456789012:function:t", "RoleArn": _ROLE, "Input": "{}"},
    )
    scheduler.delete_schedule(Name="first-touch", GroupName=group)
    [moved] = timers.pending()
    # Then the moved one is read again and listed with its new time; the cancelled one is gone
    assert (moved.name, moved.due_at) == ("escalate", later.replace(microsecond=0))
    assert scheduler.calls["get_schedule"] == 3


def test_a_due_timer_an_earlier_ones_function_deleted_does_not_fire(aws: None) -> None:
    # Given two timers of a handoff due before the clock, the first one's function deleting the second (an SLA
    # breach cancels the handoff's later timers, as its first-touch deadline)
    scheduler = boto3.client("scheduler", region_name="us-east-1")
    delivered: list[str] = []

    def deliver(function: Any, event: dict[str, Any]) -> None:
        delivered.append(event["kind"])
        scheduler.delete_schedule(Name="h-1-touch", GroupName=group)

    timers = LocalTimers(CATALOG, STAGE, scheduler, deliver=deliver)
    timers.provision()
    [group] = timers.groups
    due = datetime.now(UTC) - timedelta(minutes=5)
    _set(scheduler, group, "h-1-sla", due, {"handoff_id": "h-1", "kind": "sla_accept"})
    _set(scheduler, group, "h-1-touch", due + timedelta(minutes=1), {"handoff_id": "h-1", "kind": "first_touch"})
    # When the due timers fire
    fired = timers.fire_due()
    # Then the first fired, the deleted one did not (and failed nothing), and none is left pending
    assert [timer["name"] for timer in fired] == ["h-1-sla"]
    assert delivered == ["sla_accept"]
    assert timers.pending() == []


_ROLE = "arn:aws:iam::123456789012:role/timers"


def _set(scheduler: Any, group: str, name: str, due: datetime, payload: dict[str, Any]) -> None:
    scheduler.create_schedule(
        Name=name,
        GroupName=group,
        ScheduleExpression=f"at({due.strftime('%Y-%m-%dT%H:%M:%S')})",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:lambda:us-east-1:123456789012:function:t",
            "RoleArn": _ROLE,
            "Input": json.dumps(payload),
        },
    )


def test_a_stream_trigger_reads_when_moto_adds_a_record_not_on_a_clock(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a streamed table and its trigger on the embedded AWS as the hub runs it (moto patched, in this
    # process), whose clock would not read again for an hour
    import local_runtime.streams as streams_module
    from local_runtime.streams import StreamTriggerRunner
    from shared.catalog import StreamTrigger
    from tests.integration.conftest import wait_for

    monkeypatch.setattr(streams_module, "IDLE_POLL_SECONDS", 3600.0)
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    table = dynamodb.create_table(
        TableName="outbox",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    streams = Counted(boto3.client("dynamodbstreams", region_name="us-east-1"))
    trigger = StreamTrigger(table="outbox", description="test", new_image={"entity": {"S": ["event"]}})
    delivered: list[str] = []
    runner = StreamTriggerRunner(
        CATALOG.function("lead_publisher"),
        trigger,
        StreamReader(streams, table["LatestStreamArn"]),
        table["LatestStreamArn"],
        lambda _, event: (
            delivered.extend(r["dynamodb"]["NewImage"]["pk"]["S"] for r in event["Records"])
            or {"batchItemFailures": []}
        ),
        lambda failure: None,
    )
    runner.start()
    try:
        wait_for(lambda: streams.calls["get_records"] >= 1)  # its first read, of an empty stream
        # When an item the filter matches, and one it does not, are written
        dynamodb.put_item(TableName="outbox", Item={"pk": {"S": "other"}, "entity": {"S": "profile"}})
        dynamodb.put_item(TableName="outbox", Item={"pk": {"S": "e-1"}, "entity": {"S": "event"}})
        # Then the function gets the matching one, though the trigger's clock would not have read for an hour
        wait_for(lambda: delivered == ["e-1"])
    finally:
        runner.stop()
