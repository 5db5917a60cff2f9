"""The notification use case: a handoff event becomes Slack messages and emails to the people `notices`
names. A channel that fails raises (the invocation is retried, then dead-lettered with the event); the
assignment itself is long committed and never waits on it. Retrying after a partial failure may repeat a
message that did go out: at least once, as the bus delivers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shared.events.handoff_events import HandoffEvent
from shared.handoffs.model import HandoffKind
from shared.handoffs.notices import account_brief, brief_of, notices_for
from shared.handoffs.notifications import LeadBrief, email_message, slack_message
from shared.handoffs.ports import ChatPoster, EmailSender, HandoffRepository
from shared.handoffs.routing import Router
from shared.leads.service import LeadService


class NotificationChannels(Protocol):
    """Where notices go: Slack, email, and the hub's URL for links."""

    @property
    def chat(self) -> ChatPoster: ...

    @property
    def email(self) -> EmailSender: ...

    @property
    def hub_url(self) -> str: ...


@dataclass(frozen=True)
class Sent:
    slack: list[str]
    email: list[str]
    note: str = ""


class HandoffNotifier:
    def __init__(
        self,
        handoffs: HandoffRepository,
        leads: LeadService,
        router: Callable[[], Router],
        channels: Callable[[], NotificationChannels],
    ) -> None:
        self._handoffs = handoffs
        self._leads = leads
        self._router = router
        self._channels = channels

    def notify(self, event: HandoffEvent) -> Sent:
        handoff = self._handoffs.handoff(event.handoff_id)
        if handoff is None:
            return Sent([], [], note=f"handoff {event.handoff_id} is not stored")
        slack, email = [], []
        channels = self._channels()
        if handoff.kind is HandoffKind.LEAD or handoff.customer_id is None:
            brief = self.brief(handoff.lead_id)
        else:
            brief = account_brief(self._leads.repository.account(handoff.customer_id), handoff.lead_id)
        for notice in notices_for(event, handoff, self._router(), brief, channels.hub_url):
            recipient = notice.recipient
            if recipient.slack_user_id or recipient.slack_channel:
                slack.append(channels.chat.post(slack_message(notice)))
            if recipient.email:
                email.append(channels.email.send(email_message(notice)))
        return Sent(slack, email)

    def brief(self, lead_id: str) -> LeadBrief:
        contact = self._leads.repository.contact(lead_id)
        if contact is None:
            return brief_of(None, lead_id, [], [])
        score = self._leads.score_of(contact)
        # Exact points (hundredths), engagement summed per rule: "demo_request: 100" rather than one line per event.
        totals: dict[str, int] = {}
        for label, hundredths in (
            *((f"fit: {line.rule_id}", line.points_hundredths) for line in score.fit_lines),
            *((f"engagement: {line.rule_id}", line.points_hundredths) for line in score.engagement_lines),
        ):
            totals[label] = totals.get(label, 0) + hundredths
        factors = [(label, Decimal(hundredths) / 100) for label, hundredths in totals.items()]
        records = self._leads.repository.engagements([contact.contact_id, *contact.members])
        engagement = [(r.occurred_at, r.name or r.kind) for r in records]
        return brief_of(contact, lead_id, [f for f in factors if f[1] > 0], engagement)
