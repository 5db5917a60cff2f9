"""What the success store's contract tests (health, interventions, product) share: the table, the fixtures
giving both stores (`store`) or the adapter and its client (`dynamo`), and helpers to read items and listings.

A test module takes the fixtures by binding them to its own names (an import would be shadowed by the tests'
parameters): `success_table, store, dynamo, no_backoff = fixtures.success_table, ...`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import timedelta, timezone
from typing import Any, Protocol, TypeVar

import pytest

from shared.adapters.dynamodb_success import DynamoDbHealthStore
from shared.catalog import physical_name
from shared.catalog.success import SUCCESS
from shared.success.ports import SuccessStore
from tests.integration.conftest import STAGE, only_table
from tests.success_fakes import InMemoryHealthStore

TABLE = physical_name(STAGE, SUCCESS.name)
EAST = timezone(timedelta(hours=5, minutes=30))
ACME = "acct-acme"


@pytest.fixture
def success_table() -> Iterator[Any]:
    with only_table(SUCCESS) as client:
        yield client


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[SuccessStore]:
    if request.param == "in-memory":
        yield InMemoryHealthStore()
        return
    yield DynamoDbHealthStore(request.getfixturevalue("success_table"), TABLE)


@pytest.fixture
def dynamo(success_table: Any) -> tuple[DynamoDbHealthStore, Any]:
    return DynamoDbHealthStore(success_table, TABLE), success_table


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The adapter tries a cancelled transaction again without sleeping first."""
    monkeypatch.setattr("shared.adapters.dynamodb_success.time.sleep", lambda _: None)


def stored_item(client: Any, pk: str, sk: str) -> dict[str, Any]:
    """An item of the table as DynamoDB holds it (DynamoDB JSON)."""
    item: dict[str, Any] = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": sk}})["Item"]
    return item


class _Page(Protocol):
    @property
    def next_cursor(self) -> str | None: ...


P = TypeVar("P", bound=_Page)


def all_pages(read: Callable[[str | None], P], items: Callable[[P], list[str]]) -> tuple[list[str], list[int]]:
    """Every item a listing gives, page by page from no cursor (`read(cursor)`, `items(page)`), and each page's
    size."""
    found: list[str] = []
    sizes: list[int] = []
    cursor = None
    while True:
        page = read(cursor)
        listed = items(page)
        found += listed
        sizes.append(len(listed))
        cursor = page.next_cursor
        if cursor is None:
            return found, sizes


def cursor_of(document: Any) -> str:
    """A cursor as the listings make theirs (URL-safe base64 of JSON), of any document."""
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode()


# Cursors no listing makes, whatever it lists: not base64, not JSON, not a listing's document.
GARBLED_CURSORS = [
    "not base64 at all!",
    base64.urlsafe_b64encode(b"not json").decode(),
    cursor_of({}),
    cursor_of([1, 2]),
]
