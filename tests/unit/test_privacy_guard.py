"""No resurrection: an event about an erased person that happened, or reached the hub, before the erasure is
dropped; one that happened and reached the hub after it is new; an event about nobody erased is never dropped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.privacy.guard import ErasureGuard, subject_keys_of
from shared.privacy.subject_keys import subject_hash
from tests.privacy_fakes import InMemoryErasureLedger

ERASED_AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def identify(at: datetime, email: str = "Greta@Fjord.io", received_at: datetime | None = None) -> dict[str, object]:
    return {
        "event_id": "e-1",
        "occurred_at": at.isoformat(),
        **({"received_at": received_at.isoformat()} if received_at else {}),
        "source_vendor": "segment_api",
        "subject": {"contact_id": "segment:user-7", "email": email},
        "data": {"traits": {"email": email}, "anonymous_id": "anon-7"},
    }


def guard_with(*keys: str) -> ErasureGuard:
    ledger = InMemoryErasureLedger()
    ledger.tombstone([subject_hash(key) for key in keys], ERASED_AT, "er-1")
    return ErasureGuard(ledger)


def test_the_keys_of_a_canonical_event_are_the_identities_the_lead_processor_resolves() -> None:
    assert subject_keys_of("revops.webhooks", identify(ERASED_AT)) == [
        "email#greta@fjord.io",
        "segment#user-7",
        "segment-anonymous#anon-7",
    ]


def test_the_keys_of_a_hub_event_are_its_lead_and_email() -> None:
    detail = {"lead_id": "c-1", "email": "greta@fjord.io", "occurred_at": ERASED_AT.isoformat()}
    assert subject_keys_of("revops.leads", detail) == ["contact#c-1", "email#greta@fjord.io"]


def test_an_event_from_before_the_erasure_is_dropped_and_one_from_after_it_is_not() -> None:
    guard = guard_with("email#greta@fjord.io")
    assert guard.drops("revops.webhooks", identify(ERASED_AT - timedelta(days=3)))
    assert not guard.drops("revops.webhooks", identify(ERASED_AT + timedelta(seconds=1)))


def test_any_of_the_identities_is_enough_and_a_stranger_is_never_dropped() -> None:
    guard = guard_with("segment-anonymous#anon-7")
    assert guard.drops("revops.webhooks", identify(ERASED_AT - timedelta(days=3), email="other@fjord.io"))
    assert not guard_with("email#someone@else.io").drops("revops.webhooks", identify(ERASED_AT - timedelta(days=3)))
    lead_event = {"lead_id": "c-1", "occurred_at": (ERASED_AT - timedelta(hours=1)).isoformat()}
    assert guard_with("contact#c-1").drops("revops.handoffs", lead_event)
    assert not guard_with("contact#c-1").drops("revops.handoffs", {"lead_id": "c-1"})  # no time: kept


def test_an_event_the_hub_received_before_the_erasure_is_dropped_however_late_its_sender_stamped_it() -> None:
    """Issue 15: an identify stamped a day ahead by its client, received before the erasure and replayed after it,
    must not bring the person back; the same stamp on an event received after the erasure is a new person."""
    guard = guard_with("email#greta@fjord.io")
    stamped_ahead = ERASED_AT + timedelta(hours=24)
    assert guard.drops("revops.webhooks", identify(stamped_ahead, received_at=ERASED_AT - timedelta(minutes=5)))
    assert guard.drops_event(
        {"source": "revops.webhooks", "detail": identify(stamped_ahead, received_at=ERASED_AT - timedelta(minutes=5))}
    )
    assert not guard.drops("revops.webhooks", identify(stamped_ahead, received_at=ERASED_AT + timedelta(seconds=1)))
    assert not guard.drops(
        "revops.webhooks",
        identify(ERASED_AT + timedelta(seconds=1), received_at=ERASED_AT + timedelta(seconds=1)),
    )
    assert guard.drops(
        "revops.webhooks", identify(ERASED_AT - timedelta(days=3), received_at=ERASED_AT + timedelta(days=1))
    )
