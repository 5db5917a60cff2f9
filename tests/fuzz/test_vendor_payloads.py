"""Malformed-but-signed payloads from every vendor, through the whole gateway (receiver handler → ingest →
ledger, then the table's stream → publisher handler → normalizers → bus, over moto): the vendor always gets a
2xx or 4xx, never a 5xx, every attempt is in the delivery log, and every stored event is published or set
aside, never left to be retried for ever.

A 5xx is a retry loop: the vendor sends the same bytes again and again (Stripe for 3 days, Salesforce for a
day) and gets the same answer, while nothing about the attempt is logged.

The hypothesis test runs a fixed number of derandomized examples per vendor and does not stop at the first
failure: it reports every distinct root cause it met, each with the shortest delivery that showed it. That
keeps its time the same whether the receiver has bugs or not, and one run lists them all.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz.conftest import ServerErrors
from tests.fuzz.receiver import Answer, MotoReceiver, Unhandled
from tests.fuzz.vendors import STRATEGIES, Delivery, hostile_bodies, valid_sample

pytestmark = [
    pytest.mark.fuzz,
    # Powertools warns when an invocation records no metric (the delivery log API records none, nor does a raise).
    pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning"),
]

VENDORS = sorted(STRATEGIES)
EXAMPLES_PER_VENDOR = 80


def assert_handled(receiver: MotoReceiver, server_errors: ServerErrors, delivery: Delivery) -> Answer:
    """Posts `delivery` and checks the two promises: no 5xx, and the attempt is in the delivery log."""
    answer = receiver.send(delivery)
    logged = receiver.newest_delivery()
    if answer.status >= 500:
        reason = (logged or {}).get("reason") or answer.body
        cause = f"{answer.status} answered: " + re.sub(r"\b[0-9a-f]{32}\b|(?<![\w-])\d+\b", "#", reason)[:200]
        server_errors.record(cause, repr(delivery), reason, delivery.vendor)
        raise Unhandled(f"{delivery!r} was answered {answer.status}: {answer.body[:300]}\nlogged: {reason}", cause)
    if logged is None or (logged["vendor"], logged["body_sha256"]) != (delivery.vendor, answer.sha256):
        cause = f"{delivery.vendor} attempt answered {answer.status} missing from the delivery log"
        raise Unhandled(f"{delivery!r} is not the newest attempt in the delivery log: {logged}", cause)
    return answer


@pytest.mark.parametrize("vendor", VENDORS)
def test_the_unmodified_sample_of_every_vendor_is_accepted(receiver: MotoReceiver, vendor: str) -> None:
    # Given the sample every strategy starts from, correctly signed
    sample = valid_sample(vendor)
    # When it is posted
    published = receiver.published
    answer = receiver.send(sample)
    # Then it is accepted: the signatures are right, so the fuzzing below gets past verification; and its events
    # went through the publisher, so the fuzzing below reaches normalization too
    assert 200 <= answer.status < 300, f"{sample!r} was answered {answer.status}: {answer.body}"
    if vendor != "slack":  # Slack's sample is a url_verification handshake: nothing is stored
        assert receiver.published > published


@pytest.mark.parametrize(
    "delivery",
    [delivery for vendor in VENDORS for delivery in hostile_bodies(vendor)],
    ids=lambda delivery: f"{delivery.vendor}: {delivery.what}",
)
def test_a_hostile_body_is_answered_without_a_server_error_and_logged(
    receiver: MotoReceiver, server_errors: ServerErrors, delivery: Delivery
) -> None:
    # Given a signed body that is empty, not UTF-8, not JSON, nested 10,000 deep, a 5000-digit number ...
    # When the vendor posts it
    # Then it is answered 2xx or 4xx and logged
    assert_handled(receiver, server_errors, delivery)


@pytest.mark.parametrize("vendor", VENDORS)
def test_malformed_but_signed_payloads_are_answered_without_a_server_error_and_logged(
    receiver: MotoReceiver, server_errors: ServerErrors, vendor: str
) -> None:
    failures: dict[str, str] = {}

    @settings(
        max_examples=EXAMPLES_PER_VENDOR,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(delivery=STRATEGIES[vendor])
    def post(delivery: Delivery) -> None:
        try:
            assert_handled(receiver, server_errors, delivery)
        except Unhandled as failure:
            known = failures.get(failure.cause)
            if known is None or len(str(failure)) < len(known):
                failures[failure.cause] = str(failure)

    # Given correctly signed payloads of <vendor> with wrong types, out-of-range numbers, hostile strings,
    # nesting or bytes in the fields the vendor's code reads
    receiver.clear_delivery_log()
    # When the vendor posts each of them
    post()
    # Then each is answered 2xx or 4xx, never 5xx, and is in the delivery log
    report = "\n\n".join(f"[{cause}]\n{example}" for cause, example in sorted(failures.items()))
    assert not failures, f"{len(failures)} distinct failures for {vendor}:\n\n{report}"
