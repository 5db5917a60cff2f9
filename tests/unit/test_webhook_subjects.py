"""Who a stored delivery is about, as the receiver tells it without normalizing: the event's email, else the
vendor's id of the person; of a refused body, its first email. Stored only as the salted hash."""

from __future__ import annotations

from shared.privacy.subject_keys import subject_hash
from shared.webhooks.subjects import subject_of_body, subject_of_event


def test_the_subject_is_the_email_wherever_the_vendor_puts_it() -> None:
    segment = {"type": "identify", "userId": "u-1", "traits": {"email": " Greta@Fjord.IO "}}
    typeform = {"form_response": {"answers": [{"type": "email", "email": "greta@fjord.io"}]}}
    expected = subject_hash("email#greta@fjord.io")
    assert subject_of_event("segment_api", segment) == expected
    assert subject_of_event("typeform", typeform) == expected


def test_without_an_email_the_subject_is_the_vendors_id_of_the_person() -> None:
    assert subject_of_event("segment_api", {"type": "track", "userId": "u-1"}) == subject_hash("segment#u-1")
    assert subject_of_event("segment", {"type": "page", "anonymousId": "a-1"}) == subject_hash("segment-anonymous#a-1")
    change = {"subscriptionType": "contact.propertyChange", "objectId": 501, "propertyValue": "Greta"}
    assert subject_of_event("hubspot", change) == subject_hash("hubspot#501")
    invoice = {"data": {"object": {"object": "subscription", "customer": "cus_1"}}}
    assert subject_of_event("stripe", invoice) == subject_hash("stripe#cus_1")
    assert subject_of_event("hubspot", {"subscriptionType": "company.creation", "objectId": 9}) is None


def test_a_refused_body_is_about_its_first_email_and_the_hash_hides_it() -> None:
    subject = subject_of_body(b"garbage {greta@fjord.io} more")
    assert subject == subject_hash("email#greta@fjord.io")
    assert subject is not None
    assert "greta" not in subject
    assert subject_of_body(b"no address here") is None


def test_what_no_store_can_hold_is_no_email() -> None:
    from shared.privacy.subject_keys import normalized_email

    assert normalized_email("greta\ud800@fjord.io") is None
    assert normalized_email(" Greta@Fjord.IO ") == "greta@fjord.io"
    assert normalized_email("greta@localhost") is None


def test_the_receiver_stores_each_events_subject_and_a_refused_bodys_in_the_write_it_makes() -> None:
    from collections.abc import Sequence
    from datetime import UTC, datetime

    from shared.webhooks.ingest import WebhookIngest
    from shared.webhooks.model import ClaimStatus, DeliveryAttempt, InboundWebhook, StoredEvent, VendorEvent
    from shared.webhooks.signatures import SignatureError
    from shared.webhooks.vendor import Vendor
    from tests.fakes import FixedClock, StaticSecrets

    class Forms(Vendor):
        name = "forms"

        def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
            if request.header("x-sig") != "ok":
                raise SignatureError("bad")

        def parse(self, request: InboundWebhook) -> list[VendorEvent]:
            return [VendorEvent("k-1", "k-1", "form", datetime.now(UTC), {"who": {"email": "Greta@Fjord.io"}})]

    class Recording:
        def __init__(self) -> None:
            self.stored: list[StoredEvent] = []
            self.recorded: list[DeliveryAttempt] = []

        def accept(self, attempt: DeliveryAttempt, events: Sequence[StoredEvent]) -> dict[str, ClaimStatus]:
            self.stored += events
            return {e.dedupe_key: ClaimStatus.NEW for e in events}

        def record(self, attempt: DeliveryAttempt) -> None:
            self.recorded.append(attempt)

    ledger = Recording()
    ingest = WebhookIngest({"forms": Forms()}, StaticSecrets({"forms": ["s"]}), ledger, FixedClock())  # type: ignore[arg-type]

    def post(signature: str) -> None:
        body = b'{"who": {"email": "greta@fjord.io"}}'
        ingest.receive(InboundWebhook("forms", "POST", "https://hub/webhooks/forms", {"x-sig": signature}, body, "r"))

    post("ok")
    post("forged")
    hashed = subject_hash("email#greta@fjord.io")
    assert [event.subject for event in ledger.stored] == [hashed]
    assert [attempt.subject for attempt in ledger.recorded] == [hashed]
