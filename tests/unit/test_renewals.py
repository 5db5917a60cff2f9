"""A renewal at risk: the subscription renews within the model's window and the account is not green."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.success.engine import Health
from shared.success.model import load_health_model
from shared.success.renewals import renewal_at_risk
from shared.success.signals import Signal, SignalKind

MODEL = load_health_model()
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def health(band: str | None) -> Health:
    return Health(NOW, MODEL.version, None if band is None else 5000, band, ())


def subscription(renews_in_days: float, status: str = "active") -> Signal:
    renews = int((NOW + timedelta(days=renews_in_days)).timestamp())
    values = {"subscription_id": "sub_1", "status": status, "renews_at": renews}
    return Signal("s", SignalKind.SUBSCRIPTION, NOW - timedelta(days=1), values)


def test_a_yellow_account_renewing_in_30_days_is_at_risk_a_green_one_or_a_distant_renewal_not() -> None:
    at_risk = renewal_at_risk(MODEL, health("yellow"), [subscription(30.5)])
    assert at_risk is not None
    assert at_risk.days_left == 30
    assert renewal_at_risk(MODEL, health("green"), [subscription(30)]) is None
    assert renewal_at_risk(MODEL, health("red"), [subscription(90)]) is None
    assert renewal_at_risk(MODEL, health("red"), [subscription(30, "canceled")]) is None
    assert renewal_at_risk(MODEL, health("red"), []) is None
