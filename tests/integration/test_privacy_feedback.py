"""Product feedback in a person's erasure and export (issue 15 §2 over issue 13's feedback), through the privacy
service with the `success` table's store over moto: the feedback she gave and the feedback naming her are in her
export; her erasure leaves neither her email nor her words in any item, counts each item in the receipt, and keeps
every request in the ARR-weighted ranking; the same erasure again erases nothing, and her feedback retried is a
duplicate of the anonymized one, not kept again in clear."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from local_runtime.stored_text import attribute_text
from shared.adapters.dynamodb_privacy_success import SuccessPrivacy
from shared.adapters.dynamodb_success import DynamoDbHealthStore
from shared.catalog import physical_name
from shared.catalog.success import SUCCESS
from shared.privacy.model import Person
from shared.privacy.redaction import ERASED_TEXT
from shared.privacy.service import PrivacyService
from shared.success.feedback import Feedback, FeedbackKind, ranked
from tests.integration.conftest import STAGE, only_table
from tests.privacy_fakes import FakeDirectory, FakeStore, InMemoryErasureLedger, RecordedCrmErasures

TABLE = physical_name(STAGE, SUCCESS.name)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GRETA = Person(
    email="greta@fjord.io",
    contact_ids=("c-greta",),
    identity_keys=("email#greta@fjord.io", "email#g.lindqvist@old-fjord.io", "segment#user-7"),
    account_ids=("acct-fjord",),
    names=("Greta Lindqvist", "Lindqvist", "Greta"),
)
ARR = {"acct-fjord": 1_200_000, "acct-other": 300_000}


def said(key: str, tenant: str, feature: str, text: str, email: str | None = None) -> Feedback:
    return Feedback(key, tenant, feature, FeedbackKind.REQUEST, text, "call", NOW, email, digest=f"d-{key}")


HERS = said("id:fb-1", "acct-fjord", "sso", "Greta Lindqvist here: we need SAML", "Greta@Fjord.io")
HERS_BEFORE = said("id:fb-2", "acct-fjord", "exports", "CSV exports, please", "g.lindqvist@old-fjord.io")
NAMING = said("id:fb-3", "acct-fjord", "audit-log", "Lindqvist asked for audit logs too", "olaf@fjord.io")
ELSEWHERE = said("id:fb-4", "acct-other", "sso", "cc greta@fjord.io on the SSO thread", "ines@lisbon.io")
OTHERS = said("id:fb-5", "acct-other", "exports", "Exports to S3", "ines@lisbon.io")
ALL = (HERS, HERS_BEFORE, NAMING, ELSEWHERE, OTHERS)


@pytest.fixture
def world() -> Iterator[tuple[PrivacyService, DynamoDbHealthStore, Any]]:
    with only_table(SUCCESS) as client:
        store = DynamoDbHealthStore(client, TABLE)
        for feedback in ALL:
            assert store.add_feedback(feedback) is None
        service = PrivacyService(
            directory=FakeDirectory("leads", held=1, people={GRETA.email: GRETA}),
            deliveries=FakeStore("webhook-deliveries"),
            others=[SuccessPrivacy(client, TABLE)],
            synced=FakeStore("crm-sync"),
            crm=RecordedCrmErasures(),
            ledger=InMemoryErasureLedger(),
            clock=lambda: NOW,
        )
        yield service, store, client


def stored_text(client: Any) -> list[str]:
    """Every attribute of every item of the table, as searchable text."""
    return [
        f"{item['sk']['S']}.{name}={attribute_text(value).casefold()}"
        for page in client.get_paginator("scan").paginate(TableName=TABLE)
        for item in page["Items"]
        for name, value in item.items()
    ]


def demand(store: DynamoDbHealthStore) -> list[tuple[str, int, list[tuple[str, int]], int]]:
    return [(d.feature, d.mentions, d.accounts, d.weighted_minor) for d in ranked(store.feedback(), ARR)]


def test_her_feedback_is_in_her_export(world: Any) -> None:
    service, _, _ = world
    feedback = [item for item in service.export(" Greta@Fjord.io ")["success"] if item["pk"] == "FEEDBACK"]
    assert [(item["feedback_key"], item["text"], item.get("contact_email")) for item in feedback] == [
        ("id:fb-3", NAMING.text, "olaf@fjord.io"),
        ("id:fb-2", HERS_BEFORE.text, "g.lindqvist@old-fjord.io"),
        ("id:fb-1", HERS.text, "Greta@Fjord.io"),
        ("id:fb-4", ELSEWHERE.text, "ines@lisbon.io"),
    ]


def test_her_erasure_leaves_no_trace_of_her_in_feedback_and_the_ranking_as_it_was(world: Any) -> None:
    service, store, client = world
    before = demand(store)
    # When she is erased
    outcome = service.erase("greta@fjord.io")
    # Then each feedback item she gave or that named her was anonymized, and the receipt counts them
    assert outcome.erased_now["success"] == 4
    assert outcome.receipt.erased["success"] == 4
    # And neither her emails nor her name are anywhere in the table
    for needle in ("greta@fjord.io", "g.lindqvist@old-fjord.io", "lindqvist", "greta"):
        assert [text for text in stored_text(client) if needle in text] == []
    # And every request still counts: the same mentions, the same accounts, the same ARR-weighted demand
    assert demand(store) == before
    kept = {f.feedback_key: f for f in store.feedback()}
    assert (kept["id:fb-1"].text, kept["id:fb-1"].contact_email) == (ERASED_TEXT, None)
    assert (kept["id:fb-2"].text, kept["id:fb-2"].contact_email) == (ERASED_TEXT, None)
    assert (kept["id:fb-3"].text, kept["id:fb-3"].contact_email) == (ERASED_TEXT, "olaf@fjord.io")
    assert (kept["id:fb-4"].text, kept["id:fb-4"].contact_email) == (ERASED_TEXT, "ines@lisbon.io")
    assert kept["id:fb-5"] == OTHERS
    # And the same erasure again finds nothing more; her export holds no feedback any longer
    assert service.erase("greta@fjord.io").erased_now["success"] == 0
    assert [item for item in service.export("greta@fjord.io")["success"] if item["pk"] == "FEEDBACK"] == []
    # And her feedback retried is a duplicate of the anonymized one, never kept again in clear
    assert store.add_feedback(HERS) == replace(HERS, text=ERASED_TEXT, contact_email=None)
    assert [text for text in stored_text(client) if "greta" in text] == []


def test_a_feedback_partition_beyond_reach_fails_the_erasure_instead_of_leaving_some(world: Any) -> None:
    from shared.adapters.dynamodb_privacy_feedback import FeedbackBeyondReach, FeedbackPrivacy

    _, _, client = world
    with pytest.raises(FeedbackBeyondReach):
        FeedbackPrivacy(client, TABLE, read_limit=len(ALL) - 1).erase(GRETA)
    assert FeedbackPrivacy(client, TABLE, read_limit=len(ALL)).erase(GRETA) == 4
