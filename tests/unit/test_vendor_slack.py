"""Slack: `v0` signatures proven against slack_sdk both ways, url_verification, events and handoff buttons."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from slack_sdk.signature import SignatureVerifier

from shared.events.canonical import CanonicalEvent, EventType
from shared.webhooks.model import InboundWebhook, Outcome
from shared.webhooks.normalizers import normalize
from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendor import MalformedPayload, Reply
from shared.webhooks.vendors import slack as slack_scheme
from shared.webhooks.vendors.slack import Slack
from tests.vendor_samples import (
    CONTEXT,
    EPOCH,
    NOW,
    SLACK_PREVIOUS_SECRET,
    SLACK_SECRET,
    Gateway,
    json_bodies,
    slack_block_action,
    slack_event_callback,
    slack_interaction,
    slack_request,
    slack_url_verification,
    with_body,
    without_header,
)

SLACK = Slack()
EVENT = slack_event_callback()
CLICK = slack_block_action()


class FixedSlackClock:
    def __init__(self, now: int = EPOCH) -> None:
        self.moment = now

    def now(self) -> float:
        return float(self.moment)


def sdk(secret: str = SLACK_SECRET) -> SignatureVerifier:
    return SignatureVerifier(secret, clock=FixedSlackClock())  # type: ignore[arg-type]


def normalized(body: bytes) -> list[CanonicalEvent]:
    return [normalize(SLACK.name, event, CONTEXT) for event in SLACK.parse(slack_request(body))]


# Signatures, against slack_sdk ------------------------------------------------------------------------------


@given(body=json_bodies)
@settings(max_examples=50, deadline=None)
def test_slack_sdk_signed_bodies_verify_with_ours(body: bytes) -> None:
    # Given any body signed by slack_sdk's SignatureVerifier
    signature = sdk().generate_signature(timestamp=str(EPOCH), body=body)
    # When our Slack scheme checks it
    # Then it verifies
    SLACK.verify(slack_request(body, header=signature), [SLACK_SECRET], NOW)


@given(body=json_bodies)
@settings(max_examples=50, deadline=None)
def test_our_slack_signatures_verify_with_the_sdk(body: bytes) -> None:
    # Given any body signed by our Slack scheme
    signature = slack_scheme.sign(SLACK_SECRET, body, EPOCH)
    # When slack_sdk validates it
    # Then it is valid
    assert sdk().is_valid(body, str(EPOCH), signature)


def test_a_signature_the_sdk_rejects_we_reject() -> None:
    # Given signatures slack_sdk rejects: wrong secret, and a stale timestamp
    wrong = slack_scheme.sign("wrong-secret", EVENT, EPOCH)
    stale = slack_scheme.sign(SLACK_SECRET, EVENT, EPOCH - 301)
    assert not sdk().is_valid(EVENT, str(EPOCH), wrong)
    assert not sdk().is_valid(EVENT, str(EPOCH - 301), stale)
    # When ours checks them
    # Then ours rejects them too
    with pytest.raises(SignatureError, match="does not match"):
        SLACK.verify(slack_request(EVENT, header=wrong), [SLACK_SECRET], NOW)
    with pytest.raises(SignatureError, match="old"):
        SLACK.verify(slack_request(EVENT, timestamp=EPOCH - 301, header=stale), [SLACK_SECRET], NOW)


def test_slacks_published_example_verifies() -> None:
    # Given the worked example in Slack's "Verifying requests from Slack" guide (a slash command)
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    request = slack_request(body, secret="8f742231b10e8888abcd99yyyzzz85a5", timestamp=1531420618, header=signature)
    # When it is verified at the moment it was sent
    SLACK.verify(request, ["8f742231b10e8888abcd99yyyzzz85a5"], datetime.fromtimestamp(1531420618, UTC))
    # Then it passes, and parses as a slash command kept unmapped
    [event] = SLACK.parse(request)
    assert (event.vendor_event_type, event.payload["command"]) == ("slash_command", "/webhook-collect")


def test_a_request_signed_with_the_previous_secret_verifies_while_both_are_configured() -> None:
    request = slack_request(EVENT, secret=SLACK_PREVIOUS_SECRET)
    SLACK.verify(request, [SLACK_SECRET, SLACK_PREVIOUS_SECRET], NOW)
    with pytest.raises(SignatureError):
        SLACK.verify(request, [SLACK_SECRET], NOW)


def test_any_signature_of_a_folded_header_may_match() -> None:
    header = f"{slack_scheme.sign('stale', EVENT, EPOCH)}, {slack_scheme.sign(SLACK_SECRET, EVENT, EPOCH)}"
    SLACK.verify(slack_request(EVENT, header=header), [SLACK_SECRET], NOW)


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (slack_request(EVENT, secret="forged"), "does not match"),
        (with_body(slack_request(EVENT), EVENT.replace(b"hi", b"ho")), "does not match"),
        (without_header(slack_request(EVENT), "X-Slack-Signature"), "missing X-Slack-Signature"),
        (without_header(slack_request(EVENT), "X-Slack-Request-Timestamp"), "missing X-Slack-Request-Timestamp"),
        (slack_request(EVENT, header="v1=" + "0" * 64), "no v0= signature"),
        (slack_request(EVENT, timestamp=EPOCH - 301), "old"),
        (slack_request(EVENT, timestamp=EPOCH + 301), "in the future"),
        (slack_request(EVENT, timestamp=EPOCH * 1000), "not a Unix timestamp"),  # milliseconds
        # signed at one second, presented as another
        (slack_request(EVENT, timestamp=EPOCH + 1, header=slack_scheme.sign(SLACK_SECRET, EVENT, EPOCH)), "match"),
    ],
)
def test_forged_tampered_stale_and_unsigned_requests_are_refused(request_: InboundWebhook, reason: str) -> None:
    with pytest.raises(SignatureError, match=reason) as refused:
        SLACK.verify(request_, [SLACK_SECRET], NOW)
    assert SLACK_SECRET not in str(refused.value)


# url_verification -------------------------------------------------------------------------------------------


def test_url_verification_is_answered_with_its_challenge() -> None:
    # Given Slack's signed url_verification request
    gateway = Gateway(SLACK, [SLACK_SECRET])
    # When it is delivered
    answer = gateway.receive(slack_request(slack_url_verification("ch-123")))
    # Then the challenge goes back as JSON, it is logged as a handshake, and nothing is published
    assert (answer.status_code, answer.body, answer.content_type) == (200, {"challenge": "ch-123"}, "application/json")
    assert [a.outcome for a in gateway.ledger.attempts.values()] == [Outcome.HANDSHAKE]
    assert gateway.publisher.published == []


def test_an_unsigned_url_verification_gets_no_challenge() -> None:
    answer = Gateway(SLACK, [SLACK_SECRET]).receive(slack_request(slack_url_verification(), secret="forged"))
    assert answer.status_code == 401
    assert "challenge" not in answer.body


def test_a_url_verification_without_a_challenge_is_malformed() -> None:
    with pytest.raises(MalformedPayload, match="no challenge"):
        SLACK.handshake(slack_request(json.dumps({"type": "url_verification"}).encode()))


@pytest.mark.parametrize("body", [EVENT, CLICK])
def test_events_and_interactions_are_not_handshakes(body: bytes) -> None:
    assert SLACK.handshake(slack_request(body)) is None


# Events API -------------------------------------------------------------------------------------------------


def test_an_event_callback_is_kept_unmapped_under_its_event_id() -> None:
    # Given an app_mention event callback
    # When it is normalized
    [event] = normalized(EVENT)
    # Then it is vendor.unmapped with the whole event, deduped on event_id
    assert event.event_type is EventType.VENDOR_UNMAPPED
    assert (event.vendor_event_id, event.vendor_event_type) == ("Ev08MFMKH6", "app_mention")
    assert event.data["payload"]["event"]["text"] == "<@U0LAN0Z89> hi"
    assert event.occurred_at == datetime.fromtimestamp(EPOCH - 5, UTC)


def test_slacks_retry_of_an_event_is_a_duplicate_and_every_ack_is_a_bare_200() -> None:
    # Given an event that was accepted
    gateway = Gateway(SLACK, [SLACK_SECRET])
    first = gateway.receive(slack_request(EVENT))
    # When Slack retries it (it retries anything not acknowledged within 3 seconds)
    retry = gateway.receive(slack_request(EVENT))
    # Then both get an empty 200, and it is published once
    assert (first.status_code, first.body, first.content_type) == (200, "", "text/plain")
    assert (retry.status_code, retry.body) == (200, "")
    assert len(gateway.publisher.published) == 1
    assert [a.outcome for a in gateway.ledger.attempts.values()] == [Outcome.ACCEPTED, Outcome.DUPLICATE]


@pytest.mark.parametrize(
    "answer",
    [
        Reply(401, {"message": "signature rejected", "delivery_id": "d"}),
        Reply(503, {"message": "could not publish the delivery; please retry", "delivery_id": "d"}),
        Reply(200, {"challenge": "c"}),
    ],
)
def test_errors_and_the_challenge_are_passed_through(answer: Reply) -> None:
    assert SLACK.reply(answer) == answer


# Interactivity ----------------------------------------------------------------------------------------------


def test_a_handoff_accept_click_is_a_handoff_accepted() -> None:
    # Given a click on the handoff message's accept button
    # When it is normalized
    [event] = normalized(CLICK)
    # Then it is handoff.accepted with the button's JSON value and who clicked
    assert event.event_type is EventType.HANDOFF_ACCEPTED
    assert event.data["handoff_id"] == "h-42"
    assert event.data["lead_id"] == "hubspot:501"
    assert (event.data["slack_user_id"], event.data["slack_user_name"]) == ("UA8RXUSPL", "grace")
    assert (event.data["channel_id"], event.data["message_ts"]) == ("CBR2V3XEX", "1548261231.000200")
    assert event.subject.contact_id == "hubspot:501"
    assert event.vendor_event_type == "block_actions"
    assert event.occurred_at == datetime.fromtimestamp(EPOCH - 2 + 0.123456, UTC)


def test_a_handoff_value_that_is_not_json_is_kept_as_is() -> None:
    [event] = normalized(slack_block_action(value="h-42"))
    assert event.event_type is EventType.HANDOFF_ACCEPTED
    assert event.data["value"] == "h-42"
    assert event.subject.contact_id is None


@pytest.mark.parametrize(
    "body",
    [
        slack_block_action(action_id="handoff_decline"),
        slack_interaction({"type": "view_submission", "trigger_id": "t", "view": {"id": "V1"}}),
        slack_interaction({"type": "shortcut", "callback_id": "x", "trigger_id": "t"}),
    ],
)
def test_other_interactions_are_kept_unmapped(body: bytes) -> None:
    [event] = normalized(body)
    assert event.event_type is EventType.VENDOR_UNMAPPED
    assert "type" in event.data["payload"]


def test_the_same_click_dedupes_and_another_click_does_not() -> None:
    # Given a click parsed twice, and a second click on the same button (a new trigger_id)
    [click], [again] = SLACK.parse(slack_request(CLICK)), SLACK.parse(slack_request(CLICK))
    [second_click] = SLACK.parse(slack_request(slack_block_action(trigger_id="99.88.77")))
    # Then only the repeat of the same click shares a key
    assert click.dedupe_key == again.dedupe_key != second_click.dedupe_key
    assert click.vendor_event_id is None


def test_an_interaction_through_the_gateway_is_acked_with_an_empty_200() -> None:
    gateway = Gateway(SLACK, [SLACK_SECRET])
    answer = gateway.receive(slack_request(CLICK))
    assert (answer.status_code, answer.body) == (200, "")
    [published] = gateway.publisher.published
    assert published.event_type is EventType.HANDOFF_ACCEPTED


# Malformed bodies -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"type": ', "not valid JSON"),
        (b'{"no_type": 1}', "expected a Slack Events API object"),
        (json.dumps({"type": "event_callback", "event": {}}).encode(), "no event_id"),
        (json.dumps({"type": "event_callback", "event_id": "Ev1"}).encode(), "no event object"),
        (b"payload=%7Bnot-json", "interaction payload is not valid JSON"),
        (slack_interaction({"actions": []}), "not a Slack interaction"),
        (b"\xff\xfe", "neither JSON nor a form"),
        (b"", "empty"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        SLACK.parse(slack_request(body, header="v0=00"))
