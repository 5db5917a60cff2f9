"""The `GET /budget/{period}` body of budget figures: money as decimal strings, percentages as decimal
strings with 2 places."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from shared.finance.budget_figures import BudgetFigures, Figures
from shared.finance.money import Money, format_amount

BudgetView = dict[str, Any]


def _money(minor: int, code: str) -> str:
    return format_amount(Money(minor, code))


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _figures_view(figures: Figures, code: str) -> dict[str, Any]:
    return {
        "budget": _money(figures.budget, code),
        "actual": _money(figures.actual, code),
        "remaining": _money(figures.remaining, code),
        "consumption_pct": _pct(figures.consumption_pct),
        "variance": _money(figures.variance, code),
        "variance_pct": _pct(figures.variance_pct),
        "forecast": _money(figures.forecast, code),
        "forecast_variance": _money(figures.forecast_variance, code),
        "forecast_pct": _pct(figures.forecast_pct),
    }


def budget_view(figures: BudgetFigures) -> BudgetView:
    """The `GET /budget/{period}` body: the contract's `period`, `currency`, `totals`, `lines` and
    `departments`, extended with `as_of`, `thresholds`, `forecast_method` (run_rate, trend, final, budget,
    rollup) and its `forecast_basis` (days elapsed, days in the period, the daily rate extrapolated), each
    figure's `forecast_pct`, each department's unbudgeted actual and forecast, the total `unbudgeted`, and a
    rollup's `months`. Money as decimal strings of the company currency, percentages as decimal strings with
    2 places (null when the budget is zero)."""
    code = figures.currency
    view: BudgetView = {
        "period": str(figures.period),
        "currency": code,
        "as_of": figures.as_of.isoformat(),
        "thresholds": list(figures.thresholds),
        "forecast_method": figures.forecast_method.value,
        "forecast_basis": {
            "days_elapsed": figures.days_elapsed,
            "days_in_period": figures.days_in_period,
            "daily_rate": None if figures.daily_rate is None else _money(figures.daily_rate, code),
        },
        "totals": _figures_view(figures.totals, code),
        "lines": [
            {
                "department": line.department,
                "channel": line.channel,
                "campaign_id": line.campaign_id,
                **_figures_view(line.figures, code),
            }
            for line in figures.lines
        ],
        "departments": [
            {
                "department": dept.department,
                **_figures_view(dept.figures, code),
                "unbudgeted_actual": _money(dept.unbudgeted.actual, code),
                "unbudgeted_forecast": _money(dept.unbudgeted.forecast, code),
            }
            for dept in figures.departments
        ],
        "unbudgeted": {
            "actual": _money(figures.unbudgeted.actual, code),
            "forecast": _money(figures.unbudgeted.forecast, code),
        },
    }
    if figures.months:
        view["months"] = [{"period": str(p), "forecast_method": m.value} for p, m in figures.months]
    return view
