"""Which product feedback is a person's (`shared.adapters.dynamodb_privacy_feedback.FeedbackFinder`): theirs by
their contact email, whatever its case and whichever of their merged emails; naming them by an email or id in any
account's free text, by their name only in their own accounts' (elsewhere a name is likelier someone else)."""

from __future__ import annotations

from typing import Any

from shared.adapters.dynamodb_privacy_feedback import FeedbackFinder
from shared.privacy.model import Person

GRETA = Person(
    email="greta@fjord.io",
    identity_keys=("email#greta@fjord.io", "email#g.lindqvist@old-fjord.io", "hubspot#501"),
    account_ids=("acct-fjord",),
    names=("Greta Lindqvist", "Lindqvist"),
)


def item(tenant: str, text: str, email: str | None = None, source: str = "call") -> dict[str, Any]:
    found: dict[str, Any] = {
        "pk": {"S": "FEEDBACK"},
        "sk": {"S": "sso#id:x"},
        "tenant_id": {"S": tenant},
        "text": {"S": text},
        "source": {"S": source},
    }
    if email is not None:
        found["contact_email"] = {"S": email}
    return found


def whose(one: dict[str, Any]) -> bool | None:
    found = FeedbackFinder(GRETA).whose(one)
    return None if found is None else found.theirs


def test_feedback_is_hers_by_any_of_her_emails_whatever_their_case() -> None:
    assert whose(item("acct-other", "SAML please", " Greta@FJORD.io ")) is True
    assert whose(item("acct-other", "SAML please", "G.Lindqvist@old-fjord.io")) is True
    assert whose(item("acct-fjord", "SAML please", "olaf@fjord.io")) is None
    assert whose(item("acct-fjord", "SAML please")) is None


def test_feedback_names_her_by_email_or_id_anywhere_by_name_only_in_her_accounts() -> None:
    assert whose(item("acct-other", "cc GRETA@fjord.io please", "ines@lisbon.io")) is False
    assert whose(item("acct-other", "SAML", "ines@lisbon.io", source="call with g.lindqvist@old-fjord.io")) is False
    assert whose(item("acct-other", "501", "ines@lisbon.io")) is False
    assert whose(item("acct-fjord", "Lindqvist asked for it", "olaf@fjord.io")) is False
    assert whose(item("acct-other", "Lindqvist asked for it", "ines@lisbon.io")) is None
