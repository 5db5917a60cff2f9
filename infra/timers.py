"""One-time timers (EventBridge Scheduler `at(...)` schedules) that functions set at run time, such as a
handoff's SLA deadline: for each function the catalog names as a timer target, a schedule group and the role
Scheduler invokes it with (that function only, from this account only); each function that sets them may
create and delete schedules in that group and pass that role, nothing more."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.config import StageConfig, pascal
from infra.functions import DeployedFunction
from shared.catalog import Catalog
from shared.catalog.model import timer_group, timer_role


class Timers(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cfg: StageConfig,
        catalog: Catalog,
        functions: Mapping[str, DeployedFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.groups: dict[str, scheduler.CfnScheduleGroup] = {}
        self.roles: dict[str, iam.Role] = {}
        for target_name in sorted({fn.sets_timers_for for fn in catalog.functions if fn.sets_timers_for}):
            target = functions[target_name]
            construct_id = pascal(target_name)
            group = scheduler.CfnScheduleGroup(
                self, f"{construct_id}TimerGroup", name=timer_group(cfg.name, target.spec)
            )
            role = iam.Role(
                self,
                f"{construct_id}TimerInvoker",
                role_name=timer_role(cfg.name, target.spec),
                assumed_by=iam.ServicePrincipal(
                    "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
                ),
                description=f"EventBridge Scheduler invokes {target_name} with it, for the timers in its group",
            )
            role.add_to_policy(
                iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[target.function.function_arn])
            )
            self.groups[target_name], self.roles[target_name] = group, role
            schedules = stack.format_arn(service="scheduler", resource="schedule", resource_name=f"{group.name}/*")
            for setter in (fn for fn in catalog.functions if fn.sets_timers_for == target_name):
                setter_role = functions[setter.name].role
                setter_role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["scheduler:CreateSchedule", "scheduler:DeleteSchedule"], resources=[schedules]
                    )
                )
                setter_role.add_to_policy(
                    iam.PolicyStatement(
                        actions=["iam:PassRole"],
                        resources=[role.role_arn],
                        conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
                    )
                )
                NagSuppressions.add_resource_suppressions(
                    setter_role,
                    [
                        NagPackSuppression(
                            id="AwsSolutions-IAM5",
                            reason=f"Timer schedules are named per handoff at run time; the grant is limited to "
                            f"the {group.name} group, which holds nothing else.",
                            applies_to=[
                                f"Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/{group.name}/*"
                            ],
                        )
                    ],
                    apply_to_children=True,
                )
