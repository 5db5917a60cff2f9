"""Handoff timers as one-time EventBridge Scheduler schedules (`at(...)`, UTC) in the catalog's timer group,
each invoking the timer function with the timer as its input and deleting itself once it has run."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from botocore.exceptions import ClientError

from shared.function_environment import TimerTarget
from shared.handoffs.ports import Timer

# Scheduler retries an invocation that fails to start for up to a day; the function's own failure queue
# catches what fails inside it.
_RETRY_POLICY = {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185}


class SchedulerTimers:
    def __init__(self, client: Any, target: TimerTarget, account: Callable[[], str]) -> None:
        self._client = client
        self._target = target
        self._account = account

    @cached_property
    def _arns(self) -> tuple[str, str]:
        region, account = self._client.meta.region_name, self._account()
        function = f"arn:aws:lambda:{region}:{account}:function:{self._target.function_name}"
        role = f"arn:aws:iam::{account}:role/{self._target.role_name}"
        return function, role

    def set(self, timers: Sequence[Timer]) -> None:
        function_arn, role_arn = self._arns
        for timer in timers:
            try:
                self._client.create_schedule(
                    Name=timer.name,
                    GroupName=self._target.group,
                    ScheduleExpression=f"at({fires_at(timer).strftime('%Y-%m-%dT%H:%M:%S')})",
                    ScheduleExpressionTimezone="UTC",
                    FlexibleTimeWindow={"Mode": "OFF"},
                    ActionAfterCompletion="DELETE",
                    Target={
                        "Arn": function_arn,
                        "RoleArn": role_arn,
                        "Input": json.dumps(timer_input(timer)),
                        "RetryPolicy": _RETRY_POLICY,
                    },
                )
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ConflictException":  # set before: the same timer
                    raise

    def cancel(self, timers: Sequence[Timer]) -> None:
        for timer in timers:
            try:
                self._client.delete_schedule(Name=timer.name, GroupName=self._target.group)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceNotFoundException":  # fired already, or never set
                    raise


def fires_at(timer: Timer) -> datetime:
    """The schedule's `at(...)` time, in UTC: its due time rounded up to the second (`at` has no fraction, and
    cutting it would fire before the deadline); a timer set again after an early delivery, rounded up to the next
    minute (Scheduler invokes anywhere in the minute of its `at`, so no earlier than its due time then)."""
    due = timer.due_at.astimezone(UTC)
    second = due.replace(microsecond=0)
    at = second if second == due else second + timedelta(seconds=1)
    if timer.early:
        minute = at.replace(second=0)
        at = minute if minute >= due else minute + timedelta(minutes=1)
    return at


def timer_input(timer: Timer) -> dict[str, Any]:
    """What the timer function receives: which handoff, which timer, for which assignment (and, for a timer set
    again after an early delivery, how many times it was)."""
    timer_data: dict[str, Any] = {
        "handoff_id": timer.handoff_id,
        "kind": timer.kind.value,
        "assignment": timer.assignment,
        "due_at": timer.due_at.isoformat(),
    }
    if timer.early:
        timer_data["early"] = timer.early
    return timer_data
