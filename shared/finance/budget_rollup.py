"""Quarter views of budget figures.

Quarter views: `rollup` adds up the figures of a quarter's months line by line (lines matched on department,
channel and campaign), and recomputes the percentages from the sums; its forecast is the sum of the months'
forecasts (each month's own method, listed in `months`).
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.finance.budget_figures import BudgetFigures, DepartmentFigures, Figures, LineFigures
from shared.finance.budget_forecast import ForecastMethod
from shared.finance.budgets import LineKey
from shared.finance.periods import quarter_of


def rollup(months: Sequence[BudgetFigures]) -> BudgetFigures:
    """The quarter's figures from those of its months (any of its months, each at most once, same currency):
    line by line (matched on department, channel, campaign), department by department, summed exactly; the
    percentages follow from the sums. Thresholds: every month's; `as_of`: the latest; `days_*`: summed."""
    if not months:
        raise ValueError("rollup needs the figures of at least one month")
    ordered = sorted(months, key=lambda m: m.period)
    quarter = quarter_of(ordered[0].period)
    for month in ordered:
        if not month.period.is_month or quarter_of(month.period) != quarter:
            raise ValueError(f"rollup of {quarter}: {month.period} is not one of its months")
        if month.currency != ordered[0].currency:
            raise ValueError(f"rollup of {quarter}: {month.period} is in {month.currency}, not {ordered[0].currency}")
    periods = [m.period for m in ordered]
    if len(set(periods)) != len(periods):
        raise ValueError(f"rollup of {quarter}: a month is given twice")

    lines: dict[LineKey, Figures] = {}
    departments: dict[str, tuple[Figures, Figures]] = {}
    for month in ordered:
        for line in month.lines:
            lines[line.key] = lines.get(line.key, Figures(0, 0, 0)) + line.figures
        for dept in month.departments:
            figures, unbudgeted = departments.get(dept.department, (Figures(0, 0, 0), Figures(0, 0, 0)))
            departments[dept.department] = (figures + dept.figures, unbudgeted + dept.unbudgeted)
    department_figures = tuple(
        DepartmentFigures(department=d, figures=f, unbudgeted=u) for d, (f, u) in departments.items()
    )
    return BudgetFigures(
        period=quarter,
        currency=ordered[0].currency,
        as_of=max(m.as_of for m in ordered),
        thresholds=tuple(sorted({t for m in ordered for t in m.thresholds})),
        forecast_method=ForecastMethod.ROLLUP,
        days_elapsed=sum(m.days_elapsed for m in ordered),
        days_in_period=sum(m.days_in_period for m in ordered),
        daily_rate=None,
        totals=Figures.total(d.figures for d in department_figures),
        lines=tuple(LineFigures(d, c, k, f) for (d, c, k), f in lines.items()),
        departments=department_figures,
        unbudgeted=Figures.total(d.unbudgeted for d in department_figures),
        months=tuple((m.period, m.forecast_method) for m in ordered),
    )
