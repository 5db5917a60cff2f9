"""The notifier's delivery of a handoff's notices (issue 10): each channel of a notice goes out on its own. Slack
failing does not keep the email from the rep, nor the other way round; the failure still fails the event (to be
retried, then dead-lettered), and the retry sends only the channel that did not go out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest

from shared.events.handoff_events import HandoffEvent, HandoffEventType
from shared.handoffs.model import LeadFacts, Priority
from shared.handoffs.notifications import EmailMessage, SlackMessage
from shared.handoffs.notifier import HandoffNotifier, NotificationsFailed
from shared.handoffs.service import HandoffService
from shared.leads.service import LeadService
from tests.fakes import FixedClock, RecordingPublisher
from tests.handoff_fakes import InMemoryHandoffRepository, RecordingTimers
from tests.unit.test_handoff_service import ROUTER, T0, Leads


class ChannelDown(Exception):
    pass


@dataclass
class Channels:
    """Slack and email that record what they took, and fail the next `*_failures` sends."""

    posted: list[SlackMessage] = field(default_factory=list)
    emailed: list[EmailMessage] = field(default_factory=list)
    slack_failures: int = 0
    email_failures: int = 0
    hub_url: str = "https://hub.example.com"

    @property
    def chat(self) -> Channels:
        return self

    @property
    def email(self) -> SimpleNamespace:
        return SimpleNamespace(send=self._send)

    def post(self, message: SlackMessage) -> str:
        if self.slack_failures:
            self.slack_failures -= 1
            raise ChannelDown("slack: internal_error")
        self.posted.append(message)
        return f"ts-{len(self.posted)}"

    def _send(self, message: EmailMessage) -> str:
        if self.email_failures:
            self.email_failures -= 1
            raise ChannelDown("ses: throttled")
        self.emailed.append(message)
        return f"msg-{len(self.emailed)}"


class Deliveries:
    """`NoticeDeliveries` in memory."""

    def __init__(self) -> None:
        self.recorded: set[str] = set()

    def delivered(self, keys: Sequence[str]) -> set[str]:
        return self.recorded & set(keys)

    def record(self, key: str) -> None:
        self.recorded.add(key)


@dataclass
class Notifying:
    notifier: HandoffNotifier
    channels: Channels
    event: HandoffEvent


@pytest.fixture
def notifying() -> Notifying:
    # A handoff assigned to an AMER SDR (a standard one: the rep alone is told, in Slack and by email)
    repository, bus, leads = InMemoryHandoffRepository(), RecordingPublisher(), Leads()
    service = HandoffService(
        repository, lambda: ROUTER, leads, bus, RecordingTimers(), FixedClock(T0), pause=lambda seconds: None
    )
    leads.known["lead-1"] = LeadFacts(lead_id="lead-1", email="lead-1@example.com", country="US", fit_score=Decimal(40))
    service.request("lead-1", Priority.STANDARD, "nurtured 14 days", "cause-1")
    [event] = [e for e in bus.published if getattr(e, "event_type", None) is HandoffEventType.ASSIGNED]
    channels = Channels()
    unknown_leads = cast(LeadService, SimpleNamespace(repository=SimpleNamespace(contact=lambda lead_id: None)))
    notifier = HandoffNotifier(repository, unknown_leads, lambda: ROUTER, lambda: cast(Any, channels), Deliveries())
    return Notifying(notifier, channels, event)


def test_a_slack_failure_does_not_keep_the_email_and_the_retry_sends_slack_only(notifying: Notifying) -> None:
    # Given Slack failing the next post
    notifying.channels.slack_failures = 1
    # When the notifier gets the assignment
    # Then the event fails (to be retried), naming the Slack failure
    with pytest.raises(NotificationsFailed, match="internal_error"):
        notifying.notifier.notify(notifying.event)
    # And the rep got the email all the same, and no Slack message
    assert (len(notifying.channels.posted), len(notifying.channels.emailed)) == (0, 1)
    # When the event is retried, Slack back
    sent = notifying.notifier.notify(notifying.event)
    # Then the rep gets the Slack message, and the email is not sent again
    assert (len(notifying.channels.posted), len(notifying.channels.emailed)) == (1, 1)
    assert (len(sent.slack), sent.email, sent.already_sent) == (1, [], 1)


def test_an_email_failure_does_not_keep_the_slack_message_and_the_retry_sends_the_email_only(
    notifying: Notifying,
) -> None:
    # Given SES failing the next send
    notifying.channels.email_failures = 1
    # When the notifier gets the assignment, Then the event fails naming the email's failure
    with pytest.raises(NotificationsFailed, match="throttled"):
        notifying.notifier.notify(notifying.event)
    # And the Slack message went out
    assert (len(notifying.channels.posted), len(notifying.channels.emailed)) == (1, 0)
    # When the event is retried, SES back, Then only the email goes out
    sent = notifying.notifier.notify(notifying.event)
    assert (len(notifying.channels.posted), len(notifying.channels.emailed)) == (1, 1)
    assert (sent.slack, len(sent.email)) == ([], 1)


def test_an_event_delivered_again_after_it_went_out_sends_nothing_twice(notifying: Notifying) -> None:
    notifying.notifier.notify(notifying.event)
    again = notifying.notifier.notify(notifying.event)
    assert (len(notifying.channels.posted), len(notifying.channels.emailed)) == (1, 1)
    assert (again.slack, again.email, again.already_sent) == ([], [], 2)
