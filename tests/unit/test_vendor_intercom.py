"""Intercom: `X-Hub-Signature: sha1=<hex>` body signatures, the ping handshake, conversations and tickets."""

from __future__ import annotations

import json

import pytest

from shared.events.canonical import CanonicalEvent, EventType
from shared.webhooks.model import InboundWebhook, Outcome
from shared.webhooks.normalizers import normalize
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import MalformedPayload
from shared.webhooks.vendors import intercom as intercom_scheme
from shared.webhooks.vendors.intercom import Intercom
from tests.vendor_samples import (
    CONTEXT,
    INTERCOM_PREVIOUS_SECRET,
    INTERCOM_SECRET,
    NOW,
    Gateway,
    intercom_notification,
    intercom_request,
    intercom_signature,
    with_body,
    without_header,
)

INTERCOM = Intercom()
BODY = intercom_notification()
PING = intercom_notification("ping", {"type": "ping", "message": "Hello from Intercom"}, "notif_ping")


def ticket(**fields: object) -> dict:
    return {
        "type": "ticket",
        "id": "1295",
        "ticket_id": "1390",
        "ticket_attributes": {"_default_title_": "Export broken"},
        "ticket_state": {"type": "ticket_state", "id": "12", "category": "submitted"},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "6a2b"}]},
        "open": True,
    } | fields


def contact(role: str = "user") -> dict:
    return {"type": "contact", "id": "6a2b", "role": role, "email": "grace@acme.test", "name": "Grace"}


def normalized(body: bytes) -> list[CanonicalEvent]:
    return [normalize(INTERCOM.name, event, CONTEXT) for event in INTERCOM.parse(intercom_request(body))]


# Signatures -------------------------------------------------------------------------------------------------


def test_a_delivery_signed_with_the_client_secret_verifies() -> None:
    INTERCOM.verify(intercom_request(BODY), [INTERCOM_SECRET], NOW)


def test_a_delivery_signed_with_the_previous_secret_verifies_while_both_are_configured() -> None:
    request = intercom_request(BODY, secret=INTERCOM_PREVIOUS_SECRET)
    INTERCOM.verify(request, [INTERCOM_SECRET, INTERCOM_PREVIOUS_SECRET], NOW)
    with pytest.raises(SignatureError):
        INTERCOM.verify(request, [INTERCOM_SECRET], NOW)


def test_any_signature_of_a_folded_header_may_match() -> None:
    header = f"{intercom_signature('stale', BODY)},{intercom_signature(INTERCOM_SECRET, BODY)}"
    INTERCOM.verify(intercom_request(BODY, header=header), [INTERCOM_SECRET], NOW)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (intercom_request(BODY, secret="forged"), "does not match"),
        (with_body(intercom_request(BODY), BODY.replace(b"ada@", b"eve@")), "does not match"),
        (without_header(intercom_request(BODY), "X-Hub-Signature"), "missing X-Hub-Signature"),
        (intercom_request(BODY, header="sha256=" + "0" * 64), "no sha1= signature"),
        (intercom_request(BODY, header=intercom_signature(INTERCOM_SECRET, BODY)[5:]), "no sha1= signature"),
        (intercom_request(BODY, header="sha1=zz"), "does not match"),
    ],
)
def test_forged_tampered_and_unsigned_deliveries_are_refused(request_: InboundWebhook, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason) as refused:
        INTERCOM.verify(request_, [INTERCOM_SECRET], NOW)
    assert INTERCOM_SECRET not in str(refused.value)


def test_our_signer_matches_intercoms_recipe() -> None:
    assert intercom_scheme.sign(INTERCOM_SECRET, BODY) == intercom_signature(INTERCOM_SECRET, BODY)


# The ping handshake -----------------------------------------------------------------------------------------


def test_a_signed_ping_is_answered_and_nothing_is_published() -> None:
    # Given Intercom's test request, a ping notification
    gateway = Gateway(INTERCOM, [INTERCOM_SECRET])
    # When it is delivered
    answer = gateway.receive(intercom_request(PING))
    # Then it is answered 200, logged as a handshake, and nothing reaches the bus
    assert answer.status_code == 200
    assert gateway.publisher.published == []
    [attempt] = gateway.ledger.attempts.values()
    assert attempt.outcome is Outcome.HANDSHAKE


def test_a_ping_needs_no_id_or_item() -> None:
    # Given a bare ping, without the id and item every real notification has
    ping = json.dumps({"type": "notification_event", "topic": "ping", "id": None, "data": {}}).encode()
    # When it is delivered
    answer = Gateway(INTERCOM, [INTERCOM_SECRET]).receive(intercom_request(ping))
    # Then it is still answered 200
    assert answer.status_code == 200


def test_an_unsigned_ping_is_refused_like_anything_else() -> None:
    answer = Gateway(INTERCOM, [INTERCOM_SECRET]).receive(intercom_request(PING, secret="forged"))
    assert answer.status_code == 401


def test_other_topics_are_not_handshakes() -> None:
    assert INTERCOM.handshake(intercom_request(BODY)) is None


# Mapping ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("topic", "item", "expected"),
    [
        ("conversation.user.created", None, EventType.SUPPORT_TICKET_OPENED),
        ("ticket.created", ticket(), EventType.SUPPORT_TICKET_OPENED),
        ("conversation.admin.closed", None, EventType.SUPPORT_TICKET_SOLVED),
        (
            "ticket.state.updated",
            ticket(ticket_state={"type": "ticket_state", "category": "resolved"}),
            EventType.SUPPORT_TICKET_SOLVED,
        ),
        ("ticket.state.updated", ticket(ticket_state="resolved"), EventType.SUPPORT_TICKET_SOLVED),  # before API 2.12
        ("ticket.state.updated", ticket(ticket_state=None, open=False), EventType.SUPPORT_TICKET_SOLVED),
        ("ticket.state.updated", ticket(ticket_state={"category": "in_progress"}), EventType.VENDOR_UNMAPPED),
        ("contact.user.created", contact("user"), EventType.CONTACT_UPSERTED),
        ("contact.lead.created", contact("lead"), EventType.CONTACT_UPSERTED),
        ("user.created", contact("user"), EventType.CONTACT_UPSERTED),
        ("conversation.admin.replied", None, EventType.VENDOR_UNMAPPED),
        ("conversation.admin.opened", None, EventType.SUPPORT_TICKET_OPENED),  # reopened
    ],
)
def test_intercom_topics_map_onto_the_taxonomy(topic: str, item: dict | None, expected: EventType) -> None:
    [event] = normalized(intercom_notification(topic, item))
    assert event.event_type is expected
    assert (event.vendor_event_id, event.vendor_event_type) == ("notif_1", topic)


def test_a_new_conversation_is_about_its_author() -> None:
    [event] = normalized(BODY)
    assert (event.subject.contact_id, event.subject.email) == ("intercom:5f1a", "ada@example.com")
    assert (event.data["object"], event.data["id"], event.data["state"]) == ("conversation", "147", "open")
    assert event.occurred_at.isoformat() == "2026-11-25T11:59:30+00:00"


def test_a_conversation_an_admin_opens_again_is_reopened_for_its_author() -> None:
    [event] = normalized(intercom_notification("conversation.admin.opened", None))
    assert (event.data["id"], event.data["reopened"]) == ("147", True)
    assert event.subject.contact_id == "intercom:5f1a"


def test_a_ticket_is_about_its_first_contact() -> None:
    [event] = normalized(intercom_notification("ticket.created", ticket()))
    assert event.subject.contact_id == "intercom:6a2b"
    assert (event.data["ticket_id"], event.data["title"], event.data["state"]) == ("1390", "Export broken", "submitted")


def test_a_new_contact_carries_id_and_email() -> None:
    [event] = normalized(intercom_notification("contact.lead.created", contact("lead")))
    assert (event.subject.contact_id, event.subject.email) == ("intercom:6a2b", "grace@acme.test")
    assert event.data["role"] == "lead"


def test_an_unmapped_topic_keeps_the_whole_notification() -> None:
    [event] = normalized(intercom_notification("conversation.admin.replied"))
    assert event.data["payload"]["data"]["item"]["id"] == "147"


# De-duplication ---------------------------------------------------------------------------------------------


def test_a_retry_with_a_bumped_attempt_count_is_a_duplicate() -> None:
    # Given a delivered notification
    gateway = Gateway(INTERCOM, [INTERCOM_SECRET])
    first = gateway.receive(intercom_request(BODY))
    # When Intercom retries it, with delivery_attempts incremented
    retried = json.dumps(json.loads(BODY) | {"delivery_attempts": 2}).encode()
    retry = gateway.receive(intercom_request(retried))
    # Then the notification id dedupes it
    assert (first.status_code, retry.status_code) == (202, 200)
    assert len(gateway.publisher.published) == 1


# Malformed bodies -------------------------------------------------------------------------------------------


def _body(**fields: object) -> bytes:
    return json.dumps(json.loads(BODY) | fields).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (_body(type="conversation"), "expected an Intercom notification"),
        (_body(id=None), "no id"),
        (_body(topic=""), "no topic"),
        (_body(data={"item": None}), "no data.item"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: bytes, message: str) -> None:
    # Given a signed but malformed body
    # When it is parsed
    # Then the error names what is wrong
    with pytest.raises(MalformedPayload, match=message):
        INTERCOM.parse(intercom_request(body))


def test_a_malformed_body_is_a_400_through_the_gateway() -> None:
    answer = Gateway(INTERCOM, [INTERCOM_SECRET]).receive(intercom_request(b"not json"))
    assert answer.status_code == 400


@pytest.mark.parametrize("email", [None, "", 7])
def test_a_contact_without_a_text_email_has_no_subject_email(email: object) -> None:
    [event] = normalized(intercom_notification("contact.user.created", contact() | {"email": email}))
    assert (event.event_type, event.subject.email) == (EventType.CONTACT_UPSERTED, None)
