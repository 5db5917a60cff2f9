"""The catalog's queue triggers: each function that consumes a work queue gets an SQS event source mapping with
the catalog's batch size and reported item failures, and the least privilege that needs (receive, delete and
change the visibility of that one queue's messages; decrypt them through SQS, for that queue only).

A message that keeps failing needs no on-failure destination here: the work queue's redrive policy moves it to the
queue's own dead-letter queue after `max_receive_count` receives (`infra/data.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import pascal
from infra.data import Data
from infra.functions import DeployedFunction, queue_key_use
from infra.security import Keys
from shared.catalog import Catalog

# What Lambda's SQS poller does with the function's role: receive, delete what the function handled, read the
# queue's settings, and change a message's visibility (it hands back what it could not invoke the function with).
CONSUME = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"]
# A consumer dead-letters a message that can never succeed itself, at once, with the reason
DEAD_LETTER = ["sqs:SendMessage", "sqs:GetQueueUrl"]


class QueueTriggers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        catalog: Catalog,
        keys: Keys,
        data: Data,
        functions: Mapping[str, DeployedFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.mappings: dict[str, lambda_.EventSourceMapping] = {}
        for fn, trigger in catalog.queue_triggers:
            deployed = functions[fn.name]
            queue = data.work_queues[trigger.queue]
            dead_letters = data.queues[catalog.work_queue(trigger.queue).dead_letter_queue.name]
            deployed.role.add_to_policy(iam.PolicyStatement(actions=CONSUME, resources=[queue.queue_arn]))
            deployed.role.add_to_policy(iam.PolicyStatement(actions=DEAD_LETTER, resources=[dead_letters.queue_arn]))
            deployed.role.add_to_policy(queue_key_use(keys.messaging, ["kms:Decrypt"], queue))
            # SQS moves a message over its max receive count to the dead-letter queue on a receive, encrypting it
            # there on the receiver's behalf: the poller uses the key for that queue too (and only that one).
            deployed.role.add_to_policy(
                queue_key_use(keys.messaging, ["kms:Decrypt", "kms:GenerateDataKey"], dead_letters)
            )
            name = f"{fn.name}-{trigger.queue}"
            mapping = lambda_.EventSourceMapping(
                self,
                f"Queue{pascal(name)}",
                target=deployed.function,
                event_source_arn=queue.queue_arn,
                batch_size=trigger.batch_size,
                max_batching_window=(
                    Duration.seconds(trigger.max_batching_window_seconds)
                    if trigger.max_batching_window_seconds
                    else None
                ),
                max_concurrency=trigger.max_concurrency,
                report_batch_item_failures=True,
            )
            reason = (
                f"An SQS event source mapping takes no on-failure destination: the redrive policy of work queue "
                f"{trigger.queue} moves a message that failed {catalog.work_queue(trigger.queue).max_receive_count} "
                "receives to its own dead-letter queue, which is alarmed and redriven."
            )
            NagSuppressions.add_resource_suppressions(
                mapping, [NagPackSuppression(id="Serverless-LambdaEventSourceMappingDestination", reason=reason)]
            )
            # cfn-lint-serverless ES1001 asks every event source mapping for an on-failure destination (same reason).
            cast(lambda_.CfnEventSourceMapping, mapping.node.default_child).add_metadata(
                "cfn-lint", {"config": {"ignore_checks": ["ES1001"]}}
            )
            self.mappings[name] = mapping
