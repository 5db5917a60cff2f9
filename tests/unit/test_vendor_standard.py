"""Standard Webhooks: signatures proven against the `standardwebhooks` package both ways, canonical
types passed through, everything else kept unmapped."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from shared.events.canonical import CanonicalEvent, EventType
from shared.webhooks.model import InboundWebhook
from shared.webhooks.normalizers import normalize
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import MalformedPayload
from shared.webhooks.vendors import standard as standard_scheme
from shared.webhooks.vendors.standard import StandardWebhooks
from tests.vendor_samples import (
    CONTEXT,
    EPOCH,
    NOW,
    STANDARD_PREVIOUS_SECRET,
    STANDARD_SECRET,
    Gateway,
    json_bodies,
    standard_event,
    standard_request,
    standard_signature,
    with_body,
    without_header,
)

STANDARD = StandardWebhooks()
BODY = standard_event()
MSG_ID = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def normalized(body: bytes) -> list[CanonicalEvent]:
    return [normalize(STANDARD.name, event, CONTEXT) for event in STANDARD.parse(standard_request(body))]


# Signatures, against the standardwebhooks package -----------------------------------------------------------


@given(body=json_bodies)
@settings(max_examples=50, deadline=None)
def test_sdk_signed_bodies_verify_with_ours(body: bytes) -> None:
    # Given any body signed by the standardwebhooks package, now
    now = datetime.now(UTC).replace(microsecond=0)
    signature = Webhook(STANDARD_SECRET).sign(MSG_ID, now, body.decode())
    request = standard_request(body, timestamp=int(now.timestamp()), header=signature)
    # When our scheme checks it
    # Then it verifies
    STANDARD.verify(request, [STANDARD_SECRET], now)


@given(body=json_bodies)
@settings(max_examples=50, deadline=None)
def test_our_signatures_verify_with_the_sdk(body: bytes) -> None:
    # Given any body signed by our scheme, now (the package checks against the real clock)
    now = int(datetime.now(UTC).timestamp())
    signature = standard_scheme.sign(STANDARD_SECRET, MSG_ID, now, body)
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(now), "webhook-signature": signature}
    # When the package verifies it
    # Then it is accepted
    Webhook(STANDARD_SECRET).verify(body, headers, json_parse=False)


def test_a_signature_the_sdk_rejects_we_reject() -> None:
    # Given a body signed with another secret
    now = int(datetime.now(UTC).timestamp())
    signature = standard_scheme.sign(STANDARD_PREVIOUS_SECRET, MSG_ID, now, BODY)
    headers = {"webhook-id": MSG_ID, "webhook-timestamp": str(now), "webhook-signature": signature}
    # When both check it against the current secret
    with pytest.raises(WebhookVerificationError):
        Webhook(STANDARD_SECRET).verify(BODY, headers)
    # Then ours rejects it too
    with pytest.raises(SignatureError, match="no v1 signature matches"):
        STANDARD.verify(standard_request(BODY, timestamp=now, header=signature), [STANDARD_SECRET], datetime.now(UTC))


def test_the_specifications_test_vector_verifies() -> None:
    # Given the example in the Standard Webhooks reference libraries' tests
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    request = standard_request(
        body,
        msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek",
        timestamp=1614265330,
        header="v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    )
    # When it is verified at the moment it was sent
    # Then it passes
    STANDARD.verify(request, [secret], datetime.fromtimestamp(1614265330, UTC))


def test_a_message_signed_with_the_previous_secret_verifies_while_both_are_configured() -> None:
    request = standard_request(BODY, secret=STANDARD_PREVIOUS_SECRET)
    STANDARD.verify(request, [STANDARD_SECRET, STANDARD_PREVIOUS_SECRET], NOW)
    with pytest.raises(SignatureError):
        STANDARD.verify(request, [STANDARD_SECRET], NOW)


def test_any_v1_signature_in_the_list_may_match_and_other_versions_are_skipped() -> None:
    # Given a sender mid-rotation, signing with its old and new keys, plus an asymmetric v1a signature
    header = " ".join(
        [
            "v1a,bm90LWFuLWVkMjU1MTktc2lnbmF0dXJl",
            standard_signature(STANDARD_PREVIOUS_SECRET, MSG_ID, BODY),
            standard_signature(STANDARD_SECRET, MSG_ID, BODY),
        ]
    )
    # When it is verified with only the current secret
    # Then the matching v1 entry is found
    STANDARD.verify(standard_request(BODY, header=header), [STANDARD_SECRET], NOW)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (standard_request(BODY, secret="whsec_" + base64.b64encode(b"forged-key").decode()), "no v1 signature matches"),
        (with_body(standard_request(BODY), BODY.replace(b"seats", b"users")), "no v1 signature matches"),
        (without_header(standard_request(BODY), "webhook-signature"), "missing webhook-signature"),
        (without_header(standard_request(BODY), "webhook-id"), "missing webhook-id"),
        (without_header(standard_request(BODY), "webhook-timestamp"), "missing webhook-timestamp"),
        (standard_request(BODY, header="v1a,abc v2,def"), "no v1 signature"),
        # the id is signed: the same signature under another id is a different message
        (standard_request(BODY, msg_id="msg_other", header=standard_signature(STANDARD_SECRET, MSG_ID, BODY)), "match"),
        (standard_request(BODY, timestamp=EPOCH - 301), "old"),
        (standard_request(BODY, timestamp=EPOCH + 301), "in the future"),
        (  # milliseconds where seconds are meant
            standard_request(
                BODY, timestamp=EPOCH * 1000, header=standard_scheme.sign(STANDARD_SECRET, MSG_ID, EPOCH * 1000, BODY)
            ),
            "not a Unix timestamp",
        ),
    ],
)
def test_forged_tampered_stale_and_unsigned_messages_are_refused(request_: InboundWebhook, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason) as refused:
        STANDARD.verify(request_, [STANDARD_SECRET], NOW)
    assert STANDARD_SECRET.removeprefix("whsec_") not in str(refused.value)


@pytest.mark.parametrize(
    "configured",
    [
        STANDARD_SECRET.rstrip("="),  # stored without its base64 padding
        STANDARD_SECRET.removeprefix("whsec_"),  # stored without its prefix, as the package also accepts
    ],
)
def test_secrets_are_read_the_way_the_package_reads_them(configured: str) -> None:
    STANDARD.verify(standard_request(BODY), [configured], NOW)


def test_a_secret_that_is_not_base64_is_skipped_and_alone_refuses_everything() -> None:
    # Given a configured secret that is not a whsec_ key
    # When it is the only one, nothing verifies; next to a good one, it is skipped
    with pytest.raises(SignatureError, match="no configured secret is a valid whsec_ key"):
        STANDARD.verify(standard_request(BODY), ["whsec_%%%"], NOW)
    STANDARD.verify(standard_request(BODY), ["whsec_%%%", STANDARD_SECRET], NOW)


# Mapping ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("product.usage_reported", EventType.PRODUCT_USAGE_REPORTED),
        ("contact.upserted", EventType.CONTACT_UPSERTED),
        ("engagement.recorded", EventType.ENGAGEMENT_RECORDED),
        ("deal.won", EventType.DEAL_WON),
        ("invoice.created", EventType.VENDOR_UNMAPPED),
        ("Contact.Upserted", EventType.VENDOR_UNMAPPED),
        ("vendor.unmapped", EventType.VENDOR_UNMAPPED),
    ],
)
def test_canonical_types_pass_through_and_others_are_unmapped(event_type: str, expected: EventType) -> None:
    [event] = normalized(standard_event(event_type))
    assert event.event_type is expected
    assert (event.vendor_event_id, event.vendor_event_type) == (MSG_ID, event_type)


def test_a_canonical_event_keeps_its_data_and_takes_its_subject_from_it() -> None:
    # Given a usage report about an account
    # When it is normalized
    [event] = normalized(BODY)
    # Then data is passed as sent and the account id is qualified as the sender's
    assert event.data == {"account_id": "acct_9", "metric": "seats", "quantity": 12}
    assert event.subject.account_id == "standard:acct_9"
    assert event.occurred_at.isoformat() == "2026-11-25T11:59:00+00:00"


def test_ids_already_qualified_by_another_vendor_are_kept() -> None:
    data = {"contact_id": "hubspot:501", "deal_id": 77, "email": "ada@example.com", "kind": "demo_request"}
    [event] = normalized(standard_event("engagement.recorded", data))
    assert (event.subject.contact_id, event.subject.deal_id, event.subject.email) == (
        "hubspot:501",
        "standard:77",
        "ada@example.com",
    )
    assert event.subject.account_id is None


def test_an_unmapped_type_keeps_the_whole_body() -> None:
    [event] = normalized(standard_event("invoice.created", {"id": "inv_1"}))
    assert event.data["payload"] == {
        "type": "invoice.created",
        "timestamp": "2026-11-25T11:59:00Z",
        "data": {"id": "inv_1"},
    }


# De-duplication ---------------------------------------------------------------------------------------------


def test_a_retry_with_the_same_webhook_id_is_a_duplicate_and_a_new_id_is_not() -> None:
    # Given a delivered message
    gateway = Gateway(STANDARD, [STANDARD_SECRET])
    first = gateway.receive(standard_request(BODY))
    # When it is retried (same id, later timestamp, fresh signature), then another message has the same body
    retry = gateway.receive(standard_request(BODY, timestamp=EPOCH + 30))
    other = gateway.receive(standard_request(BODY, msg_id="msg_another"))
    # Then only the retry is a duplicate
    assert (first.status_code, retry.status_code, other.status_code) == (202, 200, 202)
    assert len(gateway.publisher.published) == 2


# Malformed bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[]", "expected a Standard Webhooks payload"),
        (json.dumps({"data": {}}).encode(), "expected a Standard Webhooks payload"),
        (json.dumps({"type": "contact.upserted", "data": [1]}).encode(), "data is not an object"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        STANDARD.parse(standard_request(body))


def test_a_body_without_data_is_a_canonical_event_with_empty_data() -> None:
    [event] = normalized(json.dumps({"type": "contact.upserted"}).encode())
    assert (event.event_type, event.data) == (EventType.CONTACT_UPSERTED, {})


def test_a_stored_body_the_reader_refuses_now_is_dead_lettered_at_once_with_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a delivery the receiver accepted before its checks of `data` grew (a subscription status a list)
    gateway = Gateway(STANDARD, [STANDARD_SECRET])
    body = standard_event("subscription.changed", {"email": "sam@northwind.io", "status": ["active"]})
    with monkeypatch.context() as before:
        before.setattr(standard_scheme, "check_data", lambda event_type, data: None)
        gateway.ingest.receive(standard_request(body))
    # When the publisher reads the stored body again, with today's reader
    report = gateway.drain()
    # Then its event goes to the dead-letter queue at once, saying why, rather than failing every retry
    assert (report.published, report.dead_lettered, report.retry) == (0, 1, [])
    [(_, reason)] = gateway.dead_letters.letters
    assert "its stored body no longer reads" in reason
    assert "data.status: expected a string" in reason
    assert gateway.publisher.published == []
