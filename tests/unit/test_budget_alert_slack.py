"""What a department's Slack channel is told when a budget line crosses a threshold or will overrun
(`shared/finance/alert_slack.py`): Block Kit slack_sdk takes as it is, the line, the threshold or the forecast,
the figures as exact money strings, the consumption rounded as the budget view rounds it, a link to the period's
budget on the hub; and nothing a person typed can mention or link."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from shared.events.finance_events import FinanceEvent, FinanceEventType
from shared.events.finance_taxonomy import example_event
from shared.finance.alert_slack import budget_alert_slack, consumption_pct, money
from shared.finance.config import FinanceConfig, load_finance_config, parse_finance_config
from shared.handoffs.notifications import SlackMessage
from tests.unit.test_finance_config import finance_dict

CONFIG = load_finance_config()
HUB = "https://hub.example.com/prod"
LINK = "https://hub.example.com/prod/api/v1/integrations/finance/budget/2026-11"


def crossed(**changes: Any) -> FinanceEvent:
    return example_event(FinanceEventType.THRESHOLD_CROSSED).model_copy(update=changes)


def overrun(**changes: Any) -> FinanceEvent:
    return example_event(FinanceEventType.FORECAST_OVERRUN).model_copy(update=changes)


def assert_block_kit(message: SlackMessage) -> None:
    """slack_sdk's models take every block as it is: known types, every limit they check, nothing dropped."""
    for block in message.blocks:
        parsed = Block.parse(block)
        assert parsed is not None, f"slack_sdk does not know a {block['type']} block"
        parsed.validate_json()
        assert parsed.to_dict() == block


def fields(message: SlackMessage) -> dict[str, str]:
    """The figures: `*Label*\nvalue` fields of the section, by label."""
    [section] = [b for b in message.blocks if b["type"] == "section"]
    pairs = (f["text"].split("\n", 1) for f in section["fields"])
    return {label.strip("*"): value for label, value in pairs}


def mrkdwn_texts(value: Any) -> list[str]:
    """Every mrkdwn text object's text, anywhere in the blocks."""
    if isinstance(value, SlackMessage):
        return mrkdwn_texts(list(value.blocks))
    if isinstance(value, dict):
        own = [value["text"]] if value.get("type") == "mrkdwn" else []
        return own + [t for v in value.values() for t in mrkdwn_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in mrkdwn_texts(v)]
    return []


def section_text(message: SlackMessage) -> str:
    [section] = [b for b in message.blocks if b["type"] == "section"]
    return str(section["text"]["text"])


def context_text(message: SlackMessage) -> str:
    [context] = [b for b in message.blocks if b["type"] == "context"]
    return str(context["elements"][0]["text"])


def test_a_crossed_threshold_is_posted_to_the_departments_channel_with_the_figures() -> None:
    # Given marketing/paid_social/* at 40,120.50 of 50,000.00 USD, crossing 80 %
    message = budget_alert_slack(crossed(), CONFIG, HUB)
    # Then it goes to marketing's channel, as Block Kit slack_sdk takes: header, the line and figures, the link
    assert message is not None
    assert message.channel == "#marketing-budget"
    assert_block_kit(message)
    assert [b["type"] for b in message.blocks] == ["header", "section", "context"]
    assert message.blocks[0]["text"] == {
        "type": "plain_text",
        "text": "marketing/paid_social/* reached 80% of its 2026-11 budget",
    }
    assert section_text(message) == (
        "*Marketing* · channel *Paid social* · every campaign\n"
        "Line `marketing/paid_social/*`, period 2026-11. Crossed the *80 %* threshold of its budget."
    )
    # the money exact, grouped, in the company currency; the consumption to 2 places; no forecast on a crossing
    assert fields(message) == {"Budget": "50,000.00 USD", "Actual": "40,120.50 USD", "Consumption": "80.24 %"}
    assert context_text(message) == (
        f"<{LINK}|Budget 2026-11 in the hub> · `GET /api/v1/integrations/finance/budget/2026-11`"
    )
    assert message.text == (
        "marketing/paid_social/* reached 80% of its 2026-11 budget: spent 40,120.50 USD of 50,000.00 USD (80.24 %)"
    )
    assert message.metadata == {
        "event_type": "revops_budget_alert",
        "event_payload": {
            "event_id": crossed().event_id,
            "period": "2026-11",
            "line": "marketing/paid_social/*",
            "threshold": 80,
        },
    }


def test_a_forecast_overrun_shows_the_forecast_and_its_share_of_budget() -> None:
    message = budget_alert_slack(overrun(), CONFIG, HUB)
    assert message is not None
    assert_block_kit(message)
    assert message.blocks[0]["text"]["text"] == "marketing/paid_social/* is forecast to overrun its 2026-11 budget"
    assert fields(message) == {
        "Budget": "50,000.00 USD",
        "Actual": "40,120.50 USD",
        "Forecast": "61,000.00 USD",
        "Consumption": "80.24 %",
    }
    assert section_text(message).endswith(
        "Forecast to end the period at *122.00 %* of its budget (an overrun is raised at 100 %)."
    )
    assert message.text.endswith("forecast 61,000.00 USD, spent 40,120.50 USD of 50,000.00 USD (80.24 %)")
    assert "threshold" not in message.metadata["event_payload"]  # type: ignore[index]


def test_a_campaign_line_names_its_campaign_and_a_department_line_every_channel() -> None:
    # Given a finance department line (every channel) for one campaign, in a quarter
    event = crossed(
        department="finance",
        channel=None,
        campaign_id="q4-webinars",
        line="finance/*/q4-webinars",
        period="2026-Q4",
        threshold=100,
        budget="1000000.00",
        actual="1000000.01",
    )
    message = budget_alert_slack(event, CONFIG, HUB)
    assert message is not None
    assert message.channel == "#finance-budget"
    assert section_text(message).startswith("*Finance* · channel *every channel* · campaign *q4-webinars*\n")
    assert fields(message) == {"Budget": "1,000,000.00 USD", "Actual": "1,000,000.01 USD", "Consumption": "100.00 %"}
    assert "/api/v1/integrations/finance/budget/2026-Q4|" in context_text(message)


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("0.00", "USD", "0.00 USD"),
        ("999.99", "USD", "999.99 USD"),
        ("1234567.89", "USD", "1,234,567.89 USD"),
        ("-1200.50", "EUR", "-1,200.50 EUR"),
        ("1500000", "JPY", "1,500,000 JPY"),
        ("1234.125", "KWD", "1,234.125 KWD"),
        (None, "USD", "n/a"),
    ],
)
def test_money_is_shown_exactly_with_its_currencys_decimals(amount: str | None, currency: str, shown: str) -> None:
    assert money(amount, currency) == shown


@pytest.mark.parametrize(
    ("actual", "budget", "pct"),
    [
        ("40120.50", "50000.00", Decimal("80.24")),  # 80.241
        ("1.00", "8.00", Decimal("12.50")),
        ("0.125", "1000", Decimal("0.01")),  # 0.0125: half to even, down
        ("0.375", "1000", Decimal("0.04")),  # 0.0375: half to even, up
        ("55000.00", "50000.00", Decimal("110.00")),
        ("5.00", "0.00", None),
        (None, "50.00", None),
    ],
)
def test_consumption_is_rounded_half_to_even_as_the_budget_view_rounds_it(
    actual: str | None, budget: str, pct: Decimal | None
) -> None:
    assert consumption_pct(actual, budget) == pct


def test_a_zero_budget_shows_no_consumption() -> None:
    message = budget_alert_slack(crossed(budget="0.00", actual="10.00"), CONFIG, HUB)
    assert message is not None
    assert fields(message)["Consumption"] == "n/a"


def test_without_a_hub_url_the_path_is_shown_not_linked() -> None:
    message = budget_alert_slack(crossed(), CONFIG)
    assert message is not None
    assert context_text(message) == "Figures: `GET /api/v1/integrations/finance/budget/2026-11`"


def test_a_department_without_a_channel_spend_events_and_unknown_departments_post_nothing() -> None:
    no_channel = crossed(department="product", line="product/paid_social/*")
    assert CONFIG.department("product").slack_channel is None
    assert budget_alert_slack(no_channel, CONFIG, HUB) is None
    assert budget_alert_slack(example_event(FinanceEventType.SPEND_RECORDED), CONFIG, HUB) is None
    assert budget_alert_slack(crossed(department="legal", line="legal/*/*"), CONFIG, HUB) is None
    assert budget_alert_slack(crossed(department=None), CONFIG, HUB) is None


def test_what_a_person_typed_mentions_and_links_no_one() -> None:
    # Given a campaign id and a department name holding Slack's control characters and a line break
    data = finance_dict()
    data["departments"][0].update(name="Marketing <!channel> & co", slack_channel="C0MKT0001")
    config: FinanceConfig = parse_finance_config(data)
    event = crossed(campaign_id="<https://evil.example|click>\n*bold*", line="marketing/paid_social/<@U1>")
    message = budget_alert_slack(event, config, HUB)
    assert message is not None
    assert message.channel == "C0MKT0001"
    assert_block_kit(message)
    text = section_text(message)
    assert "*Marketing &lt;!channel&gt; &amp; co*" in text
    assert "campaign *&lt;https://evil.example|click&gt; *bold**" in text
    assert "`marketing/paid_social/&lt;@U1&gt;`" in text
    # nowhere Slack reads mrkdwn (the fallback text, every mrkdwn object); the header is plain text, shown as typed
    mrkdwn = json.dumps([message.text, *mrkdwn_texts(message)])
    assert "<!channel>" not in mrkdwn
    assert "<@U1>" not in mrkdwn
    assert "<https://evil" not in mrkdwn
    assert message.blocks[0]["text"]["type"] == "plain_text"


def test_long_values_are_clipped_to_slacks_limits() -> None:
    message = budget_alert_slack(crossed(line="marketing/" + "x" * 400, campaign_id="c" * 5000), CONFIG, HUB)
    assert message is not None
    assert_block_kit(message)
    assert len(message.blocks[0]["text"]["text"]) <= 150
    assert len(section_text(message)) <= 3000
