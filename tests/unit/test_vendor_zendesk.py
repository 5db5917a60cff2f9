"""Zendesk: base64 HMAC-SHA256 of an ISO-8601 timestamp plus the body; ticket and user events mapped."""

from __future__ import annotations

import base64
import json

import pytest

from shared.events.canonical import CanonicalEvent, EventType
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import MalformedPayload
from shared.webhooks.vendors import zendesk as zendesk_scheme
from shared.webhooks.vendors.zendesk import Zendesk
from tests.vendor_samples import (
    CONTEXT,
    NOW,
    ZENDESK_PREVIOUS_SECRET,
    ZENDESK_SECRET,
    ZENDESK_TIMESTAMP,
    Gateway,
    hmac_sha256,
    with_body,
    without_header,
    zendesk_event,
    zendesk_request,
    zendesk_signature,
)

ZENDESK = Zendesk()
BODY = zendesk_event()


def normalized(body: bytes) -> list[CanonicalEvent]:
    return [normalize(ZENDESK.name, event, CONTEXT) for event in ZENDESK.parse(zendesk_request(body))]


# Signatures -------------------------------------------------------------------------------------------------


def test_a_delivery_signed_with_the_current_secret_verifies() -> None:
    ZENDESK.verify(zendesk_request(BODY), [ZENDESK_SECRET], NOW)


def test_a_delivery_signed_with_the_previous_secret_verifies_while_both_are_configured() -> None:
    request = zendesk_request(BODY, secret=ZENDESK_PREVIOUS_SECRET)
    ZENDESK.verify(request, [ZENDESK_SECRET, ZENDESK_PREVIOUS_SECRET], NOW)
    with pytest.raises(SignatureError):
        ZENDESK.verify(request, [ZENDESK_SECRET], NOW)


def test_any_signature_of_a_folded_header_may_match() -> None:
    header = f"{zendesk_signature('stale', BODY)},{zendesk_signature(ZENDESK_SECRET, BODY)}"
    ZENDESK.verify(zendesk_request(BODY, header=header), [ZENDESK_SECRET], NOW)


@pytest.mark.parametrize(
    ("timestamp", "accepted"),
    [
        ("2026-11-25T11:56:00Z", True),
        ("2026-11-25T12:04:00Z", True),
        ("2026-11-25T13:00:00+01:00", True),  # the same instant in another offset
        ("2026-11-25T11:54:59Z", False),
        ("2026-11-25T12:05:01Z", False),
    ],
)
def test_iso_timestamps_are_held_to_five_minutes_either_way(timestamp: str, accepted: bool) -> None:
    # Given a correctly signed delivery with an ISO-8601 timestamp
    request = zendesk_request(BODY, timestamp=timestamp)
    # When it is verified at noon
    # Then only a timestamp within five minutes passes
    if accepted:
        ZENDESK.verify(request, [ZENDESK_SECRET], NOW)
    else:
        with pytest.raises(SignatureError, match=r"old|future"):
            ZENDESK.verify(request, [ZENDESK_SECRET], NOW)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (zendesk_request(BODY, secret="forged"), "does not match"),
        (with_body(zendesk_request(BODY), BODY.replace(b"35436", b"35437")), "does not match"),
        (without_header(zendesk_request(BODY), "X-Zendesk-Webhook-Signature"), "missing X-Zendesk-Webhook-Signature"),
        (without_header(zendesk_request(BODY), "X-Zendesk-Webhook-Signature-Timestamp"), "missing .*Timestamp"),
        (zendesk_request(BODY, timestamp=str(1_795_608_000)), "not an ISO-8601"),
        (zendesk_request(BODY, timestamp="2026-11-25T12:00:00"), "no UTC offset"),
        # signed for one timestamp, presented with another
        (
            zendesk_request(BODY, timestamp="2026-11-25T12:01:00Z", header=zendesk_signature(ZENDESK_SECRET, BODY)),
            "match",
        ),
        # the order one older Zendesk page gave (body, then timestamp) is not what Zendesk signs
        (
            zendesk_request(
                BODY, header=base64.b64encode(hmac_sha256(ZENDESK_SECRET, BODY + ZENDESK_TIMESTAMP.encode())).decode()
            ),
            "does not match",
        ),
        # the secret looks like base64 but is used as is; decoding it is a different key
        (zendesk_request(BODY, secret=base64.b64decode(ZENDESK_SECRET).decode()), "does not match"),
    ],
)
def test_forged_tampered_and_unsigned_deliveries_are_refused(request_: InboundWebhook, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason) as refused:
        ZENDESK.verify(request_, [ZENDESK_SECRET], NOW)
    assert ZENDESK_SECRET not in str(refused.value)


def test_our_signer_matches_zendesks_recipe() -> None:
    assert zendesk_scheme.sign(ZENDESK_SECRET, BODY, ZENDESK_TIMESTAMP) == zendesk_signature(ZENDESK_SECRET, BODY)


# Mapping ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (zendesk_event("ticket.created"), EventType.SUPPORT_TICKET_OPENED),
        (
            zendesk_event("ticket.status_changed", event={"current": "SOLVED", "previous": "OPEN"}),
            EventType.SUPPORT_TICKET_SOLVED,
        ),
        (
            zendesk_event("ticket.status_changed", event={"current": {"status": "solved"}}),
            EventType.SUPPORT_TICKET_SOLVED,
        ),
        (zendesk_event("ticket.status_changed", detail={"status": "SOLVED"}), EventType.SUPPORT_TICKET_SOLVED),
        (zendesk_event("ticket.status_changed", event={"current": "PENDING"}), EventType.VENDOR_UNMAPPED),
        # a solved ticket answered by its requester (or reopened by an agent) is open again
        (
            zendesk_event("ticket.status_changed", event={"current": "OPEN", "previous": "SOLVED"}),
            EventType.SUPPORT_TICKET_OPENED,
        ),
        (
            zendesk_event("ticket.status_changed", event={"current": {"status": "hold"}, "previous": "solved"}),
            EventType.SUPPORT_TICKET_OPENED,
        ),
        (
            zendesk_event("ticket.status_changed", event={"current": "PENDING", "previous": "OPEN"}),
            EventType.VENDOR_UNMAPPED,
        ),
        # closed follows solved: counting it too would report one resolution twice
        (zendesk_event("ticket.status_changed", event={"current": "CLOSED"}), EventType.VENDOR_UNMAPPED),
        (zendesk_event("user.created", detail={"id": "42", "email": "ada@example.com"}), EventType.CONTACT_UPSERTED),
        (zendesk_event("ticket.comment_added"), EventType.VENDOR_UNMAPPED),
        (json.dumps({"ticket_id": "35436", "status": "Solved"}).encode(), EventType.VENDOR_UNMAPPED),
    ],
)
def test_zendesk_events_map_onto_the_taxonomy(body: bytes, expected: EventType) -> None:
    [event] = normalized(body)
    assert event.event_type is expected


def test_a_new_ticket_names_its_requester_and_organization() -> None:
    # Given a ticket.created event
    # When it is normalized
    [event] = normalized(BODY)
    # Then the requester and organization are the subject and the ticket is described
    assert (event.subject.contact_id, event.subject.account_id) == ("zendesk:6596848315901", "zendesk:8800")
    assert event.data["ticket_id"] == "35436"
    assert (event.data["status"], event.data["channel"], event.data["tags"]) == ("open", "web_form", ["billing"])
    assert (event.vendor_event_id, event.vendor_event_type) == ("01KBZENDESKEVENT00001", "ticket.created")
    assert event.occurred_at.isoformat() == "2026-11-25T11:59:30+00:00"


def test_a_solved_ticket_says_what_it_was_before() -> None:
    body = zendesk_event("ticket.status_changed", event={"current": "SOLVED", "previous": "PENDING"})
    [event] = normalized(body)
    assert event.data["previous_status"] == "pending"


def test_a_reopened_ticket_is_opened_again_under_its_own_id_and_says_so() -> None:
    # Given a solved ticket its requester answered, which Zendesk sets open again
    body = zendesk_event("ticket.status_changed", event={"current": "OPEN", "previous": "SOLVED"})
    # When it is normalized
    [event] = normalized(body)
    # Then it is the same ticket opened again, marked as reopened, about its requester
    assert event.event_type is EventType.SUPPORT_TICKET_OPENED
    assert (event.data["ticket_id"], event.data["reopened"], event.data["previous_status"]) == ("35436", True, "solved")
    assert event.subject.contact_id == "zendesk:6596848315901"


def test_a_new_user_is_a_contact_and_no_organization_is_no_account() -> None:
    body = zendesk_event("user.created", detail={"id": "42", "email": "ada@example.com", "organization_id": "0"})
    [event] = normalized(body)
    assert (event.subject.contact_id, event.subject.email, event.subject.account_id) == (
        "zendesk:42",
        "ada@example.com",
        None,
    )


@pytest.mark.parametrize("body", [b'{"ticket": "{{ticket.id}}"}', b'["35436", "solved"]'])
def test_a_trigger_body_is_kept_whole_under_a_content_hash(body: bytes) -> None:
    # Given a trigger webhook with an admin-written body and no event type
    # When it is parsed twice (a retry) and normalized
    [first], [again] = ZENDESK.parse(zendesk_request(body)), ZENDESK.parse(zendesk_request(body))
    event = normalize(ZENDESK.name, first, CONTEXT)
    # Then it is unmapped, keeps the body, and dedupes on its content
    assert event.event_type is EventType.VENDOR_UNMAPPED
    assert event.data["payload"] == (json.loads(body) if body.startswith(b"{") else {"body": json.loads(body)})
    assert first.dedupe_key == again.dedupe_key
    assert first.vendor_event_type == "trigger"


def test_events_dedupe_on_their_id_and_fall_back_to_content() -> None:
    [with_id] = ZENDESK.parse(zendesk_request(BODY))
    [without_id] = ZENDESK.parse(zendesk_request(zendesk_event(event_id=None)))
    assert with_id.dedupe_key == "01KBZENDESKEVENT00001"
    assert len(without_id.dedupe_key) == 64
    assert without_id.vendor_event_id is None


def test_the_gateway_publishes_a_retry_once() -> None:
    gateway = Gateway(ZENDESK, [ZENDESK_SECRET])
    first, retry = gateway.receive(zendesk_request(BODY)), gateway.receive(zendesk_request(BODY))
    assert (first.status_code, retry.status_code) == (202, 200)
    assert len(gateway.publisher.published) == 1


# Malformed bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"ticket=1", "not valid JSON"),
        (json.dumps({"type": "zen:event-type:ticket.created", "id": "1", "detail": "x"}).encode(), "detail"),
        (json.dumps({"type": "zen:event-type:ticket.created", "id": "1", "event": []}).encode(), "event"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        ZENDESK.parse(zendesk_request(body))


def test_a_user_whose_email_is_not_text_has_no_subject_email() -> None:
    # Given a user.created whose email is not a string (a custom-field mix-up)
    # When it is normalized
    [event] = normalized(zendesk_event("user.created", detail={"id": "42", "email": 42}))
    # Then the event is still published, without an email rather than failing the delivery
    assert (event.event_type, event.subject.email) == (EventType.CONTACT_UPSERTED, None)
