"""Onboarding as health reads it: the success plan the sales -> CS handoff started (its milestones with due dates,
and the executive sponsor it names), kept in the account's log as a `success_plan` signal when the handoff
domain publishes `success_plan.created`; and each milestone's completion, a `milestone_completed` signal kept
once (`POST /api/v1/cs-sales/handoff/{customer_id}/milestones/{milestone_id}/complete`).

A milestone is settled at a moment once it is completed, or once its due date (a UTC day) is past; it was on
time when completed on or before its due date. Everything here is a function of the log and the moment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from shared.errors import InvalidInput
from shared.events.handoff_events import HandoffEvent, HandoffEventType
from shared.handoffs.model import Handoff, HandoffKind
from shared.leads.identity import normalize_email
from shared.success.signals import Signal, SignalKind


class MilestoneStatus(StrEnum):
    OPEN = "open"  # not completed, not due yet
    OVERDUE = "overdue"  # not completed, its due date past
    ON_TIME = "completed_on_time"
    LATE = "completed_late"


@dataclass(frozen=True)
class PlannedMilestone:
    milestone_id: str
    name: str
    owner: str | None
    due_on: date


@dataclass(frozen=True)
class SuccessPlan:
    handoff_id: str
    starts_on: date | None
    sponsor_email: str | None  # normalized; None when the handoff names no sponsor with an email
    milestones: tuple[PlannedMilestone, ...]

    def values(self) -> dict[str, Any]:
        """As a `success_plan` signal keeps it (JSON values only)."""
        return {
            "handoff_id": self.handoff_id,
            "starts_on": None if self.starts_on is None else self.starts_on.isoformat(),
            "sponsor_email": self.sponsor_email,
            "milestones": [
                {"milestone_id": m.milestone_id, "name": m.name, "owner": m.owner, "due_on": m.due_on.isoformat()}
                for m in self.milestones
            ],
        }

    def milestone(self, milestone_id: str) -> PlannedMilestone | None:
        return next((m for m in self.milestones if m.milestone_id == milestone_id), None)


@dataclass(frozen=True)
class Milestone:
    """A milestone of the plan as it stands at a moment."""

    milestone_id: str
    name: str
    owner: str | None
    due_on: date
    status: MilestoneStatus
    completed_at: datetime | None = None

    @property
    def settled(self) -> bool:
        return self.status is not MilestoneStatus.OPEN


@dataclass(frozen=True)
class PlanAnnounced:
    """A `success_plan.created` of the handoff domain, as far as health reads it."""

    event_id: str
    handoff_id: str
    customer_id: str | None
    occurred_at: datetime


def plan_announced(event: Mapping[str, Any]) -> PlanAnnounced:
    """The bus event's detail read as a `success_plan.created`; InvalidInput (dead-lettered at once) when it is
    not one."""
    try:
        detail = HandoffEvent.model_validate(event.get("detail"))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(f"not a handoff event: {first['loc']}: {first['msg']}") from None
    if detail.event_type is not HandoffEventType.SUCCESS_PLAN_CREATED:
        raise InvalidInput(f"not a success_plan.created: {detail.event_type}")
    return PlanAnnounced(detail.event_id, detail.handoff_id, detail.customer_id, detail.occurred_at)


def plan_of_handoff(handoff: Handoff) -> SuccessPlan | None:
    """The success plan a customer handoff stores (`shared.handoffs.customer_handoffs.details_of`), with the
    executive sponsor its request names; None for another kind of handoff or one without a plan."""
    plan = handoff.details.get("success_plan")
    if handoff.kind is not HandoffKind.CUSTOMER or not isinstance(plan, Mapping):
        return None
    request = handoff.details.get("request")
    sponsor = request.get("executive_sponsor") if isinstance(request, Mapping) else None
    milestones = tuple(
        PlannedMilestone(str(m["milestone_id"]), str(m.get("name") or m["milestone_id"]), m.get("owner"), due)
        for m in plan.get("milestones") or ()
        if isinstance(m, Mapping) and m.get("milestone_id") and (due := _date(m.get("due_on"))) is not None
    )
    return SuccessPlan(
        handoff_id=handoff.handoff_id,
        starts_on=_date(plan.get("starts_on")),
        sponsor_email=normalize_email(sponsor.get("email")) if isinstance(sponsor, Mapping) else None,
        milestones=milestones,
    )


def plan_from(signal: Signal) -> SuccessPlan:
    """A `success_plan` signal's plan (as `SuccessPlan.values` keeps it). A milestone that is not one (erased
    whole by an erasure before they were anonymized field by field) is left out rather than failing every read."""
    values = signal.values
    milestones = tuple(
        PlannedMilestone(str(m["milestone_id"]), str(m.get("name") or m["milestone_id"]), m.get("owner"), due)
        for m in values.get("milestones") or ()
        if isinstance(m, Mapping) and m.get("milestone_id") and (due := _date(m.get("due_on"))) is not None
    )
    return SuccessPlan(
        str(values["handoff_id"]), _date(values.get("starts_on")), values.get("sponsor_email"), milestones
    )


def latest_plan(signals: Sequence[Signal]) -> tuple[Signal, SuccessPlan] | None:
    """The latest `success_plan` signal of the signals (oldest first) and its plan; None without one."""
    plans = [s for s in signals if s.kind is SignalKind.SUCCESS_PLAN]
    return (plans[-1], plan_from(plans[-1])) if plans else None


def completion_id(handoff_id: str, milestone_id: str) -> str:
    """The id of a milestone's completion signal: one per plan and milestone."""
    return f"milestone:{handoff_id}:{milestone_id}"


def completion(handoff_id: str, milestone_id: str, at: datetime) -> Signal:
    values = {"handoff_id": handoff_id, "milestone_id": milestone_id}
    return Signal(completion_id(handoff_id, milestone_id), SignalKind.MILESTONE_COMPLETED, at, values)


def milestones_at(plan: SuccessPlan, signals: Sequence[Signal], as_of: datetime) -> list[Milestone]:
    """Each milestone of the plan at `as_of`, from the completions among the signals (oldest first; the first
    completion of a milestone counts, those after `as_of` are not read)."""
    completed: dict[str, datetime] = {}
    for s in signals:
        if s.kind is SignalKind.MILESTONE_COMPLETED and s.at <= as_of and s.values.get("handoff_id") == plan.handoff_id:
            completed.setdefault(str(s.values.get("milestone_id")), s.at)
    today = as_of.date()
    milestones = []
    for m in plan.milestones:
        at = completed.get(m.milestone_id)
        if at is not None:
            status = MilestoneStatus.ON_TIME if at.date() <= m.due_on else MilestoneStatus.LATE
        else:
            status = MilestoneStatus.OVERDUE if today > m.due_on else MilestoneStatus.OPEN
        milestones.append(Milestone(m.milestone_id, m.name, m.owner, m.due_on, status, at))
    return milestones


def _date(value: object) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None
