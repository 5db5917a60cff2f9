"""The audit trail's pure parts: what a record keeps of a request (no body, no email in clear), who the caller
is, what the request was about, and how a search reads the trail."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from shared.audit.caller import ANONYMOUS, caller_of
from shared.audit.config import InvalidAuditConfig, load_audit_config, parse_audit_config
from shared.audit.privacy import body_digest, contains_email, kept, without_emails
from shared.audit.query import (
    AuditQuery,
    InvalidAuditQuery,
    Key,
    decode_cursor,
    encode_cursor,
    months_of,
    position_of,
    search_window,
)
from shared.audit.record import Outcome, Phase, Target, outcome_of
from shared.audit.requests import request_record
from shared.audit.targets import targets_of

AT = datetime(2026, 5, 14, 9, 30, 0, 123456, tzinfo=UTC)
ROUTE = "POST /api/v1/leads/{lead_id}/unmerge"


def event(body: bytes = b"", claims: dict[str, str] | None = None, **extra: object) -> dict[str, object]:
    return {
        "httpMethod": "POST",
        "resource": "/api/v1/leads/{lead_id}/unmerge",
        "path": "/api/v1/leads/L-1/unmerge",
        "pathParameters": {"lead_id": "L-1"},
        "headers": {"User-Agent": "curl/8.5"},
        "body": base64.b64encode(body).decode() if body else None,
        "isBase64Encoded": bool(body),
        "requestContext": {
            "requestId": "req-1",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "curl/8.5"},
            "authorizer": {"claims": claims if claims is not None else {"sub": "u-1", "cognito:username": "ana"}},
        },
    } | extra


# --- privacy ---------------------------------------------------------------------------------------


def test_a_body_is_kept_as_its_sha256_only() -> None:
    body = b'{"email": "ana@example.com"}'
    record = request_record(event(body), ROUTE, AT, max_targets=10)
    assert record.request_digest == "sha256:" + __import__("hashlib").sha256(body).hexdigest()
    assert "ana@example.com" not in json.dumps(record.__dict__, default=str)
    assert body_digest(b"") is None


def test_emails_are_digested_wherever_a_caller_can_put_one() -> None:
    # Given an email in a username, a path parameter (plain and URL-encoded) and a user agent
    claims = {"sub": "u-1", "cognito:username": "Ana@Example.com"}
    raw = event(
        claims=claims,
        path="/api/v1/cs-sales/handoff/bob%40example.com",
        pathParameters={"customer_id": "bob@example.com"},
        headers={},
    )
    raw["requestContext"]["identity"]["userAgent"] = "crawler (+mailto:ops@example.org)"  # type: ignore[index]
    # When it is recorded
    record = request_record(raw, ROUTE, AT, max_targets=10)
    # Then no email survives in clear, and one address always gives the same digest (case aside)
    text = json.dumps(record.__dict__, default=str)
    assert not contains_email(text)
    assert record.username == without_emails("ana@example.com")
    assert record.targets[0].id == without_emails("bob@example.com")
    assert "email:" in str(record.user_agent)


def test_a_long_value_keeps_its_start_and_a_digest_of_the_whole() -> None:
    value = "x" * 1000
    kept_value = kept(value)
    assert kept_value is not None
    assert len(kept_value) <= 256
    assert kept_value.startswith("xxx")
    assert kept(value) == kept_value
    assert kept("y" * 1000) != kept_value


# --- who ---------------------------------------------------------------------------------------------


def test_a_person_is_their_sub_with_username_and_groups() -> None:
    caller = caller_of({"sub": "u-1", "cognito:username": "ana", "cognito:groups": "sales,admin"})
    assert (caller.actor, caller.username, caller.groups, caller.client_id) == ("u-1", "ana", ("admin", "sales"), None)


def test_a_system_is_its_client_id_with_its_scopes() -> None:
    caller = caller_of({"sub": "c-9", "client_id": "c-9", "scope": "revops/leads.read revops/leads.write"})
    assert caller.actor == "c-9"
    assert caller.client_id == "c-9"
    assert caller.username is None
    assert caller.scopes == ("revops/leads.read", "revops/leads.write")


def test_a_partner_is_its_api_key_and_no_token_is_anonymous() -> None:
    assert caller_of({}, "key-7").actor == "api-key:key-7"
    assert caller_of(None).actor == ANONYMOUS


# --- what ----------------------------------------------------------------------------------------------


def test_targets_are_path_parameters_then_the_responses_ids_each_once() -> None:
    response = json.dumps({"lead_id": "L-1", "separated_from": "L-2", "email": "x@y.io", "score": 3})
    assert targets_of({"lead_id": "L-1"}, response, 200) == [Target("lead_id", "L-1"), Target("separated_from", "L-2")]


def test_a_spend_batch_names_each_line_and_a_what_if_report_names_nothing() -> None:
    spend = json.dumps({"lines": [{"spend_id": "s-1", "campaign_id": "c"}, {"spend_id": "s-2"}]})
    assert [t.id for t in targets_of(None, spend, 201)] == ["s-1", "s-2"]
    what_if = json.dumps({"largest_increases": [{"lead_id": "L-1"}], "would_reach_mql": ["L-2"]})
    assert targets_of(None, what_if, 200) == []


def test_an_erasure_names_the_leads_it_removed_so_their_trail_finds_it() -> None:
    receipt = json.dumps({"erasure_id": "e-1", "status": "completed", "lead_ids": ["L-1", "L-2"], "runs": 1})
    assert targets_of(None, receipt, 200) == [
        Target("erasure_id", "e-1"),
        Target("lead_id", "L-1"),
        Target("lead_id", "L-2"),
    ]


EXPORT = "GET /api/v1/privacy/export"
ERASURE = "POST /api/v1/privacy/erasure"


def privacy_event(method: str, path: str, query: dict[str, str] | None = None, body: bytes = b"") -> dict[str, object]:
    return event(body, httpMethod=method, resource=path, path=path, pathParameters=None, queryStringParameters=query)


def test_an_export_names_whose_data_it_showed_by_the_digest_of_the_email_whatever_its_outcome() -> None:
    # Given an export of a person, as an admin asked for it (the email as typed) and as a sales user tried it
    asked = privacy_event("GET", "/api/v1/privacy/export", {"email": " Ana@Example.com"})
    exported = json.dumps({"email": "ana@example.com", "known": True, "lead_ids": ["L-1"]})
    # When it is recorded: Then the person is its first target, by the digest of her email, never the email
    done = request_record(asked, EXPORT, AT, 10, status=200, response_body=exported)
    refused = request_record(asked, EXPORT, AT, 10, status=403)
    subject = Target("email", without_emails("ana@example.com"))
    assert subject.id.startswith("email:")
    assert done.targets == (subject, Target("lead_id", "L-1"))
    assert refused.targets == (subject,)
    assert not contains_email(repr(done))
    assert not contains_email(repr(refused))


def test_an_erasure_names_the_person_its_body_names_before_it_runs_and_after() -> None:
    body = json.dumps({"email": "ana@example.com"}).encode()
    receipt = json.dumps({"erasure_id": "e-1", "status": "completed", "lead_ids": ["L-1"], "runs": 1})
    received = request_record(privacy_event("POST", "/api/v1/privacy/erasure", body=body), ERASURE, AT, 10)
    done = request_record(privacy_event("POST", "/api/v1/privacy/erasure", body=body), ERASURE, AT, 10, 200, receipt)
    subject = Target("email", without_emails("ana@example.com"))
    assert received.targets == (subject,)
    assert done.targets == (subject, Target("erasure_id", "e-1"), Target("lead_id", "L-1"))
    # A body that names nobody (not JSON, nested past parsing, no email field) records no person, and no error
    for unreadable in (b"not json", b"[" * 100_000, b'{"name": "x"}', b'{"email": 3}'):
        record = request_record(privacy_event("POST", "/api/v1/privacy/erasure", body=unreadable), ERASURE, AT, 10)
        assert record.targets == ()


def test_only_a_route_that_declares_its_subject_names_one() -> None:
    # An `email` query on a route that does not declare it as its subject is not a target (nor kept)
    leads = privacy_event("GET", "/api/v1/leads", {"email": "ana@example.com"})
    assert request_record(leads, "GET /api/v1/leads", AT, 10, status=200).targets == ()


def test_a_search_by_an_email_target_searches_its_digest() -> None:
    query = AuditQuery(AT - timedelta(days=1), AT, target=" Ana@Example.com")
    assert query.target == without_emails("ana@example.com")
    assert AuditQuery(AT - timedelta(days=1), AT, target="L-1").target == "L-1"
    with pytest.raises(InvalidAuditQuery, match="target"):
        AuditQuery(AT - timedelta(days=1), AT, target="  ")


def test_an_error_response_names_no_target_but_its_path_does() -> None:
    assert targets_of({"handoff_id": "h-1"}, json.dumps({"lead_id": "L-1"}), 409) == [Target("handoff_id", "h-1")]
    assert targets_of(None, "not json", 200) == []


def test_a_record_keeps_at_most_max_targets_and_counts_the_rest() -> None:
    spend = json.dumps({"lines": [{"spend_id": f"s-{n}"} for n in range(5)]})
    record = request_record(event(pathParameters=None), ROUTE, AT, max_targets=3, status=201, response_body=spend)
    assert [t.id for t in record.targets] == ["s-0", "s-1", "s-2"]
    assert record.targets_omitted == 2


def test_a_receipt_is_pending_and_unlisted_an_outcome_is_listed() -> None:
    receipt = request_record(event(), ROUTE, AT, max_targets=10)
    done = request_record(event(), ROUTE, AT, max_targets=10, status=403)
    assert (receipt.phase, receipt.outcome, receipt.listed) == (Phase.RECEIVED, Outcome.PENDING, False)
    assert (done.phase, done.outcome, done.listed, done.status) == (Phase.COMPLETED, Outcome.REFUSED, True, 403)
    assert (done.request_id, done.source_ip, done.user_agent, done.actor) == ("req-1", "203.0.113.7", "curl/8.5", "u-1")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(200, Outcome.SUCCEEDED), (401, Outcome.REFUSED), (403, Outcome.REFUSED), (422, Outcome.REJECTED),
     (502, Outcome.FAILED)],
)  # fmt: skip
def test_outcome_of_a_status(status: int, outcome: Outcome) -> None:
    assert outcome_of(status) is outcome


# --- search --------------------------------------------------------------------------------------------


def test_positions_sort_in_time_order_and_name_the_request() -> None:
    early = request_record(event(), ROUTE, AT, 10, status=200)
    late = request_record(event(), ROUTE, AT + timedelta(microseconds=1), 10, status=200)
    assert position_of(early) < position_of(late)
    assert position_of(early) == "2026-05-14T09:30:00.123456Z#req-1#completed"


def test_the_most_selective_filter_serves_a_search() -> None:
    start, end = AT - timedelta(days=1), AT
    assert AuditQuery(start, end, actor="a", target="t", route="r").key is Key.TARGET
    assert AuditQuery(start, end, actor="a", route="r").key is Key.ACTOR
    assert AuditQuery(start, end, route="r").key is Key.ROUTE
    assert AuditQuery(start, end, request_id="x", target="t").key is Key.REQUEST
    assert AuditQuery(start, end).key is Key.TIME


def test_a_cursor_round_trips_and_a_made_up_one_is_refused() -> None:
    position = "2026-05-14T09:30:00.123456Z#req-1#completed"
    assert decode_cursor(encode_cursor(position)) == position
    for bad in ("%%%", base64.urlsafe_b64encode(b"DROP TABLE").decode(), "AAAA"):
        with pytest.raises(InvalidAuditQuery, match="cursor"):
            decode_cursor(bad)


def test_the_window_defaults_to_the_retention_up_to_now() -> None:
    now = AT
    assert search_window(None, None, now, timedelta(days=400)) == (now - timedelta(days=400), now)
    assert search_window(AT - timedelta(hours=1), None, now, timedelta(days=400)) == (AT - timedelta(hours=1), now)


def test_the_window_refuses_naive_or_reversed_bounds_and_holds_wild_ones() -> None:
    with pytest.raises(InvalidAuditQuery, match="from"):
        search_window(AT, AT - timedelta(seconds=1), AT, timedelta(days=1))
    with pytest.raises(InvalidAuditQuery, match="time zone"):
        search_window(datetime(2026, 1, 1), None, AT, timedelta(days=1))
    low, high = search_window(
        datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=timezone(timedelta(hours=5))), AT, timedelta(1)
    )
    assert low.year == 2000
    assert high == AT + timedelta(days=1)
    query = AuditQuery(start=low, end=high)
    assert months_of(query)[0] == "2026-05"
    assert months_of(query)[-1] == "2000-01"


def test_months_of_a_search_newest_first_across_a_year() -> None:
    query = AuditQuery(start=datetime(2025, 11, 30, tzinfo=UTC), end=datetime(2026, 2, 1, 0, 0, 1, tzinfo=UTC))
    assert months_of(query) == ["2026-02", "2026-01", "2025-12", "2025-11"]


# --- config ----------------------------------------------------------------------------------------------


def test_the_shipped_audit_file_is_valid() -> None:
    config = load_audit_config()
    assert config.retention_days >= 365
    assert config.version


def test_an_audit_file_names_what_is_wrong() -> None:
    with pytest.raises(InvalidAuditConfig, match="retention_days"):
        parse_audit_config({"version": "x", "retention_days": 0})
    with pytest.raises(InvalidAuditConfig, match="retension_days"):
        parse_audit_config({"version": "x", "retention_days": 30, "retension_days": 30})
