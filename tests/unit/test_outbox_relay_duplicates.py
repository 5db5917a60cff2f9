"""An outbox relay batch holding one event id twice (shared/events/relay.py): the same event again (a retried
record) is published once, quietly; two different events under one id are published once too, as consumers
de-duplicate on the id, and the relay says which record's event was left out."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from shared.events.lead_events import LeadEvent, LeadEventType
from shared.events.relay import StoredEvent, relay
from tests.fakes import RecordingPublisher

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def score_changed(score: float) -> LeadEvent:
    return LeadEvent(
        event_id="e-1",
        event_type=LeadEventType.SCORE_CHANGED,
        occurred_at=AT,
        lead_id="lead-1",
        stage="Lead",
        score=score,
        fit_score=score,
        engagement_score=0.0,
    )


def test_two_different_events_under_one_id_in_a_batch_are_published_once_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a batch whose two records carry one event id but different events
    stored = [StoredEvent("100", score_changed(10.0)), StoredEvent("200", score_changed(20.0))]
    bus = RecordingPublisher()
    # When they are relayed
    with caplog.at_level(logging.WARNING, logger="shared.events.relay"):
        report = relay(stored, bus, lambda position, reason: None)
    # Then the later record's event is published, and a warning names both records and the id
    assert [e.score for e in bus.published] == [20.0]
    assert report.published == 1
    assert report.retry == []
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert {"100", "200", "e-1"} <= set(warning.args or ())


def test_the_same_event_twice_in_a_batch_is_published_once_without_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a batch holding one event twice (a record retried after a partial success)
    stored = [StoredEvent("100", score_changed(10.0)), StoredEvent("200", score_changed(10.0))]
    bus = RecordingPublisher()
    # When they are relayed
    with caplog.at_level(logging.WARNING, logger="shared.events.relay"):
        relay(stored, bus, lambda position, reason: None)
    # Then it is published once, and nothing is reported
    assert len(bus.published) == 1
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
