"""Who a stored delivery is about, as the receiver tells it without normalizing: the event's email, else the
vendor's id of the person; of a refused body, every email in it. Stored only as the salted hash."""

from __future__ import annotations

import gzip

from shared.privacy.subject_keys import subject_hash
from shared.webhooks.subjects import MAX_BODY_BYTES_SEARCHED, MAX_BODY_SUBJECTS, subject_of_event, subjects_of_body


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


def test_a_refused_body_is_about_every_email_in_it_once_and_the_hash_hides_them() -> None:
    subjects = subjects_of_body(b"garbage {greta@fjord.io} then Pia@Fjord.io, greta@fjord.io again")
    assert subjects == (subject_hash("email#greta@fjord.io"), subject_hash("email#pia@fjord.io"))
    assert subjects is not None
    assert not any("greta" in subject for subject in subjects)
    assert subjects_of_body(b"no address here") == ()


def test_a_refused_body_is_searched_whole_and_inflated_when_gzip() -> None:
    # Given an email past the first 64 KB, and one inside a gzip body
    late = b"x" * (200 * 1024) + b' "pia@fjord.io"'
    zipped = gzip.compress(b'{"batch": [{"traits": {"email": "greta@fjord.io"}}]}')
    # Then both are found
    assert subjects_of_body(late) == (subject_hash("email#pia@fjord.io"),)
    assert subjects_of_body(zipped, "gzip") == (subject_hash("email#greta@fjord.io"),)


def test_a_refused_body_whose_people_cannot_all_be_told_is_not_to_be_kept() -> None:
    # Given a body longer than searched, gzip that does not inflate (or inflates past it), and one naming more
    # people than one write can index
    crowd = b" ".join(b"p%d@fjord.io" % n for n in range(MAX_BODY_SUBJECTS + 1))
    bomb = gzip.compress(b" " * (MAX_BODY_BYTES_SEARCHED + 1))
    # Then none has subjects: the receiver keeps its size and hash, not the body
    assert subjects_of_body(b" " * (MAX_BODY_BYTES_SEARCHED + 1)) is None
    assert subjects_of_body(b"\x1f\x8b not gzip", "gzip") is None
    assert subjects_of_body(bomb, "gzip") is None
    assert subjects_of_body(crowd) is None
    assert len(subjects_of_body(crowd[: crowd.rindex(b" ")]) or ()) == MAX_BODY_SUBJECTS


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

    def post(signature: str, body: bytes = b'{"who": {"email": "greta@fjord.io"}}') -> None:
        ingest.receive(InboundWebhook("forms", "POST", "https://hub/webhooks/forms", {"x-sig": signature}, body, "r"))

    post("ok")
    post("forged")
    post("forged", b'[{"email": "greta@fjord.io"}, {"email": "pia@fjord.io"}]')
    post("forged", b" ".join(b"p%d@fjord.io" % n for n in range(MAX_BODY_SUBJECTS + 1)))
    hashed, pia = subject_hash("email#greta@fjord.io"), subject_hash("email#pia@fjord.io")
    assert [event.subject for event in ledger.stored] == [hashed]
    assert [attempt.subjects for attempt in ledger.recorded] == [(hashed,), (hashed, pia), ()]
    # a body naming more people than one write indexes is logged by its size and hash, not kept
    crowded = ledger.recorded[-1]
    assert (crowded.body, crowded.body_size > 0) == (b"", True)
    assert crowded.reason is not None
    assert "the body was not kept" in crowded.reason
