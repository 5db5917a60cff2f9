"""The performance funnel is a chain (Visitor -> Lead -> MQL -> SQL -> Opportunity -> Customer, the lifecycle's
order): a jump passes through the stages it skips, so no step's rate exceeds 1; Won (won deals and first
payments, several per customer) is shown beside it, not chained to Customer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from shared.attribution.funnel_counts import StageCounts
from shared.attribution.journeys import Model
from shared.attribution.ports import Overall
from shared.attribution.reports import MonthRange, performance_view

MONTHS = MonthRange.of(date(2026, 12, 3), "2026-01", "2026-12")


def view(funnel: dict[str, StageCounts], conversions: int) -> dict[str, dict]:
    found = performance_view(
        MONTHS, Model.LINEAR, funnel, {}, {"2026-12": Overall(22_000, conversions, 22_000, conversions)}, {}, [], "USD"
    )
    return {s["stage"]: s for s in found["funnel"]}


def test_a_lead_who_jumped_to_customer_entered_the_stages_between() -> None:
    # Given a visitor who became a Lead and then a Customer straight away (a won deal), and three conversions
    stages = view({"Visitor": StageCounts(1), "Lead": StageCounts(1), "Customer": StageCounts(1)}, conversions=3)
    # Then MQL, SQL and Opportunity were entered on the way, and every step converts at 1
    assert [stages[s]["entered"] for s in ("Visitor", "Lead", "MQL", "SQL", "Opportunity", "Customer")] == [1] * 6
    assert [stages[s]["conversion_to_next"] for s in ("Visitor", "Lead", "MQL", "SQL", "Opportunity")] == ["1.0000"] * 5
    # And Won counts the conversions, beside the chain: no Customer -> Won rate
    assert stages["Won"]["entered"] == 3
    assert stages["Customer"]["conversion_to_next"] is None


def test_no_rate_of_the_chain_exceeds_one() -> None:
    # Given more entries into later stages than into earlier ones (jumps, and leads of months before the range)
    funnel = {
        "Visitor": StageCounts(10),
        "Lead": StageCounts(4),
        "MQL": StageCounts(2),
        "SQL": StageCounts(5),
        "Opportunity": StageCounts(1),
        "Customer": StageCounts(3),
    }
    stages = view(funnel, conversions=7)
    rates = [stages[s]["conversion_to_next"] for s in ("Visitor", "Lead", "MQL", "SQL", "Opportunity")]
    assert all(Decimal(r) <= 1 for r in rates), rates
    assert [stages[s]["entered"] for s in ("Visitor", "Lead", "MQL", "SQL", "Opportunity", "Customer")] == [
        10,
        5,
        5,
        5,
        3,
        3,
    ]
