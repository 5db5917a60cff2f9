"""Customer revenue and lifetime value (pure): subscriptions folded in any order, trials that are not revenue,
churn, and LTV = ARPA / monthly churn with payback months = CAC / ARPA, worked by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import given
from hypothesis import strategies as st

from shared.attribution.revenue import CustomerRevenue, SubscriptionChange, lifetime_value

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
_ids = itertools.count(1)


def change(
    status: str, mrr: int | None, days_ago: float, sub: str = "sub_1", currency: str = "USD"
) -> SubscriptionChange:
    return SubscriptionChange(
        "stripe#cus_1", sub, status, mrr, currency, NOW - timedelta(days=days_ago), f"e{next(_ids)}"
    )


def customer(key: str, *changes: SubscriptionChange) -> CustomerRevenue:
    revenue = CustomerRevenue(key)
    for each in changes:
        revenue = revenue.folded(each)
    return revenue


def test_a_trial_is_not_revenue_and_paying_starts_when_it_converts() -> None:
    # Given a trial of a 100.00/month plan
    trial = customer("c", change("trialing", 10000, 30))
    assert not trial.paying
    assert trial.first_paid_at is None
    # When it converts to active
    paid = trial.folded(change("active", 10000, 16))
    # Then it pays from the conversion on, at its MRR
    assert paid.paying
    assert paid.first_paid_at == NOW - timedelta(days=16)
    assert paid.monthly_minor == 10000
    assert paid.churned_at is None


def test_a_cancellation_churns_the_customer_keeping_what_it_last_paid() -> None:
    revenue = customer("c", change("active", 10000, 90), change("active", 15000, 40), change("canceled", 15000, 10))
    assert not revenue.paying
    assert revenue.churned_at == NOW - timedelta(days=10)
    assert revenue.monthly_minor == 15000
    assert revenue.first_paid_at == NOW - timedelta(days=90)


def test_a_customer_with_another_paying_subscription_has_not_churned() -> None:
    revenue = customer(
        "c", change("active", 10000, 90), change("active", 3000, 50, sub="sub_2"), change("canceled", 10000, 10)
    )
    assert revenue.paying
    assert revenue.churned_at is None
    assert revenue.monthly_minor == 3000


def test_an_older_change_arriving_late_does_not_undo_a_later_one_but_still_counts_as_paid() -> None:
    # Given the cancellation arrives before the activation it followed
    revenue = customer("c", change("canceled", 10000, 10), change("active", 10000, 60))
    # Then the subscription is canceled, and the customer paid from the activation until then: churned
    assert not revenue.paying
    assert revenue.first_paid_at == NOW - timedelta(days=60)
    assert revenue.churned_at == NOW - timedelta(days=10)


def test_a_redelivered_change_changes_nothing() -> None:
    once = customer("c", change("active", 10000, 5))
    again = once.folded(
        SubscriptionChange("stripe#cus_1", "sub_1", "active", 10000, "USD", NOW - timedelta(days=5), "x")
    )
    assert again is once


STATUSES = st.sampled_from(["trialing", "active", "past_due", "canceled", "unpaid", "incomplete"])


@given(
    st.lists(
        st.tuples(STATUSES, st.one_of(st.none(), st.integers(0, 10**7)), st.sampled_from(["sub_1", "sub_2"])),
        min_size=1,
        max_size=12,
    ),
    st.randoms(),
)
def test_the_state_is_the_same_whatever_order_the_changes_arrive_in(raw: list, rng) -> None:  # type: ignore[no-untyped-def]
    changes = [
        SubscriptionChange("k", sub, status, mrr, "USD", NOW - timedelta(hours=n), f"e{n}")
        for n, (status, mrr, sub) in enumerate(raw)
    ]
    shuffled = list(changes)
    rng.shuffle(shuffled)
    assert customer("k", *changes).subscriptions == customer("k", *shuffled).subscriptions


def test_lifetime_value_by_hand() -> None:
    # Given three customers billed in USD:
    # A pays 100.00 a month, for 180 days now; B paid 50.00 for 60 days and left 30 days ago; C pays 200.00 for 30 days
    a = customer("A", change("active", 10000, 180))
    b = customer("B", change("active", 5000, 90), change("canceled", 5000, 30))
    c = customer("C", change("active", 20000, 30))
    ltv = lifetime_value([a, b, c], "USD", NOW)
    # Then ARPA = (100 + 50 + 200) / 3 = 116.67 (half to even, in cents)
    assert ltv.arpa_minor == 11667
    # And 1 churn in 270 customer-days = 270 / 30.4375 = 8.8706... customer-months
    months = Decimal(270) / (Decimal("365.25") / 12)
    assert ltv.customer_months == months
    assert ltv.monthly_churn == (1 / months).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
    assert ltv.monthly_churn == Decimal("0.1127")
    # And LTV = ARPA / churn = 11667 cents x 8.87064 = 103493.7 cents: 1034.94
    assert ltv.ltv_minor == 103494
    assert (ltv.customers, ltv.paying, ltv.churned) == (3, 2, 1)
    # And with a CAC of 700.00: payback 700 / 116.67 = 6.00 months, LTV:CAC 1.48
    assert ltv.payback_months(70000) == Decimal("6.00")
    assert ltv.ltv_to_cac(70000) == Decimal("1.48")


def test_before_anyone_churns_ltv_is_not_estimated_and_says_why() -> None:
    ltv = lifetime_value([customer("A", change("active", 10000, 45))], "USD", NOW)
    assert ltv.arpa_minor == 10000
    assert ltv.ltv_minor is None
    assert ltv.monthly_churn is None
    assert "cannot be estimated yet" in ltv.notes[0]
    assert ltv.payback_months(25000) == Decimal("2.50")
    assert ltv.ltv_to_cac(25000) is None


def test_customers_billed_in_another_currency_or_never_paying_are_left_out() -> None:
    euro = customer("E", change("active", 9000, 45, currency="EUR"))
    trial = customer("T", change("trialing", 9000, 45))
    ltv = lifetime_value([euro, trial], "USD", NOW)
    assert ltv.customers == 0
    assert ltv.other_currencies == 1
    assert ltv.arpa_minor is None
    assert ltv.payback_months(10000) is None
    assert any("another currency" in note for note in ltv.notes)
