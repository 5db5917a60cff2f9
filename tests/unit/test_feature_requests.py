"""Product feedback asking for a feature is expansion evidence (issue 13: readiness "with its evidence (usage vs.
limits, adoption, health, NPS, feature requests for higher tiers)"): a request is kept in its account's log as a
`feature_requested` signal, once per feedback, and the readiness and suggestions read it."""

from __future__ import annotations

from dataclasses import replace

from shared.events.canonical import EventType
from shared.success.feedback import Feedback, FeedbackKind, feedback_key
from shared.success.signals import SignalKind
from tests.unit.test_health_service import CUSTOMER, START, World


def asking(tenant: str, feature: str, kind: FeedbackKind = FeedbackKind.REQUEST) -> Feedback:
    text = f"We need {feature}"
    key = feedback_key(tenant, feature, kind, text, None)
    return Feedback(key, tenant, feature, kind, text, "call", START, contact_email="kim@kestrel-labs.io", digest=key)


def test_a_request_is_kept_once_in_the_accounts_log_and_read_as_expansion_evidence() -> None:
    # Given a paying customer
    world = World("USD")
    world.customer()
    paid = {"amount_minor": 4900, "currency": "usd"}
    world.service.handle(world.event(EventType.PAYMENT_SUCCEEDED, paid, account_id=CUSTOMER))
    tenant = world.service.tenant(CUSTOMER)
    # When it asks for SSO and an audit log, the SSO request arrives twice, and it reports a bug and asks for
    # a feature no product of the catalog has
    for one in (asking(tenant, "sso"), asking(tenant, "sso"), asking(tenant, "audit_log"), asking(tenant, "dark_mode")):
        world.product.add_feedback(one)
    world.product.add_feedback(asking(tenant, "exports", FeedbackKind.BUG))
    # Then each request is one signal holding its feature only (no words, no email)
    requests = [s for s in world.service.log(tenant) if s.kind is SignalKind.FEATURE_REQUESTED]
    assert sorted(s.values["feature"] for s in requests) == ["audit_log", "dark_mode", "sso"]
    assert all(dict(s.values).keys() == {"feature"} for s in requests)
    # And the readiness counts the two catalog features and suggests the product they belong to
    _, _, _, readiness = world.product.analytics(tenant)
    demand = next(e for e in readiness.evidence if e.component == "feature_demand")
    assert (demand.value, demand.score) == (2, 100)
    assert [(s.product, s.because) for s in readiness.suggestions] == [("enterprise_security", ["audit_log", "sso"])]


def test_a_request_whose_signal_failed_is_recorded_when_the_feedback_comes_again() -> None:
    # Given a customer whose first SSO request was kept but whose signal was lost (the store failed in between)
    world = World("USD")
    world.customer()
    tenant = world.service.tenant(CUSTOMER)
    request = asking(tenant, "sso")
    world.store.add_feedback(request)
    assert not [s for s in world.service.log(tenant) if s.kind is SignalKind.FEATURE_REQUESTED]
    # When the same feedback is sent again
    created, kept = world.product.add_feedback(replace(request))
    # Then it is the one kept before, and the request is in the log now
    assert (created, kept.feedback_key) == (False, request.feedback_key)
    assert [s.values["feature"] for s in world.service.log(tenant) if s.kind is SignalKind.FEATURE_REQUESTED] == ["sso"]
