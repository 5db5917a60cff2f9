"""The carried state (pure): with a carried signal written as the nightly writes them, the bounded read of the log
gives the health the whole log gives, at every moment the trend and the churn risk look back to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.success.carry import carried_signal, carry_due, carry_policy, copies_in, expanded, needs_whole_log
from shared.success.engine import FIRST_SIGNAL_MARK, evaluate
from shared.success.model import load_health_model
from shared.success.signals import Signal, SignalKind
from tests.unit.test_health_engine import signals

MODEL = load_health_model()
POLICY = carry_policy(MODEL)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # the engine tests' moment: their logs reach 400 days before it


def nightly_log(log: list[Signal], until: datetime, every: timedelta) -> list[Signal]:
    """The log as stored when each night up to `until` read its bounded window and wrote a carried signal when
    one was due: the signals plus the carried ones."""
    stored = list(log)
    night = min((s.at for s in log), default=until)
    while night <= until:
        known = sorted((s for s in stored if s.at <= night), key=lambda s: (s.at, s.signal_id))
        read = [s for s in known if s.at > night - timedelta(days=POLICY.look_back_days)]
        if needs_whole_log(read, night, POLICY):
            read = known
        whole = expanded(read)
        if carry_due(read, whole, night, POLICY):
            stored.append(carried_signal(MODEL, whole, night, POLICY))
        night += every
    return stored


def spread(log: list[Signal], stretch: int) -> list[Signal]:
    """The engine tests' log (up to 400 days before NOW) spread over `stretch` times as long, a milestone
    completed once its plan exists (the service completes only a plan's milestones). Tickets come in any order:
    opened, solved, reopened, solved twice, solved before their opening."""
    spread_out = sorted(
        (Signal(s.signal_id, s.kind, NOW - (NOW - s.at) * stretch, s.values) for s in log),
        key=lambda s: (s.at, s.signal_id),
    )
    plans: set[object] = set()
    kept = []
    for s in spread_out:
        if s.kind is SignalKind.SUCCESS_PLAN:
            plans.add(s.values["handoff_id"])
        elif s.kind is SignalKind.MILESTONE_COMPLETED and s.values["handoff_id"] not in plans:
            continue
        kept.append(s)
    return kept


@settings(max_examples=1500, deadline=None, print_blob=True)
@given(signals(), st.integers(1, 3), st.integers(1, 30))
def test_the_bounded_read_with_carried_signals_scores_as_the_whole_log(
    log: list[Signal], stretch: int, every_days: int
) -> None:
    # Given a log over up to three years, and the nightly having run at least every 30 days
    whole = spread(log, stretch)
    stored = nightly_log(whole, NOW, timedelta(days=every_days))
    # When the health is read from the last 395 days only, with the carried copies put back
    read = sorted(
        (s for s in stored if s.at > NOW - timedelta(days=POLICY.look_back_days)), key=lambda s: (s.at, s.signal_id)
    )
    if needs_whole_log(read, NOW, POLICY):
        read = sorted(stored, key=lambda s: (s.at, s.signal_id))
    bounded = expanded(read)
    # Then it is the whole log's at every moment the trend and the churn risk evaluate
    for days_back in (0, 7, 30):
        at = NOW - timedelta(days=days_back)
        assert evaluate(MODEL, bounded, at) == evaluate(MODEL, whole, at), days_back
    # And no carried signal is left in it but the marks of the first customer signal and the first signal
    assert all(s.kind is not SignalKind.CARRIED or s.values in ({}, FIRST_SIGNAL_MARK) for s in bounded)


def test_a_missed_nightly_longer_than_the_margin_reads_the_whole_log_once_and_loses_nothing() -> None:
    # Given a payment then two urgent tickets never solved, and the nightly running daily for 186 days: its
    # carried signal (day 183) copies the payment, the tickets being too young to copy then
    t0 = NOW - timedelta(days=500)
    whole = [
        Signal("p1", SignalKind.PAYMENT_SUCCEEDED, t0, {}),
        Signal("t-old", SignalKind.TICKET_OPENED, t0 + timedelta(days=1), {"ticket_id": "z:1", "priority": "urgent"}),
        Signal("t-mid", SignalKind.TICKET_OPENED, t0 + timedelta(days=5), {"ticket_id": "z:2", "priority": "urgent"}),
    ]
    stored = nightly_log(whole, t0 + timedelta(days=186), timedelta(days=1))
    carried = [s for s in stored if s.kind is SignalKind.CARRIED]
    assert [c.signal_id for c in copies_in(carried[-1]) if c.kind is not SignalKind.CARRIED] == ["p1"]
    # When the nightly then misses 45 days past the carried signal's refresh (the second ticket is out of the
    # read window, and the carried signal in it is stale)
    at = carried[-1].at + timedelta(days=POLICY.refresh_days + 45)
    read = [s for s in stored if s.at > at - timedelta(days=POLICY.look_back_days)]
    assert [s.kind for s in read] == [SignalKind.CARRIED]
    # Then the log is read whole, and both tickets are still open, as the whole log says
    assert needs_whole_log(read, at, POLICY)
    bounded = expanded(stored)
    assert evaluate(MODEL, bounded, at) == evaluate(MODEL, whole, at)
    (open_tickets,) = [line for line in evaluate(MODEL, bounded, at).lines if line.measure == "open_tickets"]
    assert open_tickets.value == 2
    # And a carried signal written then holds both, so the next night reads the window alone again
    fresh = carried_signal(MODEL, bounded, at, POLICY)
    assert {c.signal_id for c in copies_in(fresh)} >= {"t-old", "t-mid"}
    assert not needs_whole_log([*read, fresh], at + timedelta(days=1), POLICY)


def test_a_carried_signal_with_a_damaged_copy_is_read_without_it() -> None:
    # Given a carried signal one of whose copies is no longer a signal (anonymized whole), another half-written
    good = {"signal_id": "t1", "kind": "ticket_opened", "at": NOW.isoformat(), "values": {"ticket_id": "z:1"}}
    values = {"signals": [{"erased": True}, {"signal_id": "x", "kind": "nope", "at": "later"}, good]}
    carried = Signal("carried:1", SignalKind.CARRIED, NOW, values)
    # When the log is read
    read = expanded([carried])
    # Then the good copy is put back, the others left out, and nothing fails
    assert [(s.signal_id, s.kind) for s in read] == [("t1", SignalKind.TICKET_OPENED)]


def test_two_recomputations_of_the_same_day_write_the_same_carried_item() -> None:
    # Given an account's old payment, and a second payment recorded between two recomputations of the same day
    old = [Signal("p1", SignalKind.PAYMENT_SUCCEEDED, NOW - timedelta(days=300), {})]
    later = [*old, Signal("p2", SignalKind.PAYMENT_FAILED, NOW - timedelta(days=200), {})]
    # When both write their carried signal, hours apart
    first = carried_signal(MODEL, old, NOW.replace(hour=1), POLICY)
    second = carried_signal(MODEL, later, NOW.replace(hour=23), POLICY)
    # Then both are the same item of the log (the same time and id: the first written is kept), at the day's start
    assert (first.signal_id, first.at) == (second.signal_id, second.at) == ("carried:2026-11-30", NOW.replace(hour=0))
