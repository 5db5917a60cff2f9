"""The budget of a `PUT /budget/{period}` body, every field checked: `InvalidBudget` names each bad line and
field."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from shared.finance.budgets import MAX_THRESHOLD, Budget, BudgetLine, InvalidBudget
from shared.finance.config import FinanceConfig, sorted_thresholds
from shared.finance.currencies import UnknownCurrency, currency
from shared.finance.money import InvalidAmount, parse_amount
from shared.finance.periods import Period, parse_period
from shared.finance.spend import FieldProblem

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:@/#+=-]{0,127}")
_BUDGET_FIELDS = ("currency", "lines", "thresholds")
_LINE_FIELDS = ("department", "channel", "campaign_id", "amount")


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
