"""The measures of issue 13 the first model lacked, from the signal log: the latest CSAT answer (a Typeform
rating beside or without NPS), the days since the executive sponsor the customer handoff names last engaged,
and the share of the success plan's settled milestones completed on time. Each is NA without its data, scored
by the model's thresholds, and a function of the log and the moment only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject
from shared.handoffs.customer_handoffs import CustomerHandoffRequest, Person, details_of
from shared.handoffs.model import HandoffStatus
from shared.handoffs.success_plans import load_success_plan
from shared.success.engine import Health, evaluate
from shared.success.model import load_health_model
from shared.success.onboarding import MilestoneStatus, completion, latest_plan, milestones_at, plan_of_handoff
from shared.success.signals import Signal, SignalKind, signal_of
from shared.webhooks.normalizers import normalize
from shared.webhooks.vendors.typeform import Typeform
from tests.canonical_events import canonical_event
from tests.success_fakes import customer_handoff
from tests.vendor_samples import CONTEXT, typeform_request, typeform_response

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MODEL = load_health_model()
SPONSOR = "vic.ortiz@kestrel-labs.io"


def line(health: Health, measure: str) -> Any:
    return next(one for one in health.lines if one.measure == measure)


def event(event_type: EventType, data: dict[str, Any], days_ago: float, n: int, vendor: str, **subject: Any) -> Any:
    at = NOW - timedelta(days=days_ago)
    return canonical_event(event_type, Subject(**subject), data, at=at, n=n, series="onboarding", vendor=vendor)


def plan_signal(days_ago: float, starts_on: date, sponsor: str | None = SPONSOR, number: int = 1) -> Signal:
    """The plan the recorder keeps when the handoff domain announces the handoff's success plan."""
    request = CustomerHandoffRequest(
        customer_id="acct-kestrel",
        deal_id=f"deal-{number}",
        starts_on=starts_on,
        executive_sponsor=Person("Vic Ortiz", sponsor.upper() if sponsor else None, "VP Operations"),
    )
    handoff = customer_handoff("acct-kestrel", "csm-1", HandoffStatus.ASSIGNED, number)
    handoff.details.update(details_of(request, load_success_plan(), NOW - timedelta(days=days_ago)))
    plan = plan_of_handoff(handoff)
    assert plan is not None
    return Signal(f"plan-{number}", SignalKind.SUCCESS_PLAN, NOW - timedelta(days=days_ago), plan.values())


# --------------------------------------------------------------------------------------------------------- CSAT


def typeform_answers(*answers: dict[str, Any]) -> CanonicalEvent:
    """A Typeform response through the webhook normalizer, as the recorder gets it."""
    email = {"type": "email", "email": "kim@kestrel-labs.io", "field": {"id": "f0", "type": "email", "ref": "email"}}
    body = typeform_response(answers=[email, *answers])
    (vendor_event,) = Typeform().parse(typeform_request(body))
    return normalize("typeform", vendor_event, CONTEXT)


def rating(ref: str, value: object, kind: str = "rating") -> dict[str, Any]:
    return {"type": "number", "number": value, "field": {"id": f"f_{ref}", "type": kind, "ref": ref}}


def test_a_typeform_csat_rating_is_kept_beside_the_nps_answer_or_alone() -> None:
    # Given Typeform responses: NPS with a CSAT rating, a CSAT rating alone, and one with neither
    both = typeform_answers(rating("nps", 9, "opinion_scale"), rating("csat", 4))
    alone = typeform_answers(rating("csat_score", 2))
    neither = typeform_answers(rating("ease", 3))
    beyond_the_scale = typeform_answers(rating("csat", 7))
    # When the recorder reads them as signals
    read = [signal_of(e, MODEL) for e in (both, alone, neither, beyond_the_scale)]
    # Then the first is an NPS answer carrying its CSAT, the second a CSAT answer, the others say nothing
    assert [(s.kind, dict(s.values)) if s else None for s in read] == [
        (SignalKind.NPS, {"nps": 9, "csat": 4}),
        (SignalKind.CSAT, {"csat": 2}),
        None,
        None,
    ]


def test_the_csat_measure_reads_the_latest_answer_in_its_window_and_is_na_without_one() -> None:
    # Given an NPS answer with a CSAT of 4 twenty days ago, and a CSAT-only answer of 2 ten days ago
    first = signal_of(event(EventType.SURVEY_RESPONDED, {"answers": {"nps": 9, "csat": 4}}, 20, 1, "typeform"), MODEL)
    second = signal_of(event(EventType.SURVEY_RESPONDED, {"answers": {"csat": "2"}}, 10, 2, "typeform"), MODEL)
    assert first is not None
    assert second is not None
    # When evaluated now, fifteen days ago, and a year on
    now, before, much_later = (evaluate(MODEL, [first, second], NOW + timedelta(days=d)) for d in (0, -15, 365))
    # Then the latest answer is the value (2: dissatisfied, 0; 4: satisfied, 80), the NPS measure reads its own
    assert (line(now, "csat").value, line(now, "csat").score) == (Decimal(2), 0)
    assert (line(before, "csat").value, line(before, "csat").score) == (Decimal(4), 80)
    assert line(now, "nps").value == Decimal(9)
    # And past the window (180 days) it is NA: left out, never scored as 0
    assert "csat" in much_later.na
    assert line(much_later, "csat").contribution_hundredths == 0


# ------------------------------------------------------------------------------------------ executive sponsor


def test_the_sponsor_the_handoff_names_ages_from_the_handoff_until_they_engage() -> None:
    # Given a customer handed to success 40 days ago, naming Vic Ortiz (by email, in capitals) as sponsor
    plan = plan_signal(40, (NOW - timedelta(days=40)).date())
    assert plan.values["sponsor_email"] == SPONSOR
    # And a meeting with another contact five days ago, and Vic clicking an email (not a sponsor engagement)
    other = signal_of(
        event(EventType.ENGAGEMENT_RECORDED, {"kind": "meeting_booked"}, 5, 3, "calendly", email="kim@kestrel-labs.io"),
        MODEL,
    )
    click = Signal("click", SignalKind.ENGAGED, NOW - timedelta(days=4), {"kind": "email_click", "email": SPONSOR})
    assert other is not None
    # When evaluated
    health = evaluate(MODEL, [plan, other, click], NOW)
    # Then the sponsor has not engaged since the handoff: 40 days (at most 60: 70)
    assert (line(health, "days_since_sponsor_engaged").value, line(health, "days_since_sponsor_engaged").score) == (
        Decimal(40),
        70,
    )
    # When Vic attends a webinar three days ago
    webinar = signal_of(
        event(
            EventType.ENGAGEMENT_RECORDED,
            {"kind": "webinar_attended"},
            3,
            4,
            "hubspot",
            email="Vic.Ortiz@Kestrel-Labs.io",
        ),
        MODEL,
    )
    assert webinar is not None
    assert (webinar.kind, dict(webinar.values)) == (SignalKind.ENGAGED, {"kind": "webinar_attended", "email": SPONSOR})
    engaged = evaluate(MODEL, [plan, other, click, webinar], NOW)
    # Then it is 3 days (100); and with nothing more for 100 days, 103 (past 90: 10)
    assert (line(engaged, "days_since_sponsor_engaged").value, line(engaged, "days_since_sponsor_engaged").score) == (
        Decimal(3),
        100,
    )
    silent = evaluate(MODEL, [plan, other, click, webinar], NOW + timedelta(days=100))
    assert (line(silent, "days_since_sponsor_engaged").value, line(silent, "days_since_sponsor_engaged").score) == (
        Decimal(103),
        10,
    )


def test_without_a_plan_naming_a_sponsor_by_email_the_sponsor_measure_is_na() -> None:
    meeting = Signal("m", SignalKind.TOUCH, NOW - timedelta(days=1), {"kind": "meeting_booked", "email": SPONSOR})
    assert "days_since_sponsor_engaged" in evaluate(MODEL, [meeting], NOW).na
    nameless = plan_signal(10, NOW.date(), sponsor=None)
    assert "days_since_sponsor_engaged" in evaluate(MODEL, [nameless, meeting], NOW).na


# ----------------------------------------------------------------------------------------------- milestones


def test_milestones_on_time_is_the_share_of_the_settled_milestones_completed_by_their_due_date() -> None:
    # Given a plan started 30 days ago: kickoff due 23 days ago, technical setup 9 days ago, first value in 15
    plan = plan_signal(30, (NOW - timedelta(days=30)).date())
    # And the kickoff completed on time, first value completed early, technical setup not completed
    done = [
        completion("h-acct-kestrel-1", "kickoff", NOW - timedelta(days=25)),
        completion("h-acct-kestrel-1", "first-value", NOW - timedelta(days=1)),
    ]
    # When evaluated now
    health = evaluate(MODEL, [plan, *done], NOW)
    # Then 2 of the 3 settled milestones were on time (the overdue setup is not): 0.6667, at least 0.5: 40
    measure = line(health, "milestones_on_time")
    assert (measure.value, measure.score, measure.weight) == (Decimal("0.6667"), 40, 10)
    found = latest_plan([plan])
    assert found is not None
    statuses = {m.milestone_id: m.status for m in milestones_at(found[1], [plan, *done], NOW)}
    assert statuses == {
        "kickoff": MilestoneStatus.ON_TIME,
        "technical-setup": MilestoneStatus.OVERDUE,
        "first-value": MilestoneStatus.ON_TIME,
        "adoption-review": MilestoneStatus.OPEN,
        "business-review": MilestoneStatus.OPEN,
    }
    # And twenty days ago only the kickoff was settled (on time: 1, 100); before it, nothing was (NA)
    then = evaluate(MODEL, [plan, *done], NOW - timedelta(days=20))
    assert (line(then, "milestones_on_time").value, line(then, "milestones_on_time").score) == (Decimal(1), 100)
    assert "milestones_on_time" in evaluate(MODEL, [plan, *done], NOW - timedelta(days=26)).na


def test_a_late_completion_counts_against_and_another_plans_completions_are_not_read() -> None:
    # Given the plan started 30 days ago, its kickoff completed 2 days late and its setup completed today (late)
    plan = plan_signal(30, (NOW - timedelta(days=30)).date())
    late = [
        completion("h-acct-kestrel-1", "kickoff", NOW - timedelta(days=21)),
        completion("h-acct-kestrel-1", "technical-setup", NOW),
        completion("h-acct-kestrel-1", "technical-setup", NOW + timedelta(days=1)),  # after the moment: not read
        completion("h-acct-kestrel-0", "first-value", NOW - timedelta(days=2)),  # another handoff's plan
    ]
    # When evaluated now
    health = evaluate(MODEL, [plan, *late], NOW)
    # Then both settled milestones were late: 0 (otherwise: 10), and first value is still open
    assert (line(health, "milestones_on_time").value, line(health, "milestones_on_time").score) == (Decimal(0), 10)
    # And without any plan the measure is NA, whatever completions say
    assert "milestones_on_time" in evaluate(MODEL, late, NOW).na


def test_the_new_measures_sum_into_the_breakdown_exactly_with_their_weights() -> None:
    # Given an account with every new measure's data and a promoter's answer
    plan = plan_signal(30, (NOW - timedelta(days=30)).date())
    signals = [
        plan,
        completion("h-acct-kestrel-1", "kickoff", NOW - timedelta(days=25)),
        Signal("s", SignalKind.NPS, NOW - timedelta(days=2), {"nps": 10, "csat": 5}),
    ]
    # When evaluated
    health = evaluate(MODEL, signals, NOW)
    # Then nps 100 (15), csat 100 (5), sponsor 30 days (100, 5), milestones 1 of 2 on time (40, 10):
    # (1500 + 500 + 500 + 400) / 35 = 82.86, and the lines sum to it exactly
    assert health.score_hundredths == 8286
    assert sum(one.contribution_hundredths for one in health.lines) == 8286
    assert sorted(one.measure for one in health.lines if not one.na) == [
        "csat",
        "days_since_sponsor_engaged",
        "milestones_on_time",
        "nps",
    ]
