"""The notification adapters against what stands in for the real services: `SesEmailSender` on moto's SES, and
`SlackChatPoster` with a real slack_sdk `WebClient` over HTTP to the local Slack stand-in (`LocalSlack`, served
on a loopback port), faults included."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from local_runtime.slack_sink import LocalSlack
from shared.adapters.ses_notifier import SesEmailSender
from shared.adapters.slack_notifier import SlackChatPoster, slack_client
from shared.handoffs.model import Handoff, HandoffKind, HandoffStatus, Priority
from shared.handoffs.notifications import (
    EmailMessage,
    HandoffNotice,
    LeadBrief,
    NoticePurpose,
    Recipient,
    SlackMessage,
    email_message,
    slack_message,
)
from tests.integration.conftest import serving_slack

REGION = "us-east-1"
SENDER = "handoffs@hub.example.com"
TOKEN = "xoxb-1234-5678-local"
REQUESTED = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
NOTICE = HandoffNotice(
    purpose=NoticePurpose.ASSIGNED,
    handoff=Handoff(
        handoff_id="h-42",
        lead_id="hubspot:501",
        kind=HandoffKind.LEAD,
        priority=Priority.IMMEDIATE,
        status=HandoffStatus.ASSIGNED,
        team="emea-sales",
        requested_at=REQUESTED,
        rep_id="rep-ana",
        sla_due_at=REQUESTED + timedelta(minutes=5),
    ),
    recipient=Recipient("rep-ana", "Ana Lima", "ana@example.com", "U0ANA0001", None),
    lead=LeadBrief(
        lead_id="hubspot:501",
        name="Sam Ortiz",
        email="sam@acme.test",
        company="Acme & Co",
        job_title="VP Sales",
        country="US",
        score=Decimal(512),
        stage="mql",
        top_factors=(("Demo request", Decimal(150)),),
        recent_engagement=((REQUESTED - timedelta(minutes=18), "Requested a demo"),),
    ),
    why="requested a demo",
    link="https://api.example.com/api/v1/handoffs/h-42",
)
TS = re.compile(r"\d{10}\.\d{6}")


# SES, on moto ---------------------------------------------------------------------------------------------------


@pytest.fixture
def sesv2() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        client.create_email_identity(EmailIdentity=SENDER)
        yield client


def sent_by_ses() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def requests_to_ses(client: Any) -> list[dict[str, Any]]:
    """The SendEmail parameters as they leave the client (moto keeps only one part of a two-part body)."""
    seen: list[dict[str, Any]] = []
    client.meta.events.register("provide-client-params.sesv2.SendEmail", lambda params, **_: seen.append(params))
    return seen


def test_an_email_is_sent_through_ses_from_the_verified_sender(sesv2: Any) -> None:
    # Given a verified sender, and a handoff notice rendered as an email
    email = email_message(NOTICE)
    seen = requests_to_ses(sesv2)
    # When the SES adapter sends it
    message_id = SesEmailSender(sesv2, SENDER).send(email)
    # Then SES sent it, from the sender to the rep, with the subject and the HTML body, under the id returned
    [sent] = sent_by_ses()
    assert sent.id == message_id
    assert sent.source == SENDER
    assert sent.destinations == {"ToAddresses": ["ana@example.com"]}
    assert sent.subject == "[Immediate] New lead: Sam Ortiz (Acme & Co) — requested a demo"
    assert sent.body == email.html
    assert "Acme &amp; Co" in sent.body
    # and the plain-text part went with it, both parts in UTF-8, with no configuration set
    [request] = seen
    body = request["Content"]["Simple"]["Body"]
    assert body["Text"] == {"Data": email.text, "Charset": "UTF-8"}
    assert body["Html"] == {"Data": email.html, "Charset": "UTF-8"}
    assert "ConfigurationSetName" not in request


def test_the_configuration_set_is_named_when_given(sesv2: Any) -> None:
    sesv2.create_configuration_set(ConfigurationSetName="handoff-notifications")
    seen = requests_to_ses(sesv2)
    SesEmailSender(sesv2, SENDER, configuration_set="handoff-notifications").send(email_message(NOTICE))
    assert [request["ConfigurationSetName"] for request in seen] == ["handoff-notifications"]
    assert len(sent_by_ses()) == 1


def test_an_unverified_sender_is_refused_by_ses_and_the_error_raised(sesv2: Any) -> None:
    # Given a sender SES has not verified
    sender = SesEmailSender(sesv2, "someone@elsewhere.example.com")
    # When it sends, Then SES's refusal is raised for the caller's retries and dead-letter queue, and nothing is sent
    with pytest.raises(ClientError) as refused:
        sender.send(email_message(NOTICE))
    assert refused.value.response["Error"]["Code"] == "MessageRejected"
    assert sent_by_ses() == []


def test_an_email_without_recipients_is_refused_before_ses(sesv2: Any) -> None:
    with pytest.raises(ValueError, match="at least one recipient"):
        SesEmailSender(sesv2, SENDER).send(EmailMessage(to=(), subject="s", text="t", html="<p>t</p>"))
    assert sent_by_ses() == []


# Slack, over HTTP to the local stand-in -----------------------------------------------------------------------


class ServedSlack:
    def __init__(self, sink: LocalSlack, url: str) -> None:
        self.sink = sink
        self.url = url
        self.api_url = f"{url}/_local/slack/api/"

    def client(self, token: str | None = TOKEN) -> WebClient:
        return slack_client(token, self.api_url) if token is not None else WebClient(base_url=self.api_url)

    def poster(self) -> SlackChatPoster:
        return SlackChatPoster(self.client())

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.url}/_local/slack/messages", params={"channel": channel or ""}, timeout=5)
        assert answer.status_code == 200
        return answer.json()["messages"]

    def fail_next(self, **body: Any) -> requests.Response:
        return requests.post(f"{self.url}/_local/slack/faults", json=body, timeout=5)


@pytest.fixture
def slack() -> Iterator[ServedSlack]:
    with serving_slack() as (sink, url):
        yield ServedSlack(sink, url)


def test_a_notice_is_posted_to_slack_and_kept_as_slack_received_it(slack: ServedSlack) -> None:
    # Given the assignee's message
    message = slack_message(NOTICE)
    # When the Slack adapter posts it with slack_sdk's WebClient
    ts = slack.poster().post(message)
    # Then Slack answers with the message's ts, and the message is there as sent: blocks, fallback, metadata
    assert TS.fullmatch(ts)
    [kept] = slack.messages(channel="U0ANA0001")
    assert kept["ts"] == ts
    assert kept["text"] == message.text
    assert kept["blocks"] == list(message.blocks)
    assert kept["metadata"] == message.metadata
    assert [b["action_id"] for b in kept["blocks"][-1]["elements"]] == ["handoff_accept", "handoff_reject"]


def test_messages_are_kept_in_order_and_read_by_channel(slack: ServedSlack) -> None:
    # Given a message to the assignee and a team alert
    poster = slack.poster()
    first = poster.post(slack_message(NOTICE))
    team = Recipient(None, "EMEA sales", None, None, "C0EMEA001")
    second = poster.post(slack_message(replace(NOTICE, purpose=NoticePurpose.TEAM_ALERT, recipient=team)))
    # Then both are kept, oldest first, with increasing ts, and each channel has its own
    assert [m["ts"] for m in slack.messages()] == [first, second]
    assert float(first) < float(second)
    assert [m["ts"] for m in slack.messages(channel="C0EMEA001")] == [second]
    # and the stand-in forgets them on request
    assert requests.delete(f"{slack.url}/_local/slack/messages", timeout=5).json() == {"forgotten": 2}
    assert slack.messages() == []


@pytest.mark.parametrize(
    ("token", "error"), [(None, "not_authed"), ("xoxp-a-user-token", "invalid_auth")], ids=["none", "not-a-bot"]
)
def test_a_post_without_a_bot_token_is_refused_as_slack_refuses_it(
    slack: ServedSlack, token: str | None, error: str
) -> None:
    with pytest.raises(SlackApiError) as refused:
        SlackChatPoster(slack.client(token)).post(slack_message(NOTICE))
    assert (refused.value.response.status_code, refused.value.response["error"]) == (200, error)
    assert slack.messages() == []


def test_a_post_to_no_channel_is_channel_not_found(slack: ServedSlack) -> None:
    with pytest.raises(SlackApiError) as refused:
        slack.poster().post(replace(slack_message(NOTICE), channel="not a channel"))
    assert refused.value.response["error"] == "channel_not_found"
    assert slack.messages() == []


def test_blocks_slack_would_refuse_are_invalid_blocks_naming_the_block(slack: ServedSlack) -> None:
    # Given a message whose second block is a header longer than Slack's 150 characters
    message = slack_message(NOTICE)
    too_long = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    # When it is posted, Then it is refused as Slack does, naming the block
    with pytest.raises(SlackApiError) as refused:
        slack.poster().post(replace(message, blocks=(message.blocks[0], too_long)))
    assert refused.value.response["error"] == "invalid_blocks"
    [error] = refused.value.response["errors"]
    assert error.endswith("[json-pointer:/blocks/1]")
    assert slack.messages() == []


def test_a_form_encoded_post_is_taken_as_well(slack: ServedSlack) -> None:
    # Given chat.postMessage called form-encoded (blocks as a JSON string), as some clients do
    message = slack_message(NOTICE)
    data = {"channel": "C0EMEA001", "text": message.text, "blocks": json.dumps(list(message.blocks))}
    # When it is posted
    answer = slack.client().api_call("chat.postMessage", data=data)
    # Then it is kept with its blocks
    assert answer["ok"] is True
    [kept] = slack.messages(channel="C0EMEA001")
    assert kept["blocks"] == list(message.blocks)


@pytest.mark.parametrize(
    ("kind", "status", "error"), [("ratelimited", 429, "ratelimited"), ("server_error", 500, "internal_error")]
)
def test_a_fault_fails_the_next_posts_then_a_retry_goes_through(
    slack: ServedSlack, kind: str, status: int, error: str
) -> None:
    # Given Slack set to fail the next two posts
    assert slack.fail_next(calls=2, kind=kind, retry_after=7).json()["calls"] == 2
    poster = slack.poster()
    # When the adapter posts, Then the failure is raised as Slack answered it (the caller retries)
    for _ in range(2):
        with pytest.raises(SlackApiError) as failed:
            poster.post(slack_message(NOTICE))
        assert (failed.value.response.status_code, failed.value.response["error"]) == (status, error)
        if kind == "ratelimited":
            assert failed.value.response.headers["Retry-After"] == "7"
    assert slack.messages() == []
    # and the retry after them is posted, once
    ts = poster.post(slack_message(NOTICE))
    assert [m["ts"] for m in slack.messages()] == [ts]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"calls": -1}, "calls must be an integer from 0 to 1000"),
        ({"calls": True}, "calls must be an integer"),
        ({"calls": 1, "kind": "timeout"}, "kind must be one of server_error, ratelimited"),
        ({"calls": 1, "retry_after": "soon"}, "retry_after must be an integer"),
    ],
)
def test_a_fault_request_the_stand_in_cannot_follow_is_refused_naming_the_field(
    slack: ServedSlack, body: dict[str, Any], named: str
) -> None:
    answer = slack.fail_next(**body)
    assert answer.status_code == 400
    assert named in answer.json()["message"]
    slack.poster().post(slack_message(NOTICE))  # and no fault was set


def test_concurrent_posts_are_each_kept_once_with_their_own_ts(slack: ServedSlack) -> None:
    # Given twenty posts at once, from as many threads
    poster = slack.poster()
    message: SlackMessage = slack_message(NOTICE)
    answers: list[str] = []
    threads = [threading.Thread(target=lambda: answers.append(poster.post(message))) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # Then every post is kept, once, each under a ts of its own
    kept = slack.messages()
    assert len(kept) == len(answers) == 20
    assert sorted(m["ts"] for m in kept) == sorted(answers)
    assert len(set(answers)) == 20


def test_other_web_api_methods_answer_as_slack_does(slack: ServedSlack) -> None:
    client = slack.client()
    assert client.auth_test()["bot_id"]
    with pytest.raises(SlackApiError) as unknown:
        client.api_call("chat.meMessage", json={"channel": "C0EMEA001", "text": "hi"})
    assert unknown.value.response["error"] == "unknown_method"
