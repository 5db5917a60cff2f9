"""Customer-managed KMS keys, one per kind of data so a key policy only opens what that data needs."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.config import StageConfig
from shared.catalog import physical_name


class Keys(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, cfg: StageConfig) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        self.data = self._key("DataKey", "data", "DynamoDB tables (webhook delivery log with raw bodies)")
        self.secrets = self._key("SecretsKey", "secrets", "Secrets Manager secrets (vendor webhook secrets)")
        self.messaging = self._key("MessagingKey", "messaging", "event bus, its archive and dead-letter queues")
        self.alarms = self._key("AlarmsKey", "alarms", "SNS alarm topic")
        # CloudWatch publishes alarm notifications to the encrypted topic under its own service
        # principal; the alarms key protects nothing else, so this grant cannot reach other data.
        self.alarms.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )

    def _key(self, construct_id: str, purpose: str, protects: str) -> kms.Key:
        return kms.Key(
            self,
            construct_id,
            alias=f"alias/{physical_name(self._cfg.name, purpose)}",
            description=f"RevOps Hub {self._cfg.name}: {protects}",
            enable_key_rotation=True,
            removal_policy=self._cfg.removal_policy,
            pending_window=Duration.days(7 if self._cfg.name == "dev" else 30),
        )
