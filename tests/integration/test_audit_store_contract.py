"""One contract, two audit stores: the DynamoDB adapter (over moto) and the in-memory fake behave alike.

The contract is `shared.audit.ports.AuditStore`: records are appended, never overwritten (the same record
again changes nothing); searches by request id, target, actor, route and time answer newest first, within
`from` (inclusive) and `to` (exclusive), page after page with no record twice or missed; a write's receipt is
found by its request id, and by its targets while its outcome is missing; a record is found under each of its
targets, and an email target by the email.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from shared.adapters.dynamodb_audit import DynamoDbAuditStore
from shared.audit.ports import AuditStore, AuditUnavailable
from shared.audit.privacy import email_digest, kept
from shared.audit.query import AuditQuery, position_of, sortable
from shared.audit.record import AuditRecord, Channel, Outcome, Phase, Target
from shared.catalog import physical_name
from shared.catalog.audit import AUDIT
from tests.audit_fakes import InMemoryAuditStore
from tests.integration.conftest import STAGE, only_table

TABLE = physical_name(STAGE, AUDIT.name)
T0 = datetime(2026, 5, 14, 9, 0, tzinfo=UTC)
ROUTE = "POST /api/v1/leads/{lead_id}/unmerge"
WIDE = {"start": T0 - timedelta(days=400), "end": T0 + timedelta(days=1)}


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[AuditStore]:
    if request.param == "in-memory":
        yield InMemoryAuditStore()
        return
    with only_table(AUDIT) as client:
        yield DynamoDbAuditStore(client, TABLE, timedelta(days=400))


def record(n: int, *targets: str, actor: str = "u-1", phase: Phase = Phase.COMPLETED, **fields: object) -> AuditRecord:
    base = AuditRecord(
        request_id=f"req-{n:03d}",
        at=T0 + timedelta(minutes=n),
        channel=Channel.API,
        phase=phase,
        outcome=Outcome.PENDING if phase is Phase.RECEIVED else Outcome.SUCCEEDED,
        actor=actor,
        route="POST /api/v1/leads/{lead_id}/unmerge",
        method="POST",
        path="/api/v1/leads/L/unmerge",
        status=None if phase is Phase.RECEIVED else 200,
        username="mia",
        groups=("admin", "marketing"),
        targets=tuple(Target("lead_id", t) for t in targets),
        request_digest="sha256:ab",
        source_ip="198.51.100.4",
        user_agent="pytest",
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def every_page(store: AuditStore, **filters: object) -> list[list[str]]:
    """Each page's request ids and phases, following the cursor to the end."""
    pages: list[list[str]] = []
    before = None
    while True:
        page = store.search(AuditQuery(**(WIDE | filters), before=before))  # type: ignore[arg-type]
        pages.append([f"{r.request_id}/{r.phase}" for r, _ in page.records])
        if page.next_position is None:
            return pages
        before = page.next_position


def test_a_record_comes_back_whole(store: AuditStore) -> None:
    written = record(1, "L-1", client_id="c-1", scopes=("revops/leads.write",), detail={"stage": "dev"})
    store.append(written)
    [(found, target)] = store.search(AuditQuery(**WIDE, request_id="req-001")).records  # type: ignore[arg-type]
    assert found == written
    assert target == "L-1"


def test_appending_the_same_record_again_changes_nothing(store: AuditStore) -> None:
    store.append(record(1, "L-1", "L-2"))
    store.append(record(1, "L-1", "L-2"))
    assert every_page(store) == [["req-001/completed"]]
    assert every_page(store, target="L-2") == [["req-001/completed"]]


def test_search_by_time_is_newest_first_in_pages_with_nothing_twice(store: AuditStore) -> None:
    for n in range(7):
        store.append(record(n, f"L-{n}"))
    pages = every_page(store, limit=3)
    assert [entry for page in pages for entry in page] == [f"req-{n:03d}/completed" for n in range(6, -1, -1)]
    assert all(len(page) <= 3 for page in pages)


def test_from_is_inclusive_and_to_exclusive(store: AuditStore) -> None:
    for n in range(5):
        store.append(record(n))
    page = store.search(AuditQuery(start=T0 + timedelta(minutes=1), end=T0 + timedelta(minutes=3)))
    assert [r.request_id for r, _ in page.records] == ["req-002", "req-001"]


def test_a_record_is_found_under_each_of_its_targets(store: AuditStore) -> None:
    store.append(record(1, "L-1", "L-2", "L-3"))
    store.append(record(2, "L-2"))
    for target, expected in (("L-1", ["req-001"]), ("L-3", ["req-001"]), ("L-2", ["req-002", "req-001"])):
        page = store.search(AuditQuery(**WIDE, target=target))  # type: ignore[arg-type]
        assert [r.request_id for r, _ in page.records] == expected
        assert {found_under for _, found_under in page.records} == {target}
    # And listed by time or actor once each, with all their targets, under their first
    for listing in (store.search(AuditQuery(**WIDE)), store.search(AuditQuery(**WIDE, actor="u-1"))):  # type: ignore[arg-type]
        assert [([t.id for t in r.targets], under) for r, under in listing.records] == [
            (["L-2"], "L-2"),
            (["L-1", "L-2", "L-3"], "L-1"),
        ]


def test_a_person_named_by_email_is_found_by_the_email_and_the_trail_holds_only_its_digest(store: AuditStore) -> None:
    # Given an export recorded as the trail keeps a person: by the digest of their email
    digest = email_digest("ana@example.com")
    store.append(replace(record(1), targets=(Target("email", digest),), route="GET /api/v1/privacy/export"))
    # When the trail is searched by her email, in any case, or by its digest
    for searched in ("Ana@Example.com ", digest):
        page = store.search(AuditQuery(**WIDE, target=searched))  # type: ignore[arg-type]
        # Then the export is found, under the digest, never the email
        assert [(r.request_id, under) for r, under in page.records] == [("req-001", digest)]
    assert store.search(AuditQuery(**WIDE, target="bob@example.com")).records == []  # type: ignore[arg-type]


def test_search_by_actor_and_route_with_filters_combined(store: AuditStore) -> None:
    store.append(record(1, "L-1", actor="u-1"))
    store.append(record(2, "L-1", actor="u-2"))
    store.append(record(3, "L-1", actor="u-1", route="POST /api/v1/integrations/sales/leads"))
    assert every_page(store, actor="u-1") == [["req-003/completed", "req-001/completed"]]
    assert every_page(store, route="POST /api/v1/integrations/sales/leads") == [["req-003/completed"]]
    assert every_page(store, target="L-1", actor="u-2") == [["req-002/completed"]]
    assert every_page(store, actor="u-1", route="POST /api/v1/leads/{lead_id}/unmerge") == [["req-001/completed"]]


def test_an_actor_naming_an_email_is_found_by_what_the_caller_knows_and_kept_as_its_digest(
    store: AuditStore,
) -> None:
    # Given an operator's run recorded as the trail keeps actors (the ARN's email as its digest)
    arn = "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_abc/alice@example.com"
    store.append(record(1, actor=kept(arn) or arn))
    store.append(record(2, actor="arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_abc/bob@example.com"))
    # When the trail is searched by the ARN as the operator knows it, or as the trail shows it
    # Then her run is found either way, and only hers
    assert every_page(store, actor=arn) == [["req-001/completed"]]
    assert every_page(store, actor=kept(arn)) == [["req-001/completed"]]


@pytest.mark.parametrize(
    "filters", [{}, {"actor": "u-1"}, {"target": "L-1"}, {"route": ROUTE}, {"request_id": "req-001"}]
)
def test_a_cursor_at_or_below_from_gives_an_empty_page(store: AuditStore, filters: dict[str, Any]) -> None:
    # Given a record in range, and a cursor from a search over an earlier range (below this search's `from`)
    store.append(record(1, "L-1"))
    start = T0 - timedelta(days=1)
    for cursor in (f"{sortable(start - timedelta(days=7))}#req-9#completed", sortable(start)):
        # When the search is asked for the page below that cursor
        page = store.search(AuditQuery(start=start, end=T0 + timedelta(days=1), before=cursor, **filters))
        # Then the page is empty, with nothing further
        assert (page.records, page.next_position) == ([], None)


class RefusingInvertedRanges:
    """A DynamoDB client that refuses, as DynamoDB does and moto does not, a key condition `BETWEEN :low AND
    :high` with low > high (ValidationException, a 5xx to the caller)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.queries = 0

    def query(self, **request: Any) -> Any:
        self.queries += 1
        values = request["ExpressionAttributeValues"]
        if "BETWEEN" in request["KeyConditionExpression"] and values[":low"]["S"] > values[":high"]["S"]:
            message = "The BETWEEN operator requires upper bound to be greater than or equal to lower bound"
            raise ClientError({"Error": {"Code": "ValidationException", "Message": message}}, "Query")
        return self._client.query(**request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.mark.parametrize("filters", [{}, {"actor": "u-1"}, {"target": "L-1"}, {"route": ROUTE}])
def test_the_dynamodb_store_sends_no_inverted_range_for_a_cursor_below_from(filters: dict[str, Any]) -> None:
    with only_table(AUDIT) as client:
        # Given the DynamoDB store over a client that refuses what DynamoDB refuses
        checking = RefusingInvertedRanges(client)
        store = DynamoDbAuditStore(checking, TABLE, timedelta(days=400))
        store.append(record(1, "L-1"))
        # When a search in May is asked for the page below a cursor of early May (a narrowed range's old cursor)
        start = datetime(2026, 5, 10, tzinfo=UTC)
        query = AuditQuery(
            start=start, end=start + timedelta(days=10), before="2026-05-03T00:00:00.000000Z#r#completed", **filters
        )
        page = store.search(query)
        # Then it answers an empty page without querying (no refused BETWEEN, no 5xx)
        assert (page.records, page.next_position, checking.queries) == ([], None, 0)


def test_a_writes_receipt_is_found_by_its_targets_actor_and_route_while_its_outcome_is_missing(
    store: AuditStore,
) -> None:
    # Given a write received on two targets, whose function stopped before its outcome was stored
    store.append(record(1, "L-1", "L-2", phase=Phase.RECEIVED))
    # Then a search by either target, by its actor or by its route finds it, as a search by its request id does;
    # a search by time does not (it lists outcomes)
    assert every_page(store, target="L-1") == [["req-001/received"]]
    assert every_page(store, target="L-2") == [["req-001/received"]]
    assert every_page(store, request_id="req-001") == [["req-001/received"]]
    assert every_page(store, actor="u-1") == [["req-001/received"]]
    assert every_page(store, route=ROUTE) == [["req-001/received"]]
    assert every_page(store, actor="u-2") == [[]]
    assert every_page(store) == [[]]
    # When its outcome is stored, a search by target, actor or route lists the write once: its outcome
    store.append(record(1, "L-1", "L-2", at=T0 + timedelta(minutes=1, seconds=1)))
    assert every_page(store, target="L-1") == [["req-001/completed"]]
    assert every_page(store, actor="u-1") == [["req-001/completed"]]
    assert every_page(store, route=ROUTE) == [["req-001/completed"]]
    assert every_page(store, request_id="req-001") == [["req-001/completed", "req-001/received"]]
    # And so it does when the outcome is on an earlier page, or past the search's `to`
    assert every_page(store, target="L-2", limit=1) == [["req-001/completed"], []]
    assert every_page(store, actor="u-1", limit=1) == [["req-001/completed"], []]
    assert every_page(store, target="L-2", end=T0 + timedelta(minutes=1, milliseconds=500)) == [[]]
    assert every_page(store, route=ROUTE, end=T0 + timedelta(minutes=1, milliseconds=500)) == [[]]


def test_a_write_with_no_target_whose_function_was_stopped_is_listed_by_its_actor_and_route(
    store: AuditStore,
) -> None:
    # Given a spend import (no path parameter: no target) whose function timed out after its receipt was stored
    spend = "POST /api/v1/integrations/finance/spend"
    store.append(record(1, phase=Phase.RECEIVED, route=spend, path="/api/v1/integrations/finance/spend"))
    # When the trail is searched for what its caller did, or for the route's calls
    # Then the unfinished write is listed, pending
    [(by_actor, _)] = store.search(AuditQuery(**WIDE, actor="u-1")).records  # type: ignore[arg-type]
    assert (by_actor.request_id, by_actor.outcome) == ("req-001", Outcome.PENDING)
    assert every_page(store, route=spend) == [["req-001/received"]]


def test_a_search_spans_months(store: AuditStore) -> None:
    store.append(record(1, at=T0 - timedelta(days=70)))
    store.append(record(2, at=T0 - timedelta(days=35)))
    store.append(record(3))
    assert every_page(store, limit=2) in ([["req-003/completed", "req-002/completed"], ["req-001/completed"]],)


def test_a_record_with_more_targets_than_one_transaction_holds_is_stored_whole(store: AuditStore) -> None:
    ids = [f"s-{n}" for n in range(150)]
    store.append(record(1, *ids))
    for target in ("s-0", "s-99", "s-149"):
        assert every_page(store, target=target) == [["req-001/completed"]]


def test_positions_are_the_cursor_of_the_next_page(store: AuditStore) -> None:
    for n in range(3):
        store.append(record(n))
    first = store.search(AuditQuery(**WIDE, limit=1))  # type: ignore[arg-type]
    [(newest, _)] = first.records
    assert first.next_position == position_of(newest)


def test_the_dynamodb_store_refuses_to_overwrite_and_reports_an_unreachable_table() -> None:
    with only_table(AUDIT) as client:
        store = DynamoDbAuditStore(client, TABLE, timedelta(days=30))
        first = record(1, "L-1")
        store.append(first)
        # a different record under the same key (same request, phase and time) does not replace the first
        store.append(replace(first, actor="intruder"))
        [(found, _)] = store.search(AuditQuery(**WIDE, request_id="req-001")).records  # type: ignore[arg-type]
        assert found.actor == "u-1"
        item = client.get_item(TableName=TABLE, Key={"pk": {"S": "REQUEST#req-001"}, "sk": {"S": "completed"}})
        assert int(item["Item"]["expires_at"]["N"]) == int((first.at + timedelta(days=30)).timestamp())
        with pytest.raises(AuditUnavailable):
            DynamoDbAuditStore(boto3.client("dynamodb", region_name="us-east-1"), "no-such-table", timedelta(1)).append(
                first
            )
