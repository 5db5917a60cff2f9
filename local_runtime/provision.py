"""Creates the catalog's tables, bus, rules, queues and secrets on an AWS endpoint (moto, locally).

The CDK stacks build the same resources from the same catalog for AWS; `tests/infra` checks they agree.
Rules get an SQS "tap" queue as their target: EventBridge (moto's implementation) decides which events
match, and the local runtime delivers what lands in a tap to the rule's function in-process. Work queues get
the attributes CDK gives them (FIFO, visibility timeout, retention, the redrive policy to their dead-letter
queue); the local runtime's queue triggers (`local_runtime.queues`) read them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.catalog import Catalog, Function, Queue, Rule, Table, WorkQueue, physical_name

ROOT = Path(__file__).resolve().parent.parent
ALL_EVENTS_RULE = "local-all-events"


@dataclass
class RuleTap:
    function: Function
    rule: Rule
    tap_url: str
    dlq_url: str


@dataclass
class Provisioned:
    catalog: Catalog
    stage: str
    account: str
    region: str
    bus_name: str
    all_events_url: str
    taps: list[RuleTap] = field(default_factory=list)
    queue_urls: dict[str, str] = field(default_factory=dict)  # the dead-letter queues (`Catalog.queues`)
    work_queue_urls: dict[str, str] = field(default_factory=dict)
    work_queue_arns: dict[str, str] = field(default_factory=dict)


def queue_attributes(queue: Queue) -> dict[str, str]:
    """A dead-letter queue's attributes, as CDK sets them (`infra/data.py`)."""
    attributes = {"MessageRetentionPeriod": str(queue.retention_seconds)}
    if queue.fifo:
        attributes["FifoQueue"] = "true"
    return attributes


def work_queue_attributes(queue: WorkQueue, dead_letter_queue_arn: str) -> dict[str, str]:
    """A work queue's attributes, as CDK sets them (`infra/data.py`): the catalog's visibility timeout and max
    receive count, locally too (the local queue trigger retries sooner, but dead-letters after as many receives)."""
    attributes = {
        "VisibilityTimeout": str(queue.visibility_timeout_seconds),
        "MessageRetentionPeriod": str(queue.retention_seconds),
        "RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dead_letter_queue_arn, "maxReceiveCount": queue.max_receive_count}
        ),
    }
    if queue.fifo:
        attributes["FifoQueue"] = "true"
        attributes["ContentBasedDeduplication"] = str(queue.content_based_deduplication).lower()
    return attributes


def table_definition(table: Table, stage: str, streamed: bool = False) -> dict[str, Any]:
    keys = [(table.partition_key, "HASH")] + ([(table.sort_key, "RANGE")] if table.sort_key else [])
    attributes = {name for name, _ in keys}
    indexes = []
    for index in table.indexes:
        index_keys = [(index.partition_key, "HASH")] + ([(index.sort_key, "RANGE")] if index.sort_key else [])
        attributes |= {name for name, _ in index_keys}
        projection: dict[str, Any] = (
            {"ProjectionType": "ALL"}
            if index.include is None
            else {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(index.include)}
        )
        indexes.append(
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": name, "KeyType": kind} for name, kind in index_keys],
                "Projection": projection,
            }
        )
    definition: dict[str, Any] = {
        "TableName": physical_name(stage, table.name),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": name, "KeyType": kind} for name, kind in keys],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in sorted(attributes)],
    }
    if indexes:
        definition["GlobalSecondaryIndexes"] = indexes
    if streamed:  # a function reads its inserts from the stream (the webhook outbox), as in AWS
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    return definition


def provision(catalog: Catalog, stage: str, session: Any, placeholders: Mapping[str, str] | None = None) -> Provisioned:
    """Create everything the catalog declares; `session` is a boto3 Session pointed at the endpoint. Local
    secret values may name `{hub_url}` and the like: `placeholders` fills them in."""
    dynamodb, events, sqs, secrets = (session.client(name) for name in ("dynamodb", "events", "sqs", "secretsmanager"))
    for table in catalog.tables:
        dynamodb.create_table(**table_definition(table, stage, streamed=table.name in catalog.streamed_tables))
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=physical_name(stage, table.name),
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
    for secret in catalog.secrets:
        values = json.loads((ROOT / secret.local_values_file).read_text()) if secret.local_values_file else {}
        values = _filled(values, placeholders or {})
        secrets.create_secret(Name=physical_name(stage, secret.name), SecretString=json.dumps(values))

    bus_name = physical_name(stage, catalog.bus_name)
    events.create_event_bus(Name=bus_name)
    queue_urls = {
        q.name: sqs.create_queue(QueueName=physical_name(stage, q.name), Attributes=queue_attributes(q))["QueueUrl"]
        for q in catalog.queues
    }
    work_queue_urls, work_queue_arns = {}, {}
    for queue in catalog.work_queues:  # after the dead-letter queues: a redrive policy names an existing queue
        dead_letters = _arn(sqs, queue_urls[queue.dead_letter_queue.name])
        work_queue_urls[queue.name] = sqs.create_queue(
            QueueName=physical_name(stage, queue.name), Attributes=work_queue_attributes(queue, dead_letters)
        )["QueueUrl"]
        work_queue_arns[queue.name] = _arn(sqs, work_queue_urls[queue.name])
    account = _account(session)
    all_events_url = _tap(events, sqs, bus_name, f"{stage}-{ALL_EVENTS_RULE}", {"account": [account]})
    provisioned = Provisioned(
        catalog,
        stage,
        account,
        session.region_name,
        bus_name,
        all_events_url,
        queue_urls=queue_urls,
        work_queue_urls=work_queue_urls,
        work_queue_arns=work_queue_arns,
    )
    for fn, rule in catalog.rules:
        tap_url = _tap(events, sqs, bus_name, physical_name(stage, rule.name), rule.pattern)
        provisioned.taps.append(RuleTap(fn, rule, tap_url, queue_urls[fn.rule_dlq(rule).name]))
    return provisioned


def _filled(value: Any, placeholders: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        for name, filled in placeholders.items():
            value = value.replace("{" + name + "}", filled)
        return value
    if isinstance(value, dict):
        return {key: _filled(item, placeholders) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, placeholders) for item in value]
    return value


def _arn(sqs: Any, queue_url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def _tap(events: Any, sqs: Any, bus_name: str, rule_name: str, pattern: dict[str, object]) -> str:
    queue_url = sqs.create_queue(QueueName=f"{rule_name}-tap")["QueueUrl"]
    queue_arn = _arn(sqs, queue_url)
    events.put_rule(Name=rule_name, EventBusName=bus_name, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=rule_name, EventBusName=bus_name, Targets=[{"Id": "tap", "Arn": queue_arn}])
    return str(queue_url)


def _account(session: Any) -> str:
    return str(session.client("sts").get_caller_identity()["Account"])
