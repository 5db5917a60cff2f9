"""Requests API Gateway refuses before any function runs are recorded in the audit trail (issue 15 §1, "a request
refused by RBAC is recorded too"): the access log line of a 401/403 that no function answered becomes a `refused`
record naming who (as far as the authorizer read the token), the route, its ids, where from and what refused it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from local_runtime.access_log import awslogs_event
from shared.audit.gateway_refusals import refusal_record
from shared.audit.privacy import email_digest
from shared.audit.record import Channel, Outcome, Phase, Target
from shared.catalog import CATALOG, AccessLogTrigger
from shared.catalog.access_log import ACCESS_LOG_FIELDS, NO_VALUE

LOGGED_AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
TRIGGER = CATALOG.function("audit_gateway_refusals").access_log


def line(**fields: str) -> dict[str, str]:
    """An access log line as the stage writes it: every field `-` unless given."""
    return dict.fromkeys(ACCESS_LOG_FIELDS, NO_VALUE) | {"requestId": "req-1", "sourceIp": "203.0.113.7"} | fields


def test_a_system_token_without_the_routes_scope_is_recorded_as_refused_by_the_gateway() -> None:
    # Given the line of a BI tool's leads.read token trying an unmerge: the authorizer read it, its scopes failed
    refused = line(
        httpMethod="POST",
        resourcePath="/api/v1/leads/{lead_id}/unmerge",
        path="/prod/api/v1/leads/L-42/unmerge",
        status="401",
        errorType="UNAUTHORIZED",
        user="bi-reporting",
        clientId="bi-reporting",
        requestTimeEpoch="1764667800123",
        userAgent="looker/1.0",
    )
    # When it is read
    record = refusal_record(refused, LOGGED_AT, max_targets=10)
    # Then it is the refusal of that route, by that client, about that lead, from that address
    assert record is not None
    assert (record.channel, record.phase, record.outcome, record.status) == (
        Channel.API,
        Phase.COMPLETED,
        Outcome.REFUSED,
        401,
    )
    assert record.route == "POST /api/v1/leads/{lead_id}/unmerge"
    assert (record.actor, record.client_id, record.username) == ("bi-reporting", "bi-reporting", None)
    assert record.targets == (Target("lead_id", "L-42"),)
    assert record.path == "/api/v1/leads/L-42/unmerge"  # as the function would see it: no stage
    assert (record.request_id, record.source_ip, record.user_agent) == ("req-1", "203.0.113.7", "looker/1.0")
    assert record.at == datetime(2025, 12, 2, 9, 30, 0, 123000, tzinfo=UTC)
    assert dict(record.detail) == {"refused_by": "api_gateway", "error": "UNAUTHORIZED"}


def test_no_token_is_recorded_as_anonymous_at_the_log_events_time() -> None:
    record = refusal_record(
        line(httpMethod="GET", resourcePath="/api/v1/leads/{lead_id}", path="/api/v1/leads/L-7", status="401"),
        LOGGED_AT,
        max_targets=10,
    )
    assert record is not None
    assert (record.actor, record.client_id, record.groups) == ("anonymous", None, ())
    assert record.at == LOGGED_AT
    assert record.targets == (Target("lead_id", "L-7"),)


def test_a_partner_route_without_a_valid_key_is_recorded_as_a_403() -> None:
    record = refusal_record(
        line(httpMethod="POST", resourcePath="/api/v1/partners/leads", path="/api/v1/partners/leads", status="403"),
        LOGGED_AT,
        max_targets=10,
    )
    assert record is not None
    assert (record.status, record.outcome, record.actor) == (403, Outcome.REFUSED, "anonymous")


def test_an_email_in_the_path_is_kept_only_as_its_digest() -> None:
    record = refusal_record(
        line(
            httpMethod="GET",
            resourcePath="/api/v1/leads/{lead_id}",
            path="/api/v1/leads/Ines%40Tern.io",
            status="401",
        ),
        LOGGED_AT,
        max_targets=10,
    )
    assert record is not None
    assert "@" not in record.path
    assert "%40" not in record.path
    assert record.targets[0].id == email_digest("ines@tern.io")


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"integrationStatus": "200"}, "the function ran, and recorded its own refusal"),
        ({"status": "429"}, "throttled: not a refusal of who the caller is"),
        ({"status": "200"}, "answered"),
        ({"resourcePath": "/webhooks/stripe", "httpMethod": "POST"}, "a vendor's route: its own delivery log"),
        ({"resourcePath": NO_VALUE}, "no route matched"),
        ({"httpMethod": "DELETE"}, "no such method on the route"),
        ({"status": "4o1"}, "not a status"),
        ({"status": "403", "wafResponseCode": "WAF_BLOCK", "errorType": "WAF_FILTERED"}, "the WAF's rate limit"),
    ],
)
def test_lines_that_are_no_gateway_refusal_of_an_api_route_are_not_recorded(fields: dict[str, str], why: str) -> None:
    refused = line(httpMethod="GET", resourcePath="/api/v1/leads/{lead_id}", path="/api/v1/leads/L-1", status="401")
    assert refusal_record(refused | fields, LOGGED_AT, max_targets=10) is None, why


def test_the_subscription_matches_exactly_the_gateways_own_refusals() -> None:
    assert TRIGGER is not None
    assert TRIGGER.matched(line(status="401"))
    assert TRIGGER.matched(line(status="403"))
    assert not TRIGGER.matched(line(status="401", integrationStatus="200"))
    assert not TRIGGER.matched(line(status="404"))
    assert not TRIGGER.matched({"status": "401"} | {"integrationStatus": "200"})


@pytest.mark.parametrize("matches", [{}, {"status": ()}, {"statusCode": ("401",)}])
def test_a_trigger_matches_fields_of_the_access_log_on_some_value(matches: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="access log trigger"):
        AccessLogTrigger(description="x", matches=matches)


def test_the_local_batch_is_what_powertools_reads_as_cloudwatch_logs() -> None:
    from aws_lambda_powertools.utilities.data_classes import CloudWatchLogsEvent

    lines = [line(status="401", requestTimeEpoch="1764667800123"), line(status="403")]
    batch = CloudWatchLogsEvent(awslogs_event("/aws/apigateway/revops-local-api/access", "f", lines)).parse_logs_data()
    assert batch.message_type == "DATA_MESSAGE"
    assert batch.log_group == "/aws/apigateway/revops-local-api/access"
    assert batch.log_events[0].timestamp == 1764667800123
    assert batch.log_events[1].timestamp > 1764667800123  # a line without its request time: when it was logged
    assert '"status": "403"' in batch.log_events[1].message
