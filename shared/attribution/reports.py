"""What the attribution API answers, from stored conversions and monthly totals (pure: no storage here).

Money is a decimal string in the company currency; fractional deals are decimal strings with six places (a
conversion is 1,000,000 deal units shared like its amount, so a campaign's deals add up exactly). A figure that
cannot be computed (a ratio over no spend, no revenue or no customers) is `null`, and `notes` says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from shared.attribution.funnel_counts import FUNNEL_STAGES, StageCounts
from shared.attribution.journeys import Model
from shared.attribution.ports import DEAL_UNITS, Overall, StoredConversion, Totals
from shared.attribution.revenue import MONTH_PLACES, LifetimeValue
from shared.errors import InvalidInput
from shared.finance.fx import plain
from shared.finance.money import Money, format_amount
from shared.finance.periods import parse_period

MAX_MONTHS = 36  # three years of months per report: totals are read one item per month
RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class MonthRange:
    months: tuple[str, ...]

    @property
    def start(self) -> str:
        return self.months[0]

    @property
    def end(self) -> str:
        return self.months[-1]

    @classmethod
    def of(cls, today: date, start: str | None, end: str | None) -> MonthRange:
        """`from`/`to` as months (`2026-09`) or days (`2026-09-14`, taken as its month), both inclusive; by
        default the twelve months up to the current one."""
        last = _month(end, "to") if end else (today.year, today.month)
        first = _month(start, "from") if start else _shift(last, -11)
        if first > last:
            raise InvalidInput(f"from ({_text(first)}) is after to ({_text(last)})")
        count = (last[0] - first[0]) * 12 + last[1] - first[1] + 1
        if count > MAX_MONTHS:
            raise InvalidInput(f"from {_text(first)} to {_text(last)} is {count} months: ask for {MAX_MONTHS} at most")
        return cls(tuple(_text(_shift(first, n)) for n in range(count)))


def models_of(model: str | None) -> tuple[Model, ...]:
    if model is None or model == "all":
        return tuple(Model)
    try:
        return (Model(model),)
    except ValueError:
        names = ", ".join(m.value for m in Model)
        raise InvalidInput(f"model: {model!r} is not one of {names} (or all)") from None


def money(minor: int, currency: str) -> str:
    return format_amount(Money(minor, currency))


def deals_text(units: int) -> str:
    return str((Decimal(units) / DEAL_UNITS).quantize(Decimal("0.000001")))


def total_of(totals: Iterable[Totals]) -> Totals:
    result = Totals()
    for one in totals:
        result = result.plus(one)
    return result


def campaign_view(
    campaign_id: str,
    months: MonthRange,
    totals: Totals,
    pipeline: Mapping[Model, int],
    models: Sequence[Model],
    currency: str,
) -> dict[str, Any]:
    return {
        "campaign_id": campaign_id,
        "currency": currency,
        "from": months.start,
        "to": months.end,
        "touches": totals.touches,
        "conversions": totals.conversions,
        "models": {
            model.value: {
                "revenue": money(totals.revenue.get(model, 0), currency),
                "deals": deals_text(totals.deals.get(model, 0)),
                "touches": totals.touches,
                "pipeline": money(pipeline.get(model, 0), currency),
            }
            for model in models
        },
    }


def channels_view(
    months: MonthRange, by_channel: Mapping[str, Totals], models: Sequence[Model], currency: str
) -> dict[str, Any]:
    return {
        "currency": currency,
        "from": months.start,
        "to": months.end,
        "channels": {
            channel: {
                model.value: {
                    "revenue": money(totals.revenue.get(model, 0), currency),
                    "conversions": deals_text(totals.deals.get(model, 0)),
                }
                for model in models
            }
            for channel, totals in sorted(by_channel.items())
        },
    }


def deal_view(conversion: StoredConversion) -> dict[str, Any]:
    currency = conversion.company_currency
    return {
        "deal_id": conversion.deal_id,
        "conversion_id": conversion.conversion_id,
        "amount": format_amount(conversion.amount),
        "currency": conversion.amount.currency,
        "company_amount": money(conversion.company_minor, currency),
        "company_currency": currency,
        "rate": plain(conversion.rate),
        "won_at": conversion.converted_at.isoformat(),
        "lead_created_at": conversion.lead_created_at.isoformat() if conversion.lead_created_at else None,
        "opportunity_created_at": (
            conversion.opportunity_created_at.isoformat() if conversion.opportunity_created_at else None
        ),
        "contacts": list(conversion.contact_ids),
        "account_id": conversion.account_id,
        "settings_version": conversion.settings_version,
        "data_driven_fit": conversion.fit_id,
        "touches": [
            {
                "touch_id": credited.touch.touch_id,
                "occurred_at": credited.touch.occurred_at.isoformat(),
                "channel": credited.touch.channel,
                "campaign_id": credited.touch.campaign_id,
                "content": credited.touch.content,
                "roles": sorted(role.value for role in credited.roles),
                "credits": {model.value: money(credited.credits[model].minor, currency) for model in Model},
                "rules": {model.value: credited.credits[model].rule for model in Model},
            }
            for credited in conversion.touches
        ],
    }


def roi_view(
    campaign_id: str,
    months: MonthRange,
    spend_minor: int,
    totals: Totals,
    pipeline: Mapping[Model, int],
    models: Sequence[Model],
    currency: str,
    funnel: Mapping[str, int],
    ltv: LifetimeValue | None = None,
    *,
    customers: Mapping[Model, int],
) -> dict[str, Any]:
    """ROI = (revenue - spend) / spend; ROAS = revenue / spend; CAC = spend / attributed new customers
    (`customers`, in deal units per model: each customer's first conversion of the months, `customers.py`; a
    customer's later deals add revenue, not customers); cost per
    lead / MQL / SQL = spend / the leads, MQLs and SQLs the campaign brought (the campaign of the touch at which
    each entered the stage); LTV, ARPA and monthly churn of the campaign's customers (`shared.attribution.revenue`);
    payback months = CAC / ARPA and LTV:CAC, per model."""
    notes: list[str] = []
    if spend_minor == 0:
        notes.append("no spend recorded for the campaign in these months: ratios over spend are null")
    per_model: dict[str, Any] = {}
    for model in models:
        revenue = totals.revenue.get(model, 0)
        new = Decimal(customers.get(model, 0)) / DEAL_UNITS
        cac = _divide(spend_minor, new) if new and spend_minor else None
        payback = ltv.payback_months(cac) if ltv else None
        ltv_to_cac = ltv.ltv_to_cac(cac) if ltv else None
        per_model[model.value] = {
            "revenue": money(revenue, currency),
            "customers": deals_text(customers.get(model, 0)),
            "roi": _ratio(revenue - spend_minor, spend_minor),
            "roas": _ratio(revenue, spend_minor),
            "cac": money(cac, currency) if cac is not None else None,
            "pipeline": money(pipeline.get(model, 0), currency),
            "payback_months": str(payback) if payback is not None else None,
            "ltv_to_cac": str(ltv_to_cac) if ltv_to_cac is not None else None,
        }
    if not totals.conversions:
        notes.append("no conversion credited the campaign in these months: revenue is 0 and CAC is null")
    elif not any(customers.get(model, 0) for model in models):
        notes.append("the campaign's conversions were no customer's first in these months: CAC is null")
    if ltv is None:
        notes.append("LTV, ARPA and payback months were not computed: null")
    else:
        notes.extend(ltv.notes)
    costs = {
        f"cost_per_{stage.lower()}": (
            money(_divide(spend_minor, Decimal(count)), currency) if count and spend_minor else None
        )
        for stage, count in funnel.items()
    }
    return {
        "campaign_id": campaign_id,
        "currency": currency,
        "from": months.start,
        "to": months.end,
        "spend": money(spend_minor, currency),
        "funnel": dict(funnel),
        **costs,
        **_lifetime(ltv, currency),
        "models": per_model,
        "notes": notes,
    }


def _lifetime(ltv: LifetimeValue | None, currency: str) -> dict[str, Any]:
    if ltv is None:
        return {"ltv": None, "arpa": None, "monthly_churn": None, "ltv_customers": None}
    return {
        "ltv": money(ltv.ltv_minor, currency) if ltv.ltv_minor is not None else None,
        "arpa": money(ltv.arpa_minor, currency) if ltv.arpa_minor is not None else None,
        "monthly_churn": str(ltv.monthly_churn) if ltv.monthly_churn is not None else None,
        "ltv_customers": {
            "paid": ltv.customers,
            "paying": ltv.paying,
            "churned": ltv.churned,
            "customer_months": str(ltv.customer_months.quantize(MONTH_PLACES)),
            "other_currencies": ltv.other_currencies,
        },
    }


def _ratio(numerator: int, denominator: int) -> str | None:
    if denominator == 0:
        return None
    return str((Decimal(numerator) / Decimal(denominator)).quantize(RATIO_PLACES, rounding=ROUND_HALF_EVEN))


def _divide(minor: int, by: Decimal) -> int:
    return int((Decimal(minor) / by).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _month(text: str, name: str) -> tuple[int, int]:
    if len(text) == 10:
        try:
            date.fromisoformat(text)
        except ValueError:
            raise InvalidInput(f"{name}: {text!r} is not a day (2026-11-14) or a month (2026-11)") from None
    period = parse_period(text[:7] if len(text) == 10 else text, field=name)
    if period.kind != "month":
        raise InvalidInput(f"{name}: a month (2026-11) or a day (2026-11-14), not a quarter")
    year, month = str(period).split("-")
    return int(year), int(month)


def _shift(month: tuple[int, int], by: int) -> tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 + by
    return index // 12, index % 12 + 1


def _text(month: tuple[int, int]) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


TOP_CAMPAIGNS = 10


@dataclass(frozen=True)
class CampaignResult:
    campaign_id: str
    revenue: int
    spend: int

    @property
    def roi(self) -> Decimal | None:
        return None if self.spend == 0 else (Decimal(self.revenue - self.spend) / Decimal(self.spend))


def performance_view(
    months: MonthRange,
    model: Model,
    funnel: Mapping[str, StageCounts],
    monthly: Mapping[str, Mapping[str, StageCounts]],
    overall: Mapping[str, Overall],
    influenced_pipeline: Mapping[Model, int],
    campaigns: Sequence[CampaignResult],
    currency: str,
) -> dict[str, Any]:
    """The funnel over the months (visitors -> leads -> MQL -> SQL -> opportunities -> customers, then won) with
    each step's conversion rate and the days spent in the stage before (stage velocity), the lead velocity rate
    of the last month, marketing-influenced pipeline (open deals' credits to campaign touches, now) and revenue
    (conversions whose journey held a campaign touch), and the top campaigns by ROI under `model` (those with
    spend).

    The stages up to Customer are a chain, in the lifecycle's order (`FUNNEL_STAGES`, as `Stage` ranks them): a
    later stage's entries passed through the stages before it, so a stage counts at least as many as the one
    after it (a jump from Lead to Customer entered MQL, SQL and Opportunity on the way; a person who entered a
    stage before the months asked for and a later one within them is counted in both) and no step's rate
    exceeds 1. Won is the months' conversions (won
    deals and first payments: a customer may have several), shown beside the chain: Customer has no rate to it.
    """
    total = Overall()
    for one in overall.values():
        total = total.plus(one)
    steps = [*FUNNEL_STAGES, "Won"]
    entered = {"Won": total.conversions}
    passed_through = 0
    for stage in reversed(FUNNEL_STAGES):
        passed_through = max(funnel.get(stage, StageCounts()).entered, passed_through)
        entered[stage] = passed_through
    stages = []
    for index, stage in enumerate(steps):
        counts = funnel.get(stage, StageCounts())
        following = steps[index + 1] if index + 1 < len(FUNNEL_STAGES) else None
        stages.append(
            {
                "stage": stage,
                "entered": entered[stage],
                "conversion_to_next": _ratio(entered[following], entered[stage]) if following else None,
                "average_days_in_previous_stage": (
                    str((Decimal(counts.seconds_in_previous) / counts.timed / 86_400).quantize(Decimal("0.01")))
                    if counts.timed
                    else None
                ),
            }
        )
    ranked = sorted((c for c in campaigns if c.spend > 0), key=lambda c: (-(c.roi or Decimal(0)), c.campaign_id))[
        :TOP_CAMPAIGNS
    ]
    return {
        "from": months.start,
        "to": months.end,
        "currency": currency,
        "model": model.value,
        "funnel": stages,
        "lead_velocity_rate": _lead_velocity(months, monthly),
        "revenue": money(total.revenue, currency),
        "marketing_influenced_revenue": money(total.influenced_revenue, currency),
        "marketing_influenced_conversions": total.influenced_conversions,
        "marketing_influenced_pipeline": money(influenced_pipeline.get(model, 0), currency),
        "top_campaigns_by_roi": [
            {
                "campaign_id": c.campaign_id,
                "revenue": money(c.revenue, currency),
                "spend": money(c.spend, currency),
                "roi": _ratio(c.revenue - c.spend, c.spend),
            }
            for c in ranked
        ],
    }


def _lead_velocity(months: MonthRange, monthly: Mapping[str, Mapping[str, StageCounts]]) -> dict[str, Any]:
    """(Leads entered in the last month - in the month before) / in the month before."""
    if len(months.months) < 2:
        return {"month": months.end, "rate": None, "note": "ask for two months or more"}
    last, before = months.months[-1], months.months[-2]
    now = monthly.get(last, {}).get("Lead", StageCounts()).entered
    then = monthly.get(before, {}).get("Lead", StageCounts()).entered
    return {"month": last, "leads": now, "previous_month_leads": then, "rate": _ratio(now - then, then)}
