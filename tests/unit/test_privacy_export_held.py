"""`holds_anything`: whether an export shows anything the hub holds under the email (a lead, a receipt, any item of
any section), which the export route asks of an address holding `%` and two hex digits before refusing it."""

from __future__ import annotations

from typing import Any

import pytest

from shared.privacy.service import holds_anything


def nothing() -> dict[str, Any]:
    return {
        "email": "b%41c@percent.io",
        "exported_at": "2026-11-30T12:00:00+00:00",
        "known": False,
        "lead_ids": [],
        "profile": {},
        "identities": [],
        "deliveries": [],
        "attribution": {"deals": [], "conversions": [], "customer_revenue": [], "funnel_entries": []},
        "sync": [],
        "erasure": None,
    }


def test_an_export_of_no_one_holds_nothing() -> None:
    assert not holds_anything(nothing())


@pytest.mark.parametrize(
    ("section", "value"),
    [
        ("known", True),
        ("lead_ids", ["c-1"]),
        ("deliveries", [{"event_id": "e-1"}]),
        ("attribution", {"deals": [], "funnel_entries": [{"event_id": "e-1"}]}),
        ("erasure", {"erasure_id": "er-1"}),
    ],
)
def test_a_lead_a_receipt_or_any_item_is_something_held(section: str, value: object) -> None:
    assert holds_anything({**nothing(), section: value})
