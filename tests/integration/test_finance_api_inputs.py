"""The finance API's bad and extreme inputs over moto, through the handler as API Gateway invokes it: the last
month and day the calendar has, days before the periods' first year, spend dated outside the ledger's bounds, and
previous versions of a budget read back. No input answers 5xx; every refusal names the parameter or the line and
field, and the limit."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.provision import provision
from shared.catalog import CATALOG
from tests.integration.conftest import STAGE, api_answer, handler_module

ADMIN = {"sub": "sub-fin", "cognito:groups": "admin", "cognito:username": "fin", "token_use": "id"}
SPEND = "/api/v1/integrations/finance/spend"
BUDGET = "/api/v1/integrations/finance/budget/{period}"
FX = "/api/v1/integrations/finance/fx/{period}"
LINE = {
    "spend_id": "s-1",
    "channel": "paid_search",
    "department": "marketing",
    "vendor": "Google",
    "amount": "10.00",
    "currency": "USD",
}


@pytest.fixture(scope="module")
def api() -> Iterator[ModuleType]:
    with mock_aws():
        provision(CATALOG, STAGE, boto3.Session(region_name="us-east-1"))
        yield handler_module("finance_api")


def call(
    api: ModuleType, method: str, resource: str, body: Any = None, query: dict[str, str] | None = None, **path: str
) -> tuple[int, dict[str, Any]]:
    return api_answer(api.handler, "revops-test-finance-api", method, resource, ADMIN, body, query, **path)


# ------------------------------------------------------------------------------------------ listing ranges


@pytest.mark.parametrize(
    "query",
    [
        {"period": "9999-12"},
        {"from": "9999-12-31", "to": "9999-12-31"},
        {"from": "9999-12-01"},
        {"to": "9999-12-31"},
        {"period": "1900-01"},
        {"from": "1900-01-01"},
    ],
)
def test_the_calendars_first_and_last_months_list_without_failing(api: ModuleType, query: dict[str, str]) -> None:
    # When the spend of the first or last month the calendar has is listed
    status, body = call(api, "GET", SPEND, query=query)
    # Then it is an empty listing of those days, not a failure
    assert status == 200, body
    assert body["items"] == []
    assert body["next_cursor"] is None
    assert "1900-01-01" <= body["from"] <= body["to"] <= "9999-12-31"


@pytest.mark.parametrize("name", ["from", "to"])
def test_a_day_before_the_first_period_is_refused_naming_the_parameter_and_the_limit(
    api: ModuleType, name: str
) -> None:
    # When a listing starts or ends on a day of year 1
    status, body = call(api, "GET", SPEND, query={name: "0001-01-01"})
    # Then it is refused naming the parameter and the days accepted
    assert status == 422, body
    assert body["errors"] == [f"query.{name}: must fall between 1900-01-01 and 9999-12-31"]


@pytest.mark.parametrize("period", ["9999-12", "9999-Q4", "1900-01", "1900-Q1"])
@pytest.mark.parametrize("as_of", ["1900-01-01", "9999-12-31"])
def test_a_budget_and_fx_table_of_the_calendars_first_and_last_periods_read_back(
    api: ModuleType, period: str, as_of: str
) -> None:
    # Given a budget and an FX table of the first or last month or quarter the periods accept
    budget = {"currency": "USD", "lines": [{"department": "marketing", "amount": "100.00"}]}
    assert call(api, "PUT", BUDGET, body=budget, period=period)[0] == 200
    assert call(api, "PUT", FX, body={"base": "USD", "rates": {"EUR": "1.0850"}}, period=period)[0] == 200
    # When they are read, as of the calendar's first or last day
    status, view = call(api, "GET", BUDGET, query={"as_of": as_of}, period=period)
    # Then the budget answers its figures and the FX table its rates
    assert status == 200, view
    assert view["period"] == period
    assert view["totals"]["budget"] == "100.00"
    assert call(api, "GET", FX, period=period) == (200, {"period": period, "base": "USD", "rates": {"EUR": "1.0850"}})


@pytest.mark.parametrize(
    ("as_of", "problem"),
    [
        ("0001-01-01", "must fall between 1900-01-01 and 9999-12-31"),
        ("1899-12-31", "must fall between 1900-01-01 and 9999-12-31"),
        ("1700000000", "must be an ISO 8601 date string YYYY-MM-DD, e.g. 2026-11-29"),
        ("2026-11-29T00:00:00Z", "must be an ISO 8601 date string YYYY-MM-DD, e.g. 2026-11-29"),
    ],
)
def test_a_budget_read_as_of_no_day_of_the_periods_years_is_a_422_naming_as_of_and_the_limit(
    api: ModuleType, as_of: str, problem: str
) -> None:
    # Given a budget of 2026-11
    budget = {"currency": "USD", "lines": [{"department": "marketing", "amount": "100.00"}]}
    assert call(api, "PUT", BUDGET, body=budget, period="2026-11")[0] == 200
    # When it is read as of year 1, a year before the periods', digits or a date-time
    status, body = call(api, "GET", BUDGET, query={"as_of": as_of}, period="2026-11")
    # Then it is refused naming `as_of` and what it must be, not read as a day of year 1 or of 1970
    assert status == 422, body
    assert body["errors"] == [f"query.as_of: {problem}"]


# ------------------------------------------------------------------------------------------ spend dates


@pytest.mark.parametrize(
    ("dated", "field", "day"),
    [
        ({"incurred_on": "9999-12-31"}, "incurred_on", "9999-12-31"),
        ({"incurred_on": "1900-01-01"}, "incurred_on", "1900-01-01"),
        ({"incurred_on": "0001-12-01"}, "incurred_on", "0001-12-01"),
        ({"incurred_on": "1999-12-31"}, "incurred_on", "1999-12-31"),
        ({"service_period": {"from": "1999-12-01", "to": "2000-01-31"}}, "service_period.from", "1999-12-01"),
        ({"service_period": {"from": "0001-12-01", "to": "0002-01-31"}}, "service_period.from", "0001-12-01"),
        ({"service_period": {"from": "9999-12-01", "to": "9999-12-31"}}, "service_period.from", "9999-12-01"),
        ({"service_period": {"from": "2026-11-01", "to": "9999-12-31"}}, "service_period.to", "9999-12-31"),
    ],
)
def test_spend_dated_outside_the_ledgers_days_is_refused_naming_the_line_and_field(
    api: ModuleType, dated: dict[str, Any], field: str, day: str
) -> None:
    # Given a batch whose second line is dated outside 2000-01-01 .. 31 December five years after this year
    good = LINE | {"spend_id": f"good-{field}-{day}", "incurred_on": "2026-11-03"}
    bad = LINE | {"spend_id": f"bad-{field}-{day}"} | dated
    # When it is posted
    status, body = call(api, "POST", SPEND, body={"lines": [good, bad]})
    # Then it is refused naming line 2, the field, the day and the bounds, and nothing of it is stored
    assert status == 422, body
    error = body["errors"][0]  # a service period with both days out has a second error, for its `to`
    assert {one["line"] for one in body["errors"]} == {2}
    assert (error["line"], error["field"]) == (2, field)
    assert day in error["message"]
    assert "2000-01-01" in error["message"]
    listed = call(api, "GET", SPEND, query={"from": "2026-11-01", "to": "2026-11-30"})[1]["items"]
    assert good["spend_id"] not in [item["spend_id"] for item in listed]


def test_spend_dated_on_the_ledgers_first_and_last_days_is_recorded(api: ModuleType) -> None:
    # Given lines dated on 2000-01-01 and on the last day five years ahead (the test's clock is the real one)
    from datetime import date

    last = date(date.today().year + 5, 12, 31).isoformat()
    lines = [
        LINE | {"spend_id": "first-day", "incurred_on": "2000-01-01"},
        LINE | {"spend_id": "last-day", "incurred_on": last},
    ]
    # When they are posted, then both are recorded
    status, body = call(api, "POST", SPEND, body={"lines": lines})
    assert status == 201, body
    assert [line["spend_id"] for line in body["lines"]] == ["first-day", "last-day"]


# ------------------------------------------------------------------------------------------ budget versions


def test_a_previous_version_of_a_budget_reads_back_against_the_actuals_of_now(api: ModuleType) -> None:
    # Given a budget of 2026-10 PUT twice (1,000.00 for marketing, then 2,000.00 with other thresholds), and
    # 500.00 of marketing spend in the month
    first = {"currency": "USD", "lines": [{"department": "marketing", "amount": "1000.00"}]}
    second = {"currency": "USD", "lines": [{"department": "marketing", "amount": "2000.00"}], "thresholds": [90]}
    assert call(api, "PUT", BUDGET, body=first, period="2026-10")[1]["version"] == 1
    assert call(api, "PUT", BUDGET, body=second, period="2026-10")[1]["version"] == 2
    spend = LINE | {"spend_id": "oct-1", "amount": "500.00", "incurred_on": "2026-10-05"}
    assert call(api, "POST", SPEND, body=spend)[0] == 201
    # When version 1, version 2 and the current budget are read
    status, one = call(api, "GET", BUDGET, query={"version": "1", "as_of": "2026-10-31"}, period="2026-10")
    two = call(api, "GET", BUDGET, query={"version": "2", "as_of": "2026-10-31"}, period="2026-10")[1]
    current = call(api, "GET", BUDGET, query={"as_of": "2026-10-31"}, period="2026-10")[1]
    # Then version 1 answers its own lines and thresholds, against the spend recorded now, and who PUT it
    assert status == 200, one
    assert (one["version"], one["updated_by"]) == (1, "fin")
    assert one["thresholds"] == [50, 80, 100, 110]
    assert (one["totals"]["budget"], one["totals"]["actual"], one["totals"]["remaining"]) == (
        "1000.00",
        "500.00",
        "500.00",
    )
    # And version 2 is the current budget, which without `version` answers as before (no version fields)
    assert (two["version"], two["thresholds"], two["totals"]["budget"]) == (2, [90], "2000.00")
    assert current == {key: value for key, value in two.items() if key not in ("version", "updated_at", "updated_by")}


def test_a_version_never_written_is_a_404_naming_the_versions_there_are(api: ModuleType) -> None:
    # Given a budget of 2026-09 PUT once
    body = {"currency": "USD", "lines": [{"department": "marketing", "amount": "1000.00"}]}
    assert call(api, "PUT", BUDGET, body=body, period="2026-09")[0] == 200
    # When versions that were never written are read, then each is a 404 saying which versions there are
    assert call(api, "GET", BUDGET, query={"version": "2"}, period="2026-09") == (
        404,
        {"message": "the budget of 2026-09 has no version 2 (its versions are 1 to 1)"},
    )
    assert call(api, "GET", BUDGET, query={"version": "1"}, period="2026-08") == (
        404,
        {"message": "the budget of 2026-08 has no version 1 (it has none)"},
    )


@pytest.mark.parametrize("version", ["0", "-1", "abc", "1.5", "10000000000", ""])
def test_a_bad_version_is_a_422_naming_the_parameter(api: ModuleType, version: str) -> None:
    status, body = call(api, "GET", BUDGET, query={"version": version}, period="2026-09")
    assert status == 422, body
    assert body["message"].startswith("request is invalid: query.version: ")


def test_a_budget_put_that_loses_a_race_to_another_put_is_stored_as_the_next_version(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given another finance user's PUT of the 2026-07 budget that lands between this PUT's read and its write
    store = api.service.store
    read_budget = store.budget
    other = {"currency": "USD", "lines": [{"department": "marketing", "amount": "1000.00"}]}
    raced: list[int] = []

    def another_put_lands_meanwhile(period: str) -> Any:
        current = read_budget(period)
        if not raced:
            raced.append(1)
            call(api, "PUT", BUDGET, body=other, period="2026-07")  # reads and writes version 1 itself
        return current

    monkeypatch.setattr(store, "budget", another_put_lands_meanwhile)
    mine = {"currency": "USD", "lines": [{"department": "marketing", "amount": "3000.00"}]}
    # When this PUT (a whole replacement, no If-Match) is sent
    status, body = call(api, "PUT", BUDGET, body=mine, period="2026-07")
    monkeypatch.setattr(store, "budget", read_budget)
    # Then it is stored as the next version after the other one, both kept, not a 5xx
    assert status == 200, body
    assert (body["version"], body["totals"]["budget"]) == (2, "3000.00")
    versions = store.budget_versions("2026-07")
    assert [(v.version, v.budget.lines[0].amount) for v in versions] == [(1, 100000), (2, 300000)]


def test_a_budget_put_that_loses_every_race_is_a_409_naming_the_current_version(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a budget of 2026-06 at version 1, and a store whose every versioned write loses to another writer
    body = {"currency": "USD", "lines": [{"department": "marketing", "amount": "1000.00"}]}
    assert call(api, "PUT", BUDGET, body=body, period="2026-06")[0] == 200
    from shared.finance.ports import StaleBudget

    def always_stale(*_: Any, **__: Any) -> Any:
        raise StaleBudget("budget of 2026-06 is at version 9, not 1 as read")

    monkeypatch.setattr(api.service.store, "put_budget", always_stale)
    # When a PUT is sent
    status, answer = call(api, "PUT", BUDGET, body=body, period="2026-06")
    # Then it is a 409 naming the version the budget is at, not a 5xx
    assert status == 409, answer
    assert "version 9" in answer["message"]
