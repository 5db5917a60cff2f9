"""Renewals at risk (pure): an account whose subscription renews soon and whose health is not green. The
renewal date is the latest subscription change's period end (Stripe's `current_period_end`); a canceled
subscription renews never."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.success.engine import Health
from shared.success.model import HealthModel
from shared.success.signals import Signal, SignalKind

ENDED = frozenset({"canceled", "incomplete_expired"})


@dataclass(frozen=True)
class RenewalAtRisk:
    renews_at: datetime
    days_left: int


def renewal_at_risk(model: HealthModel, health: Health, signals: Sequence[Signal]) -> RenewalAtRisk | None:
    changes = [s for s in signals if s.kind is SignalKind.SUBSCRIPTION and s.at <= health.as_of]
    if not changes or health.band in (None, "green"):
        return None
    latest = max(changes, key=lambda s: (s.at, s.signal_id))
    renews = latest.values.get("renews_at")
    if renews is None or latest.values.get("status") in ENDED:
        return None
    renews_at = datetime.fromtimestamp(renews, UTC)
    left = renews_at - health.as_of
    if left < timedelta(0) or left > timedelta(days=model.renewal.at_risk_within_days):
        return None
    return RenewalAtRisk(renews_at, left.days)
