"""A campaign reaching more accounts than `MAX_AUDIENCE_ACCOUNTS` is refused naming `audience` and the limit,
nothing kept or told (the limits at the edge of DynamoDB and of the bus: `tests/integration`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.success.campaigns import Audience, CampaignKind, CsCampaign
from shared.success.model import load_health_model
from shared.success.ports import StoredHealth
from shared.success.product_service import MAX_AUDIENCE_ACCOUNTS, AudienceTooLarge, ProductService
from shared.success.service import HealthService
from tests.fakes import FixedClock, RecordingPublisher
from tests.success_fakes import EveryAccount, InMemoryHealthStore

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_campaign_reaching_one_account_over_the_limit_is_refused_naming_the_audience_and_the_limit() -> None:
    # Given one account more than a campaign may reach
    store, bus = InMemoryHealthStore(), RecordingPublisher()
    health = HealthService(store, EveryAccount(), load_health_model(), bus, FixedClock(NOW))
    product = ProductService(store, health, "USD")
    for n in range(MAX_AUDIENCE_ACCOUNTS + 1):
        store.save_health(StoredHealth(f"acct-{n}", NOW, "v", None, None, False))
    campaign = CsCampaign("c-1", CampaignKind.RETENTION, "Stay", Audience(), "ana", NOW, (), "d")
    # When a retention campaign reaches every one
    # Then it is refused naming `audience` and the limit, nothing kept or told
    over = f"it reaches {MAX_AUDIENCE_ACCOUNTS + 1} accounts, and a campaign reaches at most {MAX_AUDIENCE_ACCOUNTS}"
    with pytest.raises(AudienceTooLarge, match=rf"^audience: {over}"):
        product.request_campaign(campaign)
    assert store.campaign("c-1") is None
    assert bus.published == []
