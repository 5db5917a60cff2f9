"""The notification use case: a handoff event becomes Slack messages and emails to the people `notices`
names. Each channel of each notice is delivered on its own: Slack failing never keeps the email from the rep,
nor the other way round. Every channel is tried, each one sent is recorded (`NoticeDeliveries`), then any
failure raises `NotificationsFailed` naming them all (the invocation is retried, then dead-lettered with the
event); a retry sends only the channels not recorded, so the one that went out is not sent twice. A send whose
record failed is sent again: at least once, as the bus delivers. The assignment itself is long committed and
never waits on any of it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from shared.events.handoff_events import HandoffEvent
from shared.handoffs.model import HandoffKind
from shared.handoffs.notices import account_brief, brief_of, notices_for
from shared.handoffs.notifications import (
    EmailMessage,
    HandoffNotice,
    LeadBrief,
    SlackMessage,
    email_message,
    slack_message,
)
from shared.handoffs.ports import ChatPoster, EmailSender, HandoffRepository, NoticeDeliveries
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


SLACK = "slack"
EMAIL = "email"


class NotificationsFailed(Exception):
    """Some channels of an event's notices did not go out (the others did, and are recorded): retry the event."""


@dataclass(frozen=True)
class Sent:
    slack: list[str]
    email: list[str]
    note: str = ""
    already_sent: int = 0  # channels a previous attempt delivered: not sent again


def notice_delivery_key(event: HandoffEvent, notice: HandoffNotice, channel: str) -> str:
    """One channel of one notice of one transition: the same on every retry of the event (its id is
    deterministic). Names the recipient by rep id or team channel, never by an address."""
    recipient = notice.recipient
    who = recipient.rep_id or recipient.slack_channel or recipient.name
    return f"{event.event_id}#{notice.purpose.value}#{who}#{channel}"


class _NothingRecorded:
    """No record of deliveries: every attempt sends every channel (a retry may repeat what went out)."""

    def delivered(self, keys: Sequence[str]) -> set[str]:
        return set()

    def record(self, key: str) -> None:
        return None


class HandoffNotifier:
    def __init__(
        self,
        handoffs: HandoffRepository,
        leads: LeadService,
        router: Callable[[], Router],
        channels: Callable[[], NotificationChannels],
        deliveries: NoticeDeliveries | None = None,
    ) -> None:
        self._handoffs = handoffs
        self._leads = leads
        self._router = router
        self._channels = channels
        self._deliveries: NoticeDeliveries = deliveries or _NothingRecorded()

    def notify(self, event: HandoffEvent) -> Sent:
        handoff = self._handoffs.handoff(event.handoff_id)
        if handoff is None:
            return Sent([], [], note=f"handoff {event.handoff_id} is not stored")
        channels = self._channels()
        if handoff.kind is HandoffKind.LEAD or handoff.customer_id is None:
            brief = self.brief(handoff.lead_id)
        else:
            brief = account_brief(self._leads.repository.account(handoff.customer_id), handoff.lead_id)
        # Every message is built before any is sent: one that cannot be built fails the event as it is (no
        # retry helps it), with nothing sent.
        outbox: list[tuple[str, str, SlackMessage | EmailMessage]] = []
        for notice in notices_for(event, handoff, self._router(), brief, channels.hub_url):
            recipient = notice.recipient
            if recipient.slack_user_id or recipient.slack_channel:
                outbox.append((SLACK, notice_delivery_key(event, notice, SLACK), slack_message(notice)))
            if recipient.email:
                outbox.append((EMAIL, notice_delivery_key(event, notice, EMAIL), email_message(notice)))
        done = self._deliveries.delivered([key for _, key, _ in outbox])
        sent: dict[str, list[str]] = {SLACK: [], EMAIL: []}
        failures: list[str] = []
        for channel, key, message in outbox:
            if key in done:
                continue
            try:
                sent[channel].append(self._send(channels, message))
                self._deliveries.record(key)
            except Exception as exc:  # any failure of one channel must not keep the others from going out
                failures.append(f"{channel} ({key}): {type(exc).__name__}: {exc}")
        if failures:
            raise NotificationsFailed(
                f"{len(failures)} of {len(outbox)} notification(s) of {event.event_type.value} {event.event_id} "
                f"failed, to be retried (the others went out and are not sent again): {'; '.join(failures)}"
            )
        already = sum(1 for _, key, _ in outbox if key in done)
        note = f"{already} already sent, not again" if already else ""
        return Sent(sent[SLACK], sent[EMAIL], note=note, already_sent=already)

    @staticmethod
    def _send(channels: NotificationChannels, message: SlackMessage | EmailMessage) -> str:
        if isinstance(message, SlackMessage):
            return channels.chat.post(message)
        return channels.email.send(message)

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
