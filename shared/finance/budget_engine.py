"""Budget figures: budget against actual, forecast at period end, department breakdown, threshold crossings.
Pure: no clock, no I/O; the same inputs always give the same figures.

    engine = compile_budget_engine(load_finance_config())          # once per cold start
    budget = parse_budget("2026-11", body, config)                   # the PUT body, validated
    figures = evaluate_budget(engine, budget, actuals, daily, as_of)  # BudgetFigures
    budget_view(figures)                                             # the GET body: money as decimal strings
    rollup([october, november, december])                           # the quarter's view from its months

Inputs. A budget: its period (a month or a quarter), its currency (the company currency), lines (department,
optional channel, optional campaign, amount in minor units) and alert thresholds (% of budget). The actuals:
the period's spend aggregated at the finest grain, (department, channel, campaign_id) -> minor units of the
company currency (every line converted with its period's FX rate before it is added). The daily actuals: day ->
minor units of the whole period's spend, for the trend. `as_of`: the date the figures are for.

Lines. A line covers the spend of its department, of its channel (every channel when it names none) and of its
campaign (every campaign, and spend without one, when it names none): a line's actual sums every finer key
under it. No two lines of a budget may cover the same spend (each spend key counts in at most one line; the
budget is refused naming both lines otherwise), so lines add up. Spend no line covers is the department's
*unbudgeted* spend: it counts in the department's and the total actual (all spend of the period), with no
budget against it.

Figures, per line, per department and in total: budget, actual, remaining (budget - actual; negative when
overspent), consumption % (actual / budget), variance (actual - budget) and variance %, forecast at period end,
forecast variance (forecast - budget) and forecast %. Money is integer minor units; percentages are `Decimal`s
rounded half to even (ROUND_HALF_EVEN) to 2 places from the exact ratio, and None when the budget is zero.

Forecast. `days_elapsed` counts `as_of` itself (see `periods.days_elapsed`); D is the period's days, E those
elapsed, A the period's actual so far:
- run rate (E < `trend_min_days`): A / E a day for the D - E days left: forecast = A + A x (D - E) / E.
- trend (E >= `trend_min_days`): the least-squares slope of the cumulative daily actuals over days 1..E (a
  day without spend counts 0; days after `as_of` are not points of the fit) is the daily rate for the days
  left: forecast = A + slope x (D - E). Unlike the run rate, a one-off payment early in the period (a
  sponsorship paid on the 1st) lifts the fitted line's intercept, not its slope, so it is not extrapolated.
  A falling cumulative (reversals) forecasts no further spend: the slope counts as 0, never below. The daily
  actuals are the trend's only input: a caller that passes none gets a slope of 0 (forecast = actual).
- final (the period is over, E = D): the forecast is the actual.
- budget (the period has not begun, E = 0): each line is forecast at its budget, or its actual if that is
  more already (spend booked in advance); unbudgeted spend at its actual.
The extrapolated part (forecast - A) is computed exactly for the whole period and rounded half to even once
to minor units; it is then shared among the lines and each department's unbudgeted spend in proportion to
their actual so far (largest remainder: each share rounded down, the units left go to the largest fractions,
ties to the earlier line), so the breakdown sums exactly: lines + unbudgeted = departments = total, for every
figure. Under the run rate a line's forecast is then its own run rate (to within a minor unit).

Thresholds. Threshold t (%) is *reached* when actual x 100 >= t x budget (exactly, in integers); with a zero
budget, when actual > 0. A threshold is *crossed* when consumption goes from not reached to reached; when it
falls back under (a reversal, or a larger budget) it re-arms, and the next rise crosses it again. So over any
sequence of spend, each threshold fires once per upward crossing, never twice for one. `crossed_thresholds`
compares two actuals (a counter's value before and after an atomic add: concurrent writers each see a distinct
interval, so exactly one of them sees each crossing); `threshold_transition` compares a stored set of fired
thresholds with the current actual (re-arming those no longer reached), for when the budget changes too. The
forecast overrun is the same rule on the forecast: `threshold_transition(fired, forecast, budget,
[overrun_threshold])` (the stored form, since a forecast also moves as days pass without any spend).

Quarter views: `rollup` adds up the figures of a quarter's months line by line (lines matched on department,
channel and campaign), and recomputes the percentages from the sums; its forecast is the sum of the months'
forecasts (each month's own method, listed in `months`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any, NamedTuple

from shared.allocation import allocate
from shared.errors import InvalidInput
from shared.finance.config import FinanceConfig, sorted_thresholds
from shared.finance.currencies import UnknownCurrency, currency
from shared.finance.money import InvalidAmount, Money, format_amount, parse_amount
from shared.finance.periods import Period, contains, days_elapsed, days_in, first_day, parse_period, quarter_of
from shared.finance.spend import FieldProblem, SpendKey

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

MAX_THRESHOLD = 1000
BudgetView = dict[str, Any]
LineKey = tuple[str, str | None, str | None]  # (department, channel or None: all, campaign_id or None: all)

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/#+=-]{0,127}")
_BUDGET_FIELDS = ("currency", "lines", "thresholds")
_LINE_FIELDS = ("department", "channel", "campaign_id", "amount")


class InvalidBudget(InvalidInput):
    """A budget that cannot be stored; `problems` names each bad line (1-based) and field."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("invalid budget: " + "; ".join(map(str, problems)))


# ------------------------------------------------------------------------------------------------ the budget


@dataclass(frozen=True, slots=True)
class BudgetLine:
    """`amount` minor units of the budget's currency for `department`, `channel` (None: all channels) and
    `campaign_id` (None: all campaigns and spend without one)."""

    department: str
    channel: str | None
    campaign_id: str | None
    amount: int

    @property
    def key(self) -> LineKey:
        return (self.department, self.channel, self.campaign_id)

    def covers(self, key: SpendKey) -> bool:
        """Whether spend at `key` (department, channel, campaign_id) counts in this line."""
        department, channel, campaign_id = key
        return (
            department == self.department
            and (self.channel is None or self.channel == channel)
            and (self.campaign_id is None or self.campaign_id == campaign_id)
        )

    def label(self) -> str:
        channel = self.channel or "all channels"
        campaign = f"campaign {self.campaign_id}" if self.campaign_id else "all campaigns"
        return f"{self.department} / {channel} / {campaign}"


@dataclass(frozen=True, slots=True)
class Budget:
    """A budget of a period, validated at construction (`InvalidBudget` naming the lines): amounts are
    non-negative ints, no two lines cover the same spend, thresholds are distinct, 1 to 1000, kept sorted."""

    period: Period
    currency: str
    lines: tuple[BudgetLine, ...]
    thresholds: tuple[int, ...] = (50, 80, 100, 110)

    def __post_init__(self) -> None:
        object.__setattr__(self, "currency", currency(self.currency, field="currency").code)
        object.__setattr__(self, "lines", tuple(self.lines))
        problems: list[FieldProblem] = []
        for number, line in enumerate(self.lines, start=1):
            if type(line.amount) is not int or line.amount < 0:
                problems.append(FieldProblem(number, "amount", f"must be a non-negative int, not {line.amount!r}"))
        problems += _overlaps(self.lines)
        thresholds = list(self.thresholds)
        bad = [t for t in thresholds if type(t) is not int or not 1 <= t <= MAX_THRESHOLD]
        if bad:
            problems.append(FieldProblem(None, "thresholds", f"{bad} are not whole percentages 1 to {MAX_THRESHOLD}"))
        else:
            try:
                thresholds = sorted_thresholds(thresholds)
            except ValueError as exc:
                problems.append(FieldProblem(None, "thresholds", str(exc)))
        if problems:
            raise InvalidBudget(problems)
        object.__setattr__(self, "thresholds", tuple(thresholds))

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass
class _Seen:
    """The earlier lines of one department, indexed for `_overlaps` (each by its first line's index)."""

    first: int | None = None  # any line
    exact: dict[tuple[str | None, str | None], int] = field(default_factory=dict)
    by_channel: dict[str, int] = field(default_factory=dict)  # lines naming that channel
    by_campaign: dict[str, int] = field(default_factory=dict)  # lines naming that campaign
    channel_only: int | None = None  # a line naming a channel, all campaigns
    campaign_only: int | None = None  # a line naming a campaign, all channels


def _overlaps(lines: Sequence[BudgetLine]) -> list[FieldProblem]:
    """A problem for each line that covers spend an earlier line of its department covers too. Linear: per
    department, the earlier lines are indexed by channel, campaign and shape."""

    seen: dict[str, _Seen] = {}
    problems: list[FieldProblem] = []
    for index, line in enumerate(lines):
        mine = seen.setdefault(line.department, _Seen())
        channel, campaign = line.channel, line.campaign_id
        candidates: list[int | None] = [mine.exact.get((None, None))]
        if channel is None and campaign is None:
            candidates.append(mine.first)
        elif campaign is None:
            assert channel is not None
            candidates += [mine.by_channel.get(channel), mine.campaign_only]
        elif channel is None:
            candidates += [mine.by_campaign.get(campaign), mine.channel_only]
        else:
            candidates += [mine.exact.get(key) for key in ((channel, campaign), (channel, None), (None, campaign))]
        clash = min((c for c in candidates if c is not None), default=None)
        if clash is not None:
            other = lines[clash]
            what = "repeats" if other.key == line.key else "overlaps"
            problems.append(
                FieldProblem(
                    index + 1,
                    "coverage",
                    f"({line.label()}) {what} line {clash + 1} ({other.label()}): spend would count in both; "
                    "merge them or name channels and campaigns that do not overlap",
                )
            )
            continue
        mine.first = index if mine.first is None else mine.first
        mine.exact.setdefault((channel, campaign), index)
        if channel is not None:
            mine.by_channel.setdefault(channel, index)
        if campaign is not None:
            mine.by_campaign.setdefault(campaign, index)
        if channel is not None and campaign is None and mine.channel_only is None:
            mine.channel_only = index
        if channel is None and campaign is not None and mine.campaign_only is None:
            mine.campaign_only = index
    return problems


def parse_budget(period: str | Period, body: object, config: FinanceConfig) -> Budget:
    """The budget of the `PUT /budget/{period}` body `{"currency", "lines": [{"department", "channel",
    "campaign_id", "amount": "50000.00"}], "thresholds": [50, 80, 100, 110]}`.

    `currency` is required and must be the company currency; `channel` and `campaign_id` may be left out (all
    channels, all campaigns); amounts are non-negative (zero: no spend expected, any spend exceeds it);
    `thresholds` default to the finance file's. Unknown fields are refused. Raises `InvalidBudget` naming each
    bad line (1-based) and field (or, alone, more lines than `config.max_budget_lines`), `InvalidPeriod` for
    the period."""
    the_period = period if isinstance(period, Period) else parse_period(period)
    if not isinstance(body, Mapping):
        raise InvalidBudget([FieldProblem(None, "body", 'must be an object {"currency", "lines", "thresholds"}')])
    problems = [
        FieldProblem(None, str(key)[:60], f"unknown field (the fields are {', '.join(_BUDGET_FIELDS)})")
        for key in body
        if key not in _BUDGET_FIELDS
    ]
    company = config.company_currency
    raw_currency = body.get("currency")
    if raw_currency is None:
        problems.append(FieldProblem(None, "currency", f"required: the company currency {company}"))
    else:
        try:
            code = currency(raw_currency, field="currency").code
        except UnknownCurrency as exc:
            problems.append(FieldProblem(None, "currency", str(exc).removeprefix("currency: ")))
        else:
            if code != company:
                problems.append(
                    FieldProblem(None, "currency", f"budgets are in the company currency {company}, not {code}")
                )
    raw_lines = body.get("lines")
    lines: list[BudgetLine] = []
    if not isinstance(raw_lines, list) or not raw_lines:
        problems.append(FieldProblem(None, "lines", "required: a list of at least one budget line"))
    elif len(raw_lines) > config.max_budget_lines:
        raise InvalidBudget(
            [FieldProblem(None, "lines", f"{len(raw_lines)} budget lines, at most {config.max_budget_lines}")]
        )
    else:
        for number, raw in enumerate(raw_lines, start=1):
            line, line_problems = _budget_line(raw, number, config)
            problems += line_problems
            if line is not None:
                lines.append(line)
    thresholds = _thresholds(body.get("thresholds"), config, problems)
    if problems:
        raise InvalidBudget(problems)
    return Budget(the_period, company, tuple(lines), tuple(thresholds))


def _budget_line(raw: object, number: int, config: FinanceConfig) -> tuple[BudgetLine | None, list[FieldProblem]]:
    if not isinstance(raw, Mapping):
        return None, [FieldProblem(number, "line", "must be an object {department, channel, campaign_id, amount}")]
    problems = [
        FieldProblem(number, str(key)[:60], f"unknown field (the fields are {', '.join(_LINE_FIELDS)})")
        for key in raw
        if key not in _LINE_FIELDS
    ]

    def vocabulary(name: str, known: Sequence[str], required: bool) -> str | None:
        value = raw.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                problems.append(FieldProblem(number, name, "required"))
            return None
        if not isinstance(value, str) or value.strip().lower() not in known:
            shown = f'"{value.strip()[:60]}"' if isinstance(value, str) else "that value"
            problems.append(
                FieldProblem(number, name, f"{shown} is not a {name} of the finance file ({', '.join(known)})")
            )
            return None
        return value.strip().lower()

    department = vocabulary("department", config.department_ids, True)
    channel = vocabulary("channel", config.channel_ids, False)
    campaign_id: str | None = None
    raw_campaign = raw.get("campaign_id")
    if isinstance(raw_campaign, int) and not isinstance(raw_campaign, bool):
        raw_campaign = str(raw_campaign)
    if isinstance(raw_campaign, str) and raw_campaign.strip():
        if _ID.fullmatch(raw_campaign.strip()):
            campaign_id = raw_campaign.strip()
        else:
            problems.append(FieldProblem(number, "campaign_id", f'"{raw_campaign.strip()[:60]}" is not an id'))
    elif raw_campaign is not None and not isinstance(raw_campaign, str):
        problems.append(FieldProblem(number, "campaign_id", "must be text"))
    amount: int | None = None
    if raw.get("amount") is None:
        problems.append(FieldProblem(number, "amount", 'required, a decimal string ("50000.00")'))
    else:
        try:
            parsed = parse_amount(raw.get("amount"), config.company_currency, field="amount")
        except InvalidAmount as exc:
            problems.append(FieldProblem(number, "amount", exc.problem))
        else:
            if parsed.minor < 0:
                problems.append(FieldProblem(number, "amount", "a budget is not negative"))
            else:
                amount = parsed.minor
    if problems or department is None or amount is None:
        return None, problems
    return BudgetLine(department, channel, campaign_id, amount), []


def _thresholds(raw: object, config: FinanceConfig, problems: list[FieldProblem]) -> list[int]:
    if raw is None:
        return list(config.default_thresholds)
    if not isinstance(raw, list) or not raw or len(raw) > 20:
        problems.append(FieldProblem(None, "thresholds", "must be a list of 1 to 20 percentages, e.g. [50, 80, 100]"))
        return []
    bad = [t for t in raw if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= MAX_THRESHOLD]
    if bad:
        problems.append(
            FieldProblem(None, "thresholds", f"each is a whole percentage 1 to {MAX_THRESHOLD}, not {bad[0]!r}")
        )
        return []
    try:
        return sorted_thresholds(list(raw))
    except ValueError as exc:
        problems.append(FieldProblem(None, "thresholds", str(exc)))
        return []


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


# --------------------------------------------------------------------------------------------------- figures


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


class ForecastMethod(StrEnum):
    RUN_RATE = "run_rate"
    TREND = "trend"
    FINAL = "final"  # the period is over: forecast = actual
    BUDGET = "budget"  # the period has not begun: forecast = budget (or the actual when more)
    ROLLUP = "rollup"  # a quarter view: the sum of its months' forecasts


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


def _trend_slope(period: Period, daily: Mapping[date, int], elapsed: int) -> Fraction:
    """Least-squares slope of the cumulative daily actuals over days 1..elapsed (exact)."""
    start = first_day(period)
    per_day = [0] * elapsed
    for day, amount in daily.items():
        offset = (day - start).days
        if offset < elapsed:
            per_day[offset] += amount
    n = elapsed
    sum_x = n * (n + 1) // 2
    sum_xx = n * (n + 1) * (2 * n + 1) // 6
    sum_y = 0
    sum_xy = 0
    cumulative = 0
    for x, amount in enumerate(per_day, start=1):
        cumulative += amount
        sum_y += cumulative
        sum_xy += x * cumulative
    return Fraction(n * sum_xy - sum_x * sum_y, n * sum_xx - sum_x * sum_x)


def _check_inputs(
    engine: BudgetEngine, budget: Budget, actuals: Mapping[SpendKey, int], daily: Mapping[date, int]
) -> None:
    if budget.currency != engine.company_currency:
        raise InvalidInput(
            f"budget of {budget.period} is in {budget.currency}, the company currency is {engine.company_currency}"
        )
    for key, amount in actuals.items():
        if type(amount) is not int:
            raise TypeError(f"actual of {key} must be an int of minor units, not {type(amount).__name__}")
    for day, amount in daily.items():
        if type(amount) is not int:
            raise TypeError(f"daily actual of {day} must be an int of minor units, not {type(amount).__name__}")
        if not contains(budget.period, day):
            raise ValueError(f"daily actual of {day.isoformat()} is outside period {budget.period}")


def evaluate_budget(
    engine: BudgetEngine,
    budget: Budget,
    actuals: Mapping[SpendKey, int],
    daily: Mapping[date, int],
    as_of: date,
) -> BudgetFigures:
    """The figures of `budget` as of `as_of`, from the period's actuals by (department, channel, campaign_id)
    and its daily actuals (see the module's doc). Linear in lines + actual keys + days."""
    _check_inputs(engine, budget, actuals, daily)
    lines = budget.lines
    index_of = {line.key: index for index, line in enumerate(lines)}
    line_actual = [0] * len(lines)
    unbudgeted_actual: dict[str, int] = {}
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
        if found is None:
            unbudgeted_actual[department] = unbudgeted_actual.get(department, 0) + amount
        else:
            line_actual[found] += amount

    departments = _department_order(engine, [line.department for line in lines], unbudgeted_actual)
    buckets = line_actual + [unbudgeted_actual.get(d, 0) for d in departments]  # lines, then unbudgeted
    total_actual = sum(buckets)
    days = days_in(budget.period)
    elapsed = days_elapsed(budget.period, as_of)

    daily_rate: int | None = None
    if elapsed == 0:
        method = ForecastMethod.BUDGET
        forecasts = [max(a, line.amount) for a, line in zip(line_actual, lines, strict=True)] + buckets[len(lines) :]
    elif elapsed >= days:
        method = ForecastMethod.FINAL
        forecasts = list(buckets)
    else:
        if elapsed >= engine.trend_min_days:
            method = ForecastMethod.TREND
            rate = max(_trend_slope(budget.period, daily, elapsed), Fraction(0))
        else:
            method = ForecastMethod.RUN_RATE
            rate = max(Fraction(total_actual, elapsed), Fraction(0))
        daily_rate = round(rate)
        extra = round(rate * (days - elapsed))  # half to even, once, for the whole period
        shares = allocate(extra, [max(a, 0) for a in buckets])
        forecasts = [a + s for a, s in zip(buckets, shares, strict=True)]

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


def _department_order(engine: BudgetEngine, budgeted: Sequence[str], spent: Mapping[str, int]) -> list[str]:
    """The departments of the view: the finance file's order, then any others (an older file's) by id."""
    present = set(budgeted) | set(spent)
    known = [d for d in engine.department_order if d in present]
    return known + sorted(present - set(known))


# ---------------------------------------------------------------------------------------------- quarter views


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


# ------------------------------------------------------------------------------------------------------- view


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


# ------------------------------------------------------------------------------------------------ thresholds


def reached(actual: int, budget: int, threshold: int) -> bool:
    """Whether consumption is at or above `threshold` %: actual x 100 >= threshold x budget, exactly; with a
    zero budget, whenever anything is spent."""
    if budget <= 0:
        return actual > 0
    return actual * 100 >= threshold * budget


def crossed_thresholds(
    previous_actual: int, new_actual: int, budget_amount: int, thresholds: Iterable[int]
) -> list[int]:
    """The thresholds (ascending) consumption crosses upwards from `previous_actual` to `new_actual`: not
    reached before, reached after. A fall back below re-arms (see `rearmed_thresholds`): the next rise crosses
    again. Summed over a sequence of actuals, each threshold fires once per upward crossing."""
    return [
        t
        for t in sorted(set(thresholds))
        if not reached(previous_actual, budget_amount, t) and reached(new_actual, budget_amount, t)
    ]


def rearmed_thresholds(
    previous_actual: int, new_actual: int, budget_amount: int, thresholds: Iterable[int]
) -> list[int]:
    """The thresholds (ascending) consumption falls back under from `previous_actual` to `new_actual`."""
    return [
        t
        for t in sorted(set(thresholds))
        if reached(previous_actual, budget_amount, t) and not reached(new_actual, budget_amount, t)
    ]


class ThresholdChange(NamedTuple):
    crossed: tuple[int, ...]  # to publish now (ascending)
    rearmed: tuple[int, ...]  # fired before, no longer reached: they will fire again on the next crossing
    fired: frozenset[int]  # the state to store: the thresholds reached now


def threshold_transition(
    fired: Collection[int], actual: int, budget_amount: int, thresholds: Iterable[int]
) -> ThresholdChange:
    """Compare the stored set of `fired` thresholds with the current `actual` against `budget_amount` (which may
    have changed since): crossed = reached now and not fired; re-armed = fired and not reached now. Storing
    `fired` (conditionally on the previous value) after publishing makes each crossing fire once."""
    wanted = sorted(set(thresholds))
    now = frozenset(t for t in wanted if reached(actual, budget_amount, t))
    before = frozenset(fired) & frozenset(wanted)
    return ThresholdChange(
        crossed=tuple(sorted(now - before)),
        rearmed=tuple(sorted(before - now)),
        fired=now,
    )
