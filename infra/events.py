"""The hub's custom event bus with its replay archive and the catalog's schedules (the main stack), and the
catalog's rules on that bus with their dead-letter queues (the routing stack, `RevOpsHub-<stage>-routing`).

The rules are in a stack of their own because each costs the stack four resources (the rule, its dead-letter queue,
the queue's policy and the function's invoke permission) and CloudFormation allows 500 a stack. The routing stack
finds what it needs in the main stack by the names the catalog gives it, never through an export: the bus, the
functions it invokes and the messaging key (by its alias) its dead-letter queues are encrypted with."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.config import StageConfig, pascal
from infra.data import Data, dead_letter_queue
from infra.functions import DeployedFunction
from infra.security import Keys
from shared.catalog import Catalog, Function, Schedule, physical_name

# The catalog has no retry settings for schedules: a schedule that cannot invoke its function for an
# hour is superseded by the next run anyway.
SCHEDULE_RETRY_ATTEMPTS = 2
SCHEDULE_MAX_EVENT_AGE_SECONDS = 3600

# Top-level fields an EventBridge pattern can match on.
PATTERN_FIELDS = frozenset(
    {"source", "detail-type", "detail", "account", "region", "resources", "id", "time", "version"}
)


def messaging_key_alias(stage: str) -> str:
    """The alias `Keys` (`infra/security.py`) gives the messaging key, by which the routing stack names the key."""
    return f"alias/{physical_name(stage, 'messaging')}"


def rule_arn(stack: Stack, stage: str, catalog: Catalog, rule_name: str) -> str:
    """A catalog rule's ARN, spelled out from the names of the bus and the rule."""
    bus_name = physical_name(stage, catalog.bus_name)
    return stack.format_arn(
        service="events", resource="rule", resource_name=f"{bus_name}/{physical_name(stage, rule_name)}"
    )


def event_pattern_json(pattern: Mapping[str, object]) -> dict[str, object]:
    """The catalog's pattern, which is written in EventBridge's own JSON (content filters included)."""
    unknown = sorted(set(pattern) - PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"event pattern has fields EventBridge does not match on: {unknown}")
    return dict(pattern)


class Events(Construct):
    """The hub bus (KMS CMK) and its archive."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: StageConfig, catalog: Catalog, keys: Keys) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=physical_name(cfg.name, catalog.bus_name),
            description="RevOps Hub canonical events",
            kms_key=keys.messaging,
        )
        # Canonical events are archived so a consumer that was broken or added later can be replayed.
        # Written as the L1 resource because the L2 Archive grants EventBridge the key by the bus's
        # GetAtt ARN, a key -> bus -> key dependency cycle when bus and archive share the key.
        bus_arn = Stack.of(self).format_arn(
            service="events", resource="event-bus", resource_name=physical_name(cfg.name, catalog.bus_name)
        )
        self.archive = events.CfnArchive(
            self,
            "Archive",
            archive_name=physical_name(cfg.name, f"{catalog.bus_name}-archive"),
            description="Hub events for replay",
            source_arn=self.bus.event_bus_arn,
            event_pattern={"source": list(catalog.event_sources)},
            retention_days=cfg.archive_retention_days,
            kms_key_identifier=keys.messaging.key_arn,
        )
        keys.messaging.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeArchive",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey", "kms:ReEncrypt*"],
                resources=["*"],
                conditions={"StringEquals": {"kms:EncryptionContext:aws:events:event-bus:arn": bus_arn}},
            )
        )
        keys.messaging.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeDescribeKey",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:DescribeKey"],
                resources=["*"],
            )
        )
        if catalog.rules:
            # EventBridge itself writes undeliverable events to the rules' KMS-encrypted dead-letter queues. The
            # rules are the routing stack's, which the main stack never references: their ARNs are spelled out.
            stack = Stack.of(self)
            keys.messaging.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowEventBridgeRulesToWriteDeadLetters",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                    conditions={
                        "ArnEquals": {
                            "aws:SourceArn": [
                                rule_arn(stack, cfg.name, catalog, rule.name) for _, rule in catalog.rules
                            ]
                        }
                    },
                )
            )


class Schedules(Construct):
    """EventBridge Scheduler schedules, each invoking its function with retries, failures to the function's
    asynchronous-failure queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: StageConfig,
        catalog: Catalog,
        keys: Keys,
        data: Data,
        functions: Mapping[str, DeployedFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        self.schedules: dict[str, scheduler.CfnSchedule] = {}
        self.scheduler_policies: dict[str, iam.Policy] = {}
        scheduled = [fn for fn in catalog.functions if fn.schedules]
        if not scheduled:
            return
        group = scheduler.CfnScheduleGroup(self, "ScheduleGroup", name=physical_name(cfg.name, "schedules"))
        for fn in scheduled:
            role = self._scheduler_role(fn, group, functions[fn.name], data, keys)
            for schedule_spec in fn.schedules:
                self.schedules[schedule_spec.name] = self._schedule(fn, schedule_spec, group, role, functions, data)

    def _scheduler_role(
        self, fn: Function, group: scheduler.CfnScheduleGroup, target: DeployedFunction, data: Data, keys: Keys
    ) -> iam.Role:
        """Schedules are L1 resources with this role because the L2 Lambda target grants invoke on
        `<function>:*` too (a wildcard) and nothing on the KMS key of an encrypted dead-letter queue."""
        stack = Stack.of(self)
        # Scheduler delivery failures share the function's async-failure queue: both mean "this
        # function never ran for this event", and every queue then stays one the catalog declares.
        dlq = data.queues[fn.failure_queue.name]
        role = iam.Role(
            self,
            f"{pascal(fn.name)}SchedulerRole",
            description=f"EventBridge Scheduler invoking {fn.name}",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnEquals": {"aws:SourceArn": group.attr_arn},
                },
            ),
        )
        # An explicit policy, so each schedule can wait for exactly it: Scheduler checks at creation
        # that the role may invoke the target.
        self.scheduler_policies[fn.name] = iam.Policy(
            self,
            f"{pascal(fn.name)}SchedulerPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.function.function_arn]),
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dlq.queue_arn]),
                iam.PolicyStatement(
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[keys.messaging.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"sqs.{stack.region}.amazonaws.com"}},
                ),
            ],
        )
        return role

    def _schedule(
        self,
        fn: Function,
        spec: Schedule,
        group: scheduler.CfnScheduleGroup,
        role: iam.Role,
        functions: Mapping[str, DeployedFunction],
        data: Data,
    ) -> scheduler.CfnSchedule:
        schedule = scheduler.CfnSchedule(
            self,
            f"Schedule{pascal(spec.name)}",
            name=physical_name(self._cfg.name, spec.name),
            group_name=group.ref,
            description=spec.description,
            schedule_expression=spec.expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            state="ENABLED",
            target=scheduler.CfnSchedule.TargetProperty(
                arn=functions[fn.name].function.function_arn,
                role_arn=role.role_arn,
                input=json.dumps({"schedule": spec.name}),
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(
                    arn=data.queues[fn.failure_queue.name].queue_arn
                ),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                    maximum_event_age_in_seconds=SCHEDULE_MAX_EVENT_AGE_SECONDS,
                ),
            ),
        )
        schedule.node.add_dependency(self.scheduler_policies[fn.name])
        return schedule


class Rules(Construct):
    """The catalog's rules on the hub bus, each delivering to its function with the catalog's retries and a
    dead-letter queue of its own (`<rule>-dlq`), for the routing stack. The bus, the functions and the messaging key
    are the main stack's, named here as the main stack names them; the messaging key's policy there already lets
    these rules write to their encrypted dead-letter queues (`Events`)."""

    def __init__(self, scope: Construct, construct_id: str, *, cfg: StageConfig, catalog: Catalog) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        bus = events.EventBus.from_event_bus_name(self, "Bus", physical_name(cfg.name, catalog.bus_name))
        # SQS takes the key by its alias: the key's ARN holds its id, which only the main stack knows.
        key = kms.Alias.from_alias_name(self, "MessagingKey", messaging_key_alias(cfg.name))
        self.dead_letter_queues: dict[str, sqs.Queue] = {
            queue.name: dead_letter_queue(self, queue, cfg=cfg, key=key) for queue in catalog.rule_queues
        }
        self.functions: dict[str, lambda_.IFunction] = {}
        self.rules: dict[str, events.Rule] = {}
        for fn, rule_spec in catalog.rules:
            if fn.name not in self.functions:
                # same_environment: the function is this stack's account's, so the rule may be given the right
                # to invoke it (CDK cannot tell from an ARN made of the stack's own pseudo parameters).
                self.functions[fn.name] = lambda_.Function.from_function_attributes(
                    self,
                    f"{pascal(fn.name)}Function",
                    function_arn=stack.format_arn(
                        service="lambda",
                        resource="function",
                        resource_name=physical_name(cfg.name, fn.slug),
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    ),
                    same_environment=True,
                )
            rule = events.Rule(
                self,
                f"Rule{pascal(rule_spec.name)}",
                rule_name=physical_name(cfg.name, rule_spec.name),
                description=rule_spec.description,
                event_bus=bus,
                # Only satisfies the L2's "pattern or schedule" check: the L2 pattern type takes plain
                # strings outside `detail`, so the catalog's exact JSON replaces it just below.
                event_pattern=events.EventPattern(source=list(catalog.event_sources)),
            )
            cast(events.CfnRule, rule.node.default_child).add_property_override(
                "EventPattern", event_pattern_json(rule_spec.pattern)
            )
            rule.add_target(
                targets.LambdaFunction(
                    self.functions[fn.name],
                    dead_letter_queue=self.dead_letter_queues[fn.rule_dlq(rule_spec).name],
                    retry_attempts=rule_spec.max_retries,
                    max_event_age=Duration.seconds(rule_spec.max_event_age_seconds),
                )
            )
            # The target's invoke permission, created in the rule's scope: cfn-lint-serverless (ES1007) looks for
            # the function's EventInvokeConfig in the same template, but it is the main stack's, beside the
            # function (on-failure destination `<function>-async-failures`; tests/infra check it is there).
            for child in rule.node.children:
                if isinstance(child, lambda_.CfnPermission):
                    child.add_metadata("cfn-lint", {"config": {"ignore_checks": ["ES1007"]}})
            self.rules[rule_spec.name] = rule
