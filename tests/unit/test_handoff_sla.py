"""SLA deadlines: wall-clock minutes, or business minutes in the assignee's own hours (nights, weekends and
out-of-office days skipped, clock changes honoured), returned as UTC; reminders before the deadline; escalation
after enough reassignments. Business-time arithmetic is checked against a minute-by-minute count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.handoffs.model import Priority
from shared.handoffs.routing_config import Rep, RoutingConfig, parse_routing
from shared.handoffs.sla import accept_due, first_touch_due, reminder_times, should_escalate
from shared.handoffs.working_hours import (
    Schedule,
    add_business_minutes,
    is_out_of_office,
    is_working,
    next_working_instant,
)
from tests.unit.test_routing_config import rep_dict, routing_dict

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEK = ["mon", "tue", "wed", "thu", "fri"]
SLA = {
    "immediate": {"accept_minutes": 5, "first_touch_minutes": 15, "business_hours": False, "reminders_minutes": [2, 4]},
    "priority": {"accept_minutes": 30, "first_touch_minutes": 120, "business_hours": True, "reminders_minutes": [20]},
    "standard": {
        "accept_minutes": 510,
        "first_touch_minutes": 1020,
        "business_hours": True,
        "reminders_minutes": [450, 240],
    },
    "escalate_after_reassignments": 2,
}


def config_with(**rep_fields: Any) -> tuple[RoutingConfig, Rep]:
    """A file whose rep `a` works in Berlin, Monday to Friday 09:00-17:30, unless `rep_fields` say otherwise."""
    hours = {"time_zone": "Europe/Berlin", "days": WEEK, "start": "09:00", "end": "17:30"}
    rep = rep_dict("a", working_hours=rep_fields.pop("working_hours", hours), **rep_fields)
    config = parse_routing(routing_dict(reps=[rep], sla=SLA))
    return config, next(r for r in config.reps if r.rep_id == "a")


CONFIG, BERLIN_REP = config_with()


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_an_immediate_handoff_is_due_in_five_wall_clock_minutes_even_at_night() -> None:
    # given an immediate handoff assigned at 03:00 on a Sunday in Berlin
    assigned = berlin(2026, 3, 8, 3, 0)
    # then it must be accepted by 03:05, reminded at 03:02 and 03:04, and touched by 03:15, all as UTC
    due = accept_due(CONFIG, Priority.IMMEDIATE, BERLIN_REP, assigned)
    assert due == berlin(2026, 3, 8, 3, 5)
    assert due.tzinfo is UTC
    assert reminder_times(CONFIG, Priority.IMMEDIATE, BERLIN_REP, assigned) == [
        berlin(2026, 3, 8, 3, 2),
        berlin(2026, 3, 8, 3, 4),
    ]
    assert first_touch_due(CONFIG, Priority.IMMEDIATE, BERLIN_REP, assigned) == berlin(2026, 3, 8, 3, 15)


def test_a_standard_handoff_is_due_one_working_day_later() -> None:
    # given a standard handoff assigned on Tuesday at 12:00 in Berlin (510 business minutes = one 09:00-17:30 day)
    due = accept_due(CONFIG, Priority.STANDARD, BERLIN_REP, berlin(2026, 3, 10, 12, 0))
    # then it is due on Wednesday at 12:00
    assert due == berlin(2026, 3, 11, 12, 0)
    assert due.tzinfo is UTC


def test_a_handoff_assigned_at_the_start_of_the_day_is_due_at_its_close() -> None:
    assert accept_due(CONFIG, Priority.STANDARD, BERLIN_REP, berlin(2026, 3, 10, 9, 0)) == berlin(2026, 3, 10, 17, 30)


def test_a_friday_afternoon_handoff_is_due_on_monday() -> None:
    # given Friday 16:30: one hour of the day left, the other 450 minutes on Monday
    assert accept_due(CONFIG, Priority.STANDARD, BERLIN_REP, berlin(2026, 3, 13, 16, 30)) == berlin(2026, 3, 16, 16, 30)


def test_a_weekend_handoff_starts_counting_on_monday_morning() -> None:
    assert accept_due(CONFIG, Priority.PRIORITY, BERLIN_REP, berlin(2026, 3, 14, 11, 0)) == berlin(2026, 3, 16, 9, 30)
    assert accept_due(CONFIG, Priority.PRIORITY, BERLIN_REP, berlin(2026, 3, 10, 20, 0)) == berlin(2026, 3, 11, 9, 30)


def test_out_of_office_days_do_not_count() -> None:
    # given the rep away on Monday and Tuesday
    config, rep = config_with(out_of_office=[{"from": "2026-03-16", "to": "2026-03-17"}])
    # when a priority handoff is assigned on Friday at 17:15, then the 15 minutes left run on Wednesday
    assert accept_due(config, Priority.PRIORITY, rep, berlin(2026, 3, 13, 17, 15)) == berlin(2026, 3, 18, 9, 15)


def test_touching_absences_are_skipped_as_one() -> None:
    away = [{"from": "2026-03-16", "to": "2026-03-17"}, {"from": "2026-03-18", "to": "2026-03-18"}]
    config, rep = config_with(out_of_office=away)
    assert accept_due(config, Priority.PRIORITY, rep, berlin(2026, 3, 13, 17, 30)) == berlin(2026, 3, 19, 9, 30)


def test_business_time_across_the_european_clock_change() -> None:
    # given a priority handoff (30 business minutes) on Friday 27 March at 17:15 CET (UTC+1); Berlin moves to
    # CEST (UTC+2) on Sunday 29 March
    assigned = berlin(2026, 3, 27, 17, 15)
    assert assigned.utcoffset() == timedelta(hours=1)
    # when it is due, then 15 minutes run on Friday and 15 on Monday from 09:00 CEST: 07:15 UTC, not 08:15
    assert accept_due(CONFIG, Priority.PRIORITY, BERLIN_REP, assigned) == datetime(2026, 3, 30, 7, 15, tzinfo=UTC)


def test_business_time_across_the_american_clock_change() -> None:
    # given a New York rep and a priority handoff on Friday 6 March at 17:20 EST (22:20 UTC); New York moves
    # to EDT (UTC-4) on Sunday 8 March
    hours = {"time_zone": "America/New_York", "days": WEEK, "start": "09:00", "end": "17:30"}
    config, rep = config_with(working_hours=hours)
    due = accept_due(config, Priority.PRIORITY, rep, datetime(2026, 3, 6, 22, 20, tzinfo=UTC))
    # then 10 minutes run on Friday and 20 on Monday from 09:00 EDT, which is 13:00 UTC, no longer 14:00
    assert due == datetime(2026, 3, 9, 9, 20, tzinfo=NEW_YORK)
    assert due == datetime(2026, 3, 9, 13, 20, tzinfo=UTC)


def test_a_day_with_a_clock_change_is_as_long_as_it_really_is() -> None:
    # given a rep working around the clock on Sundays; 29 March 2026 has 23 hours in Berlin
    schedule = Schedule(BERLIN, frozenset({6}), 0, 24 * 60)
    start = berlin(2026, 3, 29, 0, 0)
    # then 23 hours of business time fill that Sunday exactly, and 24 hours reach into the next Sunday
    assert add_business_minutes(schedule, start, 23 * 60) == berlin(2026, 3, 30, 0, 0)
    assert add_business_minutes(schedule, start, 24 * 60) == berlin(2026, 4, 5, 1, 0)


def test_reminders_come_in_order_and_before_the_deadline() -> None:
    assigned = berlin(2026, 3, 13, 16, 0)  # Friday afternoon: the later reminder falls on Monday
    reminders = reminder_times(CONFIG, Priority.STANDARD, BERLIN_REP, assigned)
    assert reminders == [berlin(2026, 3, 16, 11, 30), berlin(2026, 3, 16, 15, 0)]
    assert all(at < accept_due(CONFIG, Priority.STANDARD, BERLIN_REP, assigned) for at in reminders)


def test_escalation_comes_with_the_configured_reassignment() -> None:
    assert [should_escalate(CONFIG, n) for n in range(4)] == [False, False, True, True]


def test_a_naive_assignment_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        accept_due(CONFIG, Priority.IMMEDIATE, BERLIN_REP, datetime(2026, 3, 10, 12))


def test_working_hours_and_absences_read_the_reps_local_clock() -> None:
    _, rep = config_with(out_of_office=[{"from": "2026-03-12", "to": "2026-03-12"}])
    schedule = rep.schedule
    assert is_working(schedule, berlin(2026, 3, 10, 9, 0))
    assert not is_working(schedule, berlin(2026, 3, 10, 17, 30))  # the end is exclusive
    assert not is_working(schedule, berlin(2026, 3, 14, 12, 0))  # Saturday
    assert not is_working(schedule, berlin(2026, 3, 12, 12, 0))  # away
    assert is_out_of_office(schedule, datetime(2026, 3, 11, 23, 30, tzinfo=UTC))  # already the 12th in Berlin
    assert next_working_instant(schedule, berlin(2026, 3, 11, 18, 0)) == berlin(2026, 3, 13, 9, 0)
    assert next_working_instant(schedule, berlin(2026, 3, 10, 10, 0)) == berlin(2026, 3, 10, 10, 0)


# -------------------------------------------------------------------------------------------------- the oracle


def counted_minute_by_minute(schedule: Schedule, start: datetime, minutes: int) -> datetime:
    """The slow, obvious answer: step a minute at a time, counting the minutes that begin in working time."""
    at, counted = start, 0
    while counted < minutes:
        if is_working(schedule, at):
            counted += 1
        at += timedelta(minutes=1)
    return at


ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo", "UTC"]
schedules = st.builds(
    lambda zone, days, start, length, away: Schedule(
        ZoneInfo(zone), frozenset(days), start, min(start + length, 24 * 60), away
    ),
    st.sampled_from(ZONES),
    st.sets(st.integers(0, 6), min_size=1),
    st.integers(0, 23 * 60).map(lambda m: m - m % 15),
    st.integers(15, 12 * 60).map(lambda m: m - m % 15 + 15),
    st.sampled_from([(), ((datetime(2026, 3, 30).date(), datetime(2026, 4, 2).date()),)]),
)
# around the 2026 clock changes of those zones (spring in Europe and America, autumn in Sydney; then the
# other way round), on whole minutes
starts = st.one_of(
    st.datetimes(datetime(2026, 3, 5), datetime(2026, 3, 10), timezones=st.just(UTC)),
    st.datetimes(datetime(2026, 3, 26), datetime(2026, 4, 6), timezones=st.just(UTC)),
    st.datetimes(datetime(2026, 10, 1), datetime(2026, 11, 3), timezones=st.just(UTC)),
).map(lambda at: at.replace(second=0, microsecond=0))


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules, starts, st.integers(1, 900))
def test_business_minutes_agree_with_a_minute_by_minute_count(
    schedule: Schedule, start: datetime, minutes: int
) -> None:
    due = add_business_minutes(schedule, start, minutes)
    assert due == counted_minute_by_minute(schedule, start, minutes)
    assert due.tzinfo is UTC
    assert is_working(schedule, due - timedelta(minutes=1))  # the last minute counted is working time


def read_on_the_wall_clock(schedule: Schedule, at: datetime) -> bool:
    """The naive reading: the local clock shows a working weekday, a day in, and a time between start and end."""
    local = at.astimezone(schedule.zone)
    minute = local.hour * 60 + local.minute
    return (
        local.weekday() in schedule.weekdays
        and not any(first <= local.date() <= last for first, last in schedule.out_of_office)
        and schedule.start_minute <= minute < schedule.end_minute
    )


# working hours clear of the hours clocks change in (01:00-04:00 local in these zones)
daytime_schedules = schedules.filter(lambda s: s.start_minute >= 4 * 60 or s.end_minute <= 60)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(daytime_schedules, starts)
def test_working_time_is_what_the_wall_clock_reads_away_from_clock_changes(schedule: Schedule, at: datetime) -> None:
    assert is_working(schedule, at) == read_on_the_wall_clock(schedule, at)


def test_working_hours_inside_the_skipped_hour_do_not_happen() -> None:
    # given a Berlin rep working 02:00-02:15 and 02:30-04:00 on Sundays; on 29 March 02:00-03:00 is skipped
    short = Schedule(BERLIN, frozenset({6}), 2 * 60, 2 * 60 + 15)
    late = Schedule(BERLIN, frozenset({6}), 2 * 60 + 30, 4 * 60)
    midnight = berlin(2026, 3, 29, 0, 0)
    # then the first window is empty that night (the next minute counted is a week later) and the second
    # opens when the clocks jump, at 03:00 CEST
    assert add_business_minutes(short, midnight, 1) == berlin(2026, 4, 5, 2, 1)
    assert next_working_instant(late, midnight) == berlin(2026, 3, 29, 3, 0)
    assert add_business_minutes(late, midnight, 60) == berlin(2026, 3, 29, 4, 0)
    assert not is_working(short, datetime(2026, 3, 29, 1, 5, tzinfo=UTC))  # 03:05 CEST


def test_a_time_read_twice_counts_at_its_first_reading() -> None:
    # given a Berlin rep working 01:30-02:30 on Sundays; on 25 October 02:00-03:00 is read twice
    schedule = Schedule(BERLIN, frozenset({6}), 90, 150)
    first_reading = datetime(2026, 10, 25, 0, 15, tzinfo=UTC)  # 02:15 CEST
    second_reading = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15 CET
    assert is_working(schedule, first_reading)
    assert not is_working(schedule, second_reading)
    assert add_business_minutes(schedule, berlin(2026, 10, 25, 0, 0), 60) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(schedules, starts, st.integers(0, 2000), st.integers(1, 2000))
def test_business_minutes_add_up(schedule: Schedule, start: datetime, first: int, second: int) -> None:
    # counting a then b minutes lands where counting a + b does
    then = add_business_minutes(schedule, start, first)
    assert add_business_minutes(schedule, then, second) == add_business_minutes(schedule, start, first + second)
    assert then >= start
