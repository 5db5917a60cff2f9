"""What a budget line's owner is told when it crosses a threshold or its forecast overruns (pure): an email to
the department's `owner_email` in `config/finance.json`, with the figures as the event carries them. The Slack
message to the department's `slack_channel` is `shared.finance.alert_slack`'s."""

from __future__ import annotations

from html import escape

from shared.events.finance_events import FinanceEvent, FinanceEventType
from shared.finance.alert_slack import budget_link
from shared.finance.config import FinanceConfig
from shared.handoffs.notifications import EmailMessage


def budget_alert_email(event: FinanceEvent, config: FinanceConfig, hub_url: str = "") -> EmailMessage | None:
    """None when the event is not an alert or its department names no owner. The figures' link is on the hub
    (`hub_url`, the notifications secret's) when given, the API path alone otherwise."""
    if event.event_type is FinanceEventType.SPEND_RECORDED or event.department is None:
        return None
    if not config.has_department(event.department):
        return None
    owner = config.department(event.department).owner_email
    if not owner:
        return None
    currency = event.company_currency
    if event.event_type is FinanceEventType.THRESHOLD_CROSSED:
        headline = f"{event.line} reached {event.threshold}% of its {event.period} budget"
        detail = f"Spent {event.actual} {currency} of {event.budget} {currency}."
    else:
        headline = f"{event.line} is forecast to overrun its {event.period} budget"
        detail = f"Forecast {event.forecast} {currency} against {event.budget} {currency}; spent {event.actual} so far."
    link = budget_link(event.period, hub_url)
    text = f"{headline}.\n{detail}\nFigures: GET {link}\n"
    html = (
        f"<p><strong>{escape(headline)}</strong></p><p>{escape(detail)}</p>"
        f"<p>Figures: <code>GET {escape(link)}</code></p>"
    )
    return EmailMessage(to=(owner,), subject=f"[Budget] {headline}", text=text, html=html)
