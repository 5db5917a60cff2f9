"""What a budget owner is emailed when a line crosses a threshold or will overrun."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.events.finance_events import FinanceEvent, FinanceEventType
from shared.events.finance_taxonomy import example_event
from shared.finance.alert_notices import budget_alert_email
from shared.finance.config import load_finance_config

CONFIG = load_finance_config()


def test_a_crossed_threshold_is_emailed_to_the_departments_owner_with_the_figures() -> None:
    message = budget_alert_email(example_event(FinanceEventType.THRESHOLD_CROSSED), CONFIG)
    assert message is not None
    assert message.to == ("marketing-budget@example.com",)
    assert message.subject == "[Budget] marketing/paid_social/* reached 80% of its 2026-11 budget"
    assert "40120.50 USD of 50000.00 USD" in message.text


def test_an_overrun_forecast_says_so() -> None:
    message = budget_alert_email(example_event(FinanceEventType.FORECAST_OVERRUN), CONFIG)
    assert message is not None
    assert "forecast to overrun" in message.subject
    assert "Forecast 61000.00 USD" in message.text


def test_spend_events_and_ownerless_departments_send_nothing() -> None:
    assert budget_alert_email(example_event(FinanceEventType.SPEND_RECORDED), CONFIG) is None
    nobody = FinanceEvent(
        event_id="e",
        event_type=FinanceEventType.THRESHOLD_CROSSED,
        occurred_at=datetime(2026, 11, 3, tzinfo=UTC),
        period="2026-11",
        company_currency="USD",
        department="no-such-department",
        line="no-such-department/*/*",
        threshold=50,
    )
    assert budget_alert_email(nobody, CONFIG) is None


def test_html_escapes_what_it_shows() -> None:
    event = example_event(FinanceEventType.THRESHOLD_CROSSED).model_copy(update={"line": "<b>marketing</b>/*/*"})
    message = budget_alert_email(event, CONFIG)
    assert message is not None
    assert "<b>marketing</b>" not in message.html
    assert "&lt;b&gt;marketing&lt;/b&gt;" in message.html


def test_the_figures_link_is_on_the_hub_when_its_url_is_known() -> None:
    event = example_event(FinanceEventType.THRESHOLD_CROSSED)
    message = budget_alert_email(event, CONFIG, "https://hub.example.com/prod/")
    assert message is not None
    assert "Figures: GET https://hub.example.com/prod/api/v1/integrations/finance/budget/2026-11\n" in message.text
    bare = budget_alert_email(event, CONFIG)
    assert bare is not None
    assert "Figures: GET /api/v1/integrations/finance/budget/2026-11\n" in bare.text
