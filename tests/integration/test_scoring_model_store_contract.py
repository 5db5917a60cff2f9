"""One contract, two scoring-model stores: the DynamoDB adapter (over moto) and the in-memory fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest

from shared.adapters.dynamodb_scoring_models import DynamoDbScoringModelStore
from shared.catalog import physical_name
from shared.leads.ports import ModelVersionConflict, ScoringModelStore
from shared.leads.scoring_models import ScoringModels, applied_model
from shared.scoring.model import load_model, parse_model
from tests.fakes import InMemoryScoringModelStore
from tests.integration.conftest import STAGE

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SHIPPED = load_model()


def candidate(version: str, industry_points: int = 30):  # type: ignore[no-untyped-def]
    document = SHIPPED.model_dump(mode="json")
    document["version"] = version
    document["fit"]["rules"][0]["points"] = industry_points
    return parse_model(document)


@pytest.fixture(params=["dynamodb", "in-memory"])
def store(request: pytest.FixtureRequest) -> Iterator[ScoringModelStore]:
    if request.param == "in-memory":
        yield InMemoryScoringModelStore()
        return
    request.getfixturevalue("aws")
    yield DynamoDbScoringModelStore(boto3.client("dynamodb", region_name="us-east-1"), physical_name(STAGE, "leads"))


def test_no_model_applied_means_the_shipped_one_is_in_force(store: ScoringModelStore) -> None:
    assert store.active_version() is None
    assert ScoringModels(SHIPPED, store).current() is SHIPPED


def test_an_applied_model_is_in_force_and_reads_back_exactly(store: ScoringModelStore) -> None:
    # When a model is applied
    model = candidate("2026.2")
    store.apply(applied_model(model, T0))
    # Then it is the active version, and its document reads back as the same model
    assert store.active_version() == "2026.2"
    stored = store.applied("2026.2")
    assert stored is not None
    assert stored.applied_at == T0
    assert parse_model(stored.document).model_dump() == model.model_dump()
    assert ScoringModels(SHIPPED, store).current().model_dump() == model.model_dump()
    assert store.applied("never") is None


def test_a_version_is_immutable_but_may_be_applied_again(store: ScoringModelStore) -> None:
    store.apply(applied_model(candidate("2026.2"), T0))
    store.apply(applied_model(candidate("2026.3", 5), T0))
    # When the same rules are applied again, that version is in force again
    store.apply(applied_model(candidate("2026.2"), T0))
    assert store.active_version() == "2026.2"
    # And other rules under a version that exists are refused, leaving the active version alone
    with pytest.raises(ModelVersionConflict, match=r"2026\.2"):
        store.apply(applied_model(candidate("2026.2", 1), T0))
    assert store.active_version() == "2026.2"
    kept = store.applied("2026.2")
    assert kept is not None
    assert parse_model(kept.document).model_dump() == candidate("2026.2").model_dump()
