"""The catalog's stream triggers: each function that reads a table's DynamoDB stream gets an event source
mapping with the catalog's filter, batching, bisection, retries and on-failure queue, and the least
privilege that needs (read that one stream; decrypt it through DynamoDB only)."""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import pascal
from infra.data import Data
from infra.functions import DeployedFunction
from infra.security import Keys
from shared.catalog import Catalog

STREAM_READ = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator"]


class StreamTriggers(Construct):
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
        for fn, trigger in catalog.streams:
            deployed = functions[fn.name]
            table = data.tables[trigger.table]
            stream_arn = table.table_stream_arn
            assert stream_arn is not None, f"table {trigger.table} has no stream; Data enables it for streamed tables"
            deployed.role.add_to_policy(iam.PolicyStatement(actions=STREAM_READ, resources=[stream_arn]))
            deployed.role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"]))
            deployed.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[keys.data.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Stack.of(self).region}.amazonaws.com"}},
                )
            )
            name = f"{fn.name}-{trigger.table}"
            self.mappings[name] = lambda_.EventSourceMapping(
                self,
                f"Stream{pascal(name)}",
                target=deployed.function,
                event_source_arn=stream_arn,
                starting_position=lambda_.StartingPosition.TRIM_HORIZON,
                batch_size=trigger.batch_size,
                bisect_batch_on_error=True,
                retry_attempts=trigger.max_retries,
                max_record_age=Duration.seconds(trigger.max_record_age_seconds),
                report_batch_item_failures=True,
                on_failure=_FailureQueue(data.queues[fn.failure_queue.name]),
                filters=[lambda_.FilterCriteria.filter(trigger.filter_pattern)],
            )


@jsii.implements(lambda_.IEventSourceDlq)
class _FailureQueue:
    """The function's own failure queue as the mapping's on-failure destination. CDK's `SqsDlq` grants the role
    `kms:GenerateDataKey*` and friends on the queue's key directly; every function role already holds
    `sqs:SendMessage` on its failure queue and the key's use through SQS only (`infra/functions.py`), which
    is all the mapping needs."""

    def __init__(self, queue: sqs.IQueue) -> None:
        self._queue = queue

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        return lambda_.DlqDestinationConfig(destination=self._queue.queue_arn)
