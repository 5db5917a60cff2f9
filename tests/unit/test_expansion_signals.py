"""What the handoff router reads of a `customer.expansion_signal` as the success domain publishes it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.errors import InvalidInput
from shared.events.success_events import SuccessEvent, SuccessEventType
from shared.handoffs.expansion_handoffs import signal_from


def published(event_type: SuccessEventType = SuccessEventType.EXPANSION_SIGNAL, **fields: Any) -> dict[str, Any]:
    detail = SuccessEvent(
        event_id="72a3ca83-45b9-54f1-a4c0-9bf7b17e08cb",
        event_type=event_type,
        occurred_at=datetime(2026, 11, 30, 3, 15, tzinfo=UTC),
        tenant_id="acct-0f3a",
        model_version="2026.1",
        score=92.5,
        band="green",
        reasons=["seat_pressure: 0.9500", "adoption: 6"],
        cause="6f1c2b7e",
        readiness=84.1,
        suggestions=["analytics_pro"],
        **fields,
    )
    return {"source": "revops.success", "detail-type": event_type.value, "detail": detail.model_dump(mode="json")}


def test_a_published_signal_reads_back_exactly() -> None:
    # Given an expansion signal as EventBridge delivers it (its figures JSON numbers)
    # When the router reads it
    signal = signal_from(published())
    # Then the account, the readiness and the health are exact to the hundredth, with the evidence
    assert signal.account_id == "acct-0f3a"
    assert signal.event_id == "72a3ca83-45b9-54f1-a4c0-9bf7b17e08cb"
    assert (signal.readiness, signal.health_score, signal.band) == (Decimal("84.10"), Decimal("92.50"), "green")
    assert signal.subject == "expansion:acct-0f3a"
    assert signal.why == "expansion readiness 84.10 (seat_pressure: 0.9500, adoption: 6)"
    assert signal.details()["suggested_products"] == ["analytics_pro"]


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (published(SuccessEventType.HEALTH_CHANGED), "customer.health_changed is not an expansion signal"),
        (published(tenant_ids=None) | {"detail": {"event_id": "x"}}, "not a success event"),
        ({"detail": published()["detail"] | {"tenant_id": None}}, "names its account"),
        ({"detail": published()["detail"] | {"readiness": None}}, "names its account"),
    ],
    ids=["another type", "malformed", "no account", "no readiness"],
)
def test_anything_else_is_refused_for_the_dead_letter_queue(event: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        signal_from(event)
