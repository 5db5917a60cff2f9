"""What the hub takes for a person's email (`normalize_email`): an address any CRM, inbox and UTF-8 store takes."""

from __future__ import annotations

import pytest

from shared.leads.identity import normalize_email


@pytest.mark.parametrize("value", ["no\x00@x.io", "no@x\x00.io", "del\x7f@x.io", "esc\x1b@x.io", "half\ud800@x.io"])
def test_an_address_holding_a_control_character_or_a_lone_surrogate_is_no_email(value: str) -> None:
    # Given text shaped as an address but holding what no store or CRM takes, When it is read, Then it is none
    assert normalize_email(value) is None


@pytest.mark.parametrize(
    ("value", "email"), [(" Sam@Northwind.IO ", "sam@northwind.io"), ("zoë@müller.de", "zoë@müller.de")]
)
def test_an_address_is_still_read_trimmed_and_casefolded(value: str, email: str) -> None:
    assert normalize_email(value) == email
