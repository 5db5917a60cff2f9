"""What each attribution event type means, and an example of it: prose for the schema registry and
`docs/events.md`. `shared/attribution/service.py` is the authority on what is published when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import MappingProxyType

from shared.events.attribution_events import AttributionEvent, AttributionEventType


@dataclass(frozen=True)
class AttributionEventTypeInfo:
    meaning: str
    described: bool = True


NOT_DESCRIBED = AttributionEventTypeInfo(
    meaning="Not described yet: add it to `ATTRIBUTION_EVENT_TYPES` in `shared/events/attribution_taxonomy.py`.",
    described=False,
)

ATTRIBUTION_EVENT_TYPES: Mapping[AttributionEventType, AttributionEventTypeInfo] = MappingProxyType(
    {
        AttributionEventType.CONVERSION_ATTRIBUTED: AttributionEventTypeInfo(
            "A conversion (a won deal, or a new customer's first payment) was credited to the touches of its "
            "journey under every model, once per conversion: a duplicate `deal.won` or Stripe's several objects "
            "for one payment publish nothing more. `credits` sums each model's credits per campaign; "
            "`GET /api/v1/attribution/deals/{deal_id}` has them touch by touch. A reattribution after a settings "
            "change (`make reattribute`) that changes what a conversion's event says publishes it again with the "
            "same fields and an id of its own (derived from the conversion id, the settings version and the moment "
            "it was re-credited), so consumers that took the first (the CRM sync's attribution summary) take it."
        ),
        AttributionEventType.MODEL_FITTED: AttributionEventTypeInfo(
            "The data-driven model (a first-order Markov chain over the window's journeys, `data_driven_window_days`, "
            "converting and not) was fitted again by the nightly `attribution-data-driven` schedule (or by a "
            "reattribution whose channel mapping moved them), and the window's stored data-driven credits were "
            "recomputed with it: `recredited` of them. This one event announces them all; each conversion's "
            "`conversion.attributed` is not published again for it, so a consumer that keeps data-driven credits "
            "reads the deals it holds again (`GET /api/v1/attribution/deals/{deal_id}`). `removal_effects` is what "
            "each channel's removal would cost in conversions."
        ),
    }
)

_AT = datetime(2026, 11, 20, 16, 30, 0, tzinfo=UTC)


def describe(event_type: AttributionEventType) -> AttributionEventTypeInfo:
    return ATTRIBUTION_EVENT_TYPES.get(event_type, NOT_DESCRIBED)


def example_event(event_type: AttributionEventType) -> AttributionEvent:
    common = {"occurred_at": _AT, "period": "2026-11", "company_currency": "USD"}
    if event_type is AttributionEventType.CONVERSION_ATTRIBUTED:
        return AttributionEvent(
            event_id=AttributionEvent.id_for("conversion", "deal:standard:D-1"),
            event_type=event_type,
            conversion_id="deal:standard:D-1",
            deal_id="standard:D-1",
            converted_at=_AT,
            amount="48000.00",
            currency="USD",
            company_amount="48000.00",
            touches=4,
            first_touch_campaign="q4-webinar-series",
            last_touch_campaign="brand-search",
            credits={
                "linear": {"q4-webinar-series": "24000.00", "brand-search": "24000.00"},
                "first_touch": {"q4-webinar-series": "48000.00"},
            },
            **common,
        )
    return AttributionEvent(
        event_id=AttributionEvent.id_for("fit", "2026-11", _AT.isoformat()),
        event_type=event_type,
        journeys=1840,
        conversions=61,
        removal_effects={"paid_search": "0.4123", "events": "0.2871", "email": "0.1502"},
        fit_id=f"2026-11#{_AT.isoformat()}",
        recredited=58,
        **common,
    )
