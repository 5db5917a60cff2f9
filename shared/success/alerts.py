"""What a playbook's alert says when its intervention starts (pure): a Slack message to the playbook's channel
and an email to its addresses, with the account, why, the health before, the CSM task and its due date."""

from __future__ import annotations

from html import escape

from shared.catalog.success import HEALTH_PATH
from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.handoffs.notifications import EmailMessage, SlackMessage
from shared.success.model import HealthModel


def intervention_alerts(
    event: SuccessEvent, model: HealthModel, account: str, hub_url: str
) -> tuple[SlackMessage | None, EmailMessage | None]:
    """The Slack message and the email an intervention's start sends; None for what its playbook's alert does
    not name (and both for an event that is not a start, or a playbook without an alert)."""
    if event.event_type is not SuccessEventType.INTERVENTION_STARTED or event.playbook is None:
        return None, None
    playbook = model.playbook(event.playbook)
    if playbook is None or playbook.alert is None:
        return None, None
    alert = playbook.alert
    why = "; ".join(event.reasons) or "asked for by hand"
    health = "no score yet" if event.score is None else f"{event.score:.2f} ({event.band})"
    due = event.task_due_at.strftime("%Y-%m-%d %H:%M UTC") if event.task_due_at else "no due date"
    path = HEALTH_PATH.format(tenant_id=event.tenant_id)
    link = f"{hub_url.rstrip('/')}{path}"
    headline = f"{playbook.id.replace('_', ' ').capitalize()}: {account}"
    facts = [("Why", why), ("Health", health), ("Task", event.task_title or ""), ("Due", due)]
    slack = None
    if alert.slack_channel:
        text = f"{headline} ({why}). Task: {event.task_title}, due {due}."
        blocks = (
            {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{_mrkdwn(value)[:1900]}"} for label, value in facts],
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Health breakdown: <{link}|GET {path}>"}],
            },
        )
        metadata = {
            "event_type": "customer_intervention",
            "event_payload": {"intervention_id": event.intervention_id or ""},
        }
        slack = SlackMessage(channel=alert.slack_channel, text=text, blocks=blocks, metadata=metadata)
    email = None
    if alert.emails:
        text = f"{headline}\n" + "\n".join(f"{label}: {value}" for label, value in facts) + f"\nBreakdown: {link}\n"
        rows = "".join(
            f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in facts
        )
        html = (
            f"<p><strong>{escape(headline)}</strong></p><table>{rows}</table>"
            f"<p><a href='{escape(link)}'>Health breakdown</a></p>"
        )
        email = EmailMessage(to=tuple(alert.emails), subject=f"[Customer health] {headline}", text=text, html=html)
    return slack, email


def _mrkdwn(text: str) -> str:
    """Slack's three control characters escaped, as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
