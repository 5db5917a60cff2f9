"""Moments and days in API requests are ISO 8601 text within a range of years (`shared.http.moments`): a JSON
number is not read as Unix seconds or milliseconds, a bool is not a time, year 1 is not a day. Each refusal is the
resolver's 422, naming the field and the limit. The routes here take the request models and query types the API
functions take, in a resolver as the functions make it (validation and error mapping; no AWS)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from shared.finance.api_views import PeriodDay
from shared.handoffs.api_models import CustomerHandoffBody, RoutingSimulationRequest, TouchRequest
from shared.http.api import rest_resolver
from shared.http.moments import NO_OFFSET, NOT_A_DAY, NOT_A_MOMENT, Moment, UtcMoment
from shared.leads.api_models import LeadCaptureRequest, SimulationRequest
from shared.success.api_models import UsageReportRequest
from shared.success.product_api_models import LaunchRequest

MOMENTS_LIMIT = "must fall between 1970-01-01 and 2199-12-31"
PERIODS_LIMIT = "must fall between 1900-01-01 and 9999-12-31"
USAGE = {"tenant_id": "kestrel-labs.io", "message_id": "m-1", "metrics": {"active_users": 3}}
LAUNCH = {"launch_id": "l-1", "feature": "sso", "messaging": "SSO is here"}
LEAD = {"email": "ada@acme.io", "source": "web form", "company": "Acme", "job_title": "VP Sales"}

app = rest_resolver()


@app.post("/usage")
def usage(report: Annotated[UsageReportRequest, Body()]) -> dict[str, Any]:
    return {"timestamp": report.timestamp.isoformat()}


@app.get("/budget")
def budget(as_of: Annotated[PeriodDay | None, Query()] = None) -> dict[str, Any]:  # as the finance API's
    return {"as_of": None if as_of is None else as_of.isoformat()}


@app.get("/spend")
def spend(
    start: Annotated[PeriodDay | None, Query(alias="from")] = None,
    end: Annotated[PeriodDay | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    return {"from": None if start is None else start.isoformat(), "to": None if end is None else end.isoformat()}


@app.post("/touch")
def touch(request: Annotated[TouchRequest, Body()]) -> dict[str, Any]:
    return {"touched_at": None if request.touched_at is None else request.touched_at.isoformat()}


@app.post("/routing-simulation")
def routing_simulation(request: Annotated[RoutingSimulationRequest, Body()]) -> dict[str, Any]:
    return {"as_of": None if request.as_of is None else request.as_of.isoformat()}


@app.get("/handoff-metrics")
def handoff_metrics(  # as the handoff API's
    start: Annotated[UtcMoment | None, Query(alias="from")] = None,
    end: Annotated[UtcMoment | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    return {"from": None if start is None else start.isoformat(), "to": None if end is None else end.isoformat()}


@app.post("/customer-handoff")
def customer_handoff(body: Annotated[CustomerHandoffBody, Body()]) -> dict[str, Any]:
    return {"starts_on": None if body.starts_on is None else body.starts_on.isoformat()}


@app.post("/launch")
def launch(request: Annotated[LaunchRequest, Body()]) -> dict[str, Any]:
    return {"launch_date": request.launch_date.isoformat()}


@app.post("/lead")
def lead(request: Annotated[LeadCaptureRequest, Body()]) -> dict[str, Any]:
    at = request.consent.at if request.consent else None
    return {"at": None if at is None else at.isoformat()}


@app.post("/scoring-simulation")
def scoring_simulation(request: Annotated[SimulationRequest, Body()]) -> dict[str, Any]:
    return {"as_of": None if request.as_of is None else request.as_of.isoformat()}


@app.get("/audit")
def audit(  # as the audit API's
    start: Annotated[Moment | None, Query(alias="from")] = None,
    end: Annotated[Moment | None, Query(alias="to")] = None,
) -> dict[str, Any]:
    return {"from": None if start is None else start.isoformat()}


def post(path: str, body: Any) -> tuple[int, dict[str, Any]]:
    event = rest_proxy_event(
        method="POST",
        path=path,
        resource=path,
        headers={"Content-Type": "application/json"},
        body=json.dumps(body).encode(),
    )
    answer = app.resolve(event, LocalLambdaContext("moments"))
    return int(answer["statusCode"]), json.loads(answer["body"])


def get(path: str, **query: str) -> tuple[int, dict[str, Any]]:
    event = rest_proxy_event(method="GET", path=path, resource=path, query={k: [v] for k, v in query.items()})
    answer = app.resolve(event, LocalLambdaContext("moments"))
    return int(answer["statusCode"]), json.loads(answer["body"])


def refused(answer: tuple[int, dict[str, Any]], field: str, message: str) -> None:
    status, body = answer
    assert status == 422, body
    assert body["errors"] == [f"{field}: {message}"]
    assert body["message"] == f"request is invalid: {field}: {message}"


# ------------------------------------------------------------------------------------------ usage reports


@pytest.mark.parametrize("timestamp", [1_700_000_000_000, 1_700_000_000, 1_700_000_000.5, 0, True, None, {}])
def test_a_usage_timestamp_that_is_not_text_is_a_422_naming_timestamp(timestamp: Any) -> None:
    # Given a usage report whose timestamp is a JSON number (Unix milliseconds or seconds?), a bool or no text
    # When it is posted
    answer = post("/usage", USAGE | {"timestamp": timestamp})
    # Then it is refused naming the field and the form it must take, not read as a time in 1970 or 2023
    refused(answer, "timestamp", NOT_A_MOMENT)


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        ("1700000000", NOT_A_MOMENT),
        ("20261129", NOT_A_MOMENT),
        ("2026-11-29", NOT_A_MOMENT),
        ("yesterday", NOT_A_MOMENT),
        ("2026-13-01T09:00:00Z", NOT_A_MOMENT),
        ("2026-11-29T09:00:00", NO_OFFSET),
        ("0001-01-01T00:00:00Z", MOMENTS_LIMIT),
        ("9999-12-31T23:59:59Z", MOMENTS_LIMIT),
    ],
)
def test_a_usage_timestamp_that_is_no_iso_8601_moment_in_range_is_a_422_naming_the_limit(
    timestamp: str, message: str
) -> None:
    # Given a usage report whose timestamp is digits, a day alone, no date, no offset, or outside 1970..2199
    # When it is posted
    answer = post("/usage", USAGE | {"timestamp": timestamp})
    # Then it is refused naming `timestamp` and what it must be
    refused(answer, "timestamp", message)


@pytest.mark.parametrize(
    ("timestamp", "read"),
    [
        ("2026-11-29T09:00:00Z", "2026-11-29T09:00:00+00:00"),
        ("2026-11-29T09:00:00.250+01:00", "2026-11-29T09:00:00.250000+01:00"),
        ("2026-11-29t09:00z", "2026-11-29T09:00:00+00:00"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00"),
        ("2199-12-31T23:59:59-05:00", "2199-12-31T23:59:59-05:00"),
    ],
)
def test_a_usage_timestamp_in_iso_8601_with_its_offset_is_still_accepted(timestamp: str, read: str) -> None:
    # When a usage report with an ISO 8601 timestamp is posted
    status, body = post("/usage", USAGE | {"timestamp": timestamp})
    # Then it is taken, as that moment
    assert status == 200, body
    assert body == {"timestamp": read}


# ------------------------------------------------------------------------------------------ finance days


@pytest.mark.parametrize(
    ("as_of", "message"),
    [
        ("0001-01-01", PERIODS_LIMIT),
        ("1899-12-31", PERIODS_LIMIT),
        ("1700000000", NOT_A_DAY),
        ("20261129", NOT_A_DAY),
        ("2026-11-29T00:00:00", NOT_A_DAY),
        ("2026-02-30", NOT_A_DAY),
    ],
)
def test_a_budget_as_of_that_is_no_day_of_the_periods_years_is_a_422_naming_as_of(as_of: str, message: str) -> None:
    # When a budget is read as of year 1, digits or a date-time
    answer = get("/budget", as_of=as_of)
    # Then it is refused naming `as_of` and the days it may be
    refused(answer, "query.as_of", message)


@pytest.mark.parametrize("as_of", ["1900-01-01", "2026-11-29", "9999-12-31"])
def test_a_budget_as_of_a_day_of_the_periods_years_is_still_accepted(as_of: str) -> None:
    # When a budget is read as of the periods' first day, a day of now, or the calendar's last
    status, body = get("/budget", as_of=as_of)
    # Then the day is taken
    assert (status, body) == (200, {"as_of": as_of})


@pytest.mark.parametrize("name", ["from", "to"])
def test_a_spend_listing_day_in_year_1_is_a_422_naming_the_parameter_and_the_limit(name: str) -> None:
    # When spend is listed from or to a day of year 1, then it is refused naming the parameter and the limit
    refused(get("/spend", **{name: "0001-01-01"}), f"query.{name}", PERIODS_LIMIT)


# ------------------------------------------------------------------------------------------ handoffs


@pytest.mark.parametrize("touched_at", [1_700_000_000, True])
def test_a_touch_time_that_is_a_number_is_a_422_naming_touched_at(touched_at: Any) -> None:
    # When a first touch is recorded with its time as a JSON number or a bool
    answer = post("/touch", {"channel": "call", "touched_at": touched_at})
    # Then it is refused naming `touched_at`
    refused(answer, "touched_at", NOT_A_MOMENT)


def test_a_touch_in_year_1_is_a_422_naming_touched_at_and_the_years() -> None:
    refused(post("/touch", {"channel": "call", "touched_at": "0001-01-01T00:00:00Z"}), "touched_at", MOMENTS_LIMIT)


def test_a_touch_time_without_an_offset_is_still_read_as_utc() -> None:
    # Given the handoff API's documented rule (without an offset, UTC)
    # When a touch is recorded without an offset
    status, body = post("/touch", {"channel": "call", "touched_at": "2026-11-29T09:00:00"})
    # Then it is taken as that time in UTC
    assert (status, body) == (200, {"touched_at": "2026-11-29T09:00:00+00:00"})


@pytest.mark.parametrize(("as_of", "message"), [(1_700_000_000, NOT_A_MOMENT), ("9999-12-31T23:59:59Z", MOMENTS_LIMIT)])
def test_a_routing_simulation_as_of_a_number_or_year_9999_is_a_422_naming_as_of(as_of: Any, message: str) -> None:
    refused(post("/routing-simulation", {"routing": {}, "as_of": as_of}), "as_of", message)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"from": "2999-01-01T00:00:00Z"}, "query.from", MOMENTS_LIMIT),
        ({"to": "1700000000"}, "query.to", NOT_A_MOMENT),
        ({"from": "2026-03-01"}, "query.from", NOT_A_MOMENT),
    ],
)
def test_a_handoff_metrics_bound_that_is_no_moment_in_range_is_a_422_naming_it(
    query: dict[str, str], field: str, message: str
) -> None:
    refused(get("/handoff-metrics", **query), field, message)


@pytest.mark.parametrize(("starts_on", "message"), [("0001-01-01", MOMENTS_LIMIT), (20261129, NOT_A_DAY)])
def test_a_customer_handoffs_contract_start_in_year_1_or_a_number_is_a_422_naming_starts_on(
    starts_on: Any, message: str
) -> None:
    refused(post("/customer-handoff", {"deal_id": "D-1", "starts_on": starts_on}), "starts_on", message)


def test_a_customer_handoffs_contract_start_as_a_day_is_still_accepted() -> None:
    assert post("/customer-handoff", {"deal_id": "D-1", "starts_on": "2026-12-01"}) == (
        200,
        {"starts_on": "2026-12-01"},
    )


# ------------------------------------------------------------------------------------------ launches, leads, audit


@pytest.mark.parametrize(("launch_date", "message"), [(1_700_000_000, NOT_A_DAY), ("0001-01-01", MOMENTS_LIMIT)])
def test_a_launch_date_that_is_a_number_or_year_1_is_a_422_naming_launch_date(launch_date: Any, message: str) -> None:
    refused(post("/launch", LAUNCH | {"launch_date": launch_date}), "launch_date", message)


def test_a_launch_date_as_a_day_is_still_accepted() -> None:
    assert post("/launch", LAUNCH | {"launch_date": "2026-12-01"}) == (200, {"launch_date": "2026-12-01"})


@pytest.mark.parametrize(("at", "message"), [(1_700_000_000, NOT_A_MOMENT), ("2026-03-02T09:30:00", NO_OFFSET)])
def test_a_consent_time_that_is_a_number_or_has_no_offset_is_a_422_naming_consent_at(at: Any, message: str) -> None:
    refused(post("/lead", LEAD | {"consent": {"marketing": True, "at": at}}), "consent.at", message)


def test_a_consent_time_before_2000_is_still_refused_by_its_own_bound() -> None:
    status, body = post("/lead", LEAD | {"consent": {"marketing": True, "at": "1999-12-31T00:00:00Z"}})
    assert status == 422, body
    assert body["errors"][0].startswith("consent.at: ")
    assert "2000-01-01" in body["errors"][0]


def test_a_scoring_simulation_as_of_without_an_offset_is_a_422_naming_as_of() -> None:
    # Given scoring, which needs aware times (a naive one failed the function: a 502)
    # When a simulation names its moment without an offset, then it is refused naming `as_of`
    refused(post("/scoring-simulation", {"model": {}, "as_of": "2026-11-29T09:00:00"}), "as_of", NO_OFFSET)


@pytest.mark.parametrize(
    ("start", "message"), [("0001-01-01T00:00:00Z", MOMENTS_LIMIT), ("2026-05-14T09:00:00", NO_OFFSET)]
)
def test_an_audit_search_from_year_1_or_without_an_offset_is_a_422_naming_from(start: str, message: str) -> None:
    refused(get("/audit", **{"from": start}), "query.from", message)


def test_an_audit_search_with_an_iso_8601_moment_is_still_accepted() -> None:
    at = datetime(2026, 5, 14, 9, tzinfo=UTC)
    assert get("/audit", **{"from": "2026-05-14T09:00:00Z"}) == (200, {"from": at.isoformat()})


# ------------------------------------------------------------------------------------------ the OpenAPI document


def test_the_openapi_document_shows_moments_and_days_as_iso_8601_strings() -> None:
    # When the resolver's OpenAPI document is made
    document = json.loads(app.get_openapi_json_schema())
    schemas = document["components"]["schemas"]
    # Then a moment is a date-time string and a day a date string, as before
    assert schemas["UsageReportRequest"]["properties"]["timestamp"] == {
        "type": "string",
        "format": "date-time",
        "title": "Timestamp",
        "description": schemas["UsageReportRequest"]["properties"]["timestamp"]["description"],
    }
    assert schemas["LaunchRequest"]["properties"]["launch_date"]["format"] == "date"
    [as_of] = document["paths"]["/budget"]["get"]["parameters"]
    assert {"type": "string", "format": "date"} in as_of["schema"]["anyOf"]
