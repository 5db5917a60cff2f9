"""The lead API over moto with what attackers and careless clients send (issue 8): every bad input is a 4xx
that names what is wrong, and nothing is left half-written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from tests.integration.conftest import handler_module

CAPTURE = "/api/v1/integrations/sales/leads"
GOOD = {"email": "ada@acme.io", "source": "web form", "company": "Acme", "job_title": "VP Sales"}
ADMIN = {"sub": "u-1", "cognito:groups": "admin", "cognito:username": "admin", "token_use": "id"}


@pytest.fixture
def leads_api(aws):  # type: ignore[no-untyped-def]
    return handler_module("leads_api")


def call(
    handler: Any,
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str | None = "application/json",
    query: dict[str, list[str]] | None = None,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": content_type} if content_type else {}
    event = rest_proxy_event(
        method=method,
        path=path,
        resource=resource or path,
        path_parameters=path_parameters,
        query=query,
        headers=headers,
        body=body,
        claims=ADMIN,
    )
    result = handler.handler(event, LocalLambdaContext("leads-api"))
    return int(result["statusCode"]), json.loads(result["body"] or "{}")


def capture(handler: Any, body: Any, **kwargs: Any) -> tuple[int, dict[str, Any]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return call(handler, "POST", CAPTURE, raw, **kwargs)


def find(handler: Any, **query: str) -> tuple[int, dict[str, Any]]:
    return call(handler, "GET", "/api/v1/leads", query={key: [value] for key, value in query.items()})


def test_an_oversized_capture_is_refused_up_front_and_leaves_the_email_usable(leads_api) -> None:  # type: ignore[no-untyped-def]
    # When a capture carries 1 MB of attributes
    status, body = capture(leads_api, {**GOOD, "attributes": {"blob": "x" * 1_000_000}})
    # Then it is refused naming the field and the limit
    assert status == 422
    assert "attributes" in body["message"]
    assert "16384" in body["message"]
    # And the same email can be captured and found afterwards
    assert capture(leads_api, GOOD)[0] == 201
    status, found = find(leads_api, email="ada@acme.io")
    assert status == 200
    assert len(found["items"]) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "status", "mentions"),
    [
        (b"--x\r\ncontent-disposition: form-data\r\n\r\n1\r\n--x--", "multipart/form-data", 415, "application/json"),
        (json.dumps(GOOD).encode("utf-16"), "application/json; charset=utf-16", 400, "UTF-8"),
        (b'{"email": "\xff\xfe@acme.io", "source": "x"}', "application/json", 400, "UTF-8"),
        (b"[" * 10_000 + b"]" * 10_000, "application/json", 400, "deeper than"),
        (
            json.dumps({**GOOD, "attributes": {"n": 1}}).replace("1}", "1" + "0" * 5000 + "}").encode(),
            None,
            400,
            "digits",
        ),
        (json.dumps({**GOOD, "employee_count": 10**50}).encode(), "application/json", 400, "digits"),
        (b'{"email": NaN}', "application/json", 400, "NaN"),
        (b"not json", "application/json", 400, "not JSON"),
    ],
)
def test_a_body_the_api_cannot_read_is_a_4xx_naming_why(  # type: ignore[no-untyped-def]
    leads_api, body: bytes, content_type: str | None, status: int, mentions: str
) -> None:
    answered, reply = capture(leads_api, body, content_type=content_type)
    assert (answered, mentions in reply.get("message", "")) == (status, True), reply


@pytest.mark.parametrize(
    ("fields", "mentions"),
    [
        ({"email": "a" * 2100 + "@acme.io"}, "email"),
        ({"attributes": json.loads("{" + '"a":{' * 10 + "}" * 10 + "}")}, "levels deep"),
        ({"employee_count": -1}, "employee_count"),
        ({"country": "United States"}, "country"),
        ({"lead_type": "b2x"}, "lead_type"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
        ({"email": "sam@gmail.com", "company": None, "job_title": None}, "lead_type: b2c"),
    ],
)
def test_a_capture_the_model_refuses_is_a_422_naming_the_field(leads_api, fields: dict, mentions: str) -> None:  # type: ignore[no-untyped-def]
    status, reply = capture(leads_api, {**GOOD, **fields})
    assert status == 422
    assert mentions in reply["message"]


def test_a_b2c_lead_needs_no_company_or_title(leads_api) -> None:  # type: ignore[no-untyped-def]
    status, reply = capture(leads_api, {"email": "sam@gmail.com", "source": "app", "lead_type": "b2c"})
    assert status == 201, reply


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"stage": "MQL", "min_score": "1e308"}, 422),
        ({"stage": "MQL", "min_score": "nan"}, 422),
        ({"stage": "MQL", "min_score": "-1e6"}, 200),
        ({"email": "x" * 400 + "@acme.io"}, 422),
        ({"stage": "MQL", "cursor": "%%%"}, 400),
    ],
)
def test_queries_past_their_bounds_are_4xx(leads_api, query: dict[str, str], status: int) -> None:  # type: ignore[no-untyped-def]
    assert find(leads_api, **query)[0] == status
