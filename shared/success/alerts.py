"""What a playbook's alert says when its intervention starts (pure): a Slack message to the playbook's channel
and an email to its addresses, with the account, why, the health before, the CSM task and its due date; and, when
the account has a CSM (the rep holding its customer handoff), a Slack direct message to them and the email to
them too. Without a CSM, the alert says none is assigned."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

from shared.catalog.success import HEALTH_PATH
from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.handoffs.notifications import EmailMessage, SlackMessage
from shared.handoffs.routing_config import RoutingConfig
from shared.success.model import HealthModel
from shared.success.ports import AccountCsms

NO_CSM = "none assigned"


@dataclass(frozen=True)
class Csm:
    """The account's CSM and where they are told (from the routing file; a rep no longer in it has neither)."""

    rep_id: str
    name: str | None = None
    email: str | None = None
    slack_user_id: str | None = None


@dataclass(frozen=True)
class InterventionAlerts:
    slack: tuple[SlackMessage, ...] = ()
    email: EmailMessage | None = None


def account_csm(tenant_id: str, csms: AccountCsms, routing: RoutingConfig) -> Csm | None:
    """The account's CSM (`AccountCsms`) with their Slack user id and email from the routing file."""
    rep_id = csms.csm_of(tenant_id)
    if rep_id is None:
        return None
    rep = next((rep for rep in routing.reps if rep.rep_id == rep_id), None)
    return Csm(rep_id) if rep is None else Csm(rep_id, rep.name, rep.email, rep.slack_user_id)


def intervention_alerts(
    event: SuccessEvent, model: HealthModel, account: str, hub_url: str, csm: Csm | None = None
) -> InterventionAlerts:
    """The Slack messages and the email an intervention's start sends: the playbook's channel, and the CSM's
    direct message (their Slack user id as the channel, as handoff notifications do); one email to the CSM and
    the playbook's addresses. The CSM is told in addition to the playbook's channel and addresses, not instead:
    those are the CS leads', who escalate and cover for a CSM who is away, and an alert to the CSM alone would go
    unseen exactly then. Nothing for an event that is not a start, or a playbook without an alert."""
    if event.event_type is not SuccessEventType.INTERVENTION_STARTED or event.playbook is None:
        return InterventionAlerts()
    playbook = model.playbook(event.playbook)
    if playbook is None or playbook.alert is None:
        return InterventionAlerts()
    alert = playbook.alert
    why = "; ".join(event.reasons) or "asked for by hand"
    health = "no score yet" if event.score is None else f"{event.score:.2f} ({event.band})"
    due = event.task_due_at.strftime("%Y-%m-%d %H:%M UTC") if event.task_due_at else "no due date"
    path = HEALTH_PATH.format(tenant_id=event.tenant_id)
    link = f"{hub_url.rstrip('/')}{path}"
    headline = f"{playbook.id.replace('_', ' ').capitalize()}: {account}"
    who = NO_CSM if csm is None else (csm.name or csm.rep_id)
    facts = [("Why", why), ("Health", health), ("Task", event.task_title or ""), ("Due", due), ("CSM", who)]
    slack: list[SlackMessage] = []
    text = f"{headline} ({why}). Task: {event.task_title}, due {due}. CSM: {who}."
    metadata = {
        "event_type": "customer_intervention",
        "event_payload": {"intervention_id": event.intervention_id or ""},
    }
    if alert.slack_channel:
        mention = f"<@{csm.slack_user_id}>" if csm is not None and csm.slack_user_id else None
        blocks = _blocks(headline, facts, link, path, mention)
        slack.append(SlackMessage(channel=alert.slack_channel, text=text, blocks=blocks, metadata=metadata))
    if csm is not None and csm.slack_user_id:
        blocks = _blocks(headline, facts, link, path, None)
        slack.append(SlackMessage(channel=csm.slack_user_id, text=text, blocks=blocks, metadata=metadata))
    to = tuple(dict.fromkeys(([csm.email] if csm is not None and csm.email else []) + list(alert.emails)))
    email = None
    if to:
        text = f"{headline}\n" + "\n".join(f"{label}: {value}" for label, value in facts) + f"\nBreakdown: {link}\n"
        rows = "".join(
            f"<tr><th align='left'>{escape(label)}</th><td>{escape(value)}</td></tr>" for label, value in facts
        )
        html = (
            f"<p><strong>{escape(headline)}</strong></p><table>{rows}</table>"
            f"<p><a href='{escape(link)}'>Health breakdown</a></p>"
        )
        email = EmailMessage(to=to, subject=f"[Customer health] {headline}", text=text, html=html)
    return InterventionAlerts(tuple(slack), email)


def _blocks(
    headline: str, facts: list[tuple[str, str]], link: str, path: str, mention: str | None
) -> tuple[dict[str, Any], ...]:
    """The message's Block Kit; `mention` (`<@U…>`) stands for the CSM's name, unescaped, so Slack links them."""
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{mention if label == 'CSM' and mention else _mrkdwn(value)[:1900]}"}
        for label, value in facts
    ]
    return (
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "fields": fields},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Health breakdown: <{link}|GET {path}>"}]},
    )


def _mrkdwn(text: str) -> str:
    """Slack's three control characters escaped, as its docs ask."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
