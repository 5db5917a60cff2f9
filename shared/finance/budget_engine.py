"""Budget figures: budget against actual, forecast at period end, department breakdown, threshold crossings.
Pure: no clock, no I/O; the same inputs always give the same figures.

    engine = compile_budget_engine(load_finance_config())          # once per cold start
    budget = parse_budget("2026-11", body, config)                   # the PUT body, validated
    figures = evaluate_budget(engine, budget, actuals, daily, as_of)  # BudgetFigures
    budget_view(figures)                                             # the GET body: money as decimal strings
    rollup([october, november, december])                           # the quarter's view from its months
    threshold_transition(fired, actual, budget_amount, thresholds)   # ThresholdChange: crossed, re-armed

Inputs. A budget: its period (a month or a quarter), its currency (the company currency), lines (department,
optional channel, optional campaign, amount in minor units) and alert thresholds (% of budget). The actuals:
the period's spend aggregated at the finest grain, (department, channel, campaign_id) -> minor units of the
company currency (every line converted with its period's FX rate before it is added). The daily actuals: day ->
minor units of the whole period's spend, and (`daily_by_key`) per spend key, for each line's trend and for
what is booked after `as_of` (see `budget_forecast.py`; spend of a day in `daily` no key's days hold is shared
among the lines). `as_of`: the date the figures are for; spend dated after it counts once in the forecast, as
booked, and is never extrapolated.

Lines. A line covers the spend of its department, of its channel (every channel when it names none) and of its
campaign (every campaign, and spend without one, when it names none): a line's actual sums every finer key
under it. No two lines of a budget may cover the same spend (each spend key counts in at most one line; the
budget is refused naming both lines otherwise), so lines add up. Spend no line covers is the department's
*unbudgeted* spend: it counts in the department's and the total actual (all spend of the period), with no
budget against it.

Where each part lives (the names of `__all__` import from here too): the budget and its lines in
`budgets.py`, the PUT body in `budget_parsing.py`, the stored form in `budget_records.py`, the figures and
their percentages in `budget_figures.py`, the forecast at period end in `budget_forecast.py`, quarter views in
`budget_rollup.py`, the GET body in `budget_views.py`, thresholds in `budget_thresholds.py`. This module
compiles the engine from the finance file and evaluates a budget against its actuals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from shared.errors import InvalidInput
from shared.finance.budget_figures import BudgetFigures, DepartmentFigures, Figures, LineFigures, percent
from shared.finance.budget_forecast import ForecastMethod, forecast_at_period_end
from shared.finance.budget_parsing import parse_budget
from shared.finance.budget_records import budget_from_record, budget_record
from shared.finance.budget_rollup import rollup
from shared.finance.budget_thresholds import (
    ThresholdChange,
    crossed_thresholds,
    reached,
    rearmed_thresholds,
    threshold_transition,
)
from shared.finance.budget_views import BudgetView, budget_view
from shared.finance.budgets import Budget, BudgetLine, InvalidBudget
from shared.finance.config import FinanceConfig
from shared.finance.periods import contains, days_elapsed, days_in
from shared.finance.spend import SpendKey

__all__ = [
    "BudgetEngine",
    "BudgetFigures",
    "BudgetLine",
    "BudgetView",
    "DepartmentFigures",
    "Figures",
    "ForecastMethod",
    "InvalidBudget",
    "LineFigures",
    "ThresholdChange",
    "budget_from_record",
    "budget_record",
    "budget_view",
    "compile_budget_engine",
    "crossed_thresholds",
    "evaluate_budget",
    "parse_budget",
    "percent",
    "reached",
    "rearmed_thresholds",
    "rollup",
    "threshold_transition",
]


@dataclass(frozen=True, slots=True)
class BudgetEngine:
    """What `evaluate_budget` needs of the finance file."""

    company_currency: str
    trend_min_days: int
    department_order: tuple[str, ...]
    default_thresholds: tuple[int, ...]
    overrun_threshold: int
    version: str = ""


def compile_budget_engine(config: FinanceConfig) -> BudgetEngine:
    return BudgetEngine(
        company_currency=config.company_currency,
        trend_min_days=config.forecast.trend_min_days,
        department_order=config.department_ids,
        default_thresholds=tuple(config.default_thresholds),
        overrun_threshold=config.forecast.overrun_threshold,
        version=config.version,
    )


def _check_inputs(
    engine: BudgetEngine,
    budget: Budget,
    actuals: Mapping[SpendKey, int],
    daily: Mapping[date, int],
    daily_by_key: Mapping[SpendKey, Mapping[date, int]],
) -> None:
    if budget.currency != engine.company_currency:
        raise InvalidInput(
            f"budget of {budget.period} is in {budget.currency}, the company currency is {engine.company_currency}"
        )
    for key, amount in actuals.items():
        if type(amount) is not int:
            raise TypeError(f"actual of {key} must be an int of minor units, not {type(amount).__name__}")
    _check_days(budget, daily, "")
    for key, days in daily_by_key.items():
        if key not in actuals:
            raise ValueError(f"daily actuals of {key} without an actual of that key")
        _check_days(budget, days, f" at {key}")


def _check_days(budget: Budget, daily: Mapping[date, int], where: str) -> None:
    for day, amount in daily.items():
        if type(amount) is not int:
            raise TypeError(f"daily actual of {day}{where} must be an int of minor units, not {type(amount).__name__}")
        if not contains(budget.period, day):
            raise ValueError(f"daily actual of {day.isoformat()}{where} is outside period {budget.period}")


def evaluate_budget(
    engine: BudgetEngine,
    budget: Budget,
    actuals: Mapping[SpendKey, int],
    daily: Mapping[date, int],
    as_of: date,
    *,
    daily_by_key: Mapping[SpendKey, Mapping[date, int]] | None = None,
) -> BudgetFigures:
    """The figures of `budget` as of `as_of`, from the period's actuals by (department, channel, campaign_id)
    and its daily actuals, in total and by key (see the module's doc). Linear in lines + actual keys + days."""
    daily_by_key = daily_by_key or {}
    _check_inputs(engine, budget, actuals, daily, daily_by_key)
    lines = budget.lines
    index_of = {line.key: index for index, line in enumerate(lines)}
    line_actual = [0] * len(lines)
    unbudgeted_actual: dict[str, int] = {}
    line_of_key: dict[SpendKey, int | None] = {}
    for key, amount in actuals.items():
        department, channel, campaign_id = key
        found = None
        for candidate in (
            (department, channel, campaign_id),
            (department, channel, None),
            (department, None, campaign_id),
            (department, None, None),
        ):
            if candidate in index_of:
                found = index_of[candidate]  # lines do not overlap: at most one covers the key
                break
        line_of_key[key] = found
        if found is None:
            unbudgeted_actual[department] = unbudgeted_actual.get(department, 0) + amount
        else:
            line_actual[found] += amount

    departments = _department_order(engine, [line.department for line in lines], unbudgeted_actual)
    buckets = line_actual + [unbudgeted_actual.get(d, 0) for d in departments]  # lines, then unbudgeted
    days = days_in(budget.period)
    elapsed = days_elapsed(budget.period, as_of)
    bucket_daily, unattributed = _daily_by_bucket(line_of_key, departments, len(lines), daily, daily_by_key)

    method, forecasts, daily_rate = forecast_at_period_end(
        budget.period,
        lines,
        line_actual,
        buckets,
        bucket_daily,
        unattributed,
        days=days,
        elapsed=elapsed,
        trend_min_days=engine.trend_min_days,
    )

    line_figures = tuple(
        LineFigures(line.department, line.channel, line.campaign_id, Figures(line.amount, actual, forecast))
        for line, actual, forecast in zip(lines, line_actual, forecasts[: len(lines)], strict=True)
    )
    unbudgeted_of = {
        d: Figures(0, actual, forecast)
        for d, actual, forecast in zip(departments, buckets[len(lines) :], forecasts[len(lines) :], strict=True)
    }
    department_figures = tuple(
        DepartmentFigures(
            department=d,
            figures=Figures.total([lf.figures for lf in line_figures if lf.department == d]) + unbudgeted_of[d],
            unbudgeted=unbudgeted_of[d],
        )
        for d in departments
    )
    return BudgetFigures(
        period=budget.period,
        currency=budget.currency,
        as_of=as_of,
        thresholds=budget.thresholds,
        forecast_method=method,
        days_elapsed=elapsed,
        days_in_period=days,
        daily_rate=daily_rate,
        totals=Figures.total(d.figures for d in department_figures),
        lines=line_figures,
        departments=department_figures,
        unbudgeted=Figures.total(unbudgeted_of.values()),
    )


def _daily_by_bucket(
    line_of_key: Mapping[SpendKey, int | None],
    departments: Sequence[str],
    line_count: int,
    daily: Mapping[date, int],
    daily_by_key: Mapping[SpendKey, Mapping[date, int]],
) -> tuple[list[dict[date, int]], dict[date, int]]:
    """Each bucket's daily actuals (the lines', then each department's unbudgeted spend), summed over its
    keys; and what `daily` holds beyond the keys' days (spend of no known key), by day."""
    bucket_of_department = {d: line_count + index for index, d in enumerate(departments)}
    per_bucket: list[dict[date, int]] = [{} for _ in range(line_count + len(departments))]
    unattributed = dict(daily)
    for key, days in daily_by_key.items():
        found = line_of_key[key]
        series = per_bucket[bucket_of_department[key[0]] if found is None else found]
        for day, amount in days.items():
            series[day] = series.get(day, 0) + amount
            unattributed[day] = unattributed.get(day, 0) - amount
    return per_bucket, {day: amount for day, amount in unattributed.items() if amount}


def _department_order(engine: BudgetEngine, budgeted: Sequence[str], spent: Mapping[str, int]) -> list[str]:
    """The departments of the view: the finance file's order, then any others (an older file's) by id."""
    present = set(budgeted) | set(spent)
    known = [d for d in engine.department_order if d in present]
    return known + sorted(present - set(known))
