"""Feedback kept once under its key, ARR from the trailing year's payments, and requests ranked by the ARR of the
distinct accounts asking; product analytics and launch adoption from usage; campaign audiences by band and
NPS, suppressed accounts kept out of promotions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.success.campaigns import AccountStanding, Audience, CampaignKind, audience_of
from shared.success.feedback import Feedback, FeedbackKind, arr_of, feedback_key, ranked
from shared.success.product import Launch, adoption_of, analytics_of
from shared.success.signals import Signal, SignalKind

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def paid(days_ago: int, minor: int, currency: str = "USD", n: int = 0) -> Signal:
    values = {"invoice_id": f"in_{days_ago}_{n}", "amount_minor": minor, "currency": currency}
    return Signal(f"p-{days_ago}-{n}", SignalKind.PAYMENT_SUCCEEDED, NOW - timedelta(days=days_ago), values)


def feedback(tenant: str, feature: str, text: str = "please", kind: FeedbackKind = FeedbackKind.REQUEST) -> Feedback:
    return Feedback(feedback_key(tenant, feature, kind, text, None), tenant, feature, kind, text, "call", NOW)


def test_arr_is_the_trailing_years_payments_in_the_company_currency() -> None:
    # Given twelve monthly payments of 49.00, one from 400 days ago, and one in euros
    signals = [paid(30 * m + 1, 4_900, n=m) for m in range(12)] + [paid(400, 99_900), paid(5, 1_000, "EUR")]
    arr = arr_of(signals, NOW, "USD")
    assert (arr.minor, arr.foreign_payments) == (12 * 4_900, 1)


def test_the_same_feedback_has_one_key_whatever_its_spacing_or_case() -> None:
    one = feedback_key("a", "sso", FeedbackKind.REQUEST, "Please add  SAML", None)
    assert one == feedback_key("a", "sso", FeedbackKind.REQUEST, "please add saml", None)
    assert one != feedback_key("b", "sso", FeedbackKind.REQUEST, "please add saml", None)
    assert feedback_key("a", "sso", FeedbackKind.REQUEST, "x", "fb-1") == "id:fb-1"


def test_requests_rank_by_the_arr_of_the_distinct_accounts_asking() -> None:
    # Given SSO asked for by two small accounts (three times), exports by one large account, and a bug report
    items = [
        feedback("small-1", "sso"),
        feedback("small-1", "sso", "again please"),
        feedback("small-2", "sso"),
        feedback("large", "exports"),
        feedback("large", "sso", "broken", FeedbackKind.BUG),
    ]
    arr = {"small-1": 60_000, "small-2": 50_000, "large": 1_200_000}
    # When ranked
    ranking = ranked(items, arr)
    # Then the large account's one request outranks the small accounts' three, and bugs are left out
    assert [(d.feature, d.mentions, d.account_count, d.weighted_minor) for d in ranking] == [
        ("exports", 1, 1, 1_200_000),
        ("sso", 3, 2, 110_000),
    ]
    assert ranking[1].accounts == [("small-1", 60_000), ("small-2", 50_000)]
    assert [d.kind for d in ranked(items, arr, FeedbackKind.BUG)] == [FeedbackKind.BUG]


def usage(days_ago: int, features: dict[str, int], active: int = 5, seats: int = 10, api: int = 0) -> Signal:
    values: dict[str, Any] = {"active_users": active, "licensed_seats": seats, "api_calls": api, "features": features}
    return Signal(f"u-{days_ago}", SignalKind.USAGE, NOW - timedelta(days=days_ago), values)


def test_analytics_count_feature_use_adoption_trend_and_seats() -> None:
    signals = [
        usage(200, {"legacy": 5}),  # used long ago only
        usage(20, {"reports": 3, "sso": 0}, active=6, api=100),
        usage(2, {"reports": 4, "alerts": 1}, active=8, api=50),
    ]
    analytics = analytics_of(signals, NOW)
    assert [(f.feature, f.events) for f in analytics.features] == [("reports", 7), ("alerts", 1)]
    assert analytics.adoption == Decimal("0.6667")  # 2 of the 3 features ever used
    assert [n for _, n in analytics.active_users] == [6, 8]
    assert (analytics.licensed_seats, analytics.seat_utilization, analytics.api_calls) == (10, Decimal("0.8000"), 150)


def test_a_launch_is_adopted_by_the_targets_that_used_the_feature_since_it() -> None:
    launch = Launch("l-1", "sso", NOW.date() - timedelta(days=10), ("green",), "SSO", NOW, "", ("a", "b", "c"))
    logs = {
        "a": [usage(5, {"sso": 2})],
        "b": [usage(15, {"sso": 2})],  # before the launch
        "c": [usage(5, {"reports": 2})],
    }
    adoption = adoption_of(launch, logs)
    assert (adoption.targeted, adoption.adopted, adoption.rate) == (3, ["a"], Decimal("0.3333"))
    assert launch.launch_date == date(2026, 11, 20)


def test_a_promotion_never_reaches_a_suppressed_account_and_advocates_are_green_promoters() -> None:
    accounts = [
        AccountStanding("promoter", "green", 10, suppressed=False),
        AccountStanding("passive", "green", 8, suppressed=False),
        AccountStanding("at-risk", "red", 3, suppressed=True),
        AccountStanding("silent", "yellow", None, suppressed=False),
    ]
    assert audience_of(Audience(advocates_only=True), CampaignKind.ADVOCACY, accounts) == ["promoter"]
    assert audience_of(Audience(bands=("green",), min_nps=7), CampaignKind.UPSELL, accounts) == ["passive", "promoter"]
    assert audience_of(Audience(bands=("red",)), CampaignKind.UPSELL, accounts) == []
    assert audience_of(Audience(bands=("red",)), CampaignKind.RETENTION, accounts) == ["at-risk"]
