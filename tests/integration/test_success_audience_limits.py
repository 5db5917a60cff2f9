"""A launch or campaign reaches at most `MAX_AUDIENCE_ACCOUNTS` accounts (a campaign at most
`MAX_AUDIENCE_CONTACTS` of their contacts), so that its event fits one EventBridge entry and the launch or campaign
one DynamoDB item. Over moto, through the DynamoDB adapter: at the limit it is kept and told, its event within an
entry's bound; one over is AudienceTooLarge (the API's 422) naming the fields and the limit, nothing kept or told."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.adapters.dynamodb_success import DynamoDbHealthStore
from shared.adapters.eventbridge_publisher import MAX_DETAIL_BYTES
from shared.events.success_events import SuccessEventType
from shared.success.campaigns import Audience, CampaignKind, CsCampaign
from shared.success.model import load_health_model
from shared.success.ports import StoredHealth
from shared.success.product import Launch
from shared.success.product_service import (
    MAX_AUDIENCE_ACCOUNTS,
    MAX_AUDIENCE_CONTACTS,
    AudienceTooLarge,
    ProductService,
)
from shared.success.service import HealthService
from tests.fakes import FixedClock, RecordingPublisher
from tests.integration import success_store_fixtures as fixtures
from tests.integration.success_store_fixtures import TABLE
from tests.success_fakes import EveryAccount

success_table = fixtures.success_table

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ID_CHARS = 40  # longer than the hub's ids (32 hexadecimal characters), for headroom


def _id(kind: str, n: int) -> str:
    return f"{kind}-{n:0{ID_CHARS - len(kind) - 1}d}"


class Hub:
    def __init__(self, client: Any, accounts: int, contacts: int = 1) -> None:
        self.store = DynamoDbHealthStore(client, TABLE)
        self.bus = RecordingPublisher()
        health = HealthService(
            self.store, EveryAccount(contacts, lambda n: _id("lead", n)), load_health_model(), self.bus, FixedClock(NOW)
        )
        self.product = ProductService(self.store, health, "USD")
        for n in range(accounts):  # accounts with a snapshot: the ones launches and campaigns reach
            self.store.save_health(StoredHealth(_id("acct", n), NOW, "v", None, None, False))

    def launch(self) -> Launch:
        return Launch("launch-sso", "sso", date(2026, 12, 1), (), "SSO is here", NOW, "digest")

    def campaign(self) -> CsCampaign:
        return CsCampaign("campaign-1", CampaignKind.RETENTION, "Spring", Audience(), "ana", NOW, (), "digest")


def test_a_launch_reaches_as_many_accounts_as_allowed_and_one_more_is_refused(success_table: Any) -> None:
    # Given as many accounts as a launch may reach, under ids longer than the hub's
    hub = Hub(success_table, MAX_AUDIENCE_ACCOUNTS)
    # When a launch targets every one
    created, launch = hub.product.schedule_launch(hub.launch())
    # Then it is kept with every account, read back whole from DynamoDB, and told within one entry's bound
    assert created
    assert len(launch.target_tenants) == MAX_AUDIENCE_ACCOUNTS
    assert hub.store.launch("launch-sso") == launch
    (told,) = [e for e in hub.bus.published if e.event_type is SuccessEventType.LAUNCH_SCHEDULED]
    assert len(told.tenant_ids) == MAX_AUDIENCE_ACCOUNTS
    assert len(told.model_dump_json().encode()) <= MAX_DETAIL_BYTES

    # Given one account more
    hub.store.save_health(StoredHealth(_id("acct", MAX_AUDIENCE_ACCOUNTS), NOW, "v", None, None, False))
    told_before = len(hub.bus.published)
    # When a launch reaches every one
    # Then it is refused naming what chose them and the limit, nothing kept or told
    over = f"they reach {MAX_AUDIENCE_ACCOUNTS + 1} accounts, and a launch reaches at most {MAX_AUDIENCE_ACCOUNTS}"
    with pytest.raises(AudienceTooLarge, match=rf"^target_bands, target_segments: {over}"):
        hub.product.schedule_launch(Launch("launch-big", "sso", date(2026, 12, 1), (), "x", NOW, "d"))
    assert hub.store.launch("launch-big") is None
    assert len(hub.bus.published) == told_before


def test_a_campaign_reaches_as_many_contacts_as_allowed(success_table: Any) -> None:
    # Given accounts with as many contacts in all as a campaign may reach
    hub = Hub(success_table, 3, contacts=MAX_AUDIENCE_CONTACTS // 3)
    # When a retention campaign reaches every one
    created, campaign = hub.product.request_campaign(hub.campaign())
    # Then it is kept, and told within one entry's bound with every contact
    assert created
    assert hub.store.campaign("campaign-1") == campaign
    (told,) = [e for e in hub.bus.published if e.event_type is SuccessEventType.CAMPAIGN_REQUESTED]
    assert len(told.contact_ids) == MAX_AUDIENCE_CONTACTS
    assert len(told.model_dump_json().encode()) <= MAX_DETAIL_BYTES


def test_a_campaign_reaching_one_contact_over_the_limit_is_refused(success_table: Any) -> None:
    # Given an account with one contact more than a campaign may reach
    hub = Hub(success_table, 1, contacts=MAX_AUDIENCE_CONTACTS + 1)
    # When a retention campaign reaches it
    # Then it is refused naming `audience` and the limit, nothing kept or told
    with pytest.raises(
        AudienceTooLarge, match=rf"^audience: .* {MAX_AUDIENCE_CONTACTS + 1} contacts.* at most {MAX_AUDIENCE_CONTACTS}"
    ):
        hub.product.request_campaign(hub.campaign())
    assert hub.store.campaign("campaign-1") is None
    assert hub.bus.published == []


def test_both_limits_at_once_fit_one_bus_entry_and_one_item(success_table: Any) -> None:
    # Given a campaign at both limits at once, every id longer than the hub's
    hub = Hub(success_table, 0)
    tenants = tuple(_id("acct", n) for n in range(MAX_AUDIENCE_ACCOUNTS))
    campaign = CsCampaign("campaign-max", CampaignKind.RETENTION, "Max", Audience(), "ana", NOW, tenants, "digest")
    event = hub.product._event(
        SuccessEventType.CAMPAIGN_REQUESTED,
        campaign.campaign_id,
        NOW,
        campaign_id=campaign.campaign_id,
        campaign_kind=campaign.kind.value,
        tenant_ids=list(tenants),
        contact_ids=[_id("lead", n) for n in range(MAX_AUDIENCE_CONTACTS)],
    )
    # When it is kept in DynamoDB and its event measured
    assert hub.store.add_campaign(campaign) is None
    # Then it reads back whole, and its event fits one entry with room to spare
    assert hub.store.campaign("campaign-max") == campaign
    assert len(event.model_dump_json().encode()) <= MAX_DETAIL_BYTES - 16 * 1024
