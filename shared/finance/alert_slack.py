"""What a department's Slack channel is told when one of its budget lines crosses a threshold or its forecast
overruns (pure): a Block Kit message, built with slack_sdk's block models, to the department's `slack_channel` in
`config/finance.json`, posted as handoff notifications are (`SlackChatPoster`, the notifications secret).

    header    the line reached 80% of its 2026-11 budget / is forecast to overrun its 2026-11 budget
    section   the line (department, channel, campaign by name) and the threshold, or the forecast's share of budget
    fields    budget, actual, forecast (an overrun's), consumption %: money as `40,120.50 USD` from the event's
              exact decimal strings, consumption rounded half to even to 2 places as `GET .../budget` rounds it
    context   a link to `GET /api/v1/integrations/finance/budget/{period}` on the hub (the secret's `hub_url`)

Whatever a person typed (a campaign id, a department's name) is escaped for mrkdwn (`&`, `<`, `>`), so nothing
in it mentions or links; line breaks in a value are folded to one space and each value is clipped to Slack's
limits.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from shared.events.finance_events import FinanceEvent, FinanceEventType
from shared.finance.config import FinanceConfig
from shared.handoffs.notifications import SlackMessage
from shared.slack_text import clip as _clip
from shared.slack_text import fit as _fit
from shared.slack_text import mrkdwn as _mrkdwn

METADATA_EVENT_TYPE = "revops_budget_alert"
BUDGET_PATH = "/api/v1/integrations/finance/budget/{period}"

MAX_HEADER = 150  # Slack's limits (https://docs.slack.dev/reference/block-kit/blocks)
MAX_SECTION_TEXT = 3000
MAX_FIELD = 2000
MAX_CONTEXT_TEXT = 2000
MAX_VALUE = 200  # how much of a name, id or line is shown
MAX_LINK = 1000
NOT_KNOWN = "n/a"

_LINK = re.compile(r"https?://[^\s<>|\"']+")


def budget_alert_slack(event: FinanceEvent, config: FinanceConfig, hub_url: str = "") -> SlackMessage | None:
    """The alert as a Slack message to the department's channel; None when the event is not a budget alert or
    its department has no channel (or is not in the file)."""
    if event.event_type is FinanceEventType.SPEND_RECORDED or event.department is None:
        return None
    if not config.has_department(event.department):
        return None
    department = config.department(event.department)
    if not department.slack_channel:
        return None
    currency = event.company_currency
    line = event.line or "/".join([event.department, event.channel or "*", event.campaign_id or "*"])
    overrun = event.event_type is FinanceEventType.FORECAST_OVERRUN
    if overrun:
        headline = f"{_clip(line, MAX_VALUE)} is forecast to overrun its {_clip(event.period, 20)} budget"
        what = (
            f"Forecast to end the period at *{_pct(event.forecast, event.budget)}* of its budget "
            f"(an overrun is raised at {config.forecast.overrun_threshold} %)."
        )
    else:
        headline = f"{_clip(line, MAX_VALUE)} reached {event.threshold}% of its {_clip(event.period, 20)} budget"
        what = f"Crossed the *{event.threshold} %* threshold of its budget."
    channel = (
        config.channel(event.channel).name
        if event.channel and config.has_channel(event.channel)
        else event.channel or "every channel"
    )
    campaign = f"campaign *{_shown(event.campaign_id)}*" if event.campaign_id else "every campaign"
    who = (
        f"*{_shown(department.name)}* · channel *{_shown(channel)}* · {campaign}\n"
        f"Line `{_shown(line)}`, period {_shown(event.period)}. {what}"
    )
    figures = [("Budget", money(event.budget, currency)), ("Actual", money(event.actual, currency))]
    if event.forecast is not None:
        figures.append(("Forecast", money(event.forecast, currency)))
    figures.append(("Consumption", _pct(event.actual, event.budget)))
    blocks = [
        HeaderBlock(text=PlainTextObject(text=_clip(headline, MAX_HEADER))),
        SectionBlock(
            text=MarkdownTextObject(text=_fit(who, MAX_SECTION_TEXT)),
            fields=[MarkdownTextObject(text=_fit(f"*{label}*\n{value}", MAX_FIELD)) for label, value in figures],
        ),
        ContextBlock(elements=[MarkdownTextObject(text=_fit(_footer(event.period, hub_url), MAX_CONTEXT_TEXT))]),
    ]
    spent = f"{money(event.actual, currency)} of {money(event.budget, currency)} ({_pct(event.actual, event.budget)})"
    fallback = f"{headline}: " + (
        f"forecast {money(event.forecast, currency)}, spent {spent}" if overrun else f"spent {spent}"
    )
    payload: dict[str, Any] = {"event_id": event.event_id, "period": event.period, "line": line}
    if event.threshold is not None:
        payload["threshold"] = event.threshold
    return SlackMessage(
        channel=department.slack_channel,
        text=_mrkdwn(fallback),
        blocks=tuple(block.to_dict() for block in blocks),
        metadata={"event_type": METADATA_EVENT_TYPE, "event_payload": payload},
    )


def budget_link(period: str, hub_url: str) -> str:
    """The period's budget figures on the hub: `{hub_url}/api/v1/integrations/finance/budget/{period}`; the path
    alone without a hub URL."""
    path = BUDGET_PATH.format(period=period)
    return f"{hub_url.rstrip('/')}{path}" if hub_url else path


def money(amount: str | None, currency: str) -> str:
    """`40,120.50 USD`: the event's exact decimal string, digits grouped by thousands, its decimals kept as they
    are (the event carries the currency's exponent); `n/a` when the event carries none."""
    if amount is None:
        return NOT_KNOWN
    try:
        value = Decimal(amount)
    except InvalidOperation:
        return _mrkdwn(f"{amount} {currency}")
    if not value.is_finite():
        return _mrkdwn(f"{amount} {currency}")
    return f"{value:,f} {_mrkdwn(currency)}"


def consumption_pct(part: str | None, whole: str | None) -> Decimal | None:
    """part / whole x 100, rounded half to even to 2 places from the exact ratio (as the budget view rounds it);
    None when either is missing or not a number, or the budget is zero."""
    try:
        numerator, denominator = Fraction(Decimal(part or "x")), Fraction(Decimal(whole or "x"))
    except (InvalidOperation, ValueError, OverflowError):
        return None
    if denominator == 0:
        return None
    hundredths = round(numerator * 10_000 / denominator)  # Fraction.__round__: half to even
    return Decimal(hundredths).scaleb(-2)


def _pct(part: str | None, whole: str | None) -> str:
    pct = consumption_pct(part, whole)
    return NOT_KNOWN if pct is None else f"{pct:,f} %"


def _footer(period: str, hub_url: str) -> str:
    link = budget_link(period, hub_url)
    path = _mrkdwn(BUDGET_PATH.format(period=period))
    if len(link) <= MAX_LINK and _LINK.fullmatch(link):
        return f"<{link.replace('&', '&amp;')}|Budget {_mrkdwn(period)} in the hub> · `GET {path}`"
    return f"Figures: `GET {path}`"


def _shown(value: str) -> str:
    """A value as the message shows it: clipped, then escaped."""
    return _mrkdwn(_clip(value, MAX_VALUE))
