"""What an account's log carries past the read window (pure): the signals that still say something however old
they are, copied into a `carried` signal of the log so that reading a bounded stretch of the log still sees them.

Health reads the last `look_back_days(model)` of an account's log (the longest measure window plus the trend's and
the churn risk's look back), never the whole of it: a log only grows. Most measures are windowed and lose nothing
by that. A few read state that lasts until something ends it, whatever its age:

    success plan          the latest plan (and those after it at the moments the trend looks back to), the
                          milestones' completions, and its executive sponsor's latest engagement
    support tickets       a ticket opened and not solved (or reopened since) is open however long ago it was
                          opened (its opening is also what `hours_to_resolve` measures from once it is solved); the
                          latest ticket, so an account whose tickets are all solved is "no open ticket", not "never
                          had one" (NA)
    payments              the latest success and, per payment (`shared.success.payments`), the first failure
                          not settled by a success of it since: an invoice that failed 400 days ago and was
                          never paid is 400 days past due, whatever other invoices were paid since
    usage, subscriptions  the report the active-user trend compares with, the latest change of each subscription
                          (its renewal) and the quantities a downgrade is told by

Every `refresh_days` at most (the nightly recomputes every account every day), the recomputation writes a
`carried` signal: a copy of those signals older than `content_age_days` (the younger ones stay in the read window
until the next one is written). The read window then holds the latest carried signal at all times, with every
state signal that fell out of the window, so the read stays bounded (the window, plus one carried signal of a
few items) and the log grows by about two small items a year per account. The nightly must run at least once in
`margin_days` for the chain to hold; an account read without any carried signal in its window whose log may go
further back (its oldest signal in the window is old, or the window is empty), or whose latest carried signal is
older than the chain allows (a nightly missed for more than `margin_days`), is read whole, once (the
recomputation then writes a fresh carried signal): that is how accounts older than this module get their first
carried signal, and how an outage loses nothing.

A carried copy is the signal as it was (id, kind, time, values): evaluated at any moment, the log with the
copies is the log without the window, as far as the measures can tell (the copies and the originals de-duplicate
by id and time)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.success.engine import CUSTOMER_KINDS, FIRST_SIGNAL_MARK, TREND_DAYS
from shared.success.model import HealthModel, MeasureValue
from shared.success.payments import outstanding
from shared.success.signals import Signal, SignalKind

CARRY_MARGIN_DAYS = 30  # how long the nightly may miss before a carried state could fall out of the window
TICKET_KINDS = (SignalKind.TICKET_OPENED, SignalKind.TICKET_SOLVED)
MAX_CARRIED_TICKETS = 200  # beyond it the open-ticket measures are saturated: their scores would not change


@dataclass(frozen=True)
class CarryPolicy:
    look_back_days: int  # how far back the log is read
    evaluated_back_days: int  # how far before now the health is evaluated (the trend, the churn risk)

    @property
    def margin_days(self) -> int:
        return min(CARRY_MARGIN_DAYS, self.look_back_days // 4)

    @property
    def refresh_days(self) -> int:
        """A carried signal younger than this is fresh: none is written while one is."""
        return (self.look_back_days - self.margin_days) // 2

    @property
    def content_age_days(self) -> int:
        """A carried signal copies the state signals at least this old (the younger ones are read anyway)."""
        return self.look_back_days - self.margin_days - self.refresh_days


def carry_policy(model: HealthModel) -> CarryPolicy:
    evaluated_back = max(*TREND_DAYS, model.churn_risk.within_days)
    return CarryPolicy(model.longest_window_days + evaluated_back, evaluated_back)


def look_back_days(model: HealthModel) -> int:
    """Enough of the log for every measure's window at every moment the trend and the churn risk look back to."""
    return carry_policy(model).look_back_days


def expanded(read: Sequence[Signal]) -> list[Signal]:
    """The log as read (oldest first), the copies its `carried` signals hold put back in place of them: oldest
    first, ties by signal id, each signal once. A carried signal leaves a mark of its own, an empty `carried`
    signal at the time of the account's first customer signal (`engine.CUSTOMER_KINDS`; the measures read no
    `carried` signal; the onboarding period starts there), and one of its first signal of any kind (where the
    period starts while it has no customer signal)."""
    found: dict[tuple[str, datetime], Signal] = {}
    for signal in read:
        for one in copies_in(signal) if signal.kind is SignalKind.CARRIED else (signal,):
            found.setdefault((one.signal_id, one.at), one)
    return sorted(found.values(), key=lambda s: (s.at, s.signal_id))


def copies_in(carried: Signal) -> list[Signal]:
    """The copies a carried signal holds; one that is not a signal's copy (damaged, or anonymized whole by
    hand) is left out rather than failing every read of the account."""
    copies = [copy for c in carried.values.get("signals") or () if (copy := _copy(c)) is not None]
    first, first_signal = carried.values.get("first_at"), carried.values.get("first_signal_at")
    marks = [first_mark(datetime.fromisoformat(first))] if isinstance(first, str) else []
    if isinstance(first_signal, str):
        marks.append(first_signal_mark(datetime.fromisoformat(first_signal)))
    return copies + marks


def _copy(c: object) -> Signal | None:
    if not isinstance(c, dict):
        return None
    try:
        at = datetime.fromisoformat(c["at"])
        values = c.get("values") or {}
        if at.tzinfo is None or not isinstance(values, dict):
            return None
        return Signal(str(c["signal_id"]), SignalKind(c["kind"]), at, values)
    except (KeyError, TypeError, ValueError):
        return None


def first_mark(at: datetime) -> Signal:
    return Signal(f"first:{at.isoformat()}", SignalKind.CARRIED, at)


def first_signal_mark(at: datetime) -> Signal:
    return Signal(f"first-signal:{at.isoformat()}", SignalKind.CARRIED, at, dict(FIRST_SIGNAL_MARK))


def needs_whole_log(read: Sequence[Signal], now: datetime, policy: CarryPolicy) -> bool:
    """Whether the log may hold state older than the read window that no carried signal holds: the window holds
    no carried signal and is empty or reaches back to signals old enough to have been carried; or its latest
    carried signal is stale, the nightly having missed more than `margin_days` (what was too young to be copied
    when it was written may have left the window since: it copies what is `content_age_days` old, and the window
    reaches `look_back_days` back)."""
    carried = [s.at for s in read if s.kind is SignalKind.CARRIED]
    if carried:
        return now - max(carried) >= timedelta(days=policy.look_back_days - policy.content_age_days)
    return not read or read[0].at <= now - timedelta(days=policy.content_age_days)


def carry_due(read: Sequence[Signal], log: Sequence[Signal], now: datetime, policy: CarryPolicy) -> bool:
    """Whether a new carried signal is to be written now: none in the window is fresh, and there is state that may
    need carrying (an older carried signal, or a signal old enough to be copied)."""
    carried = [s for s in read if s.kind is SignalKind.CARRIED]
    if any(s.at > now - timedelta(days=policy.refresh_days) for s in carried):
        return False
    old_enough = now - timedelta(days=policy.content_age_days)
    return bool(carried) or any(s.at <= old_enough for s in log)


def carried_signal(model: HealthModel, log: Sequence[Signal], now: datetime, policy: CarryPolicy) -> Signal:
    """The `carried` signal to write now: a copy of the state signals of the log (oldest first, without carried
    signals: `expanded`) that are at least `content_age_days` old and still say something at the moments the
    health is evaluated from now on."""
    old_enough = now - timedelta(days=policy.content_age_days)
    horizon = now - timedelta(days=policy.evaluated_back_days)
    saying = still_saying(model, log, horizon)
    kept = [s for s in saying if s.at <= old_enough]
    # A ticket is copied whole: its opening without its solving would read as open once the solving leaves the
    # window, and this carried signal stays in the window longer than a solving younger than it
    tickets = {s.values.get("ticket_id") for s in kept if s.kind is SignalKind.TICKET_OPENED}
    kept += [s for s in saying if s.at > old_enough and s.kind in TICKET_KINDS and s.values.get("ticket_id") in tickets]
    kept.sort(key=lambda s: (s.at, s.signal_id))
    copies = [
        {"signal_id": s.signal_id, "kind": s.kind.value, "at": s.at.isoformat(), "values": s.values} for s in kept
    ]
    # the account's first customer signal, and its first signal of any kind (or the marks of them an older carried
    # signal left): onboarding starts at the first, or at the second while there is no first
    first = min(
        (s.at for s in log if s.kind in CUSTOMER_KINDS or (s.kind is SignalKind.CARRIED and not s.values)),
        default=None,
    )
    values: dict[str, object] = {"signals": copies}
    if first is not None:
        values["first_at"] = first.isoformat()
    if log:
        values["first_signal_at"] = log[0].at.isoformat()
    # One per account and day, at the day's start: two recomputations of the same day (the nightly and a signal's)
    # write the same item, the first one's kept (`append_signal`), rather than two carried signals
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return Signal(f"carried:{day.date().isoformat()}", SignalKind.CARRIED, day, values)


def still_saying(model: HealthModel, log: Sequence[Signal], horizon: datetime) -> list[Signal]:
    """The state signals of the log (oldest first) a measure may read at a moment at or after `horizon`, however
    old: a plan ends when another replaces it, a ticket when it is solved, an outstanding failure when a payment
    succeeds."""
    kept: dict[tuple[str, datetime], Signal] = {}
    for signal in (
        *_plans(model, log, horizon),
        *_tickets(model, log, horizon),
        *_payments(log, horizon),
        *_usage(model, log, horizon),
        *_subscriptions(log, horizon),
    ):
        kept.setdefault((signal.signal_id, signal.at), signal)
    return sorted(kept.values(), key=lambda s: (s.at, s.signal_id))


def _latest_then_after(signals: Sequence[Signal], horizon: datetime) -> list[Signal]:
    """The latest of the signals at or before the horizon (the one standing then), and every one after it."""
    before = [s for s in signals if s.at <= horizon]
    return before[-1:] + [s for s in signals if s.at > horizon]


def _plans(model: HealthModel, log: Sequence[Signal], horizon: datetime) -> Iterable[Signal]:
    plans = _latest_then_after([s for s in log if s.kind is SignalKind.SUCCESS_PLAN], horizon)
    sponsors = {p.values.get("sponsor_email") for p in plans} - {None}
    kinds = {kind.value for kind in model.sponsor_engagement_kinds}
    yield from plans
    # every milestone's completion, not only the standing plan's: a handoff's plan edited after another's replaced
    # it stands again with the milestones completed under it (one completion per milestone is kept: a few a year)
    yield from (s for s in log if s.kind is SignalKind.MILESTONE_COMPLETED)
    for sponsor in sponsors:
        engaged = [
            s
            for s in log
            if s.kind in (SignalKind.TOUCH, SignalKind.ENGAGED)
            and s.values.get("email") == sponsor
            and s.values.get("kind") in kinds
        ]
        yield from _latest_then_after(engaged, horizon)


def _tickets(model: HealthModel, log: Sequence[Signal], horizon: datetime) -> Iterable[Signal]:
    """The tickets open at the horizon or solved within the resolution measure's window before it (it measures
    from their opening), and the latest ticket: each with its opening and its solving."""
    resolution_days = max(
        (m.window_days for m in model.measures if m.value is MeasureValue.HOURS_TO_RESOLVE), default=0
    )
    since = horizon - timedelta(days=resolution_days)
    by_ticket: dict[str, list[Signal]] = {}
    for s in log:
        if s.kind in TICKET_KINDS:
            by_ticket.setdefault(str(s.values.get("ticket_id")), []).append(s)
    opened = [t for t in by_ticket.values() if any(s.kind is SignalKind.TICKET_OPENED for s in t)]
    if not opened:
        return []
    latest = max(opened, key=lambda t: _opening(t).at)
    severe = set(model.high_severity)

    def live(ticket: list[Signal]) -> bool:
        # open (never solved, or reopened since its latest solving) or solved within the window
        latest = max(ticket, key=lambda s: s.at)
        return latest.kind is SignalKind.TICKET_OPENED or latest.at > since

    def keeps_first(ticket: list[Signal]) -> tuple[bool, float]:
        """High-severity tickets first, then the latest opened: what the measures would miss last."""
        return _opening(ticket).values.get("priority") not in severe, -_opening(ticket).at.timestamp()

    carried = sorted((t for t in opened if live(t) and t is not latest), key=keeps_first)[: MAX_CARRIED_TICKETS - 1]
    return [s for ticket in [latest, *carried] for s in ticket]


def _opening(ticket: list[Signal]) -> Signal:
    return next(s for s in ticket if s.kind is SignalKind.TICKET_OPENED)


def _payments(log: Sequence[Signal], horizon: datetime) -> list[Signal]:
    """The latest success at the horizon, the first failure of each payment still outstanding then (what
    `days_past_due` counts from: `shared.success.payments`) and every payment after the horizon."""
    payments = [s for s in log if s.kind in (SignalKind.PAYMENT_SUCCEEDED, SignalKind.PAYMENT_FAILED)]
    successes = [s for s in payments if s.kind is SignalKind.PAYMENT_SUCCEEDED and s.at <= horizon]
    unpaid = sorted(outstanding(s for s in payments if s.at <= horizon).values(), key=lambda s: (s.at, s.signal_id))
    standing = successes[-1:] + unpaid
    return standing + [s for s in payments if s.at > horizon and s not in standing]


def _usage(model: HealthModel, log: Sequence[Signal], horizon: datetime) -> list[Signal]:
    """The usage report `active_user_trend` compares with: the latest with active users at its window's start."""
    trend_days = [m.window_days for m in model.measures if m.value is MeasureValue.ACTIVE_USER_TREND]
    if not trend_days:
        return []
    start = horizon - timedelta(days=max(trend_days))
    reports = [s for s in log if s.kind is SignalKind.USAGE and s.values.get("active_users") is not None]
    return _latest_then_after(reports, start)


def _subscriptions(log: Sequence[Signal], horizon: datetime) -> list[Signal]:
    """Per subscription, its latest change at the horizon (what a renewal is read from), and the changes with a
    quantity a later change is compared with (`subscription_status`'s `downgraded`): the latest at the horizon,
    and the latest before its latest change."""
    by_subscription: dict[object, list[Signal]] = {}
    for s in log:
        if s.kind is SignalKind.SUBSCRIPTION and s.at <= horizon:
            by_subscription.setdefault(s.values.get("subscription_id"), []).append(s)
    kept: list[Signal] = []
    for changes in by_subscription.values():
        latest = changes[-1]
        counted = [c for c in changes if c.values.get("quantity") is not None]
        before_latest = [c for c in counted if c is not latest]
        kept += [latest, *counted[-1:], *before_latest[-1:]]
    return kept
