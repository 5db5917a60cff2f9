"""Our signature checks against the vendors' own SDKs, both directions: what the SDK signs we accept, what
we sign the SDK accepts, and what the SDK would reject we reject too."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
import stripe
from hubspot.utils.signature import Signature
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.webhooks.signatures import SignatureError
from shared.webhooks.vendors import hubspot as hubspot_scheme
from shared.webhooks.vendors import stripe as stripe_scheme
from shared.webhooks.vendors.hubspot import HubSpot
from shared.webhooks.vendors.stripe import Stripe
from tests.webhook_samples import HUBSPOT_SECRET, HUBSPOT_URL, STRIPE_SECRET, hubspot_request, stripe_request

json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
).map(lambda value: __import__("json").dumps(value).encode())


@given(body=json_bodies)
@settings(max_examples=50, deadline=None)
def test_stripe_sdk_signed_bodies_verify_with_ours(body: bytes) -> None:
    # Given any body signed by stripe-python
    now = int(time.time())
    header = stripe.WebhookSignature.generate_signature_header(body.decode(), STRIPE_SECRET, now)
    # When our Stripe scheme checks it
    # Then it verifies
    Stripe().verify(stripe_request(body, signature=header), [STRIPE_SECRET], datetime.fromtimestamp(now, UTC))


@given(body=json_bodies)
@settings(max_examples=50, deadline=None)
def test_our_stripe_signatures_verify_with_the_sdk(body: bytes) -> None:
    # Given any body signed by our Stripe scheme
    now = int(time.time())
    header = stripe_scheme.sign(STRIPE_SECRET, body, now)
    # When stripe-python verifies it
    # Then it is accepted
    assert stripe.WebhookSignature.verify_header(body.decode(), header, STRIPE_SECRET, tolerance=300)


def test_a_signature_the_stripe_sdk_rejects_we_reject() -> None:
    # Given a body signed with the wrong secret
    now = int(time.time())
    body = b'{"id": "evt_x", "object": "event"}'
    header = stripe_scheme.sign("whsec_wrong", body, now)
    # When both check it against the real secret
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body.decode(), header, STRIPE_SECRET, tolerance=300)
    # Then ours rejects it too
    with pytest.raises(SignatureError):
        Stripe().verify(stripe_request(body, signature=header), [STRIPE_SECRET], datetime.fromtimestamp(now, UTC))


@given(body=json_bodies, path=st.sampled_from(["/webhooks/hubspot", "/prod/webhooks/hubspot?portal=1&x=a%2Cb"]))
@settings(max_examples=50, deadline=None)
def test_hubspot_sdk_v3_signatures_verify_with_ours(body: bytes, path: str) -> None:
    # Given any body and URL signed v3 by hubspot-api-client, over the URI with the characters HubSpot
    # decodes before signing (%2C -> ",") while the request itself arrives percent-encoded
    now_ms = int(time.time() * 1000)
    url = f"https://hub.example.com{path}"
    signed_uri = url.replace("%2C", ",")
    signature = Signature.get_signature(HUBSPOT_SECRET, body.decode(), "v3", signed_uri, "POST", str(now_ms))
    # When our HubSpot scheme checks it
    request = hubspot_request(body, timestamp_ms=now_ms, url=url, signature=signature)
    # Then it verifies
    HubSpot().verify(request, [HUBSPOT_SECRET], datetime.fromtimestamp(now_ms / 1000, UTC))


@given(body=json_bodies)
@settings(max_examples=50, deadline=None)
def test_our_hubspot_signatures_verify_with_the_sdk(body: bytes) -> None:
    # Given any body signed v3 by our HubSpot scheme
    now_ms = str(int(time.time() * 1000))
    signature = hubspot_scheme.sign(HUBSPOT_SECRET, "POST", HUBSPOT_URL, body, now_ms)
    # When hubspot-api-client validates it
    valid = Signature.is_valid(
        signature, HUBSPOT_SECRET, body.decode(), HUBSPOT_URL, "POST", signature_version="v3", timestamp=now_ms
    )
    # Then it is valid
    assert valid


def test_hubspot_signatures_cover_the_url() -> None:
    # Given a request signed for one URL but presented at another
    now_ms = int(time.time() * 1000)
    body = b"[]"
    signature = hubspot_scheme.sign(
        HUBSPOT_SECRET, "POST", "https://evil.example.com/webhooks/hubspot", body, str(now_ms)
    )
    request = hubspot_request(body, timestamp_ms=now_ms, signature=signature)
    # When it is checked
    # Then it is refused
    with pytest.raises(SignatureError):
        HubSpot().verify(request, [HUBSPOT_SECRET], datetime.fromtimestamp(now_ms / 1000, UTC))


def test_hubspot_v1_and_v2_signatures_are_not_accepted() -> None:
    # Given a request carrying only an old-style X-HubSpot-Signature
    request = hubspot_request(b"[]", signature="x")
    headers = {k: v for k, v in request.headers.items() if k != "x-hubspot-signature-v3"} | {"x-hubspot-signature": "x"}
    # When it is checked
    # Then the reason names the version
    with pytest.raises(SignatureError, match="v3"):
        HubSpot().verify(type(request)(**{**request.__dict__, "headers": headers}), [HUBSPOT_SECRET], datetime.now(UTC))
