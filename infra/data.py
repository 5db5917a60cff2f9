"""DynamoDB tables, Secrets Manager secrets, SQS work queues and dead-letter queues declared by the catalog.

The rules' dead-letter queues (`Catalog.rule_queues`) are not here: they sit beside their rules in the routing stack
(`infra/events.py`, `Rules`), built by the same `dead_letter_queue`."""

from __future__ import annotations

from typing import cast

from aws_cdk import Duration, SecretValue
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import StageConfig, pascal
from infra.security import Keys
from shared.catalog import Catalog, Queue, Secret, Table, WorkQueue, physical_name


class Data(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cfg: StageConfig, catalog: Catalog, keys: Keys) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        self._keys = keys
        self._streamed = catalog.streamed_tables
        self.tables = {table.name: self._table(table) for table in catalog.tables}
        self.secrets = {secret.name: self._secret(secret) for secret in catalog.secrets}
        routed = set(catalog.rule_queues)
        self.queues = {
            queue.name: dead_letter_queue(self, queue, cfg=cfg, key=keys.messaging)
            for queue in catalog.queues
            if queue not in routed
        }
        # after the dead-letter queues: each work queue's redrive policy names its own
        self.work_queues = {queue.name: self._work_queue(queue) for queue in catalog.work_queues}

    def _table(self, spec: Table) -> dynamodb.Table:
        table = dynamodb.Table(
            self,
            f"Table{pascal(spec.name)}",
            table_name=physical_name(self._cfg.name, spec.name),
            partition_key=dynamodb.Attribute(name=spec.partition_key, type=dynamodb.AttributeType.STRING),
            sort_key=(
                dynamodb.Attribute(name=spec.sort_key, type=dynamodb.AttributeType.STRING) if spec.sort_key else None
            ),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self._keys.data,
            time_to_live_attribute=spec.ttl_attribute,
            # a function reads this table's inserts from its stream (the webhook outbox)
            stream=dynamodb.StreamViewType.NEW_IMAGE if spec.name in self._streamed else None,
            deletion_protection=self._cfg.deletion_protection,
            removal_policy=self._cfg.removal_policy,
        )
        for index in spec.indexes:
            table.add_global_secondary_index(
                index_name=index.name,
                partition_key=dynamodb.Attribute(name=index.partition_key, type=dynamodb.AttributeType.STRING),
                sort_key=(
                    dynamodb.Attribute(name=index.sort_key, type=dynamodb.AttributeType.STRING)
                    if index.sort_key
                    else None
                ),
                projection_type=(
                    dynamodb.ProjectionType.ALL if index.include is None else dynamodb.ProjectionType.INCLUDE
                ),
                non_key_attributes=list(index.include) if index.include is not None else None,
            )
        return table

    def _secret(self, spec: Secret) -> secretsmanager.Secret:
        secret = secretsmanager.Secret(
            self,
            f"Secret{pascal(spec.name)}",
            secret_name=physical_name(self._cfg.name, spec.name),
            description=spec.description,
            encryption_key=self._keys.secrets,
            # Operators put the vendor-issued values after deploy; an empty object is valid JSON the
            # functions can parse ("no vendor configured") instead of a generated password.
            secret_string_value=SecretValue.unsafe_plain_text("{}"),
            removal_policy=self._cfg.removal_policy,
        )
        NagSuppressions.add_resource_suppressions(
            secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason=(
                        "Holds vendor-issued webhook signing secrets, which only the vendor can rotate; the hub "
                        "accepts a list of current and previous secrets per vendor so rotation at the vendor "
                        "overlaps without a Secrets Manager rotation Lambda."
                    ),
                )
            ],
        )
        return secret

    def _work_queue(self, spec: WorkQueue) -> sqs.Queue:
        """Encrypted with the messaging key like the dead-letter queues; a message received `max_receive_count`
        times moves to the work queue's own dead-letter queue."""
        return sqs.Queue(
            self,
            f"WorkQueue{pascal(spec.name)}",
            queue_name=physical_name(self._cfg.name, spec.name),
            fifo=spec.fifo or None,
            content_based_deduplication=spec.content_based_deduplication if spec.fifo else None,
            visibility_timeout=Duration.seconds(spec.visibility_timeout_seconds),
            retention_period=Duration.seconds(spec.retention_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.queues[spec.dead_letter_queue.name], max_receive_count=spec.max_receive_count
            ),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self._keys.messaging,
            data_key_reuse=Duration.hours(1),
            enforce_ssl=True,
            removal_policy=self._cfg.removal_policy,
        )


def dead_letter_queue(scope: Construct, spec: Queue, *, cfg: StageConfig, key: kms.IKey) -> sqs.Queue:
    """A catalog dead-letter queue under its stage name, encrypted with the messaging key (`key`: the key itself in
    the main stack, its alias in the routing stack), TLS only, kept `retention_seconds`, with the checks that ask
    every queue for a dead-letter queue of its own answered."""
    queue = sqs.Queue(
        scope,
        f"Queue{pascal(spec.name)}",
        queue_name=physical_name(cfg.name, spec.name),
        fifo=spec.fifo or None,  # a work queue's dead letters: FIFO like it, as SQS requires
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=Duration.hours(1),
        enforce_ssl=True,
        retention_period=Duration.seconds(spec.retention_seconds),
        removal_policy=cfg.removal_policy,
    )
    reason = (
        f"This queue is itself a dead-letter queue ({spec.purpose}); it has a depth > 0 alarm and is "
        "redriven by operators, so a dead-letter queue of its own would only hide failed messages."
    )
    NagSuppressions.add_resource_suppressions(
        queue,
        [
            NagPackSuppression(id="AwsSolutions-SQS3", reason=reason),
            NagPackSuppression(id="Serverless-SQSRedrivePolicy", reason=reason),
        ],
    )
    # cfn-lint-serverless ES6000 only recognises queues that another queue's RedrivePolicy names.
    cast(sqs.CfnQueue, queue.node.default_child).add_metadata("cfn-lint", {"config": {"ignore_checks": ["ES6000"]}})
    return queue
