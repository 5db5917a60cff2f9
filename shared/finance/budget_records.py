"""The budget as the finance store keeps it, and back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.finance.budgets import Budget, BudgetLine
from shared.finance.money import Money, format_amount, parse_amount
from shared.finance.periods import parse_period


def budget_record(budget: Budget) -> dict[str, Any]:
    """The budget as stored: the PUT body's shape with the period, amounts as decimal strings."""
    return {
        "period": str(budget.period),
        "currency": budget.currency,
        "lines": [
            {
                "department": line.department,
                "channel": line.channel,
                "campaign_id": line.campaign_id,
                "amount": format_amount(Money(line.amount, budget.currency)),
            }
            for line in budget.lines
        ],
        "thresholds": list(budget.thresholds),
    }


def budget_from_record(record: Mapping[str, Any]) -> Budget:
    """The budget a `budget_record` holds (its vocabulary is trusted: it was checked when stored)."""
    code = str(record["currency"])
    return Budget(
        period=parse_period(record["period"]),
        currency=code,
        lines=tuple(
            BudgetLine(
                department=str(line["department"]),
                channel=line.get("channel"),
                campaign_id=line.get("campaign_id"),
                amount=parse_amount(line["amount"], code, field="amount").minor,
            )
            for line in record["lines"]
        ),
        thresholds=tuple(record["thresholds"]),
    )
