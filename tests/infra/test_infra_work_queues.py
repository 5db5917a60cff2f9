"""Work queues in the stacks: a FIFO work queue, KMS-encrypted, redriving to its own FIFO dead-letter queue after
the catalog's max receive count; its consumer's SQS event source mapping reporting item failures; least privilege
for the consumer and the senders; the dead-letter queue's alarm; cdk-nag and cfn-lint clean; and the local runtime
provisioning the same queues. The real catalog has no work queue yet, so these synthesize one of their own: the
webhook domain (routes, a table, a stream) plus a consumer and a sender of a work queue."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

import tests.infra.test_infra_guard_rails as guard_rails
import tests.infra.test_local_runtime_agrees_with_cdk as agreement
from infra.queues import CONSUME, DEAD_LETTER
from shared.catalog import (
    LEADS,
    WEBHOOK_DELIVERIES,
    WEBHOOKS,
    Domain,
    Function,
    QueueTrigger,
    WorkQueue,
    compose,
    physical_name,
)
from tests.infra.conftest import Synth, _synthesize
from tests.infra.test_infra_stacks import MAIN_STACK_BUDGET

CRM_CHANGES = WorkQueue("crm-sync-test.fifo", "hub changes to push to a CRM, in order per record")
CONSUMER = Function(
    name="crm_pusher_test",
    description="Test-only: pushes hub changes to a CRM, from the work queue",
    timeout_seconds=30,
    queue_triggers=(QueueTrigger(CRM_CHANGES.name, "every hub change to push", batch_size=5, max_concurrency=2),),
)
SENDER = Function(
    name="crm_change_feed_test",
    description="Test-only: sends hub changes to the work queue",
    tables={WEBHOOK_DELIVERIES.name: "read"},
    sends_to=(CRM_CHANGES.name,),
)
CATALOG = compose(
    "events",
    (
        WEBHOOKS,
        Domain("lead-table", None, tables=(LEADS,)),  # the webhook publisher reads the erasure tombstones there
        Domain("crm-test", None, work_queues=(CRM_CHANGES,), functions=(CONSUMER, SENDER)),
    ),
)
# A queue trigger's event source mapping has no on-failure destination (SQS takes none: the queue's redrive policy
# dead-letters), which cdk-nag and cfn-lint-serverless ask every mapping for; suppressed there and only there.
QUEUE_TRIGGER_NAG_SUPPRESSIONS = {"Serverless-LambdaEventSourceMappingDestination"}
QUEUE_TRIGGER_LINT_IGNORES = {"ES1001"}


@pytest.fixture(scope="module")
def work_queues(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return _synthesize(tmp_path_factory.mktemp("cdk-work-queues"), "prod", CATALOG)


def _resources(synth: Synth) -> dict[str, dict[str, Any]]:
    resources: dict[str, dict[str, Any]] = synth.template.to_json()["Resources"]
    return resources


def _arn(synth: Synth, construct: object) -> dict[str, Any]:
    return {"Fn::GetAtt": [synth.logical_id(construct), "Arn"]}


def _statements(synth: Synth, function: Function) -> list[dict[str, Any]]:
    role = synth.logical_id(synth.stack.functions.by_name[function.name].role)
    policies = synth.template.find_resources("AWS::IAM::Policy", {"Properties": {"Roles": [{"Ref": role}]}})
    return [s for policy in policies.values() for s in policy["Properties"]["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return set(actions if isinstance(actions, list) else [actions])


def _sqs_key_use(synth: Synth, queue: object) -> dict[str, Any]:
    """The messaging key's use through SQS, for `queue`'s messages only (SQS's encryption context names it)."""
    return {
        "StringEquals": {
            "kms:ViaService": {"Fn::Join": ["", ["sqs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]},
            "kms:EncryptionContext:aws:sqs:arn": _arn(synth, queue),
        }
    }


def test_the_work_queue_is_fifo_encrypted_and_dead_letters_to_its_own_fifo_queue(work_queues: Synth) -> None:
    synth = work_queues
    queue = synth.stack.data.work_queues[CRM_CHANGES.name]
    dead_letters = synth.stack.data.queues[CRM_CHANGES.dead_letter_queue.name]
    messaging_key = _arn(synth, synth.stack.keys.messaging)
    # Then the work queue is FIFO under its stage name, with the catalog's settings and the stack's messaging key
    properties = _resources(synth)[synth.logical_id(queue)]["Properties"]
    assert {key: value for key, value in properties.items() if key != "Tags"} == {
        "QueueName": "revops-prod-crm-sync-test.fifo",
        "FifoQueue": True,
        "ContentBasedDeduplication": False,
        "VisibilityTimeout": 300,
        "MessageRetentionPeriod": 4 * 24 * 3600,
        "KmsMasterKeyId": messaging_key,
        "KmsDataKeyReusePeriodSeconds": 3600,
        "RedrivePolicy": {"deadLetterTargetArn": _arn(synth, dead_letters), "maxReceiveCount": 24},
    }
    # And its dead-letter queue is FIFO too (SQS requires it), encrypted alike, keeping dead letters 14 days
    dead_letter_properties = _resources(synth)[synth.logical_id(dead_letters)]["Properties"]
    assert dead_letter_properties["QueueName"] == "revops-prod-crm-sync-test-dlq.fifo"
    assert (dead_letter_properties["FifoQueue"], dead_letter_properties["KmsMasterKeyId"]) == (True, messaging_key)
    assert dead_letter_properties["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "RedrivePolicy" not in dead_letter_properties
    # And both refuse requests without TLS
    for each in (queue, dead_letters):
        synth.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": synth.logical_id(each)}],
                "PolicyDocument": {
                    "Statement": [
                        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
                    ]
                },
            },
        )


def test_the_consumer_reads_it_through_an_event_source_mapping_that_reports_item_failures(work_queues: Synth) -> None:
    synth = work_queues
    queue = synth.stack.data.work_queues[CRM_CHANGES.name]
    consumer = synth.stack.functions.by_name[CONSUMER.name].function
    mappings = synth.template.find_resources(
        "AWS::Lambda::EventSourceMapping", {"Properties": {"EventSourceArn": _arn(synth, queue)}}
    )
    # Then one mapping hands the consumer batches of the trigger's size, taking its batchItemFailures answers,
    # at most two at once, with no stream settings (no starting position, bisection, retries or on-failure
    # destination)
    [mapping] = mappings.values()
    properties = {key: value for key, value in mapping["Properties"].items() if key != "Tags"}
    assert properties == {
        "FunctionName": {"Ref": synth.logical_id(consumer)},
        "EventSourceArn": _arn(synth, queue),
        "BatchSize": 5,
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": 2},
    }
    synth.template.resource_count_is(
        "AWS::Lambda::EventSourceMapping", len(synth.catalog.streams) + len(synth.catalog.queue_triggers)
    )


def test_the_consumer_may_take_that_queues_messages_and_nothing_more(work_queues: Synth) -> None:
    synth = work_queues
    queue = synth.stack.data.work_queues[CRM_CHANGES.name]
    dead_letters = synth.stack.data.queues[CRM_CHANGES.dead_letter_queue.name]
    statements = _statements(synth, CONSUMER)
    # Then it may receive, delete and change the visibility of that queue's messages, and read its settings
    consuming = [s for s in statements if s["Resource"] == _arn(synth, queue)]
    assert [_actions(s) for s in consuming] == [set(CONSUME)]
    # And dead-letter at once a message that can never succeed, to the queue's own dead-letter queue only
    dead_lettering = [s for s in statements if _arn(synth, dead_letters) in _listed(s["Resource"])]
    assert [_actions(s) for s in dead_lettering] == [set(DEAD_LETTER)]
    # And decrypt them through SQS, for that queue only; and let SQS move a dead letter into its own queue
    key_uses = [
        s for s in statements if s.get("Condition", {}).get("StringEquals", {}).get("kms:EncryptionContext:aws:sqs:arn")
    ]
    assert [(_actions(s), s["Condition"]) for s in key_uses] == [
        ({"kms:Decrypt"}, _sqs_key_use(synth, queue)),
        ({"kms:Decrypt", "kms:GenerateDataKey"}, _sqs_key_use(synth, dead_letters)),
    ]
    # And it may not send to the work queue, nor touch any queue with a wildcard
    assert not [s for s in statements if "sqs:SendMessage" in _actions(s) and s["Resource"] == _arn(synth, queue)]
    assert not [
        s
        for s in statements
        if any(action.startswith("sqs:") for action in _actions(s)) and "*" in json.dumps(s["Resource"])
    ]
    assert not [key for key in synth.catalog.environment(CONSUMER, synth.stage) if key.startswith("QUEUE_")]


def test_a_sender_may_send_to_that_queue_only_and_is_told_its_url(work_queues: Synth) -> None:
    synth = work_queues
    queue = synth.stack.data.work_queues[CRM_CHANGES.name]
    statements = _statements(synth, SENDER)
    # Then the sender may send to the work queue (and receive nothing from it), using the key for that queue only
    [sending] = [s for s in statements if s["Resource"] == _arn(synth, queue)]
    assert _actions(sending) == {"sqs:SendMessage"}
    assert [_actions(s) for s in statements if s.get("Condition") == _sqs_key_use(synth, queue)] == [
        {"kms:Decrypt", "kms:GenerateDataKey"}
    ]
    # And its environment holds the queue's URL (the queue's reference) under QUEUE_CRM_SYNC_TEST_URL
    function = _resources(synth)[synth.logical_id(synth.stack.functions.by_name[SENDER.name].function)]
    variables = function["Properties"]["Environment"]["Variables"]
    assert CRM_CHANGES.url_variable == "QUEUE_CRM_SYNC_TEST_URL"
    assert variables[CRM_CHANGES.url_variable] == {"Ref": synth.logical_id(queue)}
    # And no other function may send to it
    for fn in synth.catalog.functions:
        if fn.name != SENDER.name:
            assert not [
                s
                for s in _statements(synth, fn)
                if "sqs:SendMessage" in _actions(s) and s["Resource"] == _arn(synth, queue)
            ]


def test_the_dead_letter_queue_is_alarmed_and_the_work_queue_is_on_the_dashboard(work_queues: Synth) -> None:
    synth = work_queues
    dead_letters = physical_name(synth.stage, CRM_CHANGES.dead_letter_queue.name)
    # Then an alarm of the monitoring stack fires as soon as one message is in the dead-letter queue
    synth.monitoring.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": dead_letters}],
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
        },
    )
    # And the dashboard graphs the work queue's backlog and the age of its oldest message
    [dashboard] = synth.monitoring.template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert physical_name(synth.stage, CRM_CHANGES.name) in body
    assert "ApproximateAgeOfOldestMessage" in body


def test_a_work_queue_costs_the_main_stack_five_resources_and_it_stays_within_budget(work_queues: Synth) -> None:
    synth = work_queues
    resources = _resources(synth)
    queue_ids = {
        synth.logical_id(synth.stack.data.work_queues[CRM_CHANGES.name]),
        synth.logical_id(synth.stack.data.queues[CRM_CHANGES.dead_letter_queue.name]),
    }
    # Given the resources that are the work queue or its dead-letter queue, or exist for them (grants to the
    # functions' existing roles and their environments aside)
    added = sorted(
        resource["Type"]
        for logical_id, resource in resources.items()
        if logical_id in queue_ids
        or (
            resource["Type"] not in ("AWS::IAM::Policy", "AWS::Lambda::Function")
            and any(queue_id in json.dumps(resource) for queue_id in queue_ids)
        )
    )
    # Then they are the two queues, their TLS-only policies and the event source mapping
    assert added == [
        "AWS::Lambda::EventSourceMapping",
        "AWS::SQS::Queue",
        "AWS::SQS::Queue",
        "AWS::SQS::QueuePolicy",
        "AWS::SQS::QueuePolicy",
    ]
    synth.template.resource_count_is("AWS::SQS::Queue", len(synth.catalog.queues) + len(synth.catalog.work_queues))
    assert len(resources) <= MAIN_STACK_BUDGET


def test_nag_and_cfn_lint_pass_with_the_queue_triggers_reviewed_suppressions_only(work_queues: Synth) -> None:
    synth = work_queues
    guard_rails.test_nag_finds_no_unsuppressed_errors(synth)
    guard_rails.test_nag_finds_no_unsuppressed_warnings(synth)
    guard_rails.test_cdk_itself_reports_no_errors_or_warnings(synth)
    guard_rails.test_cfn_lint_with_serverless_rules_reports_no_errors_or_warnings(synth)
    # Every suppression is a reviewed one with a reason; the queue triggers' own sit on their mappings only
    resources = {
        f"{stack.stack.stack_name}/{key}": r
        for stack in synth.stacks
        for key, r in stack.template.to_json()["Resources"].items()
    }
    mappings = {
        key
        for key, r in resources.items()
        if r["Type"] == "AWS::Lambda::EventSourceMapping" and "StartingPosition" not in r["Properties"]
    }
    assert mappings
    for logical_id, metadata in guard_rails._metadata(synth):
        for rule in metadata.get("cdk_nag", {}).get("rules_to_suppress", []):
            assert rule["id"] in guard_rails.REVIEWED_NAG_SUPPRESSIONS | QUEUE_TRIGGER_NAG_SUPPRESSIONS, logical_id
            assert len(rule["reason"]) >= 60, logical_id
            assert (rule["id"] in QUEUE_TRIGGER_NAG_SUPPRESSIONS) <= (logical_id in mappings), logical_id
        for check in metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []):
            assert check in guard_rails.REVIEWED_LINT_IGNORES | QUEUE_TRIGGER_LINT_IGNORES, logical_id
            assert (check in QUEUE_TRIGGER_LINT_IGNORES) <= (logical_id in mappings), logical_id
    # And each queue trigger's mapping carries both, so the checks above really ran on one
    for logical_id in mappings:
        metadata = resources[logical_id]["Metadata"]
        assert {rule["id"] for rule in metadata["cdk_nag"]["rules_to_suppress"]} == QUEUE_TRIGGER_NAG_SUPPRESSIONS
        assert set(metadata["cfn-lint"]["config"]["ignore_checks"]) == QUEUE_TRIGGER_LINT_IGNORES


def test_the_local_runtime_provisions_the_queues_cdk_deploys(work_queues: Synth) -> None:
    agreement.test_queues_bus_rules_and_secrets_have_the_same_names_and_patterns(work_queues)
    agreement.test_queues_have_the_same_attributes(work_queues)


def _listed(resource: Any) -> list[Any]:
    return resource if isinstance(resource, list) else [resource]
