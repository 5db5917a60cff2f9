"""Every write through /api/v1 is in the audit trail, a write API Gateway refused before any function ran too: its
request validator's 400 (a body that is not a JSON object), a 413 (a body over the gateway's limit) or a 429 (the
stage's or the usage plan's throttle) on a non-GET route becomes a `rejected` record, as its 401/403 becomes a
`refused` one. A read's throttle and a WAF block are not recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.audit.gateway_refusals import refusal_record
from shared.audit.record import Outcome, Phase, Target
from shared.catalog import CATALOG
from shared.catalog.access_log import ACCESS_LOG_FIELDS, NO_VALUE

LOGGED_AT = datetime(2026, 5, 14, tzinfo=UTC)
UNMERGE = {
    "httpMethod": "POST",
    "resourcePath": "/api/v1/leads/{lead_id}/unmerge",
    "path": "/prod/api/v1/leads/L-1/unmerge",
}
READ = {"httpMethod": "GET", "resourcePath": "/api/v1/leads/{lead_id}", "path": "/prod/api/v1/leads/L-1"}


def line(**fields: str) -> dict[str, str]:
    """An access log line as the stage writes it: every field `-` unless given."""
    base = dict.fromkeys(ACCESS_LOG_FIELDS, NO_VALUE) | {"requestId": "r-1", "sourceIp": "198.51.100.4"}
    return base | {"user": "sub-1"} | fields


@pytest.mark.parametrize(
    ("status", "error"), [("400", "BAD_REQUEST_BODY"), ("413", "REQUEST_TOO_LARGE"), ("429", "THROTTLED")]
)
def test_a_write_the_gateway_refused_for_its_body_or_its_rate_is_recorded_as_rejected(status: str, error: str) -> None:
    # Given the access log line of an unmerge API Gateway answered itself, no function having run
    refused = line(**UNMERGE, status=status, errorType=error)
    # When it is read as a refusal
    record = refusal_record(refused, LOGGED_AT, max_targets=10)
    # Then it is the write's record: rejected with the gateway's status, by whom, on which lead, and why
    assert record is not None
    assert (record.phase, record.outcome, record.status) == (Phase.COMPLETED, Outcome.REJECTED, int(status))
    assert (record.actor, record.route, record.targets) == (
        "sub-1",
        "POST /api/v1/leads/{lead_id}/unmerge",
        (Target("lead_id", "L-1"),),
    )
    assert dict(record.detail) == {"refused_by": "api_gateway", "error": error}


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        (READ | {"status": "429"}, "a read's throttle: no write was asked for"),
        (READ | {"status": "400"}, "a read's 400: no write was asked for"),
        (UNMERGE | {"status": "429", "wafResponseCode": "WAF_BLOCK", "errorType": "WAF_FILTERED"}, "a WAF block"),
        (UNMERGE | {"status": "400", "integrationStatus": "200"}, "the function ran and recorded it"),
        (UNMERGE | {"status": "502"}, "not a refusal"),
    ],
)
def test_what_is_no_gateway_refusal_of_a_write_is_not_recorded(fields: dict[str, str], why: str) -> None:
    assert refusal_record(line(**fields), LOGGED_AT, max_targets=10) is None, why


@pytest.mark.parametrize("status", [str(code) for code in range(400, 500)])
def test_the_access_log_filter_passes_the_function_exactly_the_lines_it_records(status: str) -> None:
    # Given a write's line API Gateway answered itself with a 4xx
    refused = line(**UNMERGE, status=status)
    # When the catalog's access log filter and the function each look at it
    [(_, trigger)] = [(fn, t) for fn, t in CATALOG.access_log_triggers if fn.name == "audit_gateway_refusals"]
    # Then the filter passes it exactly when the function would record it: none recorded is lost on the way
    assert trigger.matched(refused) == (refusal_record(refused, LOGGED_AT, max_targets=10) is not None)
