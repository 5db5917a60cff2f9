"""Creates the catalog's tables, bus, rules, queues and secrets on an AWS endpoint (moto, locally).

The CDK stacks build the same resources from the same catalog for AWS; `tests/infra` checks they agree.
Rules get an SQS "tap" queue as their target: EventBridge (moto's implementation) decides which events
match, and the local runtime delivers what lands in a tap to the rule's function in-process.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.catalog import Catalog, Function, Rule, Table, physical_name

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
    queue_urls: dict[str, str] = field(default_factory=dict)


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
    queue_urls = {q.name: sqs.create_queue(QueueName=physical_name(stage, q.name))["QueueUrl"] for q in catalog.queues}
    account = _account(session)
    all_events_url = _tap(events, sqs, bus_name, f"{stage}-{ALL_EVENTS_RULE}", {"account": [account]})
    provisioned = Provisioned(
        catalog, stage, account, session.region_name, bus_name, all_events_url, queue_urls=queue_urls
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


def _tap(events: Any, sqs: Any, bus_name: str, rule_name: str, pattern: dict[str, object]) -> str:
    queue_url = sqs.create_queue(QueueName=f"{rule_name}-tap")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=rule_name, EventBusName=bus_name, EventPattern=json.dumps(pattern), State="ENABLED")
    events.put_targets(Rule=rule_name, EventBusName=bus_name, Targets=[{"Id": "tap", "Arn": queue_arn}])
    return str(queue_url)


def _account(session: Any) -> str:
    return str(session.client("sts").get_caller_identity()["Account"])
