"""What each measure of the health model reads from an account's signals at a moment: a raw value (a Decimal,
or a category for the subscription status), or None when there is nothing to read (NA). What each value
means is in `shared.success.model`'s docstring.

Every function sees only the signals at or before the moment (`as_of`), so a score recomputed for a past moment
from the whole log is the score that was computed then."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import median

from shared.success.model import HealthModel, Measure, MeasureValue
from shared.success.onboarding import MilestoneStatus, latest_plan, milestones_at
from shared.success.payments import failed_since, outstanding
from shared.success.signals import Signal, SignalKind

RawValue = Decimal | str
SECONDS_PER_DAY = 86_400
RATIO_PLACES = Decimal("0.0001")
HOURS_PLACES = Decimal("0.01")


class Window:
    """An account's signals up to a moment, oldest first, and what a measure's window keeps of them."""

    def __init__(self, signals: Sequence[Signal], as_of: datetime) -> None:
        self.as_of = as_of
        self.signals = [s for s in signals if s.at <= as_of]

    def since(self, days: int) -> list[Signal]:
        start = self.as_of - timedelta(days=days)
        return [s for s in self.signals if s.at > start]

    def of(self, *kinds: SignalKind, days: int | None = None) -> list[Signal]:
        pool = self.signals if days is None else self.since(days)
        return [s for s in pool if s.kind in kinds]


def raw_value(measure: Measure, model: HealthModel, window: Window) -> RawValue | None:
    return _READERS[measure.value](measure, model, window)


def _seat_utilization(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    for report in reversed(window.of(SignalKind.USAGE, days=measure.window_days)):
        active, seats = report.values.get("active_users"), report.values.get("licensed_seats")
        if active is not None and seats:
            return (Decimal(active) / Decimal(seats)).quantize(RATIO_PLACES)
    return None


def _feature_adoption(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    reports = [r for r in window.of(SignalKind.USAGE, days=measure.window_days) if "features" in r.values]
    if not reports:
        return None
    used = {name for r in reports for name, events in r.values["features"].items() if events > 0}
    return Decimal(len(used))


def _active_user_trend(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    reports = [r for r in window.of(SignalKind.USAGE) if r.values.get("active_users") is not None]
    start = window.as_of - timedelta(days=measure.window_days)
    before = [r for r in reports if r.at <= start]
    if not before or not reports or reports[-1] is before[-1]:
        return None
    first, last = before[-1].values["active_users"], reports[-1].values["active_users"]
    if first == 0:
        return None
    return (Decimal(last - first) * 100 / Decimal(first)).quantize(HOURS_PLACES)


def _open_tickets(window: Window, model: HealthModel, high_only: bool) -> RawValue | None:
    states = _ticket_states(window)
    if not states:
        return None
    severe = set(model.high_severity)
    still_open = {
        ticket_id
        for ticket_id, (opening, latest) in states.items()
        if latest.kind is SignalKind.TICKET_OPENED and (not high_only or opening.values.get("priority") in severe)
    }
    return Decimal(len(still_open))


def _ticket_states(window: Window) -> dict[str, tuple[Signal, Signal]]:
    """Each ticket ever opened: the opening of its latest episode (its first opening, or its reopening after it
    was solved) and its latest state, an opening or the solving that ended the episode. The latest state decides
    whether it is open, so a ticket reopened after it was solved is open again; a second solving without a
    reopening between changes nothing."""
    states: dict[str, tuple[Signal, Signal]] = {}
    for s in window.of(SignalKind.TICKET_OPENED, SignalKind.TICKET_SOLVED):
        ticket_id = s.values["ticket_id"]
        state = states.get(ticket_id)
        if s.kind is SignalKind.TICKET_OPENED:
            states[ticket_id] = (s, s) if state is None or state[1].kind is SignalKind.TICKET_SOLVED else state
        elif state is not None and state[1].kind is SignalKind.TICKET_OPENED:
            states[ticket_id] = (state[0], s)
    return states


def _hours_to_resolve(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    # per ticket solved within the window (and not reopened since), from the opening of the episode its solving
    # ended: a reopened ticket counts once, for the time it took from its reopening (the time before it was first
    # solved counted when that solving was in the window), and an episode is all a bounded read has to keep
    since = window.as_of - timedelta(days=measure.window_days)
    hours = [
        Decimal(int((latest.at - opening.at).total_seconds())) / 3600
        for opening, latest in _ticket_states(window).values()
        if latest.kind is SignalKind.TICKET_SOLVED and latest.at > since
    ]
    return Decimal(median(hours)).quantize(HOURS_PLACES) if hours else None


def _nps(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    answers = window.of(SignalKind.NPS, days=measure.window_days)
    return Decimal(answers[-1].values["nps"]) if answers else None


def _failed_payments(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    # one payment failing on several Stripe objects (an invoice and its charge) is one failure (`payments`)
    if not window.of(SignalKind.PAYMENT_SUCCEEDED, SignalKind.PAYMENT_FAILED):
        return None
    return Decimal(failed_since(window.signals, window.as_of - timedelta(days=measure.window_days)))


def _days_past_due(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    # from the earliest failure still outstanding, per payment: a success of another invoice settles none of it
    if not window.of(SignalKind.PAYMENT_SUCCEEDED, SignalKind.PAYMENT_FAILED):
        return None
    unpaid = outstanding(window.signals)
    if not unpaid:
        return Decimal(0)
    first = min(failure.at for failure in unpaid.values())
    return Decimal(int((window.as_of - first).total_seconds()) // SECONDS_PER_DAY)


def _subscription_status(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    # A status stands until a change replaces it, however long ago it was set (a subscription on a multi-year
    # contract is no less active for it); a downgrade is news only within the window
    changes = window.of(SignalKind.SUBSCRIPTION)
    if not changes:
        return None
    latest = changes[-1]
    earlier = [
        c
        for c in changes
        if c.at <= latest.at
        and c is not latest
        and c.values.get("subscription_id") == latest.values.get("subscription_id")
        and c.values.get("quantity") is not None
    ]
    quantity = latest.values.get("quantity")
    recent = latest.at > window.as_of - timedelta(days=measure.window_days)
    if recent and earlier and quantity is not None and quantity < earlier[-1].values["quantity"]:
        return "downgraded"
    status = latest.values.get("status")
    return str(status) if status else None


def _days_since_touch(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    touches = window.of(SignalKind.TOUCH, days=measure.window_days)
    if not touches:
        return None
    return Decimal(int((window.as_of - touches[-1].at).total_seconds()) // SECONDS_PER_DAY)


def _csat(measure: Measure, _: HealthModel, window: Window) -> RawValue | None:
    answers = [s for s in window.of(SignalKind.NPS, SignalKind.CSAT, days=measure.window_days) if "csat" in s.values]
    return Decimal(answers[-1].values["csat"]) if answers else None


def _days_since_sponsor_engaged(_: Measure, model: HealthModel, window: Window) -> RawValue | None:
    """From the handoff naming the sponsor (the latest plan's), or their latest engagement since, if later. The
    plan and the engagements are read whatever their age: a plan is the account's until another replaces it, and
    the measure's window would otherwise turn a year-old customer's sponsor NA (the days since only grow)."""
    found = latest_plan(window.of(SignalKind.SUCCESS_PLAN))
    if found is None or found[1].sponsor_email is None:
        return None
    named, plan = found
    kinds = {kind.value for kind in model.sponsor_engagement_kinds}
    engaged = [
        s.at
        for s in window.of(SignalKind.TOUCH, SignalKind.ENGAGED)
        if s.values.get("email") == plan.sponsor_email and s.values.get("kind") in kinds
    ]
    since = max([named.at, *engaged])
    return Decimal(int((window.as_of - since).total_seconds()) // SECONDS_PER_DAY)


def _milestones_on_time(_m: Measure, _: HealthModel, window: Window) -> RawValue | None:
    # the latest plan whatever its age: its milestones stay settled as they were (see _days_since_sponsor_engaged)
    found = latest_plan(window.of(SignalKind.SUCCESS_PLAN))
    if found is None:
        return None
    settled = [m for m in milestones_at(found[1], window.signals, window.as_of) if m.settled]
    if not settled:
        return None
    on_time = sum(1 for m in settled if m.status is MilestoneStatus.ON_TIME)
    return (Decimal(on_time) / Decimal(len(settled))).quantize(RATIO_PLACES)


_READERS: dict[MeasureValue, Callable[[Measure, HealthModel, Window], RawValue | None]] = {
    MeasureValue.SEAT_UTILIZATION: _seat_utilization,
    MeasureValue.FEATURE_ADOPTION: _feature_adoption,
    MeasureValue.ACTIVE_USER_TREND: _active_user_trend,
    MeasureValue.OPEN_TICKETS: lambda _m, model, window: _open_tickets(window, model, high_only=False),
    MeasureValue.HIGH_SEVERITY_TICKETS: lambda _m, model, window: _open_tickets(window, model, high_only=True),
    MeasureValue.HOURS_TO_RESOLVE: _hours_to_resolve,
    MeasureValue.NPS: _nps,
    MeasureValue.FAILED_PAYMENTS: _failed_payments,
    MeasureValue.DAYS_PAST_DUE: _days_past_due,
    MeasureValue.SUBSCRIPTION_STATUS: _subscription_status,
    MeasureValue.DAYS_SINCE_TOUCH: _days_since_touch,
    MeasureValue.CSAT: _csat,
    MeasureValue.DAYS_SINCE_SPONSOR_ENGAGED: _days_since_sponsor_engaged,
    MeasureValue.MILESTONES_ON_TIME: _milestones_on_time,
}
