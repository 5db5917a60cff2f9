"""`POST /api/v1/attribution/compare` over the DynamoDB adapters (moto): the answer is the one of crediting each
conversion on its own (tests/unit/test_attribution_compare.py has the same on the in-memory stores), and a
request reads each person's engagement log and history once, not once per conversion and side: a comparison
of tens of conversions over accounts with long logs once took minutes of queries."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from local_runtime.provision import table_definition
from shared.adapters.dynamodb_attribution import DynamoDbAttributionStore
from shared.adapters.dynamodb_leads import DynamoDbLeadRepository
from shared.attribution.service import AttributionService
from shared.catalog import CATALOG, physical_name
from shared.leads.scoring_models import ScoringModels
from shared.leads.service import LeadService
from shared.scoring.model import load_model
from tests.integration.conftest import STAGE
from tests.unit.test_attribution_compare import busy_accounts, reference_answer
from tests.unit.test_attribution_service import FINANCE, World

ACCOUNTS, PEOPLE, MONTHS = 2, 3, 8
BODY = {"from": "2026-05", "to": "2026-12", "candidate": {"lookback_days": 90}}


@pytest.fixture
def world() -> Iterator[tuple[World, Counter[str]]]:
    """`World` over the DynamoDB lead repository and attribution store (moto), counting DynamoDB calls."""
    calls: Counter[str] = Counter()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        for name in ("leads", "attribution"):
            client.create_table(**table_definition(CATALOG.table(name), STAGE))

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        client.meta.events.register("before-call.dynamodb.*", count)
        world = World()
        world.leads_repo = DynamoDbLeadRepository(  # type: ignore[assignment]
            client, physical_name(STAGE, "leads"), sleep=lambda _: None
        )
        ids = itertools.count(1)
        scoring = ScoringModels(load_model())
        world.leads = LeadService(world.leads_repo, scoring, world.clock, lambda: f"lead-{next(ids):03d}")
        world.store = DynamoDbAttributionStore(client, physical_name(STAGE, "attribution"))  # type: ignore[assignment]
        world.service = AttributionService(
            store=world.store,
            leads=world.leads_repo,
            fx=world.finance,
            config=world.service.config,
            company_currency=FINANCE.company_currency,
            publisher=world.bus,
            clock=world.clock,
            spend=world.finance,
            finance=FINANCE,
        )
        yield world, calls


def test_a_comparison_over_dynamodb_answers_as_crediting_each_conversion_and_reads_each_person_once(
    world: tuple[World, Counter[str]],
) -> None:
    # Given conversions of two accounts of three people, one with a long log, in the DynamoDB stores
    busy, calls = world
    busy_accounts(busy, accounts=ACCOUNTS, contacts=PEOPLE, heavy=30, light=6, deals=6, seed=5)
    busy.clock.moment = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    expected = reference_answer(busy, BODY)
    # When the settings are compared
    calls.clear()
    answer = busy.service.compare(BODY)
    # Then the answer is that of crediting each conversion on its own
    assert answer == expected
    assert answer["conversions"] == 6
    # And each person's log and history took one query each (besides a page of conversions per month)
    people = ACCOUNTS * PEOPLE
    assert calls["Query"] <= 2 * people + MONTHS, calls
