"""The figures of a budget: what `evaluate_budget` and `rollup` give.

Figures, per line, per department and in total: budget, actual, remaining (budget - actual; negative when
overspent), consumption % (actual / budget), variance (actual - budget) and variance %, forecast at period end,
forecast variance (forecast - budget) and forecast %. Money is integer minor units; percentages are `Decimal`s
rounded half to even (ROUND_HALF_EVEN) to 2 places from the exact ratio, and None when the budget is zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from fractions import Fraction

from shared.finance.budget_forecast import ForecastMethod
from shared.finance.budgets import LineKey
from shared.finance.periods import Period


def percent(part: int, whole: int) -> Decimal | None:
    """part / whole x 100, rounded half to even to 2 places from the exact ratio; None when whole is 0."""
    if whole == 0:
        return None
    hundredths = round(Fraction(part * 10_000, whole))  # Fraction.__round__: half to even
    return Decimal(hundredths).scaleb(-2)


@dataclass(frozen=True, slots=True)
class Figures:
    """Budget, actual and forecast in minor units; the rest derives from them (see the module's doc)."""

    budget: int
    actual: int
    forecast: int

    @property
    def remaining(self) -> int:
        return self.budget - self.actual

    @property
    def variance(self) -> int:
        return self.actual - self.budget

    @property
    def forecast_variance(self) -> int:
        return self.forecast - self.budget

    @property
    def consumption_pct(self) -> Decimal | None:
        return percent(self.actual, self.budget)

    @property
    def variance_pct(self) -> Decimal | None:
        return percent(self.variance, self.budget)

    @property
    def forecast_pct(self) -> Decimal | None:
        return percent(self.forecast, self.budget)

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.budget + other.budget, self.actual + other.actual, self.forecast + other.forecast)

    @staticmethod
    def total(many: Iterable[Figures]) -> Figures:
        result = Figures(0, 0, 0)
        for one in many:
            result = result + one
        return result


@dataclass(frozen=True, slots=True)
class LineFigures:
    department: str
    channel: str | None
    campaign_id: str | None
    figures: Figures

    @property
    def key(self) -> LineKey:
        return (self.department, self.channel, self.campaign_id)


@dataclass(frozen=True, slots=True)
class DepartmentFigures:
    """A department's lines plus its `unbudgeted` spend (figures with budget 0: spend no line covers)."""

    department: str
    figures: Figures
    unbudgeted: Figures


@dataclass(frozen=True, slots=True)
class BudgetFigures:
    """The figures of a budget as of a date. `totals` = sum of `departments` = sum of `lines` + `unbudgeted`,
    exactly, for budget, actual and forecast (and so for every derived figure)."""

    period: Period
    currency: str
    as_of: date
    thresholds: tuple[int, ...]
    forecast_method: ForecastMethod
    days_elapsed: int
    days_in_period: int
    daily_rate: int | None  # minor units a day the forecast extrapolates (run rate or trend), else None
    totals: Figures
    lines: tuple[LineFigures, ...]
    departments: tuple[DepartmentFigures, ...]
    unbudgeted: Figures
    months: tuple[tuple[Period, ForecastMethod], ...] = ()  # a rollup's months and their methods
