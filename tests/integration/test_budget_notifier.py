"""The budget notifier over moto, with the notifications secret pointing at the local Slack stand-in (served on a
loopback port, as the local hub serves it): a threshold crossed is posted to the department's Slack channel and
emailed through SES to its owner; a Slack failure fails the invocation for Lambda to retry and has emailed no one,
so the retry emails once; a department without a channel is emailed only; a replay tells no one."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from slack_sdk.errors import SlackApiError

from local_runtime.hub import verify_senders
from local_runtime.lambda_events import LocalLambdaContext
from local_runtime.provision import provision
from shared.catalog import CATALOG
from shared.events.finance_events import FINANCE_EVENT_SOURCE, FinanceEventType
from shared.events.finance_taxonomy import example_event
from tests.integration.conftest import STAGE, ServedSlack, eventbridge, handler_module

REGION = "us-east-1"
SENDER = "handoffs@revops.example.com"  # config/local.notifications.json
BUDGET_PATH = "/api/v1/integrations/finance/budget/2026-11"


@pytest.fixture
def notifier(slack: ServedSlack, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The budget notifier's handler over the hub provisioned with the notifications secret pointing at the Slack
    stand-in (its `{hub_url}`), the sender verified in moto's SES as the local hub does."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        provision(CATALOG, STAGE, session, placeholders={"hub_url": slack.url})
        verify_senders(CATALOG, STAGE, session)
        module = handler_module("budget_notifier")
        # The notifier keeps the channels it built from the secret for a few minutes; this test's secret is read
        monkeypatch.setattr(module.channels, "_built_at", float("-inf"))
        yield module


def alert(event_type: FinanceEventType = FinanceEventType.THRESHOLD_CROSSED, **changes: Any) -> dict[str, Any]:
    """The example alert (marketing/paid_social/*, 40,120.50 of 50,000.00 USD), as EventBridge hands it over."""
    detail = example_event(event_type).model_copy(update=changes).model_dump(mode="json")
    return eventbridge(FINANCE_EVENT_SOURCE, event_type.value, detail)


def invoke(notifier: ModuleType, event: dict[str, Any]) -> Any:
    return notifier.handler(event, LocalLambdaContext("revops-test-budget-notifier", 512, 30))


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def test_a_crossed_threshold_is_posted_to_the_departments_channel_and_emailed_to_its_owner(
    notifier: ModuleType, slack: ServedSlack
) -> None:
    # When the notifier gets marketing's 80 % crossing
    result = invoke(notifier, alert())
    # Then marketing's Slack channel got one Block Kit message with the figures and the budget's link on the hub
    [message] = slack.messages("#marketing-budget")
    assert result["slack"] == message["ts"]
    assert result["channel"] == "#marketing-budget"
    assert [block["type"] for block in message["blocks"]] == ["header", "section", "context"]
    assert message["blocks"][0]["text"]["text"] == "marketing/paid_social/* reached 80% of its 2026-11 budget"
    figures = [field["text"] for field in message["blocks"][1]["fields"]]
    assert figures == ["*Budget*\n50,000.00 USD", "*Actual*\n40,120.50 USD", "*Consumption*\n80.24 %"]
    assert f"<{slack.url}{BUDGET_PATH}|" in message["blocks"][2]["elements"][0]["text"]
    assert message["metadata"]["event_type"] == "revops_budget_alert"
    assert len(slack.messages()) == 1
    # And the owner got one email, from the secret's sender, linking the same figures
    [email] = sent_emails()
    assert email.source == SENDER
    assert email.destinations["ToAddresses"] == ["marketing-budget@example.com"]
    assert (result["email"], result["to"]) == (email.id, ["marketing-budget@example.com"])
    assert f"{slack.url}{BUDGET_PATH}" in email.body


def test_a_forecast_overrun_is_posted_with_the_forecast(notifier: ModuleType, slack: ServedSlack) -> None:
    invoke(notifier, alert(FinanceEventType.FORECAST_OVERRUN))
    [message] = slack.messages("#marketing-budget")
    assert "*Forecast*\n61,000.00 USD" in [field["text"] for field in message["blocks"][1]["fields"]]
    assert len(sent_emails()) == 1


@pytest.mark.parametrize("kind", ["server_error", "ratelimited"])
def test_a_slack_failure_is_retried_and_the_owner_is_emailed_once(
    notifier: ModuleType, slack: ServedSlack, kind: str
) -> None:
    # Given Slack failing the next post
    slack.fail_next(1, kind)
    event = alert()
    # When the notifier gets the alert, Then the invocation fails (Lambda retries it, then the failure queue)
    with pytest.raises(SlackApiError):
        invoke(notifier, event)
    # and no one was told yet: no message, no email
    assert slack.messages() == []
    assert sent_emails() == []
    # And the retry, Slack back, posts the message and emails the owner, once each
    result = invoke(notifier, event)
    assert [m["ts"] for m in slack.messages("#marketing-budget")] == [result["slack"]]
    [email] = sent_emails()
    assert result["email"] == email.id


def test_a_department_without_a_channel_is_emailed_only(notifier: ModuleType, slack: ServedSlack) -> None:
    # Given product's line (product has an owner and no Slack channel in config/finance.json)
    event = alert(department="product", line="product/tools_and_agencies/*", channel="tools_and_agencies")
    # When the notifier gets it
    result = invoke(notifier, event)
    # Then the owner is emailed, and Slack hears nothing
    assert (result["slack"], result["channel"]) == (None, None)
    [email] = sent_emails()
    assert email.destinations["ToAddresses"] == ["product-budget@example.com"]
    assert slack.messages() == []


def test_a_department_not_in_the_file_tells_no_one(notifier: ModuleType, slack: ServedSlack) -> None:
    result = invoke(notifier, alert(department="legal", line="legal/*/*", channel=None))
    assert (result["slack"], result["email"]) == (None, None)
    assert "no owner nor channel" in result["note"]
    assert slack.messages() == []
    assert sent_emails() == []


def test_a_replayed_alert_tells_no_one(notifier: ModuleType, slack: ServedSlack) -> None:
    event = alert() | {"replay-name": "revops-test-replay-1"}
    result = invoke(notifier, event)
    assert "replayed by revops-test-replay-1" in result["note"]
    assert slack.messages() == []
    assert sent_emails() == []
