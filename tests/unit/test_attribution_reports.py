"""What the attribution API answers, from totals: month ranges, fractional deals, ratios that cannot be
computed said as null with a note, and the funnel's rates and velocity."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from shared.attribution.funnel_counts import StageCounts
from shared.attribution.journeys import Model
from shared.attribution.ports import Overall, Totals
from shared.attribution.reports import CampaignResult, MonthRange, models_of, performance_view, roi_view
from shared.attribution.revenue import LifetimeValue
from shared.errors import InvalidInput

TODAY = date(2026, 11, 30)


def test_months_default_to_the_last_twelve_and_take_days_as_their_month() -> None:
    assert MonthRange.of(TODAY, None, None).months[0] == "2025-12"
    assert MonthRange.of(TODAY, None, None).months[-1] == "2026-11"
    assert MonthRange.of(TODAY, "2026-09-14", "2026-11-02").months == ("2026-09", "2026-10", "2026-11")
    assert MonthRange.of(TODAY, "2025-11", "2026-01").months == ("2025-11", "2025-12", "2026-01")


@pytest.mark.parametrize(
    ("start", "end", "problem"),
    [
        ("2026-11", "2026-09", "after to"),
        ("2020-01", "2026-11", "36 at most"),
        ("2026-02-31", None, "not a day"),
        ("2026-13", None, "from"),
        ("2026-Q4", None, "from"),
    ],
)
def test_bad_months_are_refused_naming_the_parameter(start: str, end: str | None, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        MonthRange.of(TODAY, start, end)


def test_models_are_named_or_all() -> None:
    assert models_of(None) == tuple(Model)
    assert models_of("all") == tuple(Model)
    assert models_of("w_shaped") == (Model.W_SHAPED,)
    with pytest.raises(InvalidInput, match="not one of first_touch"):
        models_of("w-shaped")


def test_roi_over_no_spend_or_no_customers_is_null_and_says_why() -> None:
    months = MonthRange.of(TODAY, "2026-11", "2026-11")
    view = roi_view("c", months, 0, Totals(), {}, (Model.LINEAR,), "USD", {"Lead": 0}, customers={})
    figures = view["models"]["linear"]
    assert (figures["roi"], figures["roas"], figures["cac"]) == (None, None, None)
    assert view["cost_per_lead"] is None
    assert any("no spend" in note for note in view["notes"])
    assert any("no conversion" in note for note in view["notes"])


def test_roi_cac_and_cost_per_lead_from_spend_credits_and_funnel() -> None:
    months = MonthRange.of(TODAY, "2026-11", "2026-11")
    totals = Totals({Model.LINEAR: 900_000}, {Model.LINEAR: 1_500_000}, touches=4, conversions=2)
    customers = {Model.LINEAR: 1_500_000}
    view = roi_view(
        "c", months, 300_000, totals, {Model.LINEAR: 50_000}, (Model.LINEAR,), "USD", {"Lead": 4}, customers=customers
    )
    assert view["models"]["linear"] == {
        "revenue": "9000.00",
        "customers": "1.500000",
        "roi": "2.0000",
        "roas": "3.0000",
        "cac": "2000.00",
        "pipeline": "500.00",
        "payback_months": None,
        "ltv_to_cac": None,
    }
    assert view["cost_per_lead"] == "750.00"


def test_cac_divides_by_the_new_customers_not_by_the_deals() -> None:
    # Given a campaign credited two whole deals of which one was a customer's first (the other its later deal)
    months = MonthRange.of(TODAY, "2026-11", "2026-11")
    totals = Totals({Model.FIRST_TOUCH: 1_800_000}, {Model.FIRST_TOUCH: 2_000_000}, touches=3, conversions=2)
    # When ROI is asked with a spend of 3000.00 and one new customer
    view = roi_view(
        "c", months, 300_000, totals, {}, (Model.FIRST_TOUCH,), "USD", {}, customers={Model.FIRST_TOUCH: 1_000_000}
    )
    # Then the customers are 1 and CAC is the whole spend; the revenue is both deals'
    figures = view["models"]["first_touch"]
    assert (figures["customers"], figures["cac"], figures["revenue"]) == ("1.000000", "3000.00", "18000.00")


def test_a_campaign_credited_only_customers_later_deals_has_revenue_and_no_cac() -> None:
    months = MonthRange.of(TODAY, "2026-11", "2026-11")
    totals = Totals({Model.LINEAR: 600_000}, {Model.LINEAR: 500_000}, touches=1, conversions=1)
    view = roi_view("c", months, 300_000, totals, {}, (Model.LINEAR,), "USD", {}, customers={})
    assert (view["models"]["linear"]["customers"], view["models"]["linear"]["cac"]) == ("0.000000", None)
    assert view["models"]["linear"]["roas"] == "2.0000"
    assert any("no customer's first" in note for note in view["notes"])


def test_roi_prices_the_campaigns_customers_lifetime_against_each_models_cac() -> None:
    # Given a campaign's customers worth 250.00 a month, one churn in 20 customer-months (LTV 5000.00)
    months = MonthRange.of(TODAY, "2026-11", "2026-11")
    totals = Totals({Model.LINEAR: 900_000}, {Model.LINEAR: 1_500_000}, touches=4, conversions=2)
    ltv = LifetimeValue(4, 3, 1, 0, Decimal(20), 25_000, Decimal("0.0500"), 500_000)
    # When ROI is asked with a spend of 3000.00 (CAC 2000.00 under linear)
    view = roi_view(
        "c", months, 300_000, totals, {}, (Model.LINEAR,), "USD", {}, ltv, customers={Model.LINEAR: 1_500_000}
    )
    # Then LTV, ARPA and churn are shown, and payback is CAC / ARPA = 8.00 months, LTV:CAC 2.50
    assert (view["ltv"], view["arpa"], view["monthly_churn"]) == ("5000.00", "250.00", "0.0500")
    assert view["ltv_customers"] == {
        "paid": 4,
        "paying": 3,
        "churned": 1,
        "customer_months": "20.00",
        "other_currencies": 0,
    }
    assert (view["models"]["linear"]["payback_months"], view["models"]["linear"]["ltv_to_cac"]) == ("8.00", "2.50")


def test_the_funnel_has_rates_velocity_and_the_lead_velocity_rate() -> None:
    months = MonthRange.of(TODAY, "2026-10", "2026-11")
    funnel = {"Visitor": StageCounts(100), "Lead": StageCounts(20, 20 * 86_400 * 3, 20), "MQL": StageCounts(5)}
    monthly = {"2026-10": {"Lead": StageCounts(8)}, "2026-11": {"Lead": StageCounts(12)}}
    campaigns = [CampaignResult("a", 4000, 1000), CampaignResult("b", 4000, 3000), CampaignResult("free", 10, 0)]
    view = performance_view(
        months, Model.LINEAR, funnel, monthly, {"2026-11": Overall(9000, 2, 4000, 1)}, {}, campaigns, "USD"
    )
    stages = {s["stage"]: s for s in view["funnel"]}
    assert stages["Visitor"]["conversion_to_next"] == "0.2000"
    assert stages["Lead"]["average_days_in_previous_stage"] == "3.00"
    assert stages["Won"]["entered"] == 2
    assert view["lead_velocity_rate"]["rate"] == "0.5000"
    assert [c["campaign_id"] for c in view["top_campaigns_by_roi"]] == ["a", "b"]
    assert view["marketing_influenced_revenue"] == "40.00"
