"""The hub's custom event bus with its replay archive, plus the catalog's rules and schedules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import cast

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from constructs import Construct

from infra.config import StageConfig, pascal
from infra.data import Data
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


class Triggers(Construct):
    """EventBridge rules on the hub bus and EventBridge Scheduler schedules, each delivering to its
    function with retries and a dead-letter queue from the catalog."""

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
        functions: Mapping[str, DeployedFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self._cfg = cfg
        self.rules: dict[str, events.Rule] = {}
        for fn, rule_spec in catalog.rules:
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
                    functions[fn.name].function,
                    dead_letter_queue=data.queues[fn.rule_dlq(rule_spec).name],
                    retry_attempts=rule_spec.max_retries,
                    max_event_age=Duration.seconds(rule_spec.max_event_age_seconds),
                )
            )
            self.rules[rule_spec.name] = rule
        if self.rules:
            # EventBridge itself writes undeliverable events to the KMS-encrypted DLQs. The rule ARNs are
            # spelled out rather than referenced: the bus already depends on this key, so a reference
            # from the key policy back to a rule on that bus would be a dependency cycle.
            stack = Stack.of(self)
            bus_name = physical_name(cfg.name, catalog.bus_name)
            rule_arns = [
                stack.format_arn(
                    service="events", resource="rule", resource_name=f"{bus_name}/{physical_name(cfg.name, name)}"
                )
                for name in self.rules
            ]
            keys.messaging.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="AllowEventBridgeRulesToWriteDeadLetters",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],
                    conditions={"ArnEquals": {"aws:SourceArn": rule_arns}},
                )
            )

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
