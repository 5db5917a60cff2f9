"""Canonical events as the normalizers make them, for the tests of the services that handle them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from shared.events.canonical import CanonicalEvent, EventType, Subject


def canonical_event(
    event_type: EventType,
    subject: Subject,
    data: dict[str, Any],
    *,
    at: datetime,
    n: int,
    series: str,
    vendor: str = "segment",
) -> CanonicalEvent:
    """The `n`th event of a test's `series` (its event id derived from both, so a run repeats its ids), occurred
    and received at `at`."""
    return CanonicalEvent(
        event_id=str(uuid.uuid5(uuid.NAMESPACE_OID, f"{series}-{n}")),
        event_type=event_type,
        occurred_at=at,
        received_at=at,
        source_vendor=vendor,
        vendor_event_id=f"v{n}",
        vendor_event_type="test",
        subject=subject,
        data=data,
        correlation_id="c",
        delivery_id="d",
    )
