"""The local runtime and the CDK stack are built from the same catalog; here the two results are compared,
so `make run` keeps exercising what `cdk deploy` creates: same tables and indexes, queues (with their FIFO,
retention, visibility and redrive settings), bus, rules, secrets and routes, under the same stage-derived names.
`test_infra_work_queues` runs the queue checks on a catalog with a work queue too."""

from __future__ import annotations

import json
from typing import Any

import boto3
from moto import mock_aws

from local_runtime.provision import provision, table_definition
from shared.catalog import physical_name
from tests.infra.conftest import Synth


def resources(synth: Synth, kind: str) -> dict[str, dict[str, Any]]:
    """The resources of a kind in every stack of the stage (the rules and their queues are the routing stack's)."""
    found: dict[str, dict[str, Any]] = {}
    for stack in synth.stacks:
        of_stack = stack.template.find_resources(kind)
        assert not set(of_stack) & set(found), f"logical ids {set(of_stack) & set(found)} in two stacks"
        found |= of_stack
    return found


def test_tables_have_the_same_keys_indexes_and_ttl(synth: Synth) -> None:
    # Given every table the CDK stack declares
    deployed = {
        props["Properties"]["TableName"]: props["Properties"]
        for props in resources(synth, "AWS::DynamoDB::Table").values()
    }
    for table in synth.catalog.tables:
        # When the local runtime defines the same table
        local = table_definition(table, synth.stage)
        cdk = deployed[local["TableName"]]
        # Then keys, attribute types, indexes (with their projections) and TTL match
        assert cdk["KeySchema"] == local["KeySchema"]
        assert sorted(cdk["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == local["AttributeDefinitions"]
        cdk_indexes = {i["IndexName"]: i for i in cdk.get("GlobalSecondaryIndexes", [])}
        for index in local.get("GlobalSecondaryIndexes", []):
            assert cdk_indexes[index["IndexName"]]["KeySchema"] == index["KeySchema"]
            cdk_projection = cdk_indexes[index["IndexName"]]["Projection"]
            assert cdk_projection["ProjectionType"] == index["Projection"]["ProjectionType"]
            assert sorted(cdk_projection.get("NonKeyAttributes", [])) == sorted(
                index["Projection"].get("NonKeyAttributes", [])
            )
        if table.ttl_attribute:
            assert cdk["TimeToLiveSpecification"] == {"AttributeName": table.ttl_attribute, "Enabled": True}


def test_queues_bus_rules_and_secrets_have_the_same_names_and_patterns(synth: Synth) -> None:
    # Given what the local runtime provisions for the same stage
    with mock_aws():
        local = provision(synth.catalog, synth.stage, boto3.Session(region_name="us-east-1"))
    # Then every queue, the bus, every rule and every secret exists in both under the same name
    cdk_queues = {q["Properties"]["QueueName"] for q in resources(synth, "AWS::SQS::Queue").values()}
    local_queues = {physical_name(synth.stage, name) for name in local.queue_urls | local.work_queue_urls}
    assert len(local_queues) == len(synth.catalog.queues) + len(synth.catalog.work_queues)
    assert local_queues <= cdk_queues
    [bus] = resources(synth, "AWS::Events::EventBus").values()
    assert bus["Properties"]["Name"] == local.bus_name
    cdk_rules = [r["Properties"] for r in resources(synth, "AWS::Events::Rule").values()]
    queue_names = {
        logical_id: q["Properties"]["QueueName"] for logical_id, q in resources(synth, "AWS::SQS::Queue").items()
    }
    assert len(local.taps) == len(cdk_rules) == len(synth.catalog.rules)
    for tap in local.taps:
        [rule] = [r for r in cdk_rules if r.get("Name") == physical_name(synth.stage, tap.rule.name)]
        pattern = rule["EventPattern"]
        assert (json.loads(pattern) if isinstance(pattern, str) else pattern) == tap.rule.pattern
        # And what the rule cannot deliver goes to the same dead-letter queue
        [target] = rule["Targets"]
        [dead_letters, _] = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"]
        assert queue_names[dead_letters] == tap.dlq_url.rsplit("/", 1)[1], tap.rule.name
    cdk_secrets = {s["Properties"]["Name"] for s in resources(synth, "AWS::SecretsManager::Secret").values()}
    assert {physical_name(synth.stage, s.name) for s in synth.catalog.secrets} == cdk_secrets


def test_queues_have_the_same_attributes(synth: Synth) -> None:
    # Given every queue the local runtime provisions (dead-letter and work queues), as the embedded SQS keeps it
    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        local = provision(synth.catalog, synth.stage, session)
        sqs = session.client("sqs")
        provisioned = {
            physical_name(synth.stage, name): sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
            for name, url in (local.queue_urls | local.work_queue_urls).items()
        }
    deployed = {logical_id: q["Properties"] for logical_id, q in resources(synth, "AWS::SQS::Queue").items()}
    names = {logical_id: properties["QueueName"] for logical_id, properties in deployed.items()}
    by_name = {properties["QueueName"]: properties for properties in deployed.values()}
    for name, answer in provisioned.items():
        attributes, cdk = answer["Attributes"], by_name[name]
        # Then FIFO or not, de-duplication, retention and visibility are the same (SQS's defaults where CDK sets none)
        assert attributes.get("FifoQueue", "false") == str(cdk.get("FifoQueue", False)).lower(), name
        if cdk.get("FifoQueue"):
            assert attributes["ContentBasedDeduplication"] == str(cdk.get("ContentBasedDeduplication", False)).lower()
        assert attributes["MessageRetentionPeriod"] == str(cdk.get("MessageRetentionPeriod", 4 * 24 * 3600)), name
        assert attributes["VisibilityTimeout"] == str(cdk.get("VisibilityTimeout", 30)), name
        # And a work queue dead-letters to the same queue after as many receives
        local_redrive = json.loads(attributes["RedrivePolicy"]) if "RedrivePolicy" in attributes else None
        cdk_redrive = cdk.get("RedrivePolicy")
        assert (local_redrive is None) == (cdk_redrive is None), name
        if local_redrive and cdk_redrive:
            [target, _] = cdk_redrive["deadLetterTargetArn"]["Fn::GetAtt"]
            assert local_redrive["deadLetterTargetArn"].rsplit(":", 1)[1] == names[target], name
            assert local_redrive["maxReceiveCount"] == cdk_redrive["maxReceiveCount"], name


def test_every_route_the_local_gateway_serves_is_a_deployed_method(synth: Synth) -> None:
    # Given the API Gateway resources and methods of the stack
    paths = _resource_paths(synth)
    methods = {
        (m["Properties"]["HttpMethod"], paths[_ref(m["Properties"]["ResourceId"])])
        for m in resources(synth, "AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] != "OPTIONS"
    }
    # Then the catalog routes the local gateway serves are exactly those methods
    assert {(route.method, route.path) for _, route in synth.catalog.routes} == methods


def _ref(value: Any) -> str:
    return value["Ref"] if isinstance(value, dict) and "Ref" in value else "root"


def _resource_paths(synth: Synth) -> dict[str, str]:
    raw = resources(synth, "AWS::ApiGateway::Resource")
    paths: dict[str, str] = {"root": ""}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            props = raw[logical_id]["Properties"]
            parent = props["ParentId"]
            parent_id = parent.get("Ref", "root")
            paths[logical_id] = f"{path_of(parent_id)}/{props['PathPart']}"
        return paths[logical_id]

    for logical_id in raw:
        path_of(logical_id)
    return paths
