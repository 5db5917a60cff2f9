"""Who a Segment call is about, and when a consent statement takes effect.

- A `group` call's traits are the company's (Segment's reserved group traits include `email` and `phone`): they
  describe the account, never the person; the person is the call's `userId`/`anonymousId` and `context.traits`.
- An email or phone too long to be one is not an identity (it would be a key no store takes: a poison event).
- An `alias` call's `previousId` may be an anonymous id or a user id the person was identified by before.
- A consent statement never takes effect later than the hub received it, however far ahead its sender's clock.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from shared.events.canonical import CanonicalEvent
from shared.events.lead_events import LeadEventType
from shared.leads.consent import statements_of_event
from shared.leads.consent_policy import load_consent_policy
from shared.leads.identity import (
    MAX_EMAIL_CHARACTERS,
    MAX_PHONE_DIGITS,
    identities,
    identities_of_event,
    normalize_email,
    normalize_phone,
)
from shared.privacy.guard import subject_keys_of
from shared.webhooks.vendors.segment import SegmentTrackingApi
from tests.unit.test_lead_service import Leads
from tests.unit.test_vendor_segment import NOW, api_call, message, normalized

WEBHOOKS = "revops.webhooks"
COMPANY = {"name": "Acme", "website": "https://acme.io", "email": "billing@acme.io", "phone": "+1 415 555 0100"}


def segment(kind: str, **fields: Any) -> CanonicalEvent:
    [event] = normalized(SegmentTrackingApi(), api_call(f"/v1/{kind}", message(kind, **fields)))
    return event


def keys_of(event: CanonicalEvent) -> tuple[set[str], set[str]]:
    """The event's identities as the lead processor resolves them, and its keys as the erasure guard reads them."""
    detail = event.model_dump(mode="json")
    return {i.key for i in identities_of_event(event)}, set(subject_keys_of(WEBHOOKS, detail))


def handle(leads: Leads, event: CanonicalEvent) -> str | None:
    leads.clock.advance(timedelta(minutes=5))
    moved = event.model_copy(update={"occurred_at": leads.clock.now(), "received_at": leads.clock.now()})
    return leads.service.handle(moved).contact_id


# ------------------------------------------------------------------------------------------------ 1. group


def test_a_group_calls_traits_are_the_companys_not_the_persons() -> None:
    event = segment("group", userId="alice", groupId="acme", traits=COMPANY)
    lead_keys, guard_keys = keys_of(event)
    assert event.subject.email is None
    assert lead_keys == guard_keys == {"segment#alice"}
    # the company's traits still travel for the account
    assert event.subject.account_id == "segment:acme"
    assert event.data["traits"] == COMPANY


def test_a_group_calls_person_is_named_by_its_context_traits() -> None:
    event = segment(
        "group", userId="alice", groupId="acme", traits=COMPANY, context={"traits": {"email": "Alice@Acme.io"}}
    )
    lead_keys, guard_keys = keys_of(event)
    assert event.subject.email == "Alice@Acme.io"
    assert lead_keys == guard_keys == {"email#alice@acme.io", "segment#alice"}


def test_two_colleagues_grouped_into_one_company_stay_two_leads_with_their_own_emails() -> None:
    leads = Leads()
    alice = handle(leads, segment("identify", userId="alice", traits={"email": "alice@acme.io"}))
    bob = handle(leads, segment("identify", userId="bob", traits={"email": "bob@acme.io"}))
    handle(leads, segment("group", userId="alice", groupId="acme", traits=COMPANY))
    handle(leads, segment("group", userId="bob", groupId="acme", traits=COMPANY))
    assert alice
    assert bob
    assert alice != bob
    assert not leads.published(LeadEventType.MERGED)
    assert leads.contact(alice).merged_into is None
    assert leads.contact(bob).merged_into is None
    owners = leads.repo.owners(identities("billing@acme.io", "+1 415 555 0100"))
    assert owners == {}
    assert leads.contact(alice).email == "alice@acme.io"
    assert leads.contact(bob).email == "bob@acme.io"


# ----------------------------------------------------------------------------------------- 2. key lengths


def test_an_email_longer_than_rfc_5321_allows_is_not_an_email() -> None:
    longest = "a" * (MAX_EMAIL_CHARACTERS - len("@example.io")) + "@example.io"
    assert normalize_email(longest) == longest
    assert normalize_email("a" + longest) is None
    assert normalize_email("x" * 2100 + "@example.io") is None


def test_a_phone_with_more_digits_than_a_phone_number_has_is_not_a_phone() -> None:
    assert normalize_phone("+" + "1" * MAX_PHONE_DIGITS) == "+" + "1" * MAX_PHONE_DIGITS
    assert normalize_phone("+" + "1" * (MAX_PHONE_DIGITS + 1)) is None
    assert normalize_phone("1" * 3000) is None


def test_an_identify_with_a_huge_email_names_the_user_only() -> None:
    event = segment("identify", userId="long", traits={"email": "x" * 2100 + "@example.io", "phone": "9" * 2100})
    lead_keys, guard_keys = keys_of(event)
    assert lead_keys == guard_keys == {"segment#long"}


def test_no_identity_is_longer_than_a_key_can_be() -> None:
    # every kind that becomes a key (`IDENTITY#<kind>#<value>`, a DynamoDB partition key: at most 2,048 bytes)
    assert identities(qualified_ids=["hubspot:" + "1" * 3000]) == []
    assert identities(qualified_ids=["x" * 3000 + ":1"]) == []
    assert identities(qualified_ids=["segment:" + "é" * 255]) != []  # the longest key id any vendor may send
    for found in (identities("x" * 243 + "@example.io", "+" + "1" * MAX_PHONE_DIGITS, ["segment:" + "é" * 255]),):
        assert all(len(f"IDENTITY#{i.key}".encode()) <= 2048 for i in found)


# ------------------------------------------------------------------------------------------------ 3. alias


def test_an_alias_previous_id_names_both_an_anonymous_id_and_a_user_id() -> None:
    event = segment("alias", userId="new-user", previousId="old-user")
    lead_keys, guard_keys = keys_of(event)
    assert lead_keys == guard_keys == {"segment#new-user", "segment#old-user", "segment-anonymous#old-user"}


def test_aliasing_an_old_user_id_to_a_new_one_keeps_one_lead() -> None:
    leads = Leads()
    old = handle(leads, segment("identify", userId="old-user", traits={"email": "carol@example.io"}))
    handle(leads, segment("alias", userId="new-user", previousId="old-user"))
    new = handle(leads, segment("track", userId="new-user", event="Demo Requested"))
    assert old is not None
    assert new == old


def test_aliasing_an_anonymous_visitor_still_merges_their_history() -> None:
    leads = Leads()
    visitor = handle(leads, segment("page", userId=None, anonymousId="anon-1", name="Pricing"))
    user = handle(leads, segment("identify", userId="dana", traits={"email": "dana@example.io"}))
    handle(leads, segment("alias", userId="dana", previousId="anon-1"))
    assert visitor
    assert user
    assert visitor != user
    assert leads.contact(visitor).merged_into == user


def test_an_alias_never_joins_two_people_known_by_their_own_emails_through_an_anonymous_id() -> None:
    # one laptop, two colleagues: each signs in on it (its anonymous id is the previous id of no alias)
    leads = Leads()
    ada = handle(leads, segment("identify", userId="ada", anonymousId="laptop", traits={"email": "ada@acme.io"}))
    bob = handle(leads, segment("identify", userId="bob", anonymousId="laptop", traits={"email": "bob@acme.io"}))
    # a new user id for Bob, aliased to his old one
    handle(leads, segment("alias", userId="bob-2", previousId="bob"))
    assert ada
    assert bob
    assert ada != bob
    assert leads.contact(ada).merged_into is None
    assert leads.contact(bob).merged_into is None


# ---------------------------------------------------------------------------------------------- 4. consent


def consent_event(kind: str, granted: bool, sent_ahead: timedelta, received: Any = NOW) -> CanonicalEvent:
    preferences = {"Advertising": granted}
    context = {"consent": {"categoryPreferences": preferences}}
    event = segment(kind, userId="u-skew", messageId=f"m-{granted}-{received}", context=context)
    return event.model_copy(update={"occurred_at": received + sent_ahead, "received_at": received})


@pytest.mark.parametrize("ahead", [timedelta(days=1), timedelta(hours=2), timedelta(seconds=1)])
def test_a_consent_statement_takes_effect_no_later_than_the_hub_received_it(ahead: timedelta) -> None:
    [said] = statements_of_event(consent_event("identify", False, ahead), load_consent_policy())
    assert (said.purpose, said.granted, said.at) == ("marketing", False, NOW)


def test_a_consent_statement_from_the_past_keeps_its_time() -> None:
    [said] = statements_of_event(consent_event("track", False, -timedelta(hours=3)), load_consent_policy())
    assert said.at == NOW - timedelta(hours=3)


def _marketing_now(leads: Leads, contact_id: str) -> bool:
    contact = leads.contact(contact_id)
    return leads.service.consent_of(contact).state("marketing", leads.clock.now()).granted


def test_a_withdrawal_from_a_device_a_day_fast_takes_effect_at_once() -> None:
    leads = Leads()
    contact_id = leads.service.handle(consent_event("identify", False, timedelta(days=1), leads.clock.now()))
    assert contact_id.contact_id is not None
    assert _marketing_now(leads, contact_id.contact_id) is False


def test_a_post_dated_grant_does_not_make_a_later_withdrawal_stale() -> None:
    leads = Leads()
    granted = leads.service.handle(consent_event("identify", True, timedelta(hours=2), leads.clock.now()))
    leads.clock.advance(timedelta(minutes=1))
    withdrawn = leads.service.handle(consent_event("identify", False, timedelta(0), leads.clock.now()))
    assert granted.contact_id is not None
    assert withdrawn.contact_id == granted.contact_id
    assert _marketing_now(leads, granted.contact_id) is False


def test_a_website_longer_than_a_dns_name_is_no_account_domain() -> None:
    # Given a group call's website of 2,000 characters, and one of a real domain's length
    from shared.leads.accounts import MAX_DOMAIN_CHARACTERS, domain_identity

    # When each is made an account's domain identity
    # Then the long one is none (it would key an account past DynamoDB's 2,048 bytes), the real one is kept
    assert domain_identity("a" * 2000 + ".io") is None
    assert domain_identity("b" * (MAX_DOMAIN_CHARACTERS - 3) + ".io") is not None
