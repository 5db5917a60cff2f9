"""Calendly: `t=<seconds>,v1=<hex>` signatures, meetings and routing forms as engagements."""

from __future__ import annotations

import json

import pytest

from shared.events.canonical import CanonicalEvent, EngagementKind, EventType
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import MalformedPayload
from shared.webhooks.vendors import calendly as calendly_scheme
from shared.webhooks.vendors.calendly import Calendly
from tests.vendor_samples import (
    CALENDLY_PREVIOUS_SECRET,
    CALENDLY_SECRET,
    CONTEXT,
    EPOCH,
    NOW,
    Gateway,
    calendly_event,
    calendly_request,
    calendly_signature,
    with_body,
    without_header,
)

CALENDLY = Calendly()
BODY = calendly_event()


def normalized(body: bytes) -> list[CanonicalEvent]:
    return [normalize(CALENDLY.name, event, CONTEXT) for event in CALENDLY.parse(calendly_request(body))]


# Signatures -------------------------------------------------------------------------------------------------


def test_a_delivery_signed_with_the_current_key_verifies() -> None:
    # Given a delivery signed with the subscription's signing key
    # When it is verified
    # Then it passes
    CALENDLY.verify(calendly_request(BODY), [CALENDLY_SECRET, CALENDLY_PREVIOUS_SECRET], NOW)


def test_a_delivery_signed_with_the_previous_key_verifies_while_both_are_configured() -> None:
    # Given a delivery signed with the key being rotated out
    request = calendly_request(BODY, secret=CALENDLY_PREVIOUS_SECRET)
    # When it is verified with current and previous keys configured
    # Then it passes, and fails once the previous key is dropped
    CALENDLY.verify(request, [CALENDLY_SECRET, CALENDLY_PREVIOUS_SECRET], NOW)
    with pytest.raises(SignatureError):
        CALENDLY.verify(request, [CALENDLY_SECRET], NOW)


def test_any_of_several_v1_signatures_may_match() -> None:
    # Given a header carrying a stale signature and a good one
    header = f"t={EPOCH},{calendly_signature('old-key', BODY)},{calendly_signature(CALENDLY_SECRET, BODY)}"
    # When it is verified
    # Then it passes
    CALENDLY.verify(calendly_request(BODY, header=header), [CALENDLY_SECRET], NOW)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (calendly_request(BODY, secret="forged-key"), "no v1 signature matches"),
        (with_body(calendly_request(BODY), BODY.replace(b"Ada", b"Eve")), "no v1 signature matches"),
        (without_header(calendly_request(BODY), "Calendly-Webhook-Signature"), "missing"),
        (calendly_request(BODY, header=calendly_signature(CALENDLY_SECRET, BODY)), r"no timestamp \(t=\)"),
        (calendly_request(BODY, header=f"t={EPOCH},v0=abc"), "no v1 signature"),
        (calendly_request(BODY, header=f"t={EPOCH},v1=not-hex"), "no v1 signature matches"),
        # a signature made for another moment cannot be re-dated
        (calendly_request(BODY, header=f"t={EPOCH},{calendly_signature(CALENDLY_SECRET, BODY, EPOCH - 1)}"), "match"),
    ],
)
def test_forged_tampered_and_unsigned_deliveries_are_refused(request_: InboundWebhook, reason: str) -> None:
    # Given a delivery that does not prove it came from Calendly
    # When it is verified
    # Then it is refused with the reason, never naming the key
    with pytest.raises(SignatureError, match=reason) as refused:
        CALENDLY.verify(request_, [CALENDLY_SECRET], NOW)
    assert CALENDLY_SECRET not in str(refused.value)


@pytest.mark.parametrize(
    ("timestamp", "reason"),
    [
        (EPOCH - 301, "old"),
        (EPOCH + 301, "in the future"),
        (EPOCH * 1000, "not a Unix timestamp"),  # milliseconds where seconds are meant: year 58,000
    ],
)
def test_stale_and_future_timestamps_are_refused(timestamp: int, reason: str) -> None:
    # Given a correctly signed delivery dated outside five minutes of now
    request = calendly_request(BODY, timestamp=timestamp)
    # When it is verified
    # Then it is refused as a replay
    with pytest.raises(SignatureError, match=reason):
        CALENDLY.verify(request, [CALENDLY_SECRET], NOW)


@pytest.mark.parametrize("timestamp", [EPOCH - 299, EPOCH + 299])
def test_timestamps_within_five_minutes_either_way_are_accepted(timestamp: int) -> None:
    CALENDLY.verify(calendly_request(BODY, timestamp=timestamp), [CALENDLY_SECRET], NOW)


def test_our_signer_matches_calendlys_recipe() -> None:
    # Given the signer the local examples use
    # When it signs a body
    # Then it produces the header Calendly's recipe produces
    assert (
        calendly_scheme.sign(CALENDLY_SECRET, BODY, EPOCH) == f"t={EPOCH},{calendly_signature(CALENDLY_SECRET, BODY)}"
    )


# Mapping ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_name", "kind"),
    [
        ("invitee.created", EngagementKind.MEETING_BOOKED),
        ("invitee.canceled", EngagementKind.MEETING_CANCELED),
        ("routing_form_submission.created", EngagementKind.FORM_SUBMIT),
    ],
)
def test_calendly_events_become_engagements(event_name: str, kind: EngagementKind) -> None:
    # Given a Calendly event the hub maps
    # When it is normalized
    [event] = normalized(calendly_event(event_name))
    # Then it is an engagement of the right kind about the invitee's email
    assert event.event_type is EventType.ENGAGEMENT_RECORDED
    assert event.data["kind"] == kind.value
    assert event.subject.email == "ada@example.com"
    assert event.vendor_event_type == event_name


@pytest.mark.parametrize("event_name", ["invitee_no_show.created", "routing_form_submission.deleted"])
def test_other_calendly_events_are_kept_unmapped(event_name: str) -> None:
    [event] = normalized(calendly_event(event_name))
    assert event.event_type is EventType.VENDOR_UNMAPPED
    assert event.data["payload"]["event"] == event_name


def test_a_booked_meeting_carries_what_and_when() -> None:
    # Given an invitee.created event
    # When it is normalized
    [event] = normalized(BODY)
    # Then the meeting's name, time and links are on the engagement
    assert event.data["event_name"] == "Discovery call"
    assert event.data["start_time"] == "2026-12-01T15:00:00.000000Z"
    assert event.data["event_uri"] == "https://api.calendly.com/scheduled_events/EV1"
    assert event.data["invitee_uri"].endswith("/invitees/INV1")
    assert event.data["tracking"]["utm_source"] == "newsletter"
    assert event.occurred_at.isoformat() == "2026-11-25T11:59:00+00:00"


def test_a_cancellation_carries_its_reason() -> None:
    [event] = normalized(calendly_event("invitee.canceled"))
    assert (event.data["cancel_reason"], event.data["rescheduled"]) == ("conflict", False)


def test_a_routing_form_without_an_email_field_takes_the_email_answer() -> None:
    # Given a routing form submission whose email is only among the answers
    body = calendly_event(
        "routing_form_submission.created",
        email=None,
        uri="https://api.calendly.com/routing_form_submissions/RFS1",
        routing_form="https://api.calendly.com/routing_forms/RF1",
        questions_and_answers=[
            {"question": "Company", "answer": "Acme Ltd"},
            {"question": "Work email", "answer": "grace@acme.test"},
        ],
    )
    # When it is normalized
    [event] = normalized(body)
    # Then the subject is that email, and the form and its answers are kept
    assert event.subject.email == "grace@acme.test"
    assert event.data["routing_form_uri"] == "https://api.calendly.com/routing_forms/RF1"
    assert len(event.data["questions_and_answers"]) == 2


# De-duplication ---------------------------------------------------------------------------------------------


def test_the_same_event_about_the_same_invitee_dedupes_even_if_re_rendered() -> None:
    # Given an invitee.created delivery and a retry whose payload was re-rendered meanwhile
    [first] = CALENDLY.parse(calendly_request(BODY))
    [retry] = CALENDLY.parse(calendly_request(calendly_event(status="canceled", name="Ada L.")))
    # Then both have one dedupe key; a cancel of that invitee and another invitee have others
    [cancel] = CALENDLY.parse(calendly_request(calendly_event("invitee.canceled")))
    [other] = CALENDLY.parse(calendly_request(calendly_event(uri="https://api.calendly.com/x/invitees/INV2")))
    assert first.dedupe_key == retry.dedupe_key
    assert len({first.dedupe_key, cancel.dedupe_key, other.dedupe_key}) == 3


def test_the_gateway_publishes_a_retry_once() -> None:
    gateway = Gateway(CALENDLY, [CALENDLY_SECRET])
    first, retry = gateway.receive(calendly_request(BODY)), gateway.receive(calendly_request(BODY))
    assert (first.status_code, retry.status_code) == (202, 200)
    assert len(gateway.publisher.published) == 1


# Malformed bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "expected a Calendly webhook object"),
        (json.dumps({"payload": {}}).encode(), "no event name"),
        (json.dumps({"event": "invitee.created", "payload": "x"}).encode(), "no payload object"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        CALENDLY.parse(calendly_request(body))


def test_a_malformed_signed_body_is_a_400_through_the_gateway() -> None:
    answer = Gateway(CALENDLY, [CALENDLY_SECRET]).receive(calendly_request(b"[]"))
    assert answer.status_code == 400
