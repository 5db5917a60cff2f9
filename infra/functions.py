"""One Lambda function per catalog entry, each with its own least-privilege role, log group and
asynchronous failure queue. All functions share one code asset: `functions/` plus `shared/`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_cdk import Duration, IgnoreMode, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import POWERTOOLS_LAYER_PARAMETER, REPO_ROOT, StageConfig, pascal
from infra.data import Data
from infra.dependencies import dependencies_layer
from infra.security import Keys
from shared.catalog import Access, Catalog, Function, physical_name

# The packages deployed as the functions' code: handlers live in `functions`, and import `shared`.
ASSET_PACKAGES = ("functions", "shared")
# Configuration the functions read at run time (the scoring model, the routing file), versioned with the code.
ASSET_CONFIG = (
    "scoring-model.json",
    "routing.json",
    "success-plan.json",
    "finance.json",
    "attribution.json",
    "health-model.json",
    "crm-mappings.json",
    "audit.json",
    "consent.json",
)
# Git-style patterns over the repository root: drop every top-level entry except those packages and the
# run-time config files (never config/local.*: dev-only secrets), then drop caches and tests inside them.
ASSET_EXCLUDES = [
    "/*",
    *(f"!/{package}" for package in ASSET_PACKAGES),
    "!/config",
    "/config/*",
    *(f"!/config/{name}" for name in ASSET_CONFIG),
    "__pycache__",
    "*.py[cod]",
    "tests",
    "test_*.py",
    "*_test.py",
    "conftest.py",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "*.egg-info",
    ".DS_Store",
]

ASYNC_RETRY_ATTEMPTS = 2

_DYNAMODB_READ = ["dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"]
_DYNAMODB_WRITE = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
]
# Append: a new item only (a conditional put; a transaction of puts needs no more). Never an update or a delete.
_DYNAMODB_APPEND = ["dynamodb:PutItem"]
_DYNAMODB_ACTIONS: dict[Access, list[str]] = {
    "read": _DYNAMODB_READ,
    "write": _DYNAMODB_WRITE,
    "read_write": sorted(set(_DYNAMODB_READ) | set(_DYNAMODB_WRITE)),
    "append": _DYNAMODB_APPEND,
    "read_append": sorted(set(_DYNAMODB_READ) | set(_DYNAMODB_APPEND)),
}
_KMS_READ = ["kms:Decrypt", "kms:DescribeKey"]
_KMS_WRITE = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"]
_KMS_ACTIONS: dict[Access, list[str]] = {
    "read": _KMS_READ,
    "write": _KMS_WRITE,
    "read_write": _KMS_WRITE,
    "append": _KMS_WRITE,
    "read_append": _KMS_WRITE,
}
# What no function may do to an append-only table (the audit trail), whatever else a policy grants: change or
# remove an item, or the table, its retention, its backups or its resource policy. An explicit Deny wins over any
# Allow, so a later grant (a "read_write" added by mistake) cannot undo it. IAM has no action for a transaction
# itself: TransactWriteItems is authorized per item as PutItem, UpdateItem, DeleteItem or ConditionCheckItem, so
# this Deny holds inside a transaction too, and the audit store's transactions of puts need nothing more.
# What IAM cannot say is "only a conditional put": an unconditional PutItem could overwrite a record; the store
# puts on attribute_not_exists(pk) only, and point-in-time recovery keeps the table's last 35 days.
APPEND_ONLY_DENIED = [
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:PartiQLInsert",
    "dynamodb:PartiQLUpdate",
    "dynamodb:PartiQLDelete",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
    "dynamodb:UpdateTimeToLive",
    "dynamodb:UpdateContinuousBackups",
    "dynamodb:RestoreTableToPointInTime",
    "dynamodb:PutResourcePolicy",
    "dynamodb:DeleteResourcePolicy",
]
# Only these accesses name a table's indexes: the others never query.
_QUERIES: frozenset[Access] = frozenset({"read", "read_write", "read_append"})


@dataclass(frozen=True)
class DeployedFunction:
    spec: Function
    function: lambda_.Function
    role: iam.Role
    log_group: logs.LogGroup


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: StageConfig,
        catalog: Catalog,
        keys: Keys,
        data: Data,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        self._catalog = catalog
        self._keys = keys
        self._data = data
        self._bus = bus
        # No bundling: boto3 ships with the runtime and Powertools (with pydantic) comes from the
        # AWS-managed layer, so the asset is plain source and synth never needs Docker.
        self._code = lambda_.Code.from_asset(str(REPO_ROOT), exclude=ASSET_EXCLUDES, ignore_mode=IgnoreMode.GIT)
        self._powertools = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "PowertoolsLayer",
            ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER),
        )
        self._dependencies = dependencies_layer(self, "DependenciesLayer")
        self.by_name = {fn.name: self._function(fn) for fn in catalog.functions}

    def _function(self, spec: Function) -> DeployedFunction:
        package = spec.handler.split(".")[0]
        if package not in ASSET_PACKAGES:
            raise ValueError(
                f"{spec.name}: handler {spec.handler} is outside the deployed packages {', '.join(ASSET_PACKAGES)}"
            )
        construct_id = pascal(spec.name)
        function_name = physical_name(self._cfg.name, spec.slug)
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=self._cfg.log_retention,
            removal_policy=self._cfg.removal_policy,
        )
        role = self._role(spec, construct_id, log_group)
        # A work queue's reference is its URL, which the functions that send to it are told.
        queue_urls = {name: queue.queue_url for name, queue in self._data.work_queues.items()}
        environment = self._catalog.environment(spec, self._cfg.name, queue_urls) | {
            "POWERTOOLS_LOG_LEVEL": self._cfg.log_level,
            # Webhook bodies and delivery-log responses carry customer data: keep them out of logs/traces.
            "POWERTOOLS_LOGGER_LOG_EVENT": "false",
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        }
        function = lambda_.Function(
            self,
            construct_id,
            function_name=function_name,
            description=spec.description,
            runtime=lambda_.Runtime.PYTHON_3_14,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=self._code,
            layers=[self._powertools, self._dependencies],
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_seconds),
            role=role,
            environment=environment,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            application_log_level_v2=lambda_.ApplicationLogLevel(self._cfg.log_level),
            system_log_level_v2=lambda_.SystemLogLevel.WARN,
            tracing=lambda_.Tracing.ACTIVE,
        )
        # CDK makes the function depend on the whole role construct so it waits for the role's policy;
        # the role half of that DependsOn is also implied by the Role GetAtt, which cfn-lint reports.
        cast(lambda_.CfnFunction, function.node.default_child).add_metadata(
            "cfn-lint", {"config": {"ignore_checks": ["W3005"]}}
        )
        failure_queue = self._data.queues[spec.failure_queue.name]
        # Written as the L1 resource with the function ARN: cfn-lint-serverless (ES1007) pairs an
        # asynchronous Lambda permission with its EventInvokeConfig by the exact FunctionName expression,
        # and the permissions CDK creates for EventBridge name the function by ARN.
        lambda_.CfnEventInvokeConfig(
            self,
            f"{construct_id}AsyncConfig",
            function_name=function.function_arn,
            qualifier="$LATEST",
            maximum_retry_attempts=ASYNC_RETRY_ATTEMPTS,
            destination_config=lambda_.CfnEventInvokeConfig.DestinationConfigProperty(
                on_failure=lambda_.CfnEventInvokeConfig.OnFailureProperty(destination=failure_queue.queue_arn)
            ),
        )
        NagSuppressions.add_resource_suppressions(
            function,
            [
                NagPackSuppression(
                    id="Serverless-LambdaDLQ",
                    reason=(
                        f"Failed asynchronous invocations go to the on-failure destination {spec.failure_queue.name} "
                        "(EventInvokeConfig), which also records the error; a DeadLetterConfig would deliver "
                        "every failed event a second time."
                    ),
                )
            ],
        )
        return DeployedFunction(spec=spec, function=function, role=role, log_group=log_group)

    def _role(self, spec: Function, construct_id: str, log_group: logs.LogGroup) -> iam.Role:
        role = iam.Role(
            self,
            f"{construct_id}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {spec.name}: exactly the resources the catalog gives it",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        for table_name, access in spec.tables.items():
            confined_to = spec.writes_confined_to.get(table_name)
            self._grant_table(role, self._data.tables[table_name], access, table_name, confined_to)
        append_only = [self._data.tables[table.name] for table in self._catalog.tables if table.append_only]
        if append_only:
            role.add_to_policy(
                iam.PolicyStatement(
                    effect=iam.Effect.DENY,
                    actions=APPEND_ONLY_DENIED,
                    resources=[table.table_arn for table in append_only],
                )
            )
        if spec.secrets:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=[self._data.secrets[name].secret_arn for name in spec.secrets],
                )
            )
            role.add_to_policy(self._via_service(self._keys.secrets, ["kms:Decrypt"], "secretsmanager"))
        if spec.publishes_events:
            role.add_to_policy(iam.PolicyStatement(actions=["events:PutEvents"], resources=[self._bus.event_bus_arn]))
        if spec.sends_email:
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=["ses:SendEmail"],
                    resources=[Stack.of(self).format_arn(service="ses", resource="identity", resource_name="*")],
                )
            )
        for queue_name in spec.sends_to:
            self._grant_send(role, self._data.work_queues[queue_name])
        failure_queue = self._data.queues[spec.failure_queue.name]
        # GetQueueUrl: a consumer dead-letters a permanent failure itself (shared/permanent_failures.py)
        role.add_to_policy(
            iam.PolicyStatement(actions=["sqs:SendMessage", "sqs:GetQueueUrl"], resources=[failure_queue.queue_arn])
        )
        role.add_to_policy(self._via_service(self._keys.messaging, ["kms:Decrypt", "kms:GenerateDataKey"], "sqs"))
        NagSuppressions.add_resource_suppressions(
            role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=(
                        "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions and "
                        "every RevOps Hub function runs with active tracing."
                    ),
                    applies_to=["Resource::*"],
                )
            ],
            apply_to_children=True,
        )
        if spec.sends_email:
            NagSuppressions.add_resource_suppressions(
                role,
                [
                    NagPackSuppression(
                        id="AwsSolutions-IAM5",
                        reason="The SES sender identity (a verified address or domain) is chosen per deployment "
                        "in the handoff-notifications secret, not known at synth; SES only sends from verified "
                        "identities of this account.",
                        applies_to=["Resource::arn:<AWS::Partition>:ses:<AWS::Region>:<AWS::AccountId>:identity/*"],
                    )
                ],
                apply_to_children=True,
            )
        return role

    def _grant_table(
        self, role: iam.Role, table: dynamodb.Table, access: Access, table_name: str, confined_to: str | None
    ) -> None:
        # Indexes are only ever queried, so write-only and append-only access never name them.
        indexes = self._catalog.table(table_name).indexes if access in _QUERIES else ()
        index_arns = [f"{table.table_arn}/index/{index.name}" for index in indexes]
        actions = _DYNAMODB_ACTIONS[access]
        if confined_to is not None:
            # Its writes reach only the items whose partition key starts with the prefix (checked per item, in a
            # batch or a transaction too); what it reads is not confined.
            writes = [action for action in _DYNAMODB_WRITE if action not in _DYNAMODB_READ]
            actions = [action for action in actions if action not in writes]
            role.add_to_policy(
                iam.PolicyStatement(
                    actions=writes,
                    resources=[table.table_arn],
                    conditions={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{confined_to}*"]}},
                )
            )
        if actions:
            role.add_to_policy(iam.PolicyStatement(actions=actions, resources=[table.table_arn, *index_arns]))
        role.add_to_policy(self._via_service(self._keys.data, _KMS_ACTIONS[access], "dynamodb"))

    def _grant_send(self, role: iam.Role, queue: sqs.IQueue) -> None:
        """SendMessage on that one queue, and its key's use through SQS for that queue only (SQS names the queue in
        the encryption context): GenerateDataKey for the message, Decrypt to reuse a cached data key."""
        role.add_to_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue.queue_arn]))
        role.add_to_policy(queue_key_use(self._keys.messaging, ["kms:Decrypt", "kms:GenerateDataKey"], queue))

    @staticmethod
    def _via_service(key: kms.Key, actions: list[str], service: str) -> iam.PolicyStatement:
        """Key use only through the service that owns the data, never a direct decrypt."""
        return iam.PolicyStatement(
            actions=actions,
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"{service}.{Stack.of(key).region}.amazonaws.com"}},
        )


def queue_key_use(key: kms.IKey, actions: list[str], queue: sqs.IQueue) -> iam.PolicyStatement:
    """The key's use through SQS, for one queue's messages only: SQS puts the queue's ARN in the encryption
    context (`aws:sqs:arn`) of every call it makes to KMS for that queue."""
    return iam.PolicyStatement(
        actions=actions,
        resources=[key.key_arn],
        conditions={
            "StringEquals": {
                "kms:ViaService": f"sqs.{Stack.of(queue).region}.amazonaws.com",
                "kms:EncryptionContext:aws:sqs:arn": queue.queue_arn,
            }
        },
    )
