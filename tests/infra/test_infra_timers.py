"""One-time timers (handoff SLA deadlines and reminders): a Scheduler group per timer target, a role Scheduler
invokes that target with and nothing else, and setters that may manage schedules in that group only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from shared.catalog.model import timer_group, timer_role
from tests.infra.test_infra_catalog import _as_list, _policy_statements

if TYPE_CHECKING:
    from tests.infra.conftest import Synth


def _targets(synth: Synth) -> list[str]:
    return sorted({fn.sets_timers_for for fn in synth.catalog.functions if fn.sets_timers_for})


def test_each_timer_target_has_its_group_and_an_invoker_role_for_it_alone(dev: Synth) -> None:
    # Given the functions the catalog says receive timers (the handoff timers)
    targets = _targets(dev)
    assert targets == ["handoff_timers"]
    for name in targets:
        target = dev.catalog.function(name)
        # Then the stack holds its schedule group
        dev.template.has_resource_properties("AWS::Scheduler::ScheduleGroup", {"Name": timer_group(dev.stage, target)})
        # And a role only EventBridge Scheduler of this account assumes, which may invoke that function only
        role = dev.stack.timers.roles[name]
        properties = dev.template.to_json()["Resources"][dev.logical_id(role)]["Properties"]
        (statement,) = properties["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "scheduler.amazonaws.com"}
        assert "aws:SourceAccount" in statement["Condition"]["StringEquals"]
        assert properties["RoleName"] == timer_role(dev.stage, target)  # the name the setters build its ARN from
        (invoke,) = _policy_statements(dev, role)
        assert invoke["Action"] == "lambda:InvokeFunction"
        function_id = dev.logical_id(dev.stack.functions.by_name[name].function)
        assert invoke["Resource"] == {"Fn::GetAtt": [function_id, "Arn"]}


@pytest.mark.parametrize("setter", ["handoff_router", "handoff_timers", "handoffs_api"])
def test_a_timer_setter_manages_schedules_of_its_group_and_passes_only_the_invoker_role(
    dev: Synth, setter: str
) -> None:
    spec = dev.catalog.function(setter)
    assert spec.sets_timers_for == "handoff_timers"
    statements = _policy_statements(dev, dev.stack.functions.by_name[setter].role)
    scheduler: list[dict[str, Any]] = [s for s in statements if "scheduler:CreateSchedule" in _as_list(s["Action"])]
    (manage,) = scheduler
    assert sorted(_as_list(manage["Action"])) == ["scheduler:CreateSchedule", "scheduler:DeleteSchedule"]
    assert f"schedule/{timer_group(dev.stage, dev.catalog.function('handoff_timers'))}/*" in str(manage["Resource"])
    (passing,) = [s for s in statements if "iam:PassRole" in _as_list(s["Action"])]
    invoker = dev.logical_id(dev.stack.timers.roles["handoff_timers"])
    assert passing["Resource"] == {"Fn::GetAtt": [invoker, "Arn"]}
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}


def test_only_the_notifiers_may_send_email(dev: Synth) -> None:
    for fn in dev.catalog.functions:
        statements = _policy_statements(dev, dev.stack.functions.by_name[fn.name].role)
        sends = [s for s in statements if "ses:SendEmail" in _as_list(s["Action"])]
        assert bool(sends) == (fn.name in {"handoff_notifier", "budget_notifier", "success_notifier"}), fn.name
