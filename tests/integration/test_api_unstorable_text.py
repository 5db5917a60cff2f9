"""Text the hub can never store or send, through the real handlers over moto: a lone surrogate (JSON's `"\\ud800"`
escape) anywhere in an API body is a 400 naming its JSON path before any route runs, an email holding a control
character is no email, and a number past the parser's bounds is named by its path. Nothing is stored (every table
but the audit trail reads back unchanged); the refusal itself is in the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local_runtime.provision import Provisioned
from shared.audit.privacy import email_digest
from shared.catalog import physical_name
from shared.catalog.audit import AUDIT
from tests.integration.conftest import STAGE, api_answer, handler_module
from tests.integration.test_finance_api_inputs import LINE as FINANCE_LINE
from tests.integration.test_handoff_api import CUSTOMER, METRICS, Api, known_customer
from tests.integration.test_handoff_functions import Hub

ADMIN = {"sub": "u-admin", "cognito:groups": "admin", "cognito:username": "admin", "token_use": "id"}
SPEND = "/api/v1/integrations/finance/spend"
ERASURE = "/api/v1/privacy/erasure"
LINE = {**FINANCE_LINE, "incurred_on": "2026-03-02"}


def _dynamodb() -> Any:
    return boto3.client("dynamodb", region_name="us-east-1")


def stored_items() -> dict[str, int]:
    """Items per table of the stage, the audit trail's aside (it records the refusals)."""
    client = _dynamodb()
    audit = physical_name(STAGE, AUDIT.name)
    counts = {}
    for table in client.list_tables()["TableNames"]:
        if table != audit:
            counts[table] = sum(page["Count"] for page in client.get_paginator("scan").paginate(TableName=table))
    return counts


def audit_items() -> list[dict[str, Any]]:
    return _dynamodb().scan(TableName=physical_name(STAGE, AUDIT.name))["Items"]


def post(function: str, resource: str, raw: bytes, **path: str) -> tuple[int, dict[str, Any]]:
    module = handler_module(function)
    return api_answer(module.handler, f"revops-test-{function}", "POST", resource, ADMIN, raw=raw, **path)


@pytest.fixture
def nothing_stored(aws: Provisioned) -> Iterator[None]:
    before = stored_items()
    yield
    assert stored_items() == before


# 1. a lone surrogate in a spend line's free text ---------------------------------------------------------------


@pytest.mark.parametrize("field", ["vendor", "reference", "description"])
def test_a_lone_surrogate_in_a_spend_field_is_a_400_naming_the_line_and_field(
    aws: Provisioned, nothing_stored: None, field: str
) -> None:
    # Given a spend batch whose second line's free-text field holds a lone surrogate (as JSON escapes it)
    lines = [LINE, LINE | {"spend_id": "s-2", field: "Acme \ud800"}]
    raw = json.dumps({"lines": lines}).encode()
    # When an admin posts it
    status, answer = post("finance_api", SPEND, raw)
    # Then it is a 400 naming the line's field by its JSON path and saying why, and no line is stored
    assert status == 400, answer
    assert answer["message"] == (
        f"the body is refused: lines[1].{field}: the text holds a lone surrogate (\\ud800), half of a character, "
        "which no UTF-8 text can hold; send the whole character"
    )
    # And the refusal is in the audit trail
    assert [i["status"]["N"] for i in audit_items() if i["route"]["S"] == f"POST {SPEND}"] == ["400"]


def test_an_emoji_escaped_as_a_surrogate_pair_is_stored(aws: Provisioned) -> None:
    # Given a spend line whose vendor holds an emoji as an ASCII-only JSON encoder writes it (\ud83d\ude00)
    raw = json.dumps({"lines": [LINE | {"vendor": "Acme \U0001f600"}]}).encode()
    assert b"\\ud83d\\ude00" in raw
    # When an admin posts it, then it is recorded, the emoji whole
    status, answer = post("finance_api", SPEND, raw)
    assert status == 201, answer
    assert answer["lines"][0]["vendor"] == "Acme \U0001f600"


def test_an_integer_past_20_digits_is_refused_naming_its_path(aws: Provisioned, nothing_stored: None) -> None:
    # Given a spend line whose amount is a 31-digit JSON integer
    raw = b'{"lines": [{"spend_id": "s-1", "amount": 1000000000000000000000000000000}]}'
    # When an admin posts it, then the 400 names the field by its path and the limit
    status, answer = post("finance_api", SPEND, raw)
    assert status == 400, answer
    assert answer["message"] == "the body is refused: lines[0].amount: an integer of 31 digits; at most 20 are read"


# 2. an erasure of what is no email -------------------------------------------------------------------------------


def test_an_erasure_of_a_non_email_with_a_lone_surrogate_is_a_400_and_recorded(
    aws: Provisioned, nothing_stored: None
) -> None:
    # Given an erasure body whose email holds no @ and a lone surrogate
    raw = b'{"email": "nobody\\ud800"}'
    # When an admin posts it
    status, answer = post("privacy_api", ERASURE, raw)
    # Then it is a 400 naming `email`, not a 503 (the trail could not store it) nor a 5xx, and nothing is erased
    assert status == 400, answer
    assert answer["message"].startswith("the body is refused: email: the text holds a lone surrogate (\\ud800)")
    # And the trail holds the refusal, its target the escaped text (UTF-8 can hold it)
    [completed] = [i for i in audit_items() if i["route"]["S"] == f"POST {ERASURE}"]
    assert completed["status"]["N"] == "400"
    assert completed["targets"]["L"][0]["M"]["id"]["S"] == "nobody\\ud800"


def test_an_erasure_of_an_email_with_a_control_character_is_a_422_and_erases_nothing(
    aws: Provisioned, nothing_stored: None
) -> None:
    # Given an erasure body whose email holds a NUL
    raw = b'{"email": "no\\u0000@x.io"}'
    # When an admin posts it
    status, answer = post("privacy_api", ERASURE, raw)
    # Then it is a 422 naming `email` and why, and no erasure is run (no receipt, no tombstone: nothing stored)
    assert status == 422, answer
    assert answer["message"] == (
        "request is invalid: email: Value error, not an email address: it holds a control character"
    )
    # And the refusal is recorded with the email's digest, not the email
    [completed] = [i for i in audit_items() if i["route"]["S"] == f"POST {ERASURE}" and i["sk"]["S"] == "completed"]
    assert completed["status"]["N"] == "422"
    assert completed["targets"]["L"][0]["M"]["id"]["S"] == email_digest("no\x00@x.io")


# 3 and 4. the handoff API ------------------------------------------------------------------------------------------


def test_a_metrics_range_past_92_days_names_from_and_to(aws: Provisioned) -> None:
    api = Api(Hub(aws))
    # When metrics are asked for 93 days, then the 400 names both parameters and the limit
    query = {"from": "2026-01-01T00:00:00Z", "to": "2026-04-04T00:00:00Z"}
    status, answer = api.call("GET", METRICS, query=query)
    assert status == 400, answer
    assert answer["message"] == "from, to: the range may span at most 92 days; it spans 93"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"deal_id": "  "}, "deal_id: Value error, must not be blank (only whitespace)"),
        ({"deal_id": "d\x00"}, "deal_id: Value error, must not hold a control character (U+0000)"),
        ({"stakeholders": [{"name": " "}]}, "stakeholders.0.name: Value error, must not be blank (only whitespace)"),
        (
            {"stakeholders": [{"name": "Ana", "email": "NaN"}]},
            "stakeholders.0.email: Value error, 'NaN' is not an email address (name@domain.tld)",
        ),
        (
            {"executive_sponsor": {"name": "Ana", "email": "1e400"}},
            "executive_sponsor.email: Value error, '1e400' is not an email address (name@domain.tld)",
        ),
        ({"seats": True}, "seats: Input should be a valid integer"),
    ],
)
def test_a_customer_handoff_with_a_blank_or_unusable_field_is_a_422_naming_it(
    aws: Provisioned, change: dict[str, Any], message: str
) -> None:
    # Given a customer the hub knows
    api = Api(Hub(aws))
    customer = known_customer(api)
    api.hub.published(None)
    # When sales hand it over with a blank, control-character, non-email or boolean field
    status, answer = api.call("POST", CUSTOMER, body={"deal_id": "deal-1"} | change, customer_id=customer)
    # Then it is a 422 naming the field, and nothing is handed over or published
    assert status == 422, answer
    assert answer["message"] == f"request is invalid: {message}"
    assert api.call("GET", CUSTOMER, customer_id=customer)[0] == 404
    assert api.hub.published() == []
