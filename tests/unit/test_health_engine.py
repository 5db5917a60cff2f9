"""Account health from the model and the signal log: measures scored by their thresholds, NA measures dropped
with the weights renormalized, caps shown as their own line, the breakdown summing to the score exactly, and
the same log giving the same score at any moment (hypothesis properties)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.success.engine import evaluate, trend_of
from shared.success.model import InvalidHealthModel, load_health_model, parse_health_model
from shared.success.signals import Signal, SignalKind

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
MODEL = load_health_model()


def usage(days_ago: float, active: int, seats: int, features: int = 0, n: int = 0) -> Signal:
    values: dict[str, Any] = {"active_users": active, "licensed_seats": seats}
    if features:
        values["features"] = {f"feature_{i}": 3 for i in range(features)}
    return Signal(f"usage-{days_ago}-{n}", SignalKind.USAGE, NOW - timedelta(days=days_ago), values)


def signal(signal_kind: SignalKind, days_ago: float, n: int = 0, **values: Any) -> Signal:
    return Signal(f"{signal_kind}-{days_ago}-{n}", signal_kind, NOW - timedelta(days=days_ago), values)


def healthy_account() -> list[Signal]:
    return [
        usage(40, 16, 20),
        usage(2, 17, 20, features=6),
        signal(SignalKind.NPS, 5, nps=9),
        signal(SignalKind.PAYMENT_SUCCEEDED, 11, invoice_id="in_1"),
    ]


def line(health: Any, measure: str) -> Any:
    return next(one for one in health.lines if one.measure == measure)


def test_a_healthy_account_scores_what_the_model_predicts_with_na_measures_renormalized() -> None:
    # Given usage near the seat limit with six features, a promoter's NPS and payments on time, no tickets, no touch
    # When its health is evaluated
    health = evaluate(MODEL, healthy_account(), NOW)
    # Then the measures with data score 100 and the overall is their weighted mean over their own weights only
    assert health.na == [
        "open_tickets",
        "high_severity_tickets",
        "hours_to_resolve",
        "csat",
        "subscription_status",
        "days_since_touch",
        "days_since_sponsor_engaged",
        "milestones_on_time",
    ]
    assert line(health, "seat_utilization").value == Decimal("0.8500")
    assert line(health, "active_user_trend").value == Decimal("6.25")
    assert (health.score_hundredths, health.band) == (10_000, "green")
    # And each NA measure contributes nothing, and the contributions sum to the score exactly
    assert all(one.contribution_hundredths == 0 for one in health.lines if one.na)
    assert sum(one.contribution_hundredths for one in health.lines) == 10_000


def test_a_detractor_with_a_payment_outstanding_is_red_by_the_cap_shown_as_its_own_line() -> None:
    # Given the healthy account, then a detractor's answer and a failed payment ten days ago
    signals = [
        *healthy_account(),
        signal(SignalKind.NPS, 1, nps=3),
        signal(SignalKind.PAYMENT_FAILED, 10, invoice_id="in_2"),
    ]
    # When evaluated
    health = evaluate(MODEL, signals, NOW)
    # Then the weighted mean (about 62) is capped at 35: red, and the cap's line takes the difference away
    assert (line(health, "nps").score, line(health, "days_past_due").value) == (0, Decimal(10))
    assert (health.score_hundredths, health.band) == (3_500, "red")
    (cap,) = health.adjustments
    assert cap.cap == "detractor_with_failed_payment"
    weighted = sum(one.contribution_hundredths for one in health.lines)
    assert weighted + cap.hundredths == 3_500
    assert weighted > 3_500


def test_a_silent_account_decays_as_time_passes_without_a_new_signal() -> None:
    # Given a CSM meeting and a seat report today
    signals = [signal(SignalKind.TOUCH, 0, kind="meeting_booked"), usage(0, 10, 10)]
    # When evaluated now, in 45 days and in 100 days
    now, later, much_later = (evaluate(MODEL, signals, NOW + timedelta(days=d)) for d in (0, 45, 100))
    # Then the touch ages (scored 100, then 70 at 45 days, 10 past 90) and the usage drops out after 30 days
    assert line(now, "days_since_touch").score == 100
    assert line(later, "days_since_touch").value == Decimal(45)
    assert line(later, "seat_utilization").na
    assert line(much_later, "days_since_touch").score == 10
    assert now.score_hundredths is not None
    assert much_later.score_hundredths is not None
    assert much_later.score_hundredths < now.score_hundredths


def test_tickets_count_open_high_severity_and_the_median_time_to_resolve() -> None:
    signals = [
        signal(SignalKind.TICKET_OPENED, 10, ticket_id="zendesk:1", priority="high"),
        signal(SignalKind.TICKET_SOLVED, 9, ticket_id="zendesk:1"),
        signal(SignalKind.TICKET_OPENED, 5, ticket_id="zendesk:2", priority="urgent"),
        signal(SignalKind.TICKET_OPENED, 4, ticket_id="zendesk:3", priority="low"),
        signal(SignalKind.TICKET_OPENED, 3, ticket_id="zendesk:4", priority="normal"),
        signal(SignalKind.TICKET_SOLVED, 2, ticket_id="zendesk:4"),
    ]
    health = evaluate(MODEL, signals, NOW)
    assert line(health, "open_tickets").value == Decimal(2)
    assert line(health, "high_severity_tickets").value == Decimal(1)
    assert line(health, "hours_to_resolve").value == Decimal("24.00")  # 24 h and 24 h


def test_a_ticket_reopened_after_it_was_solved_is_open_again_and_resolves_once_from_its_reopening() -> None:
    # Given an urgent ticket opened ten days ago, solved nine days ago, then reopened five days ago
    reopened = [
        signal(SignalKind.TICKET_OPENED, 10, ticket_id="zendesk:1", priority="urgent"),
        signal(SignalKind.TICKET_SOLVED, 9, ticket_id="zendesk:1"),
        signal(SignalKind.TICKET_OPENED, 5, n=1, ticket_id="zendesk:1", priority="urgent"),
    ]
    # When its health is evaluated
    health = evaluate(MODEL, reopened, NOW)
    # Then it is open (and high severity), and its first solving is not a resolution
    assert line(health, "open_tickets").value == Decimal(1)
    assert line(health, "high_severity_tickets").value == Decimal(1)
    assert line(health, "hours_to_resolve").na
    # And when it is solved again a day ago (and a second time without a reopening), it is closed and counted
    # once, from its reopening (4 days)
    solved_again = [
        *reopened,
        signal(SignalKind.TICKET_SOLVED, 1, n=1, ticket_id="zendesk:1"),
        signal(SignalKind.TICKET_SOLVED, 0.5, n=2, ticket_id="zendesk:1"),
    ]
    health = evaluate(MODEL, solved_again, NOW)
    assert line(health, "open_tickets").value == Decimal(0)
    assert line(health, "hours_to_resolve").value == Decimal("96.00")


def test_a_subscription_status_stands_past_the_window_but_a_downgrade_is_news_only_within_it() -> None:
    # Given a subscription made active 400 days ago at 10 seats, and cut to 6 seats 380 days ago
    signals = [
        signal(SignalKind.SUBSCRIPTION, 400, n=1, subscription_id="sub_1", status="active", quantity=10),
        signal(SignalKind.SUBSCRIPTION, 380, n=2, subscription_id="sub_1", status="active", quantity=6),
    ]
    # When evaluated now (the measure's window is 365 days)
    status = line(evaluate(MODEL, signals, NOW), "subscription_status")
    # Then it is still active (not NA), and the old downgrade no longer counts
    assert (status.value, status.score) == ("active", 100)


def test_a_downgrade_is_read_from_the_quantity_falling_and_a_cancellation_caps_the_score() -> None:
    upgraded = [
        signal(SignalKind.SUBSCRIPTION, 20, n=1, subscription_id="sub_1", status="active", quantity=10),
        signal(SignalKind.SUBSCRIPTION, 5, n=2, subscription_id="sub_1", status="active", quantity=6),
    ]
    assert line(evaluate(MODEL, upgraded, NOW), "subscription_status").value == "downgraded"
    canceled = [*healthy_account(), signal(SignalKind.SUBSCRIPTION, 1, subscription_id="sub_1", status="canceled")]
    health = evaluate(MODEL, canceled, NOW)
    assert (health.score_hundredths, health.band, health.adjustments[0].cap) == (2_000, "red", "canceled")


def test_no_signal_at_all_is_no_score_and_every_measure_na() -> None:
    health = evaluate(MODEL, [], NOW)
    assert (health.score_hundredths, health.band) == (None, None)
    assert len(health.na) == len(MODEL.measures)


def test_the_trend_compares_the_same_log_7_and_30_days_before() -> None:
    # Given usage that fell from full to a third of the seats over the month
    signals = [usage(45, 20, 20, features=6), usage(8, 18, 20, features=6), usage(1, 6, 20, features=6)]
    health = evaluate(MODEL, signals, NOW)
    trend = trend_of(MODEL, signals, health)
    # Then the score is down on both horizons
    assert trend.d7_hundredths is not None
    assert trend.d7_hundredths < 0
    assert trend.d30_hundredths is not None
    assert trend.d30_hundredths < 0
    assert trend.direction == "down"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {
                "measures": [
                    {
                        "id": "nps",
                        "group": "sentiment",
                        "weight": 0,
                        "value": "nps",
                        "thresholds": [{"at_least": 9, "score": 100}],
                        "otherwise": 0,
                    }
                ]
            },
            'measure "nps": weight',
        ),
        (
            {
                "measures": [
                    {
                        "id": "nps",
                        "group": "sentiment",
                        "weight": 1,
                        "value": "nps",
                        "thresholds": [{"at_least": 5, "score": 50}, {"at_least": 9, "score": 100}],
                        "otherwise": 0,
                    }
                ]
            },
            'measure "nps": thresholds must be listed from the highest at_least down',
        ),
        (
            {
                "measures": [
                    {
                        "id": "nps",
                        "group": "sentiment",
                        "weight": 1,
                        "value": "nps",
                        "thresholds": [{"at_least": 9, "score": 100}, {"at_most": 3, "score": 0}],
                        "otherwise": 0,
                    }
                ]
            },
            "mix at_least and at_most",
        ),
        (
            {
                "measures": [
                    {
                        "id": "plan",
                        "group": "financial",
                        "weight": 1,
                        "value": "subscription_status",
                        "thresholds": [{"at_least": 1, "score": 1}],
                        "otherwise": 0,
                    }
                ]
            },
            'measure "plan": subscription_status is scored by categories',
        ),
        (
            {"caps": [{"id": "c", "when": [{"measure": "nope", "score_at_most": 1}], "score_at_most": 1}]},
            'cap "c": measure "nope" is not a measure',
        ),
        ({"bands": {"green_from": 40, "yellow_from": 40}}, "green_from must be above yellow_from"),
        (
            {
                "measures": [
                    {
                        "id": "onboarding",
                        "group": "onboarding",
                        "weight": 1,
                        "value": "milestones_on_time",
                        "thresholds": [{"at_least": 80, "score": 100}],
                        "otherwise": 0,
                    }
                ]
            },
            'measure "onboarding": milestones_on_time is a share from 0 to 1 (0.8 is 80%); a threshold of 80 is '
            "outside it",
        ),
        (
            {
                "csat_max": 5,
                "measures": [
                    {
                        "id": "satisfaction",
                        "group": "sentiment",
                        "weight": 1,
                        "value": "csat",
                        "thresholds": [{"at_least": 9, "score": 100}, {"at_least": 4, "score": 50}],
                        "otherwise": 0,
                    }
                ],
            },
            'measure "satisfaction": csat answers run from 0 to csat_max (5); a threshold of 9 is outside it',
        ),
        (
            {
                "csat_answer_refs": [],
                "measures": [
                    {
                        "id": "satisfaction",
                        "group": "sentiment",
                        "weight": 1,
                        "value": "csat",
                        "thresholds": [{"at_least": 4, "score": 100}],
                        "otherwise": 0,
                    }
                ],
            },
            'measure "satisfaction": csat reads the answers of csat_answer_refs, and it lists none',
        ),
        ({"csat_answer_refs": ["csat", "nps"]}, 'csat_answer_refs: "nps" is an NPS answer ref too'),
        (
            {"sponsor_engagement_kinds": ["meeting_booked", "track"]},
            "sponsor_engagement_kinds: track cannot be a sponsor's engagement",
        ),
    ],
)
def test_a_bad_model_is_refused_naming_the_measure(change: dict[str, Any], problem: str) -> None:
    document = MODEL.model_dump(mode="json") | change
    with pytest.raises(InvalidHealthModel) as refused:
        parse_health_model(document)
    assert problem in str(refused.value)


# ------------------------------------------------------------------------------------------------ properties

kinds = st.sampled_from([k for k in SignalKind if k is not SignalKind.CARRIED])  # carried: copies, no event's
SPONSORS = ["vp@kestrel-labs.io", "cto@kestrel-labs.io", None]


def plan_values(draw: st.DrawFn) -> dict[str, Any]:
    """A success plan as the recorder keeps it: two handoffs' plans, milestones due around the moment."""
    due = [(NOW + timedelta(days=draw(st.integers(-120, 60)))).date() for _ in range(draw(st.integers(0, 4)))]
    return {
        "handoff_id": draw(st.sampled_from(["h1", "h2"])),
        "starts_on": None,
        "sponsor_email": draw(st.sampled_from(SPONSORS)),
        "milestones": [
            {"milestone_id": f"m{i}", "name": f"M{i}", "owner": "csm", "due_on": on.isoformat()}
            for i, on in enumerate(due)
        ],
    }


@st.composite
def signals(draw: st.DrawFn) -> list[Signal]:
    made: list[Signal] = []
    for n in range(draw(st.integers(0, 25))):
        kind = draw(kinds)
        days = draw(st.integers(0, 400))
        values: dict[str, Any] = {
            SignalKind.USAGE: lambda: {
                "active_users": draw(st.integers(0, 500)),
                "licensed_seats": draw(st.integers(0, 500)),
                "features": {f"f{i}": draw(st.integers(0, 5)) for i in range(draw(st.integers(0, 8)))},
            },
            SignalKind.TICKET_OPENED: lambda: {
                "ticket_id": f"t{draw(st.integers(0, 5))}",
                "priority": draw(st.sampled_from(["high", "low", None])),
            },
            SignalKind.TICKET_SOLVED: lambda: {"ticket_id": f"t{draw(st.integers(0, 5))}"},
            SignalKind.NPS: lambda: (
                {"nps": draw(st.integers(0, 10))} | ({"csat": draw(st.integers(0, 5))} if draw(st.booleans()) else {})
            ),
            SignalKind.CSAT: lambda: {"csat": draw(st.integers(0, 5))},
            SignalKind.PAYMENT_SUCCEEDED: lambda: {"invoice_id": "i"},
            SignalKind.PAYMENT_FAILED: lambda: {"invoice_id": "i"},
            SignalKind.SUBSCRIPTION: lambda: {
                "subscription_id": "s",
                "status": draw(st.sampled_from(["active", "past_due", "canceled", "trialing"])),
                "quantity": draw(st.none() | st.integers(0, 50)),
            },
            SignalKind.TOUCH: lambda: (
                {"kind": "meeting_booked"} | ({"email": email} if (email := draw(st.sampled_from(SPONSORS))) else {})
            ),
            SignalKind.ENGAGED: lambda: {
                "kind": draw(st.sampled_from(["webinar_attended", "email_click"])),
                "email": draw(st.sampled_from(SPONSORS[:2])),
            },
            SignalKind.SUCCESS_PLAN: lambda: plan_values(draw),
            SignalKind.MILESTONE_COMPLETED: lambda: {
                "handoff_id": draw(st.sampled_from(["h1", "h2"])),
                "milestone_id": f"m{draw(st.integers(0, 4))}",
            },
            SignalKind.FEATURE_REQUESTED: lambda: {"feature": draw(st.sampled_from(["sso", "api", "dark_mode"]))},
        }[kind]()
        made.append(Signal(f"s{n}", kind, NOW - timedelta(days=days, minutes=n), values))
    return made


@settings(max_examples=200, deadline=None)
@given(signals())
def test_the_breakdown_sums_exactly_and_na_measures_renormalize(log: list[Signal]) -> None:
    health = evaluate(MODEL, log, NOW)
    if health.score_hundredths is None:
        assert health.onboarding or len(health.na) == len(MODEL.measures)
        assert health.coverage < MODEL.onboarding.min_coverage or len(health.na) == len(MODEL.measures)
        return
    assert 0 <= health.score_hundredths <= 10_000
    total = sum(one.contribution_hundredths for one in health.lines) + sum(a.hundredths for a in health.adjustments)
    assert total == health.score_hundredths
    scored = [one for one in health.lines if not one.na]
    exact = Decimal(sum(one.weight * (one.score or 0) for one in scored) * 100) / sum(one.weight for one in scored)
    if not health.adjustments:
        assert abs(Decimal(health.score_hundredths) - exact) <= Decimal("0.5")


@settings(max_examples=100, deadline=None)
@given(signals(), st.randoms(use_true_random=False), st.integers(0, 60))
def test_the_score_is_a_function_of_the_log_and_the_moment_only(log: list[Signal], order: Any, days_back: int) -> None:
    # Given the log in any order, and with signals after the moment added
    at = NOW - timedelta(days=days_back)
    shuffled = list(log)
    order.shuffle(shuffled)
    later = [Signal(f"later{i}", s.kind, at + timedelta(days=1, minutes=i), s.values) for i, s in enumerate(log)]
    # Then the health at that moment is the same
    assert evaluate(MODEL, shuffled + later, at) == evaluate(MODEL, log, at)
