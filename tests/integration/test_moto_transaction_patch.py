"""The local runtime's moto patches (`local_runtime/moto_patches.py`) keep moto's answers exactly.

Every semantic check runs twice: on moto as released and on moto as the hub patches it, so a difference in
TransactWriteItems (conditions, cancellation reasons in item order, ALL_OLD items, rollback, the 100-item
limit, one operation per item, streams) shows up as one variant failing. The patch's own promises (a
transaction's memory proportional to the items it touches, concurrent requests without errors, SQS deletes
that lose no message) are checked on the patched moto only.
"""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.sqs.models import Queue

from local_runtime import moto_patches

REGION = "us-east-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1})  # a 500 must show, not be retried away


@pytest.fixture(params=["moto as released", "moto as patched"])
def dynamodb(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "moto as patched":
        moto_patches.install()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name=REGION, config=NO_RETRIES)
            client.create_table(
                TableName="claims",
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
            )
            client.create_table(
                TableName="leads",
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                AttributeDefinitions=[
                    {"AttributeName": "pk", "AttributeType": "S"},
                    {"AttributeName": "sk", "AttributeType": "S"},
                ],
            )
            yield client
    finally:
        moto_patches.uninstall()


@pytest.fixture
def patched_dynamodb() -> Iterator[Any]:
    moto_patches.install()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name=REGION, config=NO_RETRIES)
            client.create_table(
                TableName="deliveries",
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            )
            yield client
    finally:
        moto_patches.uninstall()


def put(table: str, item: dict[str, Any], condition: str | None = None, **extra: Any) -> dict[str, Any]:
    operation: dict[str, Any] = {"TableName": table, "Item": item, **extra}
    if condition:
        operation["ConditionExpression"] = condition
    return {"Put": operation}


def everything(client: Any) -> dict[str, list[dict[str, Any]]]:
    """Every item of every table, in key order: what "nothing changed" is compared on."""
    return {
        table: sorted(client.scan(TableName=table)["Items"], key=lambda item: (item["pk"]["S"], str(item.get("sk"))))
        for table in ("claims", "leads")
    }


def stream_records(client: Any) -> int:
    """Records in the table's stream, read from moto's model (moto's DynamoDB Streams API is not wired in
    `mock_aws` for this): a cancelled transaction must leave none behind."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].get_table("claims").stream_shard
    assert shard is not None
    return len(shard.items)


def cancellation(error: pytest.ExceptionInfo[ClientError]) -> list[dict[str, Any]]:
    assert error.value.response["Error"]["Code"] == "TransactionCanceledException"
    return list(error.value.response["CancellationReasons"])  # type: ignore[typeddict-item]


def seed(client: Any) -> None:
    client.put_item(TableName="claims", Item={"pk": {"S": "claim#1"}, "status": {"S": "PUBLISHED"}})
    client.put_item(TableName="claims", Item={"pk": {"S": "claim#2"}, "status": {"S": "PENDING"}})
    client.put_item(TableName="leads", Item={"pk": {"S": "lead#1"}, "sk": {"S": "profile"}, "score": {"N": "10"}})
    client.put_item(TableName="leads", Item={"pk": {"S": "lead#1"}, "sk": {"S": "log#1"}, "kind": {"S": "click"}})


def test_a_transaction_applies_every_kind_of_operation_across_tables(dynamodb: Any) -> None:
    seed(dynamodb)
    dynamodb.transact_write_items(
        TransactItems=[
            put("claims", {"pk": {"S": "claim#3"}, "status": {"S": "PENDING"}}, "attribute_not_exists(pk)"),
            {
                "Update": {
                    "TableName": "leads",
                    "Key": {"pk": {"S": "lead#1"}, "sk": {"S": "profile"}},
                    "UpdateExpression": "SET score = score + :points",
                    "ExpressionAttributeValues": {":points": {"N": "5"}},
                }
            },
            {"Delete": {"TableName": "leads", "Key": {"pk": {"S": "lead#1"}, "sk": {"S": "log#1"}}}},
            {
                "ConditionCheck": {
                    "TableName": "claims",
                    "Key": {"pk": {"S": "claim#1"}},
                    "ConditionExpression": "#s = :published",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":published": {"S": "PUBLISHED"}},
                }
            },
        ]
    )
    state = everything(dynamodb)
    assert [item["pk"]["S"] for item in state["claims"]] == ["claim#1", "claim#2", "claim#3"]
    assert state["leads"] == [{"pk": {"S": "lead#1"}, "sk": {"S": "profile"}, "score": {"N": "15"}}]
    assert stream_records(dynamodb) == 3  # the two seeded claims and the new one


def test_a_failed_condition_cancels_everything_with_one_reason_per_item_in_order(dynamodb: Any) -> None:
    seed(dynamodb)
    before, records_before = everything(dynamodb), stream_records(dynamodb)
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                put("claims", {"pk": {"S": "claim#9"}, "status": {"S": "PENDING"}}, "attribute_not_exists(pk)"),
                put(  # fails, and says what is there
                    "claims",
                    {"pk": {"S": "claim#1"}, "status": {"S": "PENDING"}},
                    "attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ),
                {  # applied in place before the cancellation: must be put back as it was
                    "Update": {
                        "TableName": "leads",
                        "Key": {"pk": {"S": "lead#1"}, "sk": {"S": "profile"}},
                        "UpdateExpression": "SET score = :zero, extra = :x",
                        "ExpressionAttributeValues": {":zero": {"N": "0"}, ":x": {"S": "x"}},
                    }
                },
                {  # creates an item before the cancellation: must be gone
                    "Update": {
                        "TableName": "leads",
                        "Key": {"pk": {"S": "lead#2"}, "sk": {"S": "profile"}},
                        "UpdateExpression": "SET score = :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {"Delete": {"TableName": "leads", "Key": {"pk": {"S": "lead#1"}, "sk": {"S": "log#1"}}}},
                put(  # fails without asking for the old item
                    "claims", {"pk": {"S": "claim#2"}, "status": {"S": "PENDING"}}, "attribute_not_exists(pk)"
                ),
                put(  # fails on a missing item: ALL_OLD has nothing to return
                    "claims",
                    {"pk": {"S": "claim#404"}, "status": {"S": "PENDING"}},
                    "attribute_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                ),
            ]
        )
    reasons = cancellation(error)
    assert [reason["Code"] for reason in reasons] == [
        "None",
        "ConditionalCheckFailed",
        "None",
        "None",
        "None",
        "ConditionalCheckFailed",
        "ConditionalCheckFailed",
    ]
    assert reasons[1]["Item"] == {"pk": {"S": "claim#1"}, "status": {"S": "PUBLISHED"}}
    assert "Item" not in reasons[5]
    assert "Item" not in reasons[6]
    assert everything(dynamodb) == before
    assert stream_records(dynamodb) == records_before


def test_a_failing_write_cancels_the_transaction_and_is_named_in_its_reason(dynamodb: Any) -> None:
    seed(dynamodb)
    before = everything(dynamodb)
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                put("claims", {"pk": {"S": "claim#7"}, "status": {"S": "PENDING"}}),
                put("claims", {"pk": {"S": "claim#8"}, "amount": {"N": "not a number"}}),
                put("claims", {"pk": {"S": "claim#9"}, "status": {"S": "PENDING"}}),
            ]
        )
    reasons = cancellation(error)
    assert [reason["Code"] for reason in reasons] == ["None", "ValidationException", "None"]
    assert "not a number" in reasons[1]["Message"]
    assert everything(dynamodb) == before


def test_an_invalid_update_is_a_validation_error_and_nothing_is_written(dynamodb: Any) -> None:
    seed(dynamodb)
    before = everything(dynamodb)
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                put("claims", {"pk": {"S": "claim#7"}, "status": {"S": "PENDING"}}),
                {
                    "Update": {
                        "TableName": "leads",
                        "Key": {"pk": {"S": "lead#1"}, "sk": {"S": "profile"}},
                        "UpdateExpression": "SET score = score + :word",
                        "ExpressionAttributeValues": {":word": {"S": "ten"}},
                    }
                },
            ]
        )
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "operand" in error.value.response["Error"]["Message"]
    assert everything(dynamodb) == before


def test_two_operations_on_one_item_are_refused_and_nothing_is_written(dynamodb: Any) -> None:
    seed(dynamodb)
    before = everything(dynamodb)
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(
            TransactItems=[
                put("claims", {"pk": {"S": "claim#5"}, "status": {"S": "PENDING"}}),
                put("leads", {"pk": {"S": "lead#3"}, "sk": {"S": "profile"}}),
                {"Delete": {"TableName": "claims", "Key": {"pk": {"S": "claim#5"}}}},
            ]
        )
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "multiple operations on one item" in error.value.response["Error"]["Message"]
    assert everything(dynamodb) == before


def test_more_than_100_items_are_refused(dynamodb: Any) -> None:
    items = [put("claims", {"pk": {"S": f"claim#{n}"}}) for n in range(101)]
    with pytest.raises(ClientError) as error:
        dynamodb.transact_write_items(TransactItems=items)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "100" in error.value.response["Error"]["Message"]
    assert everything(dynamodb)["claims"] == []
    dynamodb.transact_write_items(TransactItems=items[:100])
    assert len(everything(dynamodb)["claims"]) == 100


def test_a_transaction_costs_memory_for_the_items_it_touches_not_the_table(patched_dynamodb: Any) -> None:
    # Given a table of a few thousand deliveries of about 1 KB each
    body = {"B": b"x" * 1000}
    for start in range(0, 3000, 25):
        requests = [{"PutRequest": {"Item": {"pk": {"S": f"d#{n}"}, "body": body}}} for n in range(start, start + 25)]
        patched_dynamodb.batch_write_item(RequestItems={"deliveries": requests})
    # When a transaction of two items is cancelled (the path that rolls back)
    tracemalloc.start()
    try:
        with pytest.raises(ClientError):
            patched_dynamodb.transact_write_items(
                TransactItems=[
                    put("deliveries", {"pk": {"S": "new"}, "body": body}),
                    put("deliveries", {"pk": {"S": "d#1"}, "body": body}, "attribute_not_exists(pk)"),
                ]
            )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Then it allocated far less than one copy of the table (about 3 MB of items)
    assert peak < 1_000_000, f"peak {peak:,} bytes"
    assert patched_dynamodb.get_item(TableName="deliveries", Key={"pk": {"S": "new"}}).get("Item") is None


def test_concurrent_transactions_and_reads_on_one_table_all_succeed(patched_dynamodb: Any) -> None:
    # Given 16 threads that each claim deliveries with transactions while others query and scan the table
    errors: list[BaseException] = []
    start = threading.Barrier(16)

    def claim(worker: int) -> None:
        client = boto3.client("dynamodb", region_name=REGION, config=NO_RETRIES)
        start.wait()
        for n in range(40):
            try:
                key = f"w{worker}#{n}"
                client.transact_write_items(
                    TransactItems=[
                        put("deliveries", {"pk": {"S": f"attempt#{key}"}, "body": {"S": "x" * 200}}),
                        put("deliveries", {"pk": {"S": f"claim#{key}"}}, "attribute_not_exists(pk)"),
                    ]
                )
                if n % 5 == 0:
                    client.scan(TableName="deliveries", Limit=50)
            except BaseException as exc:  # any failure at all is what this test looks for
                errors.append(exc)

    # When they all run at once
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(claim, range(16)))
    # Then none failed and every claim is there
    assert errors == []
    count = patched_dynamodb.scan(TableName="deliveries", Select="COUNT")["Count"]
    assert count == 16 * 40 * 2


def test_sqs_deletes_lose_no_message_sent_meanwhile_and_keep_a_bounded_receipt_memory() -> None:
    moto_patches.install()
    try:
        with mock_aws():
            sqs = boto3.client("sqs", region_name=REGION)
            url = sqs.create_queue(QueueName="tap")["QueueUrl"]
            sent = 120

            senders = threading.local()

            def send(n: int) -> None:
                if not hasattr(senders, "client"):
                    senders.client = boto3.client("sqs", region_name=REGION)
                senders.client.send_message(QueueUrl=url, MessageBody=str(n))

            received: list[str] = []

            def drain() -> int:
                messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
                for message in messages:
                    received.append(message["Body"])
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])  # again: fine
                return len(messages)

            # While 4 threads send, messages are received and deleted
            with ThreadPoolExecutor(4) as pool:
                sending = [pool.submit(send, n) for n in range(sent)]
                while not all(future.done() for future in sending):
                    drain()
            while drain():
                pass
            # Then every message sent was received once
            assert sorted(received, key=int) == [str(n) for n in range(sent)]
    finally:
        moto_patches.uninstall()


@pytest.mark.parametrize("patched", [False, True], ids=["moto as released", "moto as patched"])
def test_queue_attributes_count_messages_as_before_while_sends_and_receives_skip_the_counts(
    patched: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if patched:
        moto_patches.install()
    try:
        with mock_aws():
            # Given a queue holding 30 messages, 10 of them received (in flight)
            sqs = boto3.client("sqs", region_name=REGION)
            url = sqs.create_queue(QueueName="tap", Attributes={"MessageRetentionPeriod": "600"})["QueueUrl"]
            for n in range(30):
                sqs.send_message(QueueUrl=url, MessageBody=str(n))
            received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
            counted: list[str] = []
            for name in ("approximate_number_of_messages", "approximate_number_of_messages_not_visible"):
                monkeypatch.setattr(Queue, name, _spied(getattr(Queue, name), name, counted))
            # When one more is sent and ten more are received
            sqs.send_message(QueueUrl=url, MessageBody="30")
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)
            counted_for_send_and_receive = list(counted)
            # Then the answers are moto's: the counts and the settings as GetQueueAttributes reports them
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            assert attributes["ApproximateNumberOfMessages"] == "11"
            assert attributes["ApproximateNumberOfMessagesNotVisible"] == "20"
            assert attributes["MessageRetentionPeriod"] == "600"
            assert len(received) == 10
            # And patched, neither the send nor the receive counted the queue's messages (released, each did,
            # the receive once per message)
            if patched:
                assert counted_for_send_and_receive == []
            else:
                assert len(counted_for_send_and_receive) > 2 * 10
    finally:
        moto_patches.uninstall()


def _spied(count: property, name: str, calls: list[str]) -> property:
    getter = count.fget
    assert getter is not None

    def spied(queue: Any) -> Any:
        calls.append(name)
        return getter(queue)

    return property(spied)


def test_receipts_of_deleted_messages_are_kept_for_the_latest_only() -> None:
    receipts = moto_patches._RecentReceipts([], limit=3)
    receipts.update(["a", "b", None, "c", "d"])
    assert list(receipts) == ["b", "c", "d"]
    assert "a" not in receipts
    assert "d" in receipts


def test_a_query_answers_its_partition_in_order_with_paging_filters_and_both_directions(dynamodb: Any) -> None:
    # Given two partitions of a table with a sort key, and a hash-only table
    for n in range(7):
        dynamodb.put_item(TableName="leads", Item={"pk": {"S": "lead#1"}, "sk": {"S": f"log#{n}"}, "n": {"N": str(n)}})
        dynamodb.put_item(TableName="leads", Item={"pk": {"S": "lead#2"}, "sk": {"S": f"log#{n}"}, "n": {"N": str(n)}})
    dynamodb.put_item(TableName="claims", Item={"pk": {"S": "claim#1"}, "status": {"S": "PENDING"}})

    def keys(**request: Any) -> list[str]:
        found, start = [], None
        while True:
            page = dynamodb.query(TableName="leads", **request, **({"ExclusiveStartKey": start} if start else {}))
            found += [item["sk"]["S"] for item in page["Items"]]
            if not (start := page.get("LastEvaluatedKey")):
                return found

    partition = {"KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": {"S": "lead#1"}}}
    # When it is queried in pages of 3, backwards, with a sort key condition and a filter
    # Then each answer holds that partition's items only, in sort key order (moto's answers either way)
    assert keys(**partition, Limit=3) == [f"log#{n}" for n in range(7)]
    assert keys(**partition, Limit=2, ScanIndexForward=False) == [f"log#{n}" for n in reversed(range(7))]
    assert keys(
        KeyConditionExpression="pk = :pk AND sk > :after",
        FilterExpression="n <> :three",
        ExpressionAttributeValues={":pk": {"S": "lead#2"}, ":after": {"S": "log#1"}, ":three": {"N": "3"}},
    ) == ["log#2", "log#4", "log#5", "log#6"]
    # And a partition that does not exist answers nothing and is not created by asking
    assert (
        dynamodb.query(
            TableName="leads", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "nobody"}}
        )["Items"]
        == []
    )
    assert len(dynamodb.scan(TableName="leads")["Items"]) == 14
    claims = dynamodb.query(
        TableName="claims", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "claim#1"}}
    )
    assert [item["status"]["S"] for item in claims["Items"]] == ["PENDING"]


def test_an_index_query_answers_the_items_of_every_partition_that_index_key_holds(dynamodb: Any) -> None:
    # Given a table with an index whose key items of several partitions share
    dynamodb.create_table(
        TableName="lines",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "period", "AttributeType": "S"},
            {"AttributeName": "sort", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-period",
                "KeySchema": [
                    {"AttributeName": "period", "KeyType": "HASH"},
                    {"AttributeName": "sort", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for n in range(5):
        item = {"pk": {"S": f"line#{n}"}, "period": {"S": "2026-11" if n % 2 else "2026-10"}, "sort": {"S": str(n)}}
        dynamodb.put_item(TableName="lines", Item=item)
    # When the index is queried for one of its keys
    answer = dynamodb.query(
        TableName="lines",
        IndexName="by-period",
        KeyConditionExpression="period = :p",
        ExpressionAttributeValues={":p": {"S": "2026-11"}},
    )
    # Then every item under that key comes, from each partition, in the index's sort order
    assert [item["pk"]["S"] for item in answer["Items"]] == ["line#1", "line#3"]


def test_a_patched_query_never_reads_the_whole_table(patched_dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a table of 50 partitions
    from moto.dynamodb.models.table import Table

    for n in range(50):
        patched_dynamodb.put_item(TableName="deliveries", Item={"pk": {"S": f"d#{n}"}})
    whole_table_reads = []
    all_items = Table.all_items
    monkeypatch.setattr(Table, "all_items", lambda self: whole_table_reads.append(self.name) or all_items(self))
    # When one partition is queried
    answer = patched_dynamodb.query(
        TableName="deliveries", KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "d#7"}}
    )
    # Then it is found without moto listing (and sorting) every item of the table
    assert [item["pk"]["S"] for item in answer["Items"]] == ["d#7"]
    assert whole_table_reads == []


RICH_ITEM = {
    "pk": {"S": "conv#1"},
    "sk": {"S": "2026-11"},
    "amount": {"N": "1250.50"},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "blob": {"B": b"\x00\x01"},
    "tags": {"SS": ["a", "b"]},
    "touches": {"L": [{"M": {"channel": {"S": "email"}, "credit": {"N": "0.25"}}} for _ in range(50)]},
    "meta": {"M": {"deal": {"S": "d-1"}, "seats": {"N": "12"}}},
}


PROJECTIONS = (
    ("#a, #f, #n, #b, #t, #m, #missing", {"#a": "amount", "#f": "flag", "#n": "nothing", "#b": "blob", "#t": "tags",
     "#m": "meta", "#missing": "missing"}),
    ("#a, #m.deal, touches[1].channel", {"#a": "amount", "#m": "meta"}),  # nested: moto's own
    ("#b, #n", {"#b": "blob", "#n": "nothing"}),
)  # fmt: skip


def _projected(client: Any) -> list[list[dict[str, Any]]]:
    client.put_item(TableName="deliveries", Item={**RICH_ITEM, "pk": {"S": "d#9"}})
    return [
        client.query(
            TableName="deliveries",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "d#9"}},
            ProjectionExpression=expression,
            ExpressionAttributeNames=names,
        )["Items"]
        for expression, names in PROJECTIONS
    ]


def test_a_projection_answers_as_moto_released_does(patched_dynamodb: Any) -> None:
    # Given the projections of an item with every kind of value, moto as released
    moto_patches.uninstall()
    released = _projected(patched_dynamodb)
    moto_patches.install()
    # When the same projections are asked of moto as patched
    patched = _projected(patched_dynamodb)
    # Then the answers are the same, item for item
    assert patched == released
    assert set(patched[0][0]) == {"amount", "flag", "nothing", "blob", "tags", "meta"}
    assert patched[1][0] == {"amount": {"N": "1250.50"}, "meta": {"M": {"deal": {"S": "d-1"}}},
                             "touches": {"L": [{"M": {"channel": {"S": "email"}}}]}}  # fmt: skip


def test_a_top_level_projection_converts_only_the_attributes_asked_for(
    patched_dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an item holding a large list besides the attributes asked for
    from moto.dynamodb.models.dynamo_type import Item

    patched_dynamodb.put_item(TableName="deliveries", Item={**RICH_ITEM, "pk": {"S": "d#1"}})
    whole_item_conversions = []
    to_regular_json = Item.to_regular_json
    monkeypatch.setattr(Item, "to_regular_json", lambda self: whole_item_conversions.append(1) or to_regular_json(self))
    # When two attributes are projected
    answer = patched_dynamodb.get_item(
        TableName="deliveries", Key={"pk": {"S": "d#1"}}, ProjectionExpression="amount, flag"
    )
    # Then they come, and the item was never converted whole
    assert answer["Item"] == {"amount": {"N": "1250.50"}, "flag": {"BOOL": True}}
    assert whole_item_conversions == []
