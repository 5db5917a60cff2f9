"""Typeform: `sha256=<base64>` body signatures, form responses as survey.responded."""

from __future__ import annotations

import json

import pytest

from shared.events.canonical import CanonicalEvent, EventType
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import MalformedPayload
from shared.webhooks.vendors import typeform as typeform_scheme
from shared.webhooks.vendors.typeform import Typeform
from tests.vendor_samples import (
    CONTEXT,
    NOW,
    TYPEFORM_PREVIOUS_SECRET,
    TYPEFORM_SECRET,
    Gateway,
    typeform_request,
    typeform_response,
    typeform_signature,
    with_body,
    without_header,
)

TYPEFORM = Typeform()
BODY = typeform_response()


def normalized(body: bytes) -> list[CanonicalEvent]:
    return [normalize(TYPEFORM.name, event, CONTEXT) for event in TYPEFORM.parse(typeform_request(body))]


# Signatures -------------------------------------------------------------------------------------------------


def test_a_delivery_signed_with_the_current_secret_verifies() -> None:
    TYPEFORM.verify(typeform_request(BODY), [TYPEFORM_SECRET], NOW)


def test_a_delivery_signed_with_the_previous_secret_verifies_while_both_are_configured() -> None:
    # Given a delivery signed with the secret being rotated out
    request = typeform_request(BODY, secret=TYPEFORM_PREVIOUS_SECRET)
    # When it is verified
    # Then it passes with both secrets configured, and not with the current one alone
    TYPEFORM.verify(request, [TYPEFORM_SECRET, TYPEFORM_PREVIOUS_SECRET], NOW)
    with pytest.raises(SignatureError):
        TYPEFORM.verify(request, [TYPEFORM_SECRET], NOW)


def test_any_signature_of_a_folded_header_may_match() -> None:
    # Given a header a proxy folded from two (a stale and a good signature)
    header = f"{typeform_signature('stale', BODY)}, {typeform_signature(TYPEFORM_SECRET, BODY)}"
    # When it is verified
    # Then the good one is found
    TYPEFORM.verify(typeform_request(BODY, header=header), [TYPEFORM_SECRET], NOW)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (typeform_request(BODY, secret="forged"), "no sha256 signature matches"),
        (with_body(typeform_request(BODY), BODY.replace(b"ada@", b"eve@")), "no sha256 signature matches"),
        (without_header(typeform_request(BODY), "Typeform-Signature"), "missing Typeform-Signature"),
        (typeform_request(BODY, header="sha1=abc"), "no sha256= signature"),
        (typeform_request(BODY, header="sha256=%%%not-base64"), "no sha256 signature matches"),
        # the bare digest, without its scheme prefix
        (typeform_request(BODY, header=typeform_signature(TYPEFORM_SECRET, BODY)[7:]), "no sha256= signature"),
    ],
)
def test_forged_tampered_and_unsigned_deliveries_are_refused(request_: InboundWebhook, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason) as refused:
        TYPEFORM.verify(request_, [TYPEFORM_SECRET], NOW)
    assert TYPEFORM_SECRET not in str(refused.value)


def test_an_old_delivery_replayed_is_only_a_duplicate() -> None:
    # Given Typeform signs no timestamp, so an old signed delivery still verifies
    gateway = Gateway(TYPEFORM, [TYPEFORM_SECRET])
    first = gateway.receive(typeform_request(BODY))
    # When it is replayed
    replay = gateway.receive(typeform_request(BODY))
    # Then the event_id dedupe makes it a 200 duplicate and nothing is published again
    assert (first.status_code, replay.status_code) == (202, 200)
    assert len(gateway.publisher.published) == 1


def test_our_signer_matches_typeforms_recipe() -> None:
    assert typeform_scheme.sign(TYPEFORM_SECRET, BODY) == typeform_signature(TYPEFORM_SECRET, BODY)


# Mapping ----------------------------------------------------------------------------------------------------


def test_a_form_response_becomes_a_survey_response_with_flattened_answers() -> None:
    # Given a form_response with email, number, choice and choices answers
    # When it is normalized
    [event] = normalized(BODY)
    # Then it is survey.responded about the respondent's email, answers keyed by field ref (else id)
    assert event.event_type is EventType.SURVEY_RESPONDED
    assert event.subject.email == "ada@example.com"
    assert event.data["answers"] == {
        "email": "ada@example.com",
        "nps": 9,
        "f_topic": "Pricing",
        "tools": ["CRM", "Billing", "Support"],
    }
    assert (event.data["form_id"], event.data["response_token"]) == ("lT4Z3j", "a3a12ec67a1365927098a606107fac15")
    assert (event.data["hidden"], event.data["score"]) == ({"account": "acme"}, 4)
    assert event.occurred_at.isoformat() == "2026-11-25T11:58:00+00:00"
    assert (event.vendor_event_id, event.vendor_event_type) == ("01KBTYPEFORMEVENT0001", "form_response")


def test_without_an_email_answer_the_hidden_email_is_the_subject() -> None:
    body = typeform_response(answers=[], hidden={"email": "grace@acme.test", "utm_source": "ads"})
    [event] = normalized(body)
    assert event.subject.email == "grace@acme.test"
    assert event.data["answers"] == {}


def test_a_response_with_no_email_anywhere_has_no_subject_email() -> None:
    [event] = normalized(typeform_response(answers=[], hidden={}))
    assert event.subject.email is None


def test_other_typeform_events_are_kept_unmapped() -> None:
    # Given an event type the hub does not map (partial responses)
    [event] = normalized(typeform_response(event_type="form_response_partial"))
    # Then it is kept whole
    assert event.event_type is EventType.VENDOR_UNMAPPED
    assert event.data["payload"]["event_type"] == "form_response_partial"


# Malformed bodies -------------------------------------------------------------------------------------------


def _body(**fields: object) -> bytes:
    return json.dumps(json.loads(BODY) | fields).encode()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "expected a Typeform webhook object"),
        (_body(event_id=None), "no event_id"),
        (_body(event_type=""), "no event_type"),
        (_body(form_response=None), "no form_response object"),
        (_body(form_response={"answers": "x"}), "answers is not a list"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        TYPEFORM.parse(typeform_request(body))
