"""Emails match whatever their letters' case, and only that: `lower()`, not `casefold()`, so two mailboxes that
differ in more than case (`straße@` and `strasse@`) stay two people, while ASCII addresses keep the keys they
were stored under."""

from __future__ import annotations

import pytest

from shared.leads.identity import identities, normalize_email
from tests.unit.test_lead_service import Leads, capture


def test_an_email_is_matched_whatever_the_case_of_its_ascii_letters() -> None:
    # Given an ASCII address written with capitals and spaces
    # Then its identity key is what it always was
    assert normalize_email("  ADA.Lovelace@Acme.IO ") == "ada.lovelace@acme.io"
    assert [i.key for i in identities(" Ada@ACME.io")] == ["email#ada@acme.io"]


def test_different_mailboxes_are_not_made_one_by_case_folding() -> None:
    # Given two addresses that only Unicode case folding makes equal
    # Then they are normalized apart (and a capital ẞ still matches its lower case)
    assert normalize_email("Straße@acme.io") == "straße@acme.io"
    assert normalize_email("strasse@acme.io") == "strasse@acme.io"
    assert normalize_email("STRAẞE@acme.io") == "straße@acme.io"


@pytest.fixture
def leads() -> Leads:
    return Leads()


def test_two_people_with_such_mailboxes_are_two_leads(leads: Leads) -> None:
    # Given a lead captured as strasse@
    first = capture(leads, "strasse@acme.io")
    # When another person is captured as straße@
    second = capture(leads, "straße@acme.io")
    # Then they are two leads, each found by its own address
    assert first != second
    found = leads.service.find_by_email("Straße@Acme.io")
    assert found is not None
    assert found.contact_id == second
