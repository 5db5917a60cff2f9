"""Text the hub can never store or send, refused at the edge: a lone surrogate (JSON's `"\\ud800"`) anywhere in an API
body is a 400 naming its JSON path (`shared.bounded_json`, `shared.http.json_body`), a refused number names its path
too, the audit trail keeps a refused request's text as UTF-8 can hold it, and its error log never fails; per field,
spend text, erasure emails and a customer handoff's ids, names, emails and seats are refused naming the field."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from local_runtime.lambda_events import rest_proxy_event
from shared import bounded_json
from shared.audit.record import AuditRecord, Channel, Outcome, Phase, Target
from shared.audit.requests import request_record
from shared.finance.spend import InvalidSpendLine, parse_spend_line
from shared.handoffs.api_models import CustomerHandoffBody
from shared.http import api
from shared.http.json_body import body_problem
from shared.privacy.api_models import ErasureRequest
from tests.unit.test_spend_lines import CONFIG, line_dict

ADMIN = {"sub": "u-admin", "cognito:groups": "admin", "cognito:username": "admin", "token_use": "id"}
SPEND = "/api/v1/integrations/finance/spend"
ERASURE = "/api/v1/privacy/erasure"


def _event(path: str, raw: bytes) -> dict[str, Any]:
    return rest_proxy_event(
        method="POST", path=path, resource=path, headers={"Content-Type": "application/json"}, body=raw, claims=ADMIN
    )


# shared.bounded_json ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "path", "unit"),
    [
        (b'{"vendor": "Acme \\ud800"}', "vendor", "d800"),
        (b'{"lines": [{}, {}, {}, {"description": "x\\uDC00y"}]}', "lines[3].description", "dc00"),
        (b'{"a": "\\ud83d\\ud83d\\ude00"}', "a", "d83d"),  # a high surrogate, then a pair
        (b'{"a": "\\ud83d\\\\ude00"}', "a", "d83d"),  # the low half is text after an escaped backslash
        (b'{"a": "\\\\\\ud800"}', "a", "d800"),  # a backslash, then the escape
        (b'{"a b": {"\\udfff": 1}}', '["a b"]["\\udfff"]', "dfff"),  # a key
        (b'"\\ud800"', "", "d800"),
    ],
)
def test_a_lone_surrogate_anywhere_is_refused_naming_its_path(raw: bytes, path: str, unit: str) -> None:
    # Given a JSON body with a lone surrogate in one of its strings
    # When the API edge parses it / Then it is refused naming the string's JSON path and the code unit
    with pytest.raises(bounded_json.LoneSurrogate) as refused:
        bounded_json.loads(raw, refuse_lone_surrogates=True)
    assert refused.value.path == path
    assert f"lone surrogate (\\u{unit})" in str(refused.value)
    assert str(refused.value).startswith(f"{path}: " if path else "the text")


@pytest.mark.parametrize(
    "raw",
    [
        json.dumps({"vendor": "Acme \U0001f600"}).encode(),  # \ud83d\ude00: a pair, one character
        b'{"a": "\\\\ud800"}',  # an escaped backslash, then the text "ud800"
        json.dumps({"vendor": "caf\u00e9 \u2014 M\u00fcnchen"}, ensure_ascii=False).encode(),
    ],
)
def test_text_every_utf_8_encodes_is_read(raw: bytes) -> None:
    # Given JSON whose strings UTF-8 can all encode / When it is parsed at the edge / Then it reads as itself
    assert bounded_json.loads(raw, refuse_lone_surrogates=True) == json.loads(raw)


def test_a_webhook_body_may_hold_a_lone_surrogate() -> None:
    # Given a body with a lone surrogate / When it is parsed without the API's refusal (webhooks replace it)
    # Then it is read
    assert bounded_json.loads(b'{"a": "\\ud800"}') == {"a": "\ud800"}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"amount": 1000000000000000000000000000000}', "amount: an integer of 31 digits; at most 20 are read"),
        (b'{"lines": [{"x": 1}, {"amount": 1e999}]}', "lines[1].amount: the number 1e999 is too large to be read"),
        (b'{"a": {"b c": [NaN]}}', 'a["b c"][0]: not valid JSON: NaN is not a JSON number'),
        (b"-99999999999999999999", "the integer -99999999999999999999 is outside the signed 64-bit range"),
    ],
)  # fmt: skip
def test_a_refused_number_is_named_by_its_path(raw: bytes, message: str) -> None:
    # Given JSON with a number past the parser's bounds / When it is parsed / Then the refusal says where it is
    with pytest.raises(bounded_json.JsonTooComplex) as refused:
        bounded_json.loads(raw)
    assert str(refused.value).startswith(message)


def test_the_api_edge_refuses_a_lone_surrogate_with_a_400_naming_the_field() -> None:
    # Given a spend body whose first line's vendor holds a lone surrogate
    raw = json.dumps({"lines": [{"vendor": "\ud800"}]}).encode()
    # When the edge checks it / Then it is a 400 naming lines[0].vendor
    problem = body_problem(_event(SPEND, raw))
    assert problem is not None
    assert problem[0] == 400
    assert problem[1].startswith("the body is refused: lines[0].vendor: the text holds a lone surrogate (\\ud800)")


# the audit trail ------------------------------------------------------------------------------------------------


def test_a_refused_erasure_of_a_non_email_with_a_lone_surrogate_is_a_record_utf_8_holds() -> None:
    # Given an erasure body naming "nobody\ud800" (no @: not digested as an email)
    event = _event(ERASURE, b'{"email": "nobody\\ud800"}')
    # When its refusal is recorded
    record = request_record(event, f"POST {ERASURE}", datetime.now(UTC), 500, 400)
    # Then its target is the text with the surrogate escaped, which UTF-8 encodes
    assert [(t.field, t.id) for t in record.targets] == [("email", "nobody\\ud800")]
    json.dumps([t.id for t in record.targets], ensure_ascii=False).encode("utf-8")


def test_reporting_an_unstored_record_never_fails_whatever_its_text(caplog: pytest.LogCaptureFixture) -> None:
    # Given a record whose fields hold lone surrogates (as no caller-supplied field now can)
    record = AuditRecord(
        request_id="r-\ud800", at=datetime.now(UTC), channel=Channel.API, phase=Phase.COMPLETED,
        outcome=Outcome.REJECTED, actor="a\udc00", route="POST /x", method="POST", path="/x", status=400,
        targets=(Target("email", "nobody\ud800"),),
    )  # fmt: skip
    # When it is reported as not stored
    with caplog.at_level(logging.ERROR):
        api._not_stored(record)
    # Then the report goes out with every field as a UTF-8 log line holds it: each surrogate as its escape
    [logged] = [r for r in caplog.records if r.getMessage() == "audit record not stored"]
    fields = (logged.audit_request_id, logged.audit_actor, logged.audit_targets)
    assert fields == ("r-\\ud800", "a\\udc00", ["nobody\\ud800"])
    json.dumps(fields, ensure_ascii=False).encode("utf-8")


# per field --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "vendor",
            "Acme \ud800",
            "holds a lone surrogate (\\ud800), half of a character, which no UTF-8 text can hold",
        ),
        ("reference", "INV\x00 1", "holds a control character (U+0000): none may be sent"),
        ("description", "a\x07b", "holds a control character (U+0007): none but a tab or a line break may be sent"),
    ],
)
def test_spend_text_no_store_holds_is_refused_naming_the_field(field: str, value: str, message: str) -> None:
    # Given a spend line whose free text holds a lone surrogate or a control character
    # When it is parsed / Then it is refused naming the field and why
    with pytest.raises(InvalidSpendLine) as refused:
        parse_spend_line(line_dict(**{field: value}), CONFIG)
    assert [(p.field, p.message) for p in refused.value.problems] == [(field, message)]


def test_a_description_keeps_its_line_breaks() -> None:
    line = parse_spend_line(line_dict(description="first\nsecond\tcolumn"), CONFIG)
    assert line.description == "first\nsecond\tcolumn"


@pytest.mark.parametrize("email", ["no\x00@x.io", "a\x1b@x.io", "a@x.io\x85"])
def test_an_erasure_email_with_a_control_character_is_no_email(email: str) -> None:
    # Given an email holding a control character / When it is read as an erasure / Then it is refused naming it
    with pytest.raises(ValidationError) as refused:
        ErasureRequest(email=email)
    [error] = refused.value.errors()
    assert error["loc"] == ("email",)
    assert "not an email address: it holds a control character" in error["msg"]


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        ({"deal_id": " \t "}, ("deal_id",), "must not be blank"),
        ({"deal_id": "deal\x00"}, ("deal_id",), "must not hold a control character (U+0000)"),
        ({"stakeholders": [{"name": "  "}]}, ("stakeholders", 0, "name"), "must not be blank"),
        ({"stakeholders": [{"name": "Ana", "email": "NaN"}]}, ("stakeholders", 0, "email"), "not an email address"),
        ({"stakeholders": [{"name": "Ana", "role": "\n"}]}, ("stakeholders", 0, "role"), "must not be blank"),
        ({"executive_sponsor": {"name": "Bo", "email": "1e400"}}, ("executive_sponsor", "email"), "not an email"),
        ({"executive_sponsor": {"name": "Bo", "email": "bo\x00@x.io"}}, ("executive_sponsor", "email"), "not an email"),
        ({"products": ["crm\x00"]}, ("products", 0), "control character"),
        ({"seats": True}, ("seats",), "valid integer"),
        ({"seats": "12"}, ("seats",), "valid integer"),
    ],
)
def test_a_customer_handoff_refuses_blank_or_unusable_fields_naming_them(
    body: dict[str, Any], loc: tuple[Any, ...], message: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        CustomerHandoffBody.model_validate({"deal_id": "deal-1"} | body)
    [error] = refused.value.errors()
    assert error["loc"] == loc
    assert message in error["msg"]


def test_a_customer_handoff_with_usable_fields_is_read() -> None:
    body = CustomerHandoffBody.model_validate(
        {"deal_id": "deal-1", "seats": 40, "stakeholders": [{"name": "Ana", "email": "ana@acme.io", "role": "CFO"}]}
    )
    assert (body.seats, body.stakeholders[0].email) == (40, "ana@acme.io")
