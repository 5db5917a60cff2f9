"""`GET /api/v1/sync/conflicts` over moto, through the real handler: without a `status` filter the list pages like the
filtered one (the cursor of a page yields the next, until none follows), and a cursor the API did not give is a 400
naming `cursor` (it used to be ignored: every page was the first)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from local_runtime.lambda_events import LocalLambdaContext, rest_proxy_event
from local_runtime.provision import Provisioned
from shared.adapters.dynamodb_crm_sync import DynamoDbSyncStore
from shared.catalog import physical_name
from shared.catalog.crm import CRM_SYNC
from shared.crm.audit import Conflict, ConflictStatus
from shared.crm.records import SyncedRecord
from tests.integration.conftest import STAGE, handler_module

CONFLICTS = "/api/v1/sync/conflicts"
SALES = {"sub": "u-sales", "cognito:groups": "sales", "cognito:username": "sales-ops", "token_use": "id"}
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def flag_conflicts(statuses: list[ConflictStatus]) -> None:
    """One conflict a minute from T0 on one record, `c-<n>` of the nth status."""
    store = DynamoDbSyncStore(boto3.client("dynamodb", region_name="us-east-1"), physical_name(STAGE, CRM_SYNC.name))
    conflicts = []
    for n, status in enumerate(statuses):
        at = T0 + timedelta(minutes=n)
        conflicts.append(
            Conflict(
                conflict_id=f"c-{n}",
                record_key="contact:lead-1",
                kind="contact",
                hub_id="lead-1",
                hub_field="email",
                hub_value="a@x.io",
                hub_source="hub",
                hub_modified_at=at,
                crm="hubspot",
                crm_value=f"b{n}@x.io",
                crm_modified_at=at,
                flagged_at=at,
                status=status,
            )
        )
    store.commit(SyncedRecord("contact", "lead-1", {}, {}), conflicts=conflicts)


def list_conflicts(**query: str) -> tuple[int, dict[str, Any]]:
    event = rest_proxy_event(
        method="GET",
        path=CONFLICTS,
        resource=CONFLICTS,
        query={key: [value] for key, value in query.items()},
        claims=SALES,
    )
    answer = handler_module("crm_sync_api").handler(event, LocalLambdaContext("crm-sync-api"))
    return int(answer["statusCode"]), json.loads(answer["body"] or "{}")


def test_every_conflict_pages_with_the_cursor_of_the_page_before(aws: Provisioned) -> None:
    # Given five conflicts, open and resolved, flagged a minute apart
    open_, resolved = ConflictStatus.OPEN, ConflictStatus.RESOLVED
    flag_conflicts([open_, resolved, open_, resolved, open_])
    # When a person lists them without a status, two at a time, passing each page's cursor back
    pages: list[list[str]] = []
    cursor: str | None = None
    for _ in range(5):
        status, page = list_conflicts(limit="2", **({"cursor": cursor} if cursor else {}))
        assert status == 200, page
        pages.append([item["conflict_id"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Then the cursor of page 1 yields page 2, and so on: every conflict once, newest flagged first
    assert pages == [["c-4", "c-3"], ["c-2", "c-1"], ["c-0"]]


def test_a_cursor_the_api_did_not_give_is_a_400_naming_it(aws: Provisioned) -> None:
    # Given conflicts to list
    flag_conflicts([ConflictStatus.OPEN, ConflictStatus.RESOLVED])
    # When the list without a status is asked for with a made-up cursor, or with the cursor of a status's list
    _, by_status = list_conflicts(status="open", limit="1")
    for cursor in ("not-a-cursor", "e30=", by_status["next_cursor"] or "missing"):
        status, answer = list_conflicts(cursor=cursor)
        # Then it is a 400 naming the cursor
        assert status == 400, (cursor, answer)
        assert "cursor" in answer["message"]
