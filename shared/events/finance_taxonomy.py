"""What each finance event type means, and an example of it: prose for the schema registry and
`docs/events.md`. `shared/finance/service.py` is the authority on what is published when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType

from shared.events.finance_events import FinanceEvent, FinanceEventType


@dataclass(frozen=True)
class FinanceEventTypeInfo:
    meaning: str
    described: bool = True


NOT_DESCRIBED = FinanceEventTypeInfo(
    meaning="Not described yet: add it to `FINANCE_EVENT_TYPES` in `shared/events/finance_taxonomy.py`.",
    described=False,
)

FINANCE_EVENT_TYPES: Mapping[FinanceEventType, FinanceEventTypeInfo] = MappingProxyType(
    {
        FinanceEventType.SPEND_RECORDED: FinanceEventTypeInfo(
            "The ledger accepted a spend line (`POST /api/v1/integrations/finance/spend` or `make import-spend`): "
            "the amount as paid, and in the company currency at the rate of its (first) month. A line incurred over "
            "a service period (`service_from` to `service_to`) counts its company amount spread over those days. "
            "A reversal is a line of its own (`reverses` names the original, the amount negated); a correction is "
            "a new line naming the reversed original in `corrects`. Sending the same line again publishes the "
            "same id."
        ),
        FinanceEventType.THRESHOLD_CROSSED: FinanceEventTypeInfo(
            "A budget line's actual spend reached a threshold (by default 50, 80, 100 and 110 % of its budget). "
            "Published once per line, threshold and period, even under concurrent writers; a reversal that takes "
            "the line back under the threshold re-arms it."
        ),
        FinanceEventType.FORECAST_OVERRUN: FinanceEventTypeInfo(
            "A budget line's period-end forecast passed its budget before its actual did: an overrun caught before "
            "it happens. Once per line and period, re-armed when the forecast falls back under."
        ),
    }
)

_AT = datetime(2026, 11, 3, 14, 5, 0, tzinfo=UTC)


def describe(event_type: FinanceEventType) -> FinanceEventTypeInfo:
    return FINANCE_EVENT_TYPES.get(event_type, NOT_DESCRIBED)


def example_event(event_type: FinanceEventType) -> FinanceEvent:
    common = {"occurred_at": _AT, "period": "2026-11", "company_currency": "USD", "department": "marketing"}
    if event_type is FinanceEventType.SPEND_RECORDED:
        return FinanceEvent(
            event_id=FinanceEvent.id_for("spend", "li-2026-11-0042"),
            event_type=event_type,
            spend_id="li-2026-11-0042",
            campaign_id="q4-webinar-series",
            channel="paid_social",
            vendor="LinkedIn",
            amount="1200.00",
            currency="EUR",
            company_amount="1302.00",
            rate="1.0850",
            incurred_on=date(2026, 11, 3),
            **common,
        )
    return FinanceEvent(
        event_id=FinanceEvent.id_for("alert", "2026-11", "marketing/paid_social/*", "80"),
        event_type=event_type,
        channel="paid_social",
        line="marketing/paid_social/*",
        threshold=80 if event_type is FinanceEventType.THRESHOLD_CROSSED else None,
        budget="50000.00",
        actual="40120.50",
        forecast="61000.00" if event_type is FinanceEventType.FORECAST_OVERRUN else None,
        **common,
    )
