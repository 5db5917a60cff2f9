"""Segment tracks as product usage: the recorder's rule takes the product tracks of Segment and no marketing
track, and the health model refuses a list of product tracks that names marketing ones."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern

from shared.catalog.success import HEALTH_MODEL_FILE, SEGMENT_VENDORS, SUCCESS_DOMAIN
from shared.success.model import InvalidHealthModel, parse_health_model
from shared.webhooks.normalizers.segment import SEGMENT, SEGMENT_API

MODEL_FILE = json.loads(HEALTH_MODEL_FILE.read_text())


def recorder_takes(detail: dict[str, Any]) -> list[str]:
    """The recorder's rules that deliver an event of this detail (moto's matching, as the local runtime's)."""
    event: Any = {"source": "revops.webhooks", "detail-type": "engagement.recorded", "detail": detail}
    recorder = next(f for f in SUCCESS_DOMAIN.functions if f.name == "success_recorder")
    return [r.name for r in recorder.rules if EventPattern.load(json.dumps(r.pattern)).matches_event(event)]


def test_the_recorder_takes_segment_product_tracks_and_no_marketing_track() -> None:
    # Given the health model's product tracks (every track the lead domain does not map to a marketing kind)
    assert MODEL_FILE["product_track_events"] == ["*"]
    # When Segment sends a product track, a marketing track, and another vendor an unmapped engagement
    product = recorder_takes({"source_vendor": "segment", "data": {"kind": "track", "name": "Report Created"}})
    tracking_api = recorder_takes({"source_vendor": "segment_api", "data": {"kind": "track", "name": "Export"}})
    marketing = recorder_takes({"source_vendor": "segment", "data": {"kind": "email_open", "name": "Email Opened"}})
    other = recorder_takes({"source_vendor": "hubspot", "data": {"kind": "track", "name": "Report Created"}})
    # Then only Segment's product tracks reach the recorder
    assert product == tracking_api == ["success-product-tracks"]
    assert marketing == other == []
    assert set(SEGMENT_VENDORS) == {SEGMENT, SEGMENT_API}


def test_a_model_naming_marketing_tracks_as_product_usage_is_refused() -> None:
    named = dict(MODEL_FILE, product_track_events=["Report Created", "Email Opened"])
    with pytest.raises(InvalidHealthModel, match='"Email Opened" is a marketing track'):
        parse_health_model(named)
    with pytest.raises(InvalidHealthModel, match="name no other"):
        parse_health_model(dict(MODEL_FILE, product_track_events=["*", "Report Created"]))
    with pytest.raises(InvalidHealthModel, match="track cannot be a CSM touch"):
        parse_health_model(dict(MODEL_FILE, touch_kinds=["meeting_booked", "track"]))
    model = parse_health_model(dict(MODEL_FILE, product_track_events=["Report Created"]))
    assert (model.is_product_track("Report Created"), model.is_product_track("Export")) == (True, False)
    assert (
        parse_health_model({k: v for k, v in MODEL_FILE.items() if k != "product_track_events"}).product_track_events
        == []
    )
