"""A stored event is indexed under its own person (the vendor's person of the event: for Segment its traits'
email, else its userId, else its anonymousId), and its body also under every other email it holds (pointer items),
so an erasure finds it under everyone it names and no one else's export or erasure takes it for theirs. Only a
whole value that is an email is one: an address inside a URL names no one."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from shared.privacy.guard import WEBHOOK_SOURCE, subject_keys_of
from shared.privacy.subject_keys import subject_hash
from shared.webhooks.ingest import WebhookIngest
from shared.webhooks.model import ClaimStatus, DeliveryAttempt, InboundWebhook, StoredEvent, VendorEvent
from shared.webhooks.signatures import SignatureError
from shared.webhooks.subjects import people_of_event, subject_of_event
from shared.webhooks.vendor import Vendor
from tests.fakes import FixedClock, StaticSecrets

DAN, BOB = subject_hash("email#dan@example.io"), subject_hash("email#bob@example.io")
INVITE = {
    "type": "track",
    "userId": "dan",
    "messageId": "m",
    "event": "Invite Sent",
    "properties": {"invitee_email": "bob@example.io"},
    "context": {"traits": {"email": "dan@example.io", "lastName": "Danvers"}},
}


def test_a_track_call_is_indexed_under_its_caller_not_the_person_it_names() -> None:
    # what the consumers and the erasure guard take the event to be about
    caller = {
        "source_vendor": "segment_api",
        "subject": {"contact_id": "segment:dan", "email": "dan@example.io"},
        "data": {"user_id": "dan", "traits": {"email": "dan@example.io"}},
    }
    assert subject_of_event("segment_api", INVITE) == DAN
    assert DAN in {subject_hash(key) for key in subject_keys_of(WEBHOOK_SOURCE, caller)}
    # and Bob, whom the body names, is one of its further people
    assert people_of_event("segment_api", INVITE) == (DAN, (BOB,))


def test_without_traits_the_caller_is_the_user_id_and_every_email_named_is_further() -> None:
    call = {"type": "track", "userId": "dan", "properties": {"to": ["Bob@Example.io", "pia@example.io"]}}
    own, further = people_of_event("segment", call)
    assert own == subject_hash("segment#dan")
    assert further == (BOB, subject_hash("email#pia@example.io"))


def test_a_url_with_an_at_sign_is_not_a_person() -> None:
    page = {
        "type": "page",
        "anonymousId": "a1",
        "messageId": "m",
        "properties": {"url": "https://shop.example.io/?ref=partner@promo.io", "text": "mail me at x@y.io"},
    }
    assert people_of_event("segment_api", page) == (subject_hash("segment-anonymous#a1"), ())


def test_the_vendors_own_person_comes_first_for_each_vendor() -> None:
    stripe = {
        "data": {
            "object": {
                "object": "invoice",
                "customer": "cus_1",
                "customer_email": "ada@example.io",
                "metadata": {"referrer": "bob@example.io"},
            }
        }
    }
    assert people_of_event("stripe", stripe) == (subject_hash("email#ada@example.io"), (BOB,))
    hubspot = {
        "subscriptionType": "contact.propertyChange",
        "objectId": 501,
        "propertyName": "email",
        "propertyValue": "ada@example.io",
    }
    assert people_of_event("hubspot", hubspot) == (subject_hash("email#ada@example.io"), ())
    zendesk = {"detail": {"id": "7", "requester_id": "9", "cc": "bob@example.io", "email": "ada@example.io"}}
    assert people_of_event("zendesk", zendesk)[0] == subject_hash("email#ada@example.io")


class _Forms(Vendor):
    name = "forms"

    def verify(self, request: InboundWebhook, secrets: list[str], now: datetime) -> None:
        if request.header("x-sig") != "ok":
            raise SignatureError("bad")

    def parse(self, request: InboundWebhook) -> list[VendorEvent]:
        import json

        return [VendorEvent("k", "k", "form", datetime.now(UTC), json.loads(request.body))]


class _Recording:
    def __init__(self, duplicate: bool = False) -> None:
        self.accepted: list[tuple[tuple[str, ...], list[StoredEvent]]] = []
        self.recorded: list[DeliveryAttempt] = []
        self._duplicate = duplicate

    def accept(self, attempt: DeliveryAttempt, events: Sequence[StoredEvent]) -> dict[str, ClaimStatus]:
        self.accepted.append((attempt.subjects, list(events)))
        status = ClaimStatus.DUPLICATE if self._duplicate else ClaimStatus.NEW
        return {e.dedupe_key: status for e in events}

    def record(self, attempt: DeliveryAttempt) -> None:
        self.recorded.append(attempt)


def _post(ledger: _Recording, body: bytes) -> None:
    ingest = WebhookIngest({"forms": _Forms()}, StaticSecrets({"forms": ["s"]}), ledger, FixedClock())  # type: ignore[arg-type]
    ingest.receive(InboundWebhook("forms", "POST", "https://hub/webhooks/forms", {"x-sig": "ok"}, body, "r"))


def test_the_receiver_hands_the_ledger_the_further_people_only_when_the_body_names_any() -> None:
    ledger = _Recording()
    _post(ledger, b'{"email": "dan@example.io", "site": "https://x.io/?a=b@c.io"}')
    _post(ledger, b'{"email": "dan@example.io", "invite": {"to": "bob@example.io"}}')
    assert [(subjects, [e.subject for e in events]) for subjects, events in ledger.accepted] == [
        ((), [DAN]),
        ((BOB,), [DAN]),
    ]


def test_a_duplicate_is_logged_without_the_further_people_of_a_body_it_does_not_keep() -> None:
    ledger = _Recording(duplicate=True)
    _post(ledger, b'{"email": "dan@example.io", "invite": {"to": "bob@example.io"}}')
    [duplicate] = ledger.recorded
    assert (duplicate.body, duplicate.subjects) == (b"", ())
